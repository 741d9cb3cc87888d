package kernel

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
)

// Spawn is the DIST layer's Spawn hook (dist.Options.Spawn): it starts the process a BEAM node
// asks for with a spawn request (Node.spawn/4, spawn_link, spawn_monitor, spawn_opt,
// erlang:spawn_request, erpc and rpc). A registered Func runs as the process's initial function,
// a registered process is spawned, and the erpc functions and erlang:apply/2,3 work as on
// BEAM. A function that is not registered is spawned all the same and exits at once with
// {undef, [{Module, Function, Args, []}]}, as BEAM's process does when the function does not
// exist. Options BEAM refuses make the request fail with badopt.
//
// The process does nothing until run is called.
func (k *Kernel) Spawn(req dist.SpawnRequest) (pid gen.PID, run func(), err error) {
	n, err := k.waitStarted()
	if err != nil {
		return gen.PID{}, nil, &dist.SpawnError{Reason: "notsup"}
	}
	if _, err := parseSpawnOptions(req.Options); err != nil {
		n.Log().Debug("kernel: spawn request from %s for %s:%s refused: %s", req.From, req.Module, req.Function, err)
		return gen.PID{}, nil, &dist.SpawnError{Reason: "badopt"}
	}
	g := &gate{}
	pid, err = k.spawn(n, g, req.Module, req.Function, req.Args, req.From, req.GroupLeader)
	if err != nil {
		n.Log().Warning("kernel: spawn request from %s for %s:%s failed: %s", req.From, req.Module, req.Function, err)
		return gen.PID{}, nil, &dist.SpawnError{Reason: "system_limit"}
	}
	return pid, func() {
		if err := release(g, n, pid); err != nil {
			n.Log().Debug("kernel: starting %s: %s", pid, err)
		}
	}, nil
}

// waitStarted returns the node once Start ran. A spawn request can arrive between the moment
// the node accepts connections and Start; it waits for Start a little.
func (k *Kernel) waitStarted() (gen.Node, error) {
	select {
	case <-k.started:
		return k.node, nil
	default:
	}
	t := time.NewTimer(k.startTimeout)
	defer t.Stop()
	select {
	case <-k.started:
		return k.node, nil
	case <-t.C:
		return nil, errors.New("kernel: not started")
	}
}

// spawn makes the process that runs module:function(args...) for caller, held by g.
func (k *Kernel) spawn(s spawner, g *gate, module, function etf.Atom, args etf.List, caller, gl gen.PID) (gen.PID, error) {
	r := resolve(module, function, args)
	if r.failed != nil {
		o := *r.failed
		return s.Spawn(funcFactory(g, func(gen.Process) outcome { return o }), gen.ProcessOptions{})
	}
	fn, location, e := k.lookup(r.mfa)
	switch {
	case fn != nil:
		return s.Spawn(funcFactory(g, func(p gen.Process) outcome {
			call := &Call{Process: p, MFA: r.mfa, Caller: caller, GroupLeader: gl}
			return runFunc(call, fn, r.args, r.mfa.frame(location))
		}), gen.ProcessOptions{})
	case e != nil:
		return spawnEntry(s, g, e, r.mfa, r.args, caller)
	}
	o := undef(r.mfa.Module, r.mfa.Function, r.args)
	return s.Spawn(funcFactory(g, func(gen.Process) outcome { return o }), gen.ProcessOptions{})
}

func funcFactory(g *gate, body func(gen.Process) outcome) gen.ProcessFactory {
	return func() gen.ProcessBehavior { return &funcProcess{gate: g, body: body} }
}

// spawner is what spawns processes: the node, or a process spawning children.
type spawner interface {
	Spawn(factory gen.ProcessFactory, options gen.ProcessOptions, args ...any) (gen.PID, error)
	Log() gen.Log
}

// spawnEntry spawns a registered process (mfa's), held by g. A factory that panics makes a
// process that exits at once with the panic as an error, as a BEAM process whose function
// crashes at its first line does: Ergo calls the factory in the spawning goroutine (for a
// request from a peer, that connection's reader), which the panic must not take down.
func spawnEntry(s spawner, g *gate, e *entry, mfa MFA, args etf.List, caller gen.PID) (gen.PID, error) {
	opts := e.options
	env := make(map[gen.Env]any, len(opts.Env)+1)
	for name, v := range opts.Env {
		env[name] = v
	}
	env[envCaller] = caller
	opts.Env = env
	initArgs := make([]any, len(args))
	copy(initArgs, args)
	factory := func() (b gen.ProcessBehavior) {
		defer func() {
			if r := recover(); r != nil {
				s.Log().Error("kernel: the process factory of %s panicked: %v\n%s", mfa, r, debug.Stack())
				o := outcome{class: classError, value: []byte(fmt.Sprintf("panic: %v", r)), stack: etf.List{mfa.frame(nil)}}
				b = &funcProcess{gate: g, body: func(gen.Process) outcome { return o }}
			}
		}()
		inner := e.factory()
		if inner == nil {
			return nil // Spawn fails with Ergo's error for a nil behavior
		}
		return &deferredProcess{gate: g, inner: inner}
	}
	return s.Spawn(factory, opts, initArgs...)
}
