// Package global makes a Go node a member of Erlang's global: the name server
// (global_name_server), its locker and its registrar, speaking kernel's global protocol with
// the BEAM nodes of the cluster, so that a visible Go node is synced with them (global:sync/0
// returns), knows the names they register (WhereisName), registers names of its own
// (RegisterName), and takes its part in preventing overlapping partitions.
package global
