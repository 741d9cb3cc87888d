package global

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Options configure global on a Go node. The zero value behaves like kernel's defaults.
type Options struct {
	// AllowOverlappingPartitions turns off what kernel's prevent_overlapping_partitions
	// (true by default since OTP 25) does: when this node loses a connection, it tells the
	// nodes it knows, and when told that a node lost one, it disconnects, so that the cluster
	// splits into partitions that do not overlap. Set it only if the BEAM nodes run with
	// prevent_overlapping_partitions set to false.
	AllowOverlappingPartitions bool
	// ConnectRetries is kernel's global_connect_retries: how many more times to try to
	// connect to a node a sync reported before giving up on it. 0: one try, as erl.
	ConnectRetries int
	// AllowMultipleNames lets a pid have several global names registered from this node
	// (kernel's global_multi_name_action = allow); otherwise a second RegisterName of the
	// same pid fails, as on BEAM.
	AllowMultipleNames bool

	// Visible reports whether the connection to a node is visible (both ends published).
	// Ergo has no nodeup event, so without it this node starts a sync only when the peer's
	// global does (every BEAM node does on a visible connection) and with the nodes that
	// were connected when Start ran. With it, this node also polls its connections and
	// starts the sync itself, which two Go nodes need to sync with each other.
	Visible func(node gen.Atom) bool
	// PollInterval is how often connections are polled when Visible is set. 0: 1 s.
	PollInterval time.Duration
}

// Errors of the Go API.
var (
	// ErrNotRunning: global is not running (any more) on the node.
	ErrNotRunning = errors.New("global: not running")
	// ErrStarted: global already runs on the node.
	ErrStarted = errors.New("global: already started on this node")
)

// Global is the handle on global running on a Go node: the global names it knows, and
// registration and lookup for Go code.
type Global struct {
	node gen.Node
	opts Options
	sup  gen.PID

	mu        sync.RWMutex
	t         *tables
	server    gen.PID
	registrar gen.PID
	stopped   chan struct{}
	stopOnce  sync.Once
}

var (
	instancesMu sync.Mutex
	instances   = map[gen.Node]*Global{}
)

// Start runs global on n: the process registered as global_name_server that BEAM nodes talk
// to, with its locker and registrar, under a supervisor that restarts the name server should
// it fail. A restarted name server starts from nothing: it reconnects to the visible nodes, so
// that they drop what they had of this node and sync with it anew (on BEAM the node itself
// would stop: kernel_sup restarts nothing). It returns once the name server runs. A node
// should run global exactly when it is visible; see the package documentation.
//
// When the node stops, global stops with its other processes, before the node's connections
// close, so the node's going away is not reported as lost connections (erl's
// prepare_shutdown).
func Start(n gen.Node, opts Options) (*Global, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.ConnectRetries < 0 {
		opts.ConnectRetries = 0
	}
	g := &Global{node: n, opts: opts, stopped: make(chan struct{})}
	instancesMu.Lock()
	if _, ok := instances[n]; ok {
		instancesMu.Unlock()
		return nil, ErrStarted
	}
	instances[n] = g
	instancesMu.Unlock()

	sup, err := n.Spawn(func() gen.ProcessBehavior { return &supervisor{g: g} }, gen.ProcessOptions{})
	if err != nil {
		g.stop()
		return nil, fmt.Errorf("global: starting on %s: %w", n.Name(), err)
	}
	g.sup = sup
	return g, nil
}

// Of returns the global that Start runs on n.
func Of(n gen.Node) (*Global, bool) {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	g, ok := instances[n]
	return g, ok
}

// Stop stops global on the node and waits for it to end; the node stays up, and Start may
// run global on it again.
func (g *Global) Stop() error {
	if err := g.node.SendExit(g.sup, gen.TerminateReasonShutdown); err != nil && !errors.Is(err, gen.ErrProcessUnknown) {
		return err
	}
	<-g.stopped
	return nil
}

// Done is closed when global has stopped for good.
func (g *Global) Done() <-chan struct{} { return g.stopped }

// stop forgets this instance: global is not running on the node any more.
func (g *Global) stop() {
	g.stopOnce.Do(func() {
		instancesMu.Lock()
		if instances[g.node] == g {
			delete(instances, g.node)
		}
		instancesMu.Unlock()
		close(g.stopped)
	})
}

// attach is called by each incarnation of the name server as it starts.
// attach makes the API use a name server's tables and processes, and reports whether a name
// server ran before this one.
func (g *Global) attach(t *tables, server, registrar gen.PID) (restarted bool) {
	g.mu.Lock()
	restarted = g.server != (gen.PID{})
	g.t, g.server, g.registrar = t, server, registrar
	g.mu.Unlock()
	return restarted
}

func (g *Global) detach(t *tables) {
	g.mu.Lock()
	if g.t == t {
		g.t = nil
	}
	g.mu.Unlock()
}

func (g *Global) current() (*tables, gen.PID, gen.PID, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.t, g.server, g.registrar, g.t != nil
}

// WhereisName returns the pid registered under the global name, as global:whereis_name/1.
// Names are Erlang terms: etf.Atom("name") for an atom, a string or []byte for a binary, an
// etf.Tuple for a tuple, and so on.
func (g *Global) WhereisName(name etf.Term) (gen.PID, bool) {
	t, _, _, ok := g.current()
	if !ok {
		return gen.PID{}, false
	}
	return g.where(t, name)
}

// where is global's where/1: a name of a local process counts only while it lives.
func (g *Global) where(t *tables, name etf.Term) (gen.PID, bool) {
	e, ok := t.lookup(name)
	if !ok {
		return gen.PID{}, false
	}
	if e.Pid.Node == g.node.Name() {
		state, err := g.node.ProcessState(e.Pid)
		if err != nil || state == gen.ProcessStateTerminated || state == gen.ProcessStateZombee {
			return gen.PID{}, false
		}
	}
	return e.Pid, true
}

// RegisteredNames returns every global name, as global:registered_names/0.
func (g *Global) RegisteredNames() []etf.Term {
	t, _, _, ok := g.current()
	if !ok {
		return nil
	}
	list := t.nameList()
	out := make([]etf.Term, len(list))
	for i, n := range list {
		out[i] = n.Name
	}
	return out
}

// Send sends message to the process registered under name, from the node's core process, as
// global:send/2; it returns the pid it sent to.
func (g *Global) Send(name etf.Term, message any) (gen.PID, error) {
	pid, ok := g.WhereisName(name)
	if !ok {
		return gen.PID{}, fmt.Errorf("global: no process is registered as %v", name)
	}
	return pid, g.node.Send(pid, message)
}

// RegisterName registers pid (a Go or BEAM process) under name on every node of the cluster,
// as global:register_name/2: it returns false if the name is taken or pid already has a
// name. A name conflict found later, when partitions join, is resolved by killing one of the
// two processes (global:random_exit_name/3).
//
// When ctx ends first, RegisterName returns ctx.Err(). A request still waiting behind others
// is then dropped; one already under way (the cluster-wide lock taken) is carried out, as
// global's own calls are, so the name may be registered all the same: WhereisName tells.
// The same holds for ReRegisterName and UnregisterName.
func (g *Global) RegisterName(ctx context.Context, name etf.Term, pid gen.PID) (bool, error) {
	return g.request(ctx, regRequest{kind: regRegister, name: name, pid: pid, method: defaultMethod})
}

// ReRegisterName registers pid under name whether or not it is taken, as
// global:re_register_name/2.
func (g *Global) ReRegisterName(ctx context.Context, name etf.Term, pid gen.PID) error {
	_, err := g.request(ctx, regRequest{kind: regReRegister, name: name, pid: pid, method: defaultMethod})
	return err
}

// UnregisterName removes a global name everywhere, as global:unregister_name/1.
func (g *Global) UnregisterName(ctx context.Context, name etf.Term) error {
	if _, ok := g.WhereisName(name); !ok {
		return nil
	}
	_, err := g.request(ctx, regRequest{kind: regUnregister, name: name})
	return err
}

// defaultMethod is how global:register_name/2 resolves conflicts, in a form every node can
// call: fun global:random_exit_name/3.
var defaultMethod = etf.ExportFun{Module: atomGlobal, Function: atomRandomExitName, Arity: 3}

func (g *Global) request(ctx context.Context, req regRequest) (bool, error) {
	if _, err := etf.Encode(req.name); err != nil {
		return false, fmt.Errorf("global: name %v is not an Erlang term: %w", req.name, err)
	}
	_, _, registrar, ok := g.current()
	if !ok {
		return false, ErrNotRunning
	}
	req.done = make(chan regResult, 1)
	req.cancelled = func() bool { return ctx.Err() != nil }
	if err := g.node.Send(registrar, req); err != nil {
		return false, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	select {
	case r := <-req.done:
		return r.ok, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	case <-g.stopped:
		return false, ErrNotRunning
	}
}

// Sync waits until this node has synced with every node that takes part in global and is
// connected now, as global:sync/0 does on BEAM.
func (g *Global) Sync(ctx context.Context) error {
	_, server, _, ok := g.current()
	if !ok {
		return ErrNotRunning
	}
	done := make(chan error, 1)
	if err := g.node.Send(server, syncRequest{done: done}); err != nil {
		return fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stopped:
		return ErrNotRunning
	}
}

// Known returns the nodes this node has synced with, directly or through others (global's
// known nodes), sorted.
func (g *Global) Known() []gen.Atom {
	t, _, _, ok := g.current()
	if !ok {
		return nil
	}
	return t.knownNodes()
}

// Synced returns the nodes this node has synced with directly, sorted.
func (g *Global) Synced() []gen.Atom {
	t, _, _, ok := g.current()
	if !ok {
		return nil
	}
	return slices.Clone(t.syncedNodes())
}

type supervisor struct {
	act.Supervisor
	g *Global
}

func (s *supervisor) Terminate(reason error) { s.g.stop() }

func (s *supervisor) Init(args ...any) (act.SupervisorSpec, error) {
	return act.SupervisorSpec{
		Type: act.SupervisorTypeOneForOne,
		Children: []act.SupervisorChildSpec{{
			Name:    ServerName,
			Factory: factoryServer(s.g),
		}},
		// Transient: a name server that fails is restarted; one stopped with the node is not.
		Restart: act.SupervisorRestart{Strategy: act.SupervisorStrategyTransient},
	}, nil
}
