package manifold

import (
	"errors"
	"sync"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// A BEAM node runs only as many partitioners as its Manifold partitioners setting, and a cast
// to a name it does not run is dropped without a word by the runtime. So the first time a
// (node, partitioner) pair is used, a prober asks that partitioner which_children; a partitioner
// that does not exist fails the call at once (noproc). A missing one is logged as an error, and
// casts for that node go to partitioner 0, which every node running Manifold has: messages
// arrive, in order per sender from then on, instead of vanishing.

// probeAgain is how long a result holds; a node may restart with another configuration.
const probeAgain = time.Minute

type probeKey struct {
	node gen.Atom
	name gen.Atom
}

type probeResult struct {
	missing bool
	at      time.Time
	pending bool
}

type probes struct {
	mu        sync.Mutex
	results   map[probeKey]probeResult
	lastSweep time.Time
}

// forgetProbe is how long a pair no cast has used is remembered. In a cluster whose nodes get
// new names when they restart, results would otherwise pile up for nodes long gone; a pair
// used again after that is probed again, as the first time.
const forgetProbe = time.Hour

// usable returns the partitioner to cast to on node in place of name, and whether a probe of
// the pair should start.
func (ps *probes) usable(node, name gen.Atom) (gen.Atom, bool) {
	if name == PartitionerName(0) {
		return name, false
	}
	k := probeKey{node, name}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r, ok := ps.results[k]
	switch {
	case !ok || (!r.pending && time.Since(r.at) > probeAgain):
		if ps.results == nil {
			ps.results = make(map[probeKey]probeResult)
		}
		if !ok {
			ps.sweep()
		}
		ps.results[k] = probeResult{pending: true, missing: r.missing, at: r.at}
		return pick(name, r.missing), true
	default:
		return pick(name, r.missing), false
	}
}

// sweep forgets the results older than forgetProbe, at most once per probeAgain.
func (ps *probes) sweep() {
	now := time.Now()
	if now.Sub(ps.lastSweep) < probeAgain {
		return
	}
	ps.lastSweep = now
	for k, r := range ps.results {
		if !r.pending && now.Sub(r.at) > forgetProbe {
			delete(ps.results, k)
		}
	}
}

func pick(name gen.Atom, missing bool) gen.Atom {
	if missing {
		return PartitionerName(0)
	}
	return name
}

func (ps *probes) done(k probeKey, missing bool) {
	ps.mu.Lock()
	ps.results[k] = probeResult{missing: missing, at: time.Now()}
	ps.mu.Unlock()
}

// prober runs the probes, one call at a time, off the senders' path.
type prober struct {
	act.Actor
	m *Manifold
}

type probe struct {
	key   probeKey
	tries int
}

// ProberName is the registered name of the process that checks partitioners on other nodes.
const ProberName gen.Atom = "gobeam_manifold_prober"

func (p *prober) Init(args ...any) error {
	p.m = args[0].(*Manifold)
	return nil
}

func (p *prober) HandleMessage(from gen.PID, message any) error {
	pr, ok := message.(probe)
	if !ok {
		return nil
	}
	// The cast that asked for the probe makes the connection; a second dial racing it would do
	// no good, so the probe waits for the connection to be there.
	if _, err := p.Node().Network().Node(pr.key.node); err != nil {
		if pr.tries < 50 {
			pr.tries++
			p.SendAfter(p.PID(), pr, 100*time.Millisecond)
		} else {
			p.m.probes.done(pr.key, false) // unknown: try again after probeAgain
		}
		return nil
	}
	_, err := p.CallWithTimeout(gen.ProcessID{Name: pr.key.name, Node: pr.key.node}, etf.Atom("which_children"), 10)
	missing := errors.Is(err, gen.ErrProcessUnknown)
	if missing {
		p.Log().Error("%s runs no %s: it has fewer Manifold partitioners than this node's %d; casts for it go to %s (set Config.NodePartitioners for it)",
			pr.key.node, pr.key.name, p.m.cfg.Partitioners, PartitionerName(0))
	}
	p.m.probes.done(pr.key, missing)
	return nil
}
