package kernel

import (
	"errors"
	"fmt"
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
		mfaResolveIt:   k.globalResolveIt,
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
		var nk gen.PID
		nk, err = n.SpawnRegister(NetKernelName, func() gen.ProcessBehavior { return &netKernel{k: k} }, gen.ProcessOptions{})
		if err != nil {
			err = fmt.Errorf("kernel: starting %s: %w", NetKernelName, err)
			return
		}
		if _, err = n.SpawnRegister(RexName, func() gen.ProcessBehavior { return &rex{k: k} }, gen.ProcessOptions{}); err != nil {
			n.Kill(nk)
			err = fmt.Errorf("kernel: starting %s: %w", RexName, err)
			return
		}
		k.node = n
		close(k.started)
	})
	return err
}
