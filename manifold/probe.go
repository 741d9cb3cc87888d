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
// arrive, in order per sender, instead of vanishing.
//
// Until that first answer, casts for the pair wait, in order, in the node's queue (see
// connects), or, with a Config.Cast of the program's own, in the casting process: cast to the
// name at once, they would vanish on a node that lacks it (Manifold's default is one
// partitioner, this node's as many as GOMAXPROCS), and cast to partitioner 0 meanwhile, they
// could be overtaken later by casts through the right one.

// probeAgain is how long a result holds; a node may restart with another configuration.
const probeAgain = time.Minute

// probeWaitMax bounds how long casts wait for a first probe: the prober gives up on a
// connection after probeConnectWait and on the call after probeCallTimeout,
// so this only matters if the prober lost the probe (it was restarted, or Manifold is
// stopping). Such a probe counts as ended without an answer, and a probe under way for longer
// is started again by the next cast.
const probeWaitMax = 25 * time.Second

const (
	// The prober waits for the connection the cast makes for as long as a dial, its EPMD
	// lookup and the handshake may take (3 s and 5 s by default), and then some. It looks
	// again after probeConnectPoll, then after twice as long each time, up to
	// probeConnectPollMax: a connection that comes up at once is seen at once, and probes of
	// thousands of unreachable nodes do not keep the prober looking a hundred times a second
	// each.
	probeConnectPoll    = 10 * time.Millisecond
	probeConnectPollMax = 640 * time.Millisecond
	probeConnectWait    = 10 * time.Second
	probeCallTimeout    = 10 // seconds
	// probeConfirm is how long a prober waits before it asks again a partitioner that was there
	// and now is not: a supervisor restarting it must not move its senders to partitioner 0.
	probeConfirm = 500 * time.Millisecond
)

type probeKey struct {
	node gen.Atom
	name gen.Atom
}

type probeResult struct {
	missing bool
	known   bool // a probe has answered (missing or not); an unknown pair's name is tried
	at      time.Time
	pending bool
	asked   time.Time     // when the pending probe started
	unsure  bool          // a partitioner that was there answered noproc; it is asked again
	first   chan struct{} // closed when the pair's first probe ends; nil after that
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
// the pair should start. While the pair's first probe is under way, it returns that probe's
// first channel instead: the cast waits for it, then goes to resolve(node, name).
func (ps *probes) usable(node, name gen.Atom) (use gen.Atom, first <-chan struct{}, probeIt bool) {
	if name == PartitionerName(0) {
		return name, nil, false
	}
	k := probeKey{node, name}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r, ok := ps.results[k]
	switch {
	case !ok:
		if ps.results == nil {
			ps.results = make(map[probeKey]probeResult)
		}
		ps.sweep()
		r = probeResult{pending: true, asked: time.Now(), first: make(chan struct{})}
		ps.results[k] = r
		return name, r.first, true
	case r.first != nil:
		return name, r.first, false
	case r.pending && time.Since(r.asked) > probeWaitMax, !r.pending && time.Since(r.at) > probeAgain:
		r.pending, r.asked = true, time.Now()
		ps.results[k] = r
		return pick(name, r.missing), nil, true
	}
	return pick(name, r.missing), nil, false
}

// wait waits for first, the first probe of k, to end, for at most max; a probe that takes
// longer was lost, and ends here without an answer, so that later casts do not wait for it.
func (ps *probes) wait(k probeKey, first <-chan struct{}, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-first:
	case <-t.C:
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if ps.results[k].first == first { // and not a newer probe of a pair forgotten since
			ps.record(k, false, false)
		}
	}
}

// resolve returns the partitioner to cast to on node in place of name once the pair's first
// probe has ended.
func (ps *probes) resolve(node, name gen.Atom) gen.Atom {
	if name == PartitionerName(0) {
		return name
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return pick(name, ps.results[probeKey{node, name}].missing)
}

// doubt reports whether the last answer for the pair found its partitioner, which a noproc
// now puts in doubt; if so, the pair is marked unsure until its probe ends.
func (ps *probes) doubt(k probeKey) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r := ps.results[k]
	if !r.known || r.missing {
		return false
	}
	r.unsure = true
	ps.results[k] = r
	return true
}

// sweep forgets the results older than forgetProbe, at most once per probeAgain.
func (ps *probes) sweep() {
	now := time.Now()
	if now.Sub(ps.lastSweep) < probeAgain {
		return
	}
	ps.lastSweep = now
	for k, r := range ps.results {
		if now.Sub(r.at) > forgetProbe && (!r.pending || now.Sub(r.asked) > probeWaitMax) {
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

// done records the end of a probe of k. A probe that got no answer (known false: no
// connection, a timeout) leaves what an earlier one found. When none ever answered, the casts
// that waited try the name, and nothing is kept: the next cast probes again, and waits for it.
// Kept for probeAgain, the guess would send a minute of casts to a name that a node reached
// only later may not run, where they vanish.
func (ps *probes) done(k probeKey, missing, known bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.record(k, missing, known)
}

// record is done with ps.mu held.
func (ps *probes) record(k probeKey, missing, known bool) {
	r := ps.results[k]
	if !known && !r.known {
		if r.first != nil {
			close(r.first)
		}
		delete(ps.results, k)
		return
	}
	if known {
		r.missing, r.known = missing, true
	}
	r.at, r.pending, r.unsure = time.Now(), false, false
	if r.first != nil {
		close(r.first)
		r.first = nil
	}
	ps.results[k] = r
}

// prober runs the probes, one call at a time, off the senders' path.
type prober struct {
	act.Actor
	m *Manifold
}

type probe struct {
	key     probeKey
	waited  time.Duration // for the connection, so far
	confirm bool          // asking again after a noproc from a partitioner that was there
}

// nextPoll is how long a probe waiting for its connection waits before it looks again.
func (pr probe) nextPoll() time.Duration {
	return min(max(probeConnectPoll, pr.waited), probeConnectPollMax)
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
		if pr.waited < probeConnectWait {
			next := pr.nextPoll()
			pr.waited += next
			p.SendAfter(p.PID(), pr, next)
		} else {
			p.m.probes.done(pr.key, false, false)
		}
		return nil
	}
	_, err := p.CallWithTimeout(gen.ProcessID{Name: pr.key.name, Node: pr.key.node}, etf.Atom("which_children"), probeCallTimeout)
	switch {
	case err == nil:
		p.m.probes.done(pr.key, false, true)
	case errors.Is(err, gen.ErrProcessUnknown):
		if !pr.confirm && p.m.probes.doubt(pr.key) {
			// Between a crash and its supervisor's restart a partitioner is not registered;
			// moving its senders to partitioner 0 for a minute and back would risk their order.
			pr.confirm, pr.waited = true, 0
			p.SendAfter(p.PID(), pr, probeConfirm)
			return nil
		}
		// The name came from this node's Partitioners, Config.NodePartitioners, or the
		// partitioner relaying the cast (a cast to partitioner N is relayed to partitioner N).
		p.Log().Error("%s runs no %s: it runs fewer Manifold partitioners than casts to it assume; they go to %s there (Config.NodePartitioners tells this node how many it runs)",
			pr.key.node, pr.key.name, PartitionerName(0))
		p.m.probes.done(pr.key, true, true)
	default:
		p.m.probes.done(pr.key, false, false) // no answer: try again after probeAgain
	}
	return nil
}
