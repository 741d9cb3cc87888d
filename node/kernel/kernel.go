package kernel

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
)

// Options configure the kernel services of a node.
type Options struct {
	// Registry holds the Go functions and processes BEAM nodes may call and spawn. Nil: an
	// empty registry, in which every function is undefined.
	Registry *Registry
	// TickTime is the node's net_ticktime, which net_kernel reports. 0: 60 s.
	TickTime time.Duration
	// StartTimeout bounds how long a spawn request that arrives while the node is still
	// starting waits for Start. 0: 5 s.
	StartTimeout time.Duration
}

// Kernel is the set of services every Erlang node answers, for one Go node: the net_kernel and
// rex processes and the DIST layer's Spawn hook.
//
// It is made before the node (the DIST layer needs Spawn when the node starts) and started on
// the node once it runs.
type Kernel struct {
	registry     *Registry
	tickTime     time.Duration
	startTimeout time.Duration
	builtins     map[MFA]Func

	startOnce sync.Once
	started   chan struct{}
	node      gen.Node // set before started is closed
}

// Registered names of the kernel processes, as on every BEAM node.
const (
	NetKernelName gen.Atom = "net_kernel"
	RexName       gen.Atom = "rex"
)

// New returns the kernel services with the given options; Start puts them on a node.
func New(opts Options) *Kernel {
	k := &Kernel{
		registry:     opts.Registry,
		tickTime:     opts.TickTime,
		startTimeout: opts.StartTimeout,
		started:      make(chan struct{}),
	}
	if k.registry == nil {
		k.registry = &Registry{}
	}
	if k.tickTime <= 0 {
		k.tickTime = dist.DefaultTickTime
	}
	if k.startTimeout <= 0 {
		k.startTimeout = 5 * time.Second
	}
	k.builtins = map[MFA]Func{
		mfaExecuteCall: k.erpcExecuteCall,
		mfaExecuteCast: k.erpcExecuteCast,
		mfaNode:        func(call *Call, _ etf.List) (etf.Term, error) { return call.Node().Name(), nil },
	}
	return k
}

// Registry returns the registry the kernel serves, where functions can be added while the
// node runs.
func (k *Kernel) Registry() *Registry { return k.registry }

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("kernel: already started")

// Start starts the net_kernel and rex processes on n and lets spawn requests in. n must be the
// node whose DIST layer has Spawn as its hook.
func (k *Kernel) Start(n gen.Node) error {
	err := ErrStarted
	k.startOnce.Do(func() {
		err = nil
		if _, e := n.SpawnRegister(NetKernelName, func() gen.ProcessBehavior { return &netKernel{k: k} }, gen.ProcessOptions{}); e != nil {
			err = fmt.Errorf("kernel: starting %s: %w", NetKernelName, e)
			return
		}
		if _, e := n.SpawnRegister(RexName, func() gen.ProcessBehavior { return &rex{k: k} }, gen.ProcessOptions{}); e != nil {
			err = fmt.Errorf("kernel: starting %s: %w", RexName, e)
			return
		}
		k.node = n
		close(k.started)
	})
	return err
}

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
		return spawnEntry(s, g, e, r.args, caller)
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
}

// spawnEntry spawns a registered process, held by g.
func spawnEntry(s spawner, g *gate, e *entry, args etf.List, caller gen.PID) (gen.PID, error) {
	opts := e.options
	env := make(map[gen.Env]any, len(opts.Env)+1)
	for name, v := range opts.Env {
		env[name] = v
	}
	env[envCaller] = caller
	opts.Env = env
	initArgs := make([]any, len(args))
	for i, a := range args {
		initArgs[i] = a
	}
	factory := func() gen.ProcessBehavior {
		b := e.factory()
		if b == nil {
			return nil // Spawn fails with Ergo's error for a nil behavior
		}
		return &deferredProcess{gate: g, inner: b}
	}
	return s.Spawn(factory, opts, initArgs...)
}

// lookup finds the implementation of mfa: a Func (the node's own, or a registered one) and its
// source location, or a registered process.
func (k *Kernel) lookup(mfa MFA) (Func, etf.List, *entry) {
	if fn, ok := k.builtins[mfa]; ok {
		return fn, nil, nil
	}
	e := k.registry.lookup(mfa)
	if e == nil {
		return nil, nil, nil
	}
	if e.fn != nil {
		return e.fn, e.location, nil
	}
	return nil, nil, e
}

// invoke calls module:function(args...) in the calling process, as apply/3 does inside erpc's
// and rpc's worker processes, and returns how it ended. A registered process is spawned (and
// started) and its pid returned.
func (k *Kernel) invoke(call *Call, module, function, args etf.Term) outcome {
	r := resolve(module, function, args)
	o := k.invokeResolved(call, r)
	for i := len(r.via) - 1; i >= 0; i-- {
		o = o.under(r.via[i])
	}
	return o
}

func (k *Kernel) invokeResolved(call *Call, r resolved) outcome {
	if r.failed != nil {
		return *r.failed
	}
	fn, location, e := k.lookup(r.mfa)
	frame := r.mfa.frame(location)
	switch {
	case fn != nil:
		c := *call
		c.MFA = r.mfa
		return sendable(runFunc(&c, fn, r.args, frame), r.mfa, frame)
	case e != nil:
		g := &gate{}
		pid, err := spawnEntry(call, g, e, r.args, call.Caller)
		if err != nil {
			call.Log().Warning("kernel: spawning %s for %s: %s", r.mfa, call.Caller, err)
			return outcome{class: classError, value: etf.Atom("system_limit"), stack: etf.List{frame}}
		}
		if err := release(g, call, pid); err != nil {
			call.Log().Debug("kernel: starting %s: %s", pid, err)
		}
		return returned(pid)
	}
	return undef(r.mfa.Module, r.mfa.Function, r.args)
}

// runFunc calls fn; a panic is an error exception, as a crash is on BEAM.
func runFunc(call *Call, fn Func, args etf.List, frame etf.Tuple) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			call.Log().Error("kernel: %s panicked: %v\n%s", call.MFA, r, debug.Stack())
			o = outcome{class: classError, value: []byte(fmt.Sprintf("panic: %v", r)), stack: etf.List{frame}}
		}
	}()
	v, err := fn(call, args)
	if err != nil {
		return raised(err, frame)
	}
	return returned(v)
}

// sendable turns an outcome whose value has no Erlang form (a Go value etf cannot encode) into
// an error exception that says so, rather than leave the caller without an answer.
func sendable(o outcome, mfa MFA, frame etf.Tuple) outcome {
	if err := encodable(o.value); err != nil {
		return outcome{class: classError,
			value: []byte(fmt.Sprintf("%s result has no Erlang form: %s", mfa, err)),
			stack: etf.List{frame}}
	}
	if o.stack != nil {
		if err := encodable(o.stack); err != nil {
			o.stack = etf.List{frame}
		}
	}
	return o
}

// The node's own functions.
var (
	mfaExecuteCall = MFA{Module: "erpc", Function: "execute_call", Arity: 4}
	mfaExecuteCast = MFA{Module: "erpc", Function: "execute_cast", Arity: 3}
	mfaNode        = MFA{Module: "erlang", Function: "node", Arity: 0}
)

// reserved reports whether the node implements mfa itself: everything in module erpc (whose
// functions are the protocol of erpc and rpc), erlang:apply/2,3 and erlang:node/0.
func reserved(mfa MFA) bool {
	return mfa.Module == "erpc" || mfa == mfaApply2 || mfa == mfaApply3 || mfa == mfaNode
}

// erpcExecuteCall is erpc:execute_call(Ref, M, F, A), which erpc:call and rpc:call of OTP 23
// and later spawn on the target node with a monitor: the call's outcome is the exit reason,
// {Ref, return, Value}, {Ref, throw, Value}, {Ref, exit, Reason} or {Ref, error, Reason, Stack},
// which the caller reads from its DOWN message.
func (k *Kernel) erpcExecuteCall(call *Call, args etf.List) (etf.Term, error) {
	o := k.invoke(call, args[1], args[2], args[3])
	return nil, &Exit{Reason: o.erpcResult(args[0])}
}

var executeCastFrame = etf.Tuple{atomErpc, etf.Atom("execute_cast"), int64(3), etf.List{}}

// erpcExecuteCast is erpc:execute_cast(M, F, A), spawned by erpc:cast and rpc:cast with no
// reply: an error of the call becomes error({exception, {Reason, Stack}}), which only the log
// sees.
func (k *Kernel) erpcExecuteCast(call *Call, args etf.List) (etf.Term, error) {
	o := k.invoke(call, args[0], args[1], args[2])
	switch o.class {
	case classReturn:
		return o.value, nil
	case classError:
		o = outcome{class: classError,
			value: etf.Tuple{etf.Atom("exception"), etf.Tuple{o.value, o.stack}},
			stack: etf.List{executeCastFrame}}
	}
	return nil, &outcomeError{o}
}

// outcomeError carries an outcome, stack included, through a Func's error result.
type outcomeError struct{ o outcome }

func (e *outcomeError) Error() string { return fmt.Sprintf("exception %v", e.o.value) }

// longNames reports whether the node name is a long one (its host has a dot), as net_kernel's
// longnames answers.
func longNames(node gen.Atom) bool {
	_, host, _ := strings.Cut(string(node), "@")
	return strings.Contains(host, ".")
}
