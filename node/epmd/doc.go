// Package epmd is the Erlang Port Mapper Daemon protocol for a Go node: what erl_epmd does for
// an Erlang node (publish the node's port, find other nodes' ports, list names), an embedded
// EPMD server for hosts without one, and both joined as an Ergo v3 gen.Registrar.
//
// messages.go encodes and decodes every EPMD message without I/O; client.go is the client
// (Lookup, Names, Register); server.go the embedded server; registrar.go the Ergo registrar
// and resolver, which keeps the node registered across EPMD restarts.
//
// The EPMD port is ERL_EPMD_PORT when set, 4369 otherwise, as for erl.
package epmd
