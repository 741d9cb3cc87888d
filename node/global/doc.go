// Package global makes a visible Go node a member of Erlang's global: it runs the processes
// that kernel's global runs on every BEAM node — the name server registered as
// global_name_server, its locker and its registrar — and speaks their protocol with the BEAM
// nodes of the cluster. With it, global:sync() on BEAM nodes returns with the Go node in the
// cluster, names registered with global:register_name/2 anywhere are known here (WhereisName),
// Go code registers global names of its own (RegisterName), and the Go node takes its part
// in keeping the cluster fully connected and its partitions from overlapping.
//
//	n, _ := node.Start("gonode@10.0.0.5", node.Options{})
//	g, _ := global.Start(n, global.Options{})
//	pid, ok := g.WhereisName(etf.Atom("session_registry"))
//	ok, err := g.RegisterName(ctx, etf.Atom("go_worker"), workerPID)
//
// # What a BEAM node sends to a newly connected node
//
// Traced on OTP 25, 27 and 29 (erlang:trace/3 on every process of a node connecting to
// another), a visible connection makes a BEAM node send:
//
//   - to {rex, Node}: {Observer, features_request}, from rpc's node observer (answered by the
//     rex of package node/kernel; unanswered, rpc merely does not know the node's features);
//   - to {global_name_server, Node}: the cast {init_connect, {8, Tag}, Node, {locker,
//     no_longer_a_pid, Known, Locker}}, which starts the sync described below. Left
//     unanswered, the BEAM node's global:sync() never returns, and global does not connect
//     the other nodes to this one;
//   - to {pg, Node}, only where a pg scope runs (kernel's start_pg, or a library's scope):
//     {discover, Pid} on OTP 25 and 27, {discover, Pid, 1} on OTP 29. A node without the
//     scope drops it, and pg simply leaves the node out of that scope;
//   - nothing from global_group unless global groups are configured (see Limits).
//
// A hidden connection triggers none of these: rpc's observer, global and pg all watch
// visible nodes only.
//
// # The protocol
//
// All three releases speak version 8 of global's protocol (global:get_protocol_version/0
// answers 8 on OTP 25, 27 and 29) with the same messages; this package speaks it too. When
// two name servers meet, each sends init_connect and acknowledges the other's
// (init_connect_ack). One of the two lockers then sets the lock {global, [LockerA, LockerB]}
// on the greatest node name of all involved (the boss) first, then on both nodes and on every
// node either knows, with gen_server:multi_call({set_lock, Id}) to their name servers, and
// tells the other locker (lock_set), which sets the lock on its side and answers. Under the
// lock each side sends its names (exchange); a resolver compares them with its own, the node
// with the smaller name resolving each conflict by calling the name's resolve function on the
// node of the pid it holds (global:resolve_it/4 through rex: a Go node answers it for
// global's own three functions, see kernel.GlobalResolve), and each side sends what it decided
// (resolved). With both halves, each side applies them, connects to the nodes the other knew
// and tells them it is in sync (in_sync), has its locker tell the nodes it knew of the new
// ones (new_nodes) before the lock is released, and counts the other as synced: that is what
// global:sync() waits for. Registration (register, unregister), locks (set_lock, del_lock)
// and lookups (whereis) are gen_server calls to the name server, mostly multi_calls under
// the lock {global, Registrar} on all known nodes.
//
// The releases differ in details this package handles: gen_server:multi_call tags its
// requests {Ref, Node} on OTP 25 and [[alias | Alias] | Mon] on OTP 26 and later, with the
// reply going to the alias; since OTP 27 a restarted sync drops what the peer's processes held
// (delete_node_resources), which this package does too; OTP 29 only changes monitor
// priorities, which do not travel.
//
// When a node loses a connection, global (prevent_overlapping_partitions, on by default
// since OTP 25) tells every node it knows (lost_connection); each that is still connected to
// the lost node asks it to disconnect (remove_connection), so that the cluster splits into
// partitions that do not overlap. This package does the same, both ways.
//
// # Starting the sync
//
// Ergo reports no nodeup, and cannot tell a visible connection from a hidden one. A BEAM node
// starts the sync on every visible connection, and this package answers: a message from a
// node not seen before is its nodeup. For two Go nodes, which both wait, Options.Visible lets
// the name server poll the node's connections and start the sync itself. At Start, the
// connections already up are treated as new (a hidden peer among them ignores the
// init_connect it gets).
//
// # Hidden or visible: which should be the default
//
// The default should be hidden, with visible an explicit choice that always runs this
// package. Evidence, from the integration tests and probes against OTP 25, 27 and 29:
//
//   - A visible node is a member of the cluster's global state, not just a peer. A visible
//     Go node that does not run global makes global:sync() hang forever on every BEAM node
//     connected to it, and global does not build the full mesh with it (observed on all
//     three releases). Running this package fixes both, and the clusters of the tests then
//     stay connected for two minutes with global:sync() returning at once.
//   - A visible node is in nodes() (Elixir's Node.list()), and BEAM code treats the nodes
//     there as BEAM nodes running OTP's services and its own applications. rpc:multicall(
//     nodes(), erlang, node, []) and erpc:multicall/4 reach the Go node and get {badrpc,
//     notsup} and {error, {erpc, notsup}} from a plain Go node on all three releases; every
//     library that calls or casts to "its server on every node" does the same.
//   - A visible node's connections take part in global's partition handling. When it loses
//     a connection, BEAM nodes disconnect from the lost node on its report, and when a BEAM
//     node loses the Go node, the others disconnect from it. That is right for a member, and
//     this package plays by it, but it ties the availability of the BEAM cluster to the Go
//     node's network and scheduling as much as to any BEAM node's.
//   - A hidden node is what C nodes (erl_interface) have always been: its connections are not
//     transitive, it is in nodes(hidden) only, global ignores it, and connecting it changes
//     nothing for the BEAM nodes. Messages, calls, links and monitors work the same; BEAM
//     nodes connect to it on the first send to one of its processes. The hidden tests of
//     package integration keep two BEAM nodes and a hidden Go node connected for two minutes,
//     with global:sync() returning at once.
//
// So hidden is the mode in which adding a Go node cannot disturb a BEAM cluster, which is
// what a default must guarantee. Visible is for a Go node meant to be a full member: listed in
// Node.list(), reached by global names both ways, part of the mesh; it must then run this
// package, and should also run node/kernel's rex so that rpc reaches it.
//
// # Limits
//
//   - Global groups (kernel's global_groups) are not supported: the Go node behaves as a node
//     with none configured. A BEAM node with global groups disconnects a visible Go node that
//     its groups do not list, and cannot check the configuration of one they list (it asks
//     global_group on that node, which a Go node does not run).
//   - Only global's own resolve functions (fun global:random_exit_name/3,
//     random_notify_name/3, notify_all_name/3) run in Go; names of Go processes registered
//     from Go use random_exit_name. Any other resolve function of a name held by a Go process
//     runs on the BEAM peer of the sync, through its rex.
//   - Names registered with register_name_external are kept and passed on; the Go node does
//     not register any itself.
//   - pg scopes are not served: a Go node is left out of every pg scope.
package global
