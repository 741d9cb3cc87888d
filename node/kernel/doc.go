// Package kernel provides the services every Erlang node answers, for a Go node: net_kernel
// (so net_adm:ping and Node.ping/1 say pong), rex (rpc's server), and the spawning of Go code
// by BEAM nodes, which is how erpc:call, rpc:call, rpc:cast, Node.spawn/4, spawn_link,
// spawn_monitor and erlang:spawn_request reach a node.
//
// Go code that BEAM may call is registered by Erlang name in a Registry: a Func for an
// ordinary function (rpc-style: arguments in, a term or an exception out), or a process
// factory for a function that is the life of a process.
//
//	var reg kernel.Registry
//	reg.RegisterFunc(kernel.MFA{Module: "geo", Function: "distance", Arity: 2},
//		func(call *kernel.Call, args etf.List) (etf.Term, error) { ... })
//	reg.RegisterProcess(kernel.MFA{Module: "geo", Function: "tracker", Arity: 1},
//		func() gen.ProcessBehavior { return &tracker{} }, gen.ProcessOptions{})
//
// From Elixir, :erpc.call(gonode, :geo, :distance, [a, b]) then returns what the Func returns,
// and Node.spawn_link(gonode, :geo, :tracker, [id]) starts a tracker process linked to the
// caller. A function that is not registered behaves as a missing function does on BEAM: the
// call fails with undef, and a spawn succeeds with a process that exits at once with
// {undef, [{M, F, Args, []}]}.
//
// What BEAM sends, and so what this package answers, is the same on OTP 25, 27 and 29:
// net_adm:ping is a gen_server call {is_auth, Node} to net_kernel; erpc:call and rpc:call spawn
// erpc:execute_call(Ref, M, F, A) with a monitor and read the result from the DOWN reason;
// rpc:cast and erpc:cast spawn erpc:execute_cast(M, F, A); rpc:block_call, rpc:sbcast and the
// features_request of each new connection go to rex.
//
// A Kernel is made before its node, since the node's DIST layer calls Kernel.Spawn for every
// spawn request, and started on the node once it runs (Kernel.Start).
package kernel
