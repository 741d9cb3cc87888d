package manifold

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Manifold is Manifold running on a Go node: its partitioners, workers and senders, and Send.
type Manifold struct {
	node gen.Node
	cfg  Config
	sup  gen.PID

	probes   probes
	connects connects // casts waiting for a connection to their node
	procs    sync.Map // gen.PID of every partitioner, worker and sender: what Drain waits for

	ledgersMu sync.Mutex
	ledgers   map[gen.Atom][]*ledger // each partitioner's workers' ledgers, for its successor

	castsIn     atomic.Uint64
	deliveries  atomic.Uint64
	relayed     atomic.Uint64
	sends       atomic.Uint64
	dropped     atomic.Uint64
	undelivered atomic.Uint64
}

// Stats are Manifold's counters on this node since Start.
type Stats struct {
	// CastsIn counts the casts partitioners received (from BEAM nodes and from Go).
	CastsIn uint64
	// Deliveries counts messages workers handed to receiving processes of this node.
	Deliveries uint64
	// Relayed counts casts to partitioners of other nodes: those partitioners passed on, and
	// those of Send and of offloaded sends.
	Relayed uint64
	// Sends counts Send calls and offloaded requests carried out.
	Sends uint64
	// Dropped counts casts refused as malformed (a packed message that does not decode among
	// them, once a cast), casts that could not be passed on (their node unreachable, or the
	// local partitioner not registered while it restarts), and casts with pids of other nodes
	// left in a partitioner's mailbox when it ended, with log lines saying why.
	Dropped uint64
	// Undelivered counts messages workers could not hand to a live receiver because its
	// mailbox was full (gen.ProcessOptions.MailboxSize; BEAM processes have no such bound), with
	// a log line a second at most; messages a worker held when it, or its partitioner, was
	// killed or ended by an exit signal (in its mailbox, or the rest of the batch it was
	// sending), which it takes with it as Manifold's worker does; messages for this node's
	// pids in casts left in a partitioner's mailbox when it ended; and messages for a worker
	// that was gone when its partitioner handed them on. Receivers that no longer exist are not
	// counted: Manifold's send to a dead pid is dropped too.
	Undelivered uint64
}

// Stats returns the counters.
func (m *Manifold) Stats() Stats {
	return Stats{
		CastsIn:     m.castsIn.Load(),
		Deliveries:  m.deliveries.Load(),
		Relayed:     m.relayed.Load(),
		Sends:       m.sends.Load(),
		Dropped:     m.dropped.Load(),
		Undelivered: m.undelivered.Load(),
	}
}

// swapLedgers records the ledgers of the partitioner registered as name, and returns those of
// the one before it.
func (m *Manifold) swapLedgers(name gen.Atom, ledgers []*ledger) []*ledger {
	m.ledgersMu.Lock()
	defer m.ledgersMu.Unlock()
	if m.ledgers == nil {
		m.ledgers = make(map[gen.Atom][]*ledger)
	}
	old := m.ledgers[name]
	m.ledgers[name] = ledgers
	return old
}

// Config returns the configuration in force, defaults filled in.
func (m *Manifold) Config() Config { return m.cfg }

// SupervisorName is the registered name of the supervisor of partitioners and senders.
const SupervisorName gen.Atom = "Elixir.Manifold.Supervisor"

// Start registers Manifold's 32 partitioners and 128 senders on node n under a supervisor
// registered as 'Elixir.Manifold.Supervisor' (one_for_one, as in Manifold). A setting out of
// its range (see Config) is an error.
func Start(n gen.Node, cfg Config) (*Manifold, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	m := &Manifold{node: n, cfg: cfg.withDefaults()}
	// The supervisor logs a line per child it stops at info level: 160 lines every time the
	// node stops. Its warnings and errors (restarts, crashes) are what matter.
	opts := gen.ProcessOptions{LogLevel: gen.LogLevelWarning}
	pid, err := n.SpawnRegister(SupervisorName, func() gen.ProcessBehavior { return &supervisor{} }, opts, m)
	if err != nil {
		return nil, fmt.Errorf("manifold: starting the supervisor: %w", err)
	}
	m.sup = pid
	return m, nil
}

// Stop stops the partitioners, workers and senders.
func (m *Manifold) Stop() error {
	return m.node.SendExit(m.sup, gen.TerminateReasonShutdown)
}

type supervisor struct {
	act.Supervisor
}

func (s *supervisor) Init(args ...any) (act.SupervisorSpec, error) {
	m, ok := args[0].(*Manifold)
	if !ok {
		return act.SupervisorSpec{}, errors.New("manifold: supervisor started without its Manifold")
	}
	spec := act.SupervisorSpec{
		Type: act.SupervisorTypeOneForOne,
		Restart: act.SupervisorRestart{
			// Crashed children come back; children stopped with shutdown (the node stopping,
			// which signals each process from its parent) stay down.
			Strategy:  act.SupervisorStrategyTransient,
			Intensity: 10, // Manifold's max_restarts
			Period:    5,
		},
	}
	for i := 0; i < MaxPartitioners; i++ {
		spec.Children = append(spec.Children, act.SupervisorChildSpec{
			Name:    PartitionerName(i),
			Factory: func() gen.ProcessBehavior { return &partitioner{} },
			Args:    []any{m},
		})
	}
	spec.Children = append(spec.Children, act.SupervisorChildSpec{
		Name:    ProberName,
		Factory: func() gen.ProcessBehavior { return &prober{} },
		Args:    []any{m},
	})
	for i := 0; i < MaxSenders; i++ {
		spec.Children = append(spec.Children, act.SupervisorChildSpec{
			Name:    SenderName(i),
			Factory: func() gen.ProcessBehavior { return &sender{} },
			Args:    []any{m},
		})
	}
	return spec, nil
}

// HandleCall answers which_children and count_children as Manifold's supervisor does (an
// Elixir Supervisor, whose callers, Supervisor.which_children among them, wait without a
// timeout), and error to other calls, so that no caller waits for good.
func (s *supervisor) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	switch request {
	case etf.Atom("which_children"):
		children := s.Children()
		list := make(etf.List, 0, len(children))
		for _, c := range children {
			var pid any = etf.Atom("undefined") // not running: stopped, or being restarted
			if c.PID != (gen.PID{}) {
				pid = c.PID
			}
			list = append(list, childEntry(c.Spec, pid, childModule(c.Spec)))
		}
		return list, nil
	case etf.Atom("count_children"):
		children := s.Children()
		active := 0
		for _, c := range children {
			if c.PID != (gen.PID{}) {
				active++
			}
		}
		return childCounts(len(children), active, len(children)), nil
	}
	return etf.Atom("error"), nil
}

// childEntry is one element of a which_children answer: {Id, Child, worker, [Module]}.
func childEntry(id, child any, module etf.Atom) etf.Tuple {
	return etf.Tuple{id, child, etf.Atom("worker"), etf.List{module}}
}

// childCounts is a count_children answer for a supervisor of workers only.
func childCounts(specs, active, workers int) etf.List {
	return etf.List{
		etf.Tuple{etf.Atom("specs"), specs}, etf.Tuple{etf.Atom("active"), active},
		etf.Tuple{etf.Atom("supervisors"), 0}, etf.Tuple{etf.Atom("workers"), workers},
	}
}

// childModule is the module a child of the supervisor stands for, as which_children names it.
func childModule(name gen.Atom) etf.Atom {
	switch {
	case isPartitionerName(name):
		return "Elixir.Manifold.Partitioner"
	case strings.HasPrefix(string(name), "Manifold.Sender_"):
		return "Elixir.Manifold.Sender"
	}
	return etf.Atom(name) // the prober, which Manifold has not
}
