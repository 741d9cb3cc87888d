package manifold

import (
	"errors"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// partitioner is Manifold.Partitioner: it splits the pids of a cast among its workers by
// phash2(Pid, Workers+1), so a receiver always gets its messages through the same worker, and
// relays pids of other nodes to the partitioner of the same name there.
type partitioner struct {
	act.Actor
	m       *Manifold
	workers []gen.PID
	buckets [][]gen.PID
}

// localCast is a cast from Go code on this node: the same request, without encoding.
type localCast struct {
	cast
}

func (p *partitioner) Init(args ...any) error {
	p.m = args[0].(*Manifold)
	p.m.track(p.PID())
	// Workers are linked; a crashed worker is replaced, as Manifold's partitioner does.
	p.SetTrapExit(true)
	p.workers = make([]gen.PID, p.m.cfg.Workers+1)
	p.buckets = make([][]gen.PID, len(p.workers))
	for i := range p.workers {
		pid, err := p.startWorker()
		if err != nil {
			return err
		}
		p.workers[i] = pid
	}
	return nil
}

func (p *partitioner) startWorker() (gen.PID, error) {
	return p.Spawn(func() gen.ProcessBehavior { return &worker{} }, gen.ProcessOptions{LinkParent: true, LinkChild: true}, p.m)
}

func (p *partitioner) HandleMessage(from gen.PID, message any) error {
	switch msg := message.(type) {
	case *localCast:
		p.m.castsIn.Add(1)
		p.route(msg.cast)
		return nil
	case gen.MessageExitPID:
		return p.workerExited(msg)
	}
	c, isCast, err := parseCast(message)
	switch {
	case err != nil:
		p.m.dropped.Add(1)
		p.Log().Error("malformed Manifold cast from %s dropped: %s", from, err)
	case isCast:
		p.m.castsIn.Add(1)
		p.route(c)
	default:
		// Manifold's partitioner ignores other casts and messages.
		p.Log().Debug("ignored message from %s: %v", from, message)
	}
	return nil
}

func (p *partitioner) workerExited(exit gen.MessageExitPID) error {
	if errors.Is(exit.Reason, gen.TerminateReasonShutdown) {
		// Workers are shut down only when the node stops; the partitioner goes with them.
		return exit.Reason
	}
	for i, w := range p.workers {
		if w != exit.PID {
			continue
		}
		p.Log().Warning("manifold worker exited: %s", exit.Reason)
		pid, err := p.startWorker()
		if err != nil {
			return err // the supervisor restarts the partitioner with all its workers
		}
		p.workers[i] = pid
		return nil
	}
	if exit.PID == p.Parent() {
		return exit.Reason
	}
	return nil
}

// route hands the pids of this node to their workers and relays the others.
func (p *partitioner) route(c cast) {
	local := p.Node().Name()
	var remote []nodePids
	n := uint32(len(p.workers))
	for _, pid := range c.pids {
		if pid.Node != local {
			remote = appendByNode(remote, pid)
			continue
		}
		i := etf.Phash2PID(pid, n)
		p.buckets[i] = append(p.buckets[i], pid)
	}
	for i, b := range p.buckets {
		if len(b) == 0 {
			continue
		}
		// The worker keeps the slice; the next cast starts a new one.
		p.buckets[i] = nil
		if err := p.Send(p.workers[i], batch{pids: b, msg: c.msg, opts: c.opts}); err != nil {
			p.Log().Error("manifold worker %s unreachable, %d deliveries lost: %s", p.workers[i], len(b), err)
		}
	}
	if len(remote) > 0 {
		name := p.Name()
		relay(p, p.m, func(gen.Atom) gen.Atom { return name }, remote, c.msg, c.opts)
	}
}

// HandleCall answers the supervisor calls Manifold's partitioner answers; others get error.
func (p *partitioner) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	switch request {
	case etf.Atom("which_children"):
		children := make(etf.List, 0, len(p.workers))
		for _, w := range p.workers {
			children = append(children, etf.Tuple{etf.Atom("undefined"), w, etf.Atom("worker"), etf.List{etf.Atom("Elixir.Manifold.Worker")}})
		}
		return children, nil
	case etf.Atom("count_children"):
		k := len(p.workers)
		return etf.List{
			etf.Tuple{etf.Atom("specs"), 1}, etf.Tuple{etf.Atom("active"), k},
			etf.Tuple{etf.Atom("supervisors"), 0}, etf.Tuple{etf.Atom("workers"), k},
		}, nil
	}
	return etf.Atom("error"), nil
}

// nodePids are the pids of one node, in the order they came.
type nodePids struct {
	node gen.Atom
	pids []gen.PID
}

func appendByNode(groups []nodePids, pid gen.PID) []nodePids {
	for i := range groups {
		if groups[i].node == pid.Node {
			groups[i].pids = append(groups[i].pids, pid)
			return groups
		}
	}
	return append(groups, nodePids{node: pid.Node, pids: []gen.PID{pid}})
}

// relay casts msg to the partitioner nameFor(node) on each node, in the shape that node takes;
// a message going to more than one node is encoded once.
func relay(p gen.Process, m *Manifold, nameFor func(gen.Atom) gen.Atom, groups []nodePids, msg any, opts etf.List) {
	var out any = msg
	if len(groups) > 1 {
		if enc, err := etf.NewEncoded(msg); err == nil {
			out = enc
		}
	}
	for _, g := range groups {
		c := cast{pids: g.pids, shape: m.cfg.shapeFor(g.node), opts: opts}
		req := c.term(out)[1].(etf.Tuple)
		name, probeIt := m.probes.usable(g.node, nameFor(g.node))
		if probeIt {
			p.Send(gen.ProcessID{Name: ProberName, Node: p.Node().Name()}, probe{key: probeKey{g.node, nameFor(g.node)}})
		}
		if err := m.cfg.Cast(p, gen.ProcessID{Name: name, Node: g.node}, req); err != nil {
			m.dropped.Add(1)
			p.Log().Error("manifold cast to %s on %s failed, %d pids not reached: %s", name, g.node, len(g.pids), err)
			continue
		}
		m.relayed.Add(1)
	}
}

func (p *partitioner) Terminate(reason error) { p.m.untrack(p.PID()) }
