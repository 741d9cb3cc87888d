package manifold

import (
	"slices"
	"sync"
	"sync/atomic"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"ergo.services/ergo/lib"

	"github.com/gobeam/gobeam/etf"
)

// partitioner is Manifold.Partitioner: it splits the pids of a cast among its workers by
// phash2(Pid, Workers+1), so a receiver always gets its messages through the same worker, and
// relays pids of other nodes to the partitioner of the same name there.
type partitioner struct {
	act.Actor
	m       *Manifold
	workers []gen.PID
	ledgers []*ledger // the deliveries each worker was given and has carried out
	index   []uint32  // scratch: the worker of each pid of the cast being routed
	counts  []int     // scratch: pids per worker
}

// ledger accounts for the deliveries of one worker, so that those a worker takes with it when
// it ends are counted as undelivered, not lost silently: handed counts the pids of the batches
// the partitioner gave it, settled (written by the worker) those it has dealt with. Once the
// worker has ended and the partitioner hands it nothing more, handed - settled were in its
// mailbox or in the batch it was stopped in.
type ledger struct {
	handed  atomic.Uint64 // the partitioner's alone
	settled atomic.Uint64 // the worker's alone

	// mu is held by the worker for each batch it sends, so that once retire returns the
	// worker delivers nothing more: a partitioner that replaces a crashed one must not have
	// its first deliveries overtaken by the last of the old workers'.
	mu      sync.Mutex
	retired bool // the partitioner is gone or has replaced the worker: handed is final
	ended   bool // the worker has ended
	counted bool // handed - settled has been counted as undelivered
}

// retire tells the worker to deliver nothing more, waiting for the batch it is sending, and
// reports what it lost if it has ended too (workerEnded: the caller knows it has). It is
// called by the partitioner that replaces the worker, by the partitioner when it ends, and by
// the successor of a partitioner that was killed, whose Terminate may come late.
func (l *ledger) retire(workerEnded bool) (lost uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retired = true
	l.ended = l.ended || workerEnded
	return l.count()
}

// end is retire's other half, called by the worker as it ends: it reports what the worker
// lost if its partitioner hands it nothing more.
func (l *ledger) end() (lost uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = true
	return l.count()
}

// count returns handed - settled the first time both halves are done, and 0 otherwise.
func (l *ledger) count() uint64 {
	if !l.retired || !l.ended || l.counted {
		return 0
	}
	l.counted = true
	return l.handed.Load() - l.settled.Load()
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
	p.ledgers = make([]*ledger, len(p.workers))
	// The workers of a partitioner that crashed or was killed end by their link to it, but
	// only after the batch they are sending, and its Terminate may come after this Init: they
	// are stopped here before a new worker delivers anything, so that no receiver gets an
	// old cast after a new one.
	for _, l := range p.m.swapLedgers(p.Name(), p.ledgers) {
		p.retire(l, "a worker of the previous "+string(p.Name()))
	}
	for i := range p.workers {
		if err := p.startWorker(i); err != nil {
			return err
		}
	}
	return nil
}

// startWorker starts the worker of slot i, with a new ledger.
func (p *partitioner) startWorker(i int) error {
	l := &ledger{}
	pid, err := p.Spawn(func() gen.ProcessBehavior { return &worker{} },
		gen.ProcessOptions{LinkParent: true, LinkChild: true}, p.m, l)
	if err != nil {
		return err
	}
	p.workers[i], p.ledgers[i] = pid, l
	return nil
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

// workerExited handles an exit signal the partitioner trapped. Only its supervisor stops it
// (Manifold.Stop, the node stopping). A worker that ends, for whatever reason, is replaced at
// once, as Manifold's partitioner does: a worker stopped with shutdown by someone else must
// not take the partitioner's name with it, since the supervisor does not restart a child that
// ended with shutdown. (When the node stops, its workers may end a moment before their
// partitioner: the replacements end with it.) Exit signals from other processes are ignored.
func (p *partitioner) workerExited(exit gen.MessageExitPID) error {
	if exit.PID == p.Parent() {
		return exit.Reason
	}
	i := slices.Index(p.workers, exit.PID)
	if i < 0 {
		return nil
	}
	// The worker has ended: what it had not dealt with is lost.
	lost := p.ledgers[i].retire(true)
	switch {
	case lost > 0:
		p.m.undelivered.Add(lost)
		p.Log().Warning("manifold worker exited: %s; %d deliveries it held were lost", exit.Reason, lost)
	case exit.Reason == gen.TerminateReasonShutdown:
		p.Log().Debug("manifold worker exited: %s", exit.Reason)
	default:
		p.Log().Warning("manifold worker exited: %s", exit.Reason)
	}
	// On an error the supervisor restarts the partitioner with all its workers.
	return p.startWorker(i)
}

// route hands the pids of this node to their workers and relays the others.
func (p *partitioner) route(c cast) {
	local := p.Node().Name()
	if c.pids.list != nil {
		if n, others := countLocal(c.pids, local); !others {
			// The common cast from BEAM: every pid is here. The workers read the list as
			// it was decoded; copying 32 bytes per pid into slices of their own was as
			// much memory as the decoding made, and the garbage collector's work with it.
			if n > 0 {
				p.toLocal(c.pids, n, c)
			}
			return
		}
	}
	mine, remote := splitByNode(c.pids.asSlice(), local)
	if len(mine) > 0 {
		p.toLocal(castPids{slice: mine}, len(mine), c)
	}
	if len(remote) > 0 {
		name := p.Name()
		relay(p, p.m, func(gen.Atom) gen.Atom { return name }, remote, c.msg, c.opts)
	}
}

// toLocal delivers the cast to pids, n pids of this node. A packed message
// ({manifold_binary, Bin}) is unpacked here, once for every worker and receiver; relays pass
// it on packed.
func (p *partitioner) toLocal(pids castPids, n int, c cast) {
	msg, err := unpack(c.msg)
	if err != nil {
		p.m.dropped.Add(1)
		p.Log().Error("cannot unpack a manifold_binary message for %d pids: %s", n, err)
		return
	}
	c.msg = msg
	p.toWorkers(pids, c)
}

// toWorkers hands each worker its share of pids, in order (see assign).
func (p *partitioner) toWorkers(pids castPids, c cast) {
	for w, at := range p.assign(pids) {
		if len(at) == 0 {
			continue
		}
		if err := p.Send(p.workers[w], batch{pids: pids, at: at, msg: c.msg, opts: c.opts}); err != nil {
			p.m.undelivered.Add(uint64(len(at)))
			p.Log().Error("manifold worker %s unreachable, %d deliveries lost: %s", p.workers[w], len(at), err)
			continue
		}
		p.ledgers[w].handed.Add(uint64(len(at)))
	}
}

// assign gives each worker the positions in pids of the pids with phash2(Pid, Workers+1)
// equal to its index, in the cast's order, so a receiver always gets its messages through the
// same worker. One array holds every worker's positions (4 bytes a pid, where a slice of the
// pids themselves takes 32), allocated per cast at its final size, since the workers keep
// their parts.
func (p *partitioner) assign(pids castPids) [][]uint32 {
	n := uint32(len(p.workers))
	total := pids.len()
	if cap(p.index) < total {
		p.index = make([]uint32, total)
	}
	index := p.index[:total]
	if cap(p.counts) < int(n) {
		p.counts = make([]int, n)
	}
	counts := p.counts[:n]
	clear(counts)
	k := 0
	for i := range index {
		pid, ok := pids.pidAt(i)
		if !ok {
			index[i] = skipped
			continue
		}
		w := etf.Phash2PID(pid, n)
		index[i] = w
		counts[w]++
		k++
	}
	// Cut the one array into the workers' parts; counts become where each part's next
	// position goes.
	positions := make([]uint32, k)
	parts := make([][]uint32, n)
	start := 0
	for w, c := range counts {
		parts[w] = positions[start : start+c : start+c]
		counts[w] = start
		start += c
	}
	for i, w := range index {
		if w != skipped {
			positions[counts[w]] = uint32(i)
			counts[w]++
		}
	}
	return parts
}

// skipped marks, in assign, a position of a pid list that holds no pid.
const skipped = ^uint32(0)

// HandleCall answers the supervisor calls Manifold's partitioner answers; others get error.
func (p *partitioner) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	switch request {
	case etf.Atom("which_children"):
		children := make(etf.List, 0, len(p.workers))
		for _, w := range p.workers {
			children = append(children, childEntry(etf.Atom("undefined"), w, "Elixir.Manifold.Worker"))
		}
		return children, nil
	case etf.Atom("count_children"):
		k := len(p.workers)
		return childCounts(1, k, k), nil
	}
	return etf.Atom("error"), nil
}

// nodePids are the pids of one node, in the order they came.
type nodePids struct {
	node gen.Atom
	pids []gen.PID
}

// splitByNode splits pids, keeping their order, into this node's and one group per other
// node. It counts first so that every slice is allocated once at its final size: fan-outs are
// thousands of pids, and slices grown by append were most of a sender's time. When all pids
// are on one node, that node's slice is pids itself, so pids must be the caller's own.
func splitByNode(pids []gen.PID, local gen.Atom) (mine []gen.PID, groups []nodePids) {
	type tally struct {
		node gen.Atom
		n    int
	}
	var counts []tally // a handful of nodes: a linear search beats a map
	last := -1
	for _, pid := range pids {
		if last >= 0 && counts[last].node == pid.Node {
			counts[last].n++
			continue
		}
		last = -1
		for i := range counts {
			if counts[i].node == pid.Node {
				last = i
				break
			}
		}
		if last < 0 {
			counts = append(counts, tally{node: pid.Node})
			last = len(counts) - 1
		}
		counts[last].n++
	}
	switch {
	case len(counts) == 0:
		return nil, nil
	case len(counts) == 1 && counts[0].node == local:
		return pids, nil
	case len(counts) == 1:
		return nil, []nodePids{{node: counts[0].node, pids: pids}}
	}
	slots := make([]*[]gen.PID, len(counts))
	groups = make([]nodePids, 0, len(counts))
	for _, c := range counts {
		if c.node == local {
			mine = make([]gen.PID, 0, c.n)
			continue
		}
		groups = append(groups, nodePids{node: c.node, pids: make([]gen.PID, 0, c.n)})
	}
	for i, c := range counts {
		if c.node == local {
			slots[i] = &mine
			continue
		}
		for g := range groups {
			if groups[g].node == c.node {
				slots[i] = &groups[g].pids
			}
		}
	}
	last = 0
	for _, pid := range pids {
		if counts[last].node != pid.Node {
			for i := range counts {
				if counts[i].node == pid.Node {
					last = i
					break
				}
			}
		}
		*slots[last] = append(*slots[last], pid)
	}
	return mine, groups
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
		c := cast{pids: castPids{slice: g.pids}, shape: m.cfg.shapeFor(g.node), opts: opts}
		req := c.term(out)[1].(etf.Tuple)
		want := nameFor(g.node)
		name, first, probeIt := m.probes.usable(g.node, want)
		if probeIt {
			key := probeKey{g.node, want}
			if err := p.Send(gen.ProcessID{Name: ProberName, Node: p.Node().Name()}, probe{key: key}); err != nil {
				m.probes.done(key, false, false) // no prober (Manifold is stopping): the name is tried
			}
		}
		to := gen.ProcessID{Name: name, Node: g.node}
		var err error
		if first != nil {
			err = m.castAfterProbe(p, to, req, first)
		} else {
			err = m.cast(p, to, req)
		}
		if err != nil {
			m.dropped.Add(1)
			p.Log().Error("manifold cast to %s on %s failed, %d pids not reached: %s", name, g.node, len(g.pids), err)
		}
	}
}

// Terminate counts what the partitioner leaves undone: the casts in its mailbox, and the
// batches its workers have not sent (they end with it, by their links).
func (p *partitioner) Terminate(reason error) {
	p.countUnhandled(reason)
	for i, l := range p.ledgers {
		if l != nil {
			p.retire(l, "worker "+p.workers[i].String())
		}
	}
	p.m.untrack(p.PID())
}

// retire retires the ledger of a worker that ends with a partitioner (whose is the worker, for
// the log line) and counts what the worker lost, if it has ended already.
func (p *partitioner) retire(l *ledger, whose string) {
	if lost := l.retire(false); lost > 0 {
		p.m.undelivered.Add(lost)
		p.Log().Warning("manifold: %s ended with %d deliveries, lost", whose, lost)
	}
}

// countUnhandled counts the casts left in the mailbox of an ending partitioner, which end with
// it: this node's pids among them as undelivered, and each cast with pids of other nodes,
// which would have been relayed, as dropped.
func (p *partitioner) countUnhandled(reason error) {
	local := p.Node().Name()
	var casts, here, relays uint64
	leftInMailbox(p, func(message any) {
		var c cast
		if lc, isLocal := message.(*localCast); isLocal {
			c = lc.cast
		} else if parsed, isCast, err := parseCast(message); err == nil && isCast {
			c = parsed
		} else {
			return
		}
		casts++
		mine, other := countLocal(c.pids, local)
		here += uint64(mine)
		if other {
			relays++
		}
	})
	if casts == 0 {
		return
	}
	p.m.undelivered.Add(here)
	p.m.dropped.Add(relays)
	p.Log().Warning("manifold partitioner ended (%s) with %d casts unhandled: %d deliveries here and %d relays to other nodes lost",
		reason, casts, here, relays)
}

// leftInMailbox takes each message left in the mailbox of an ending process. Nothing else
// reads it then: the process has ended and is no longer registered.
func leftInMailbox(p gen.Process, each func(message any)) {
	mb := p.Mailbox()
	for _, q := range []lib.QueueMPSC{mb.Urgent, mb.System, mb.Main} {
		for {
			item, ok := q.Pop()
			if !ok {
				break
			}
			if mm, ok := item.(*gen.MailboxMessage); ok {
				each(mm.Message)
			}
		}
	}
}

// countLocal counts the pids of node among pids, and reports whether there are others.
func countLocal(pids castPids, node gen.Atom) (n int, others bool) {
	for i := range pids.len() {
		if pid, ok := pids.pidAt(i); ok {
			if pid.Node == node {
				n++
			} else {
				others = true
			}
		}
	}
	return n, others
}
