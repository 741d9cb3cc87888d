package manifold

import (
	"sync"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Casts to nodes this node is not connected to. An Ergo send to such a node dials it first, in
// the sender's goroutine: EPMD, TCP and the handshake, seconds when the node's host is gone.
// A partitioner relaying pids of a node that just died would wait that long for every cast,
// and every receiver behind it with it. gen_server:cast never waits so (it sends noconnect
// and leaves the connecting to a process of its own), and neither do these casts: the first
// cast for a node without a connection starts a dial in the background, the casts that follow
// queue behind it in order, and once the connection is up they go out in that order, before
// any later cast goes straight to the connection. A dial that fails drops what waited for it
// (counted in Dropped, one log line); the next cast tries again. Casts waiting for the first
// probe of a partitioner (probe.go) queue the same way, connected or not.

// maxQueuedBytes bounds the encoded casts waiting for one node's connection (as a connection's
// own queue is bounded); beyond it they are dropped, except a first cast larger than it, which
// would go through once the node is connected. queuedBytesLimit bounds those of all nodes
// together, so casts with pids of thousands of nodes not connected (a cluster's worth of
// nodes gone, or pids made up) cannot queue thousands of times as much.
const maxQueuedBytes = 64 << 20

var queuedBytesLimit = 256 << 20 // a variable for the tests

// maxDials is how many dials run at once; the nodes beyond wait their turn with their casts
// queued. Thousands of dials at once, each an EPMD lookup or a DNS query and a TCP connect,
// would hold as many goroutines and sockets for seconds.
const maxDials = 32

type connects struct {
	mu    sync.Mutex
	nodes map[gen.Atom]*dialing
	bytes int           // encoded size of every node's queue
	dials chan struct{} // a token per dial under way
}

// dialing is a node a dial is under way to, and what waits for it.
type dialing struct {
	queue   []queuedCast
	bytes   int // encoded size of queue
	dropped int // casts beyond maxQueuedBytes
}

type queuedCast struct {
	to  gen.ProcessID
	msg etf.Encoded // {'$gen_cast', Request}, encoded when queued: it holds pids a Send lent
	// first, when not nil, is the first probe of (to.Node, to.Name): the cast waits for it
	// and goes to the partitioner it found usable.
	first <-chan struct{}
}

// cast sends request to to as a gen_server cast with Config.Cast. The default Cast does not
// wait for a connection to be made: a cast for a node without one is queued (see queue).
func (m *Manifold) cast(from gen.Process, to gen.ProcessID, request etf.Tuple) error {
	if m.cfg.ownCast {
		if queued, err := m.connects.queue(m, to, request, nil); queued || err != nil {
			return err
		}
	}
	if err := m.cfg.Cast(from, to, request); err != nil {
		return err
	}
	m.relayed.Add(1)
	return nil
}

// castAfterProbe casts request to to.Name on to.Node once first, the first probe of that
// pair, has ended, or to partitioner 0 there if the probe found no to.Name. With the default
// Cast the cast is queued behind the node's earlier casts and the casting process goes on;
// with a Cast of the program's own, the casting process waits.
func (m *Manifold) castAfterProbe(from gen.Process, to gen.ProcessID, request etf.Tuple, first <-chan struct{}) error {
	if m.cfg.ownCast {
		_, err := m.connects.queue(m, to, request, first)
		return err
	}
	// The probe asks over a connection the cast would make; this cast waits for the probe
	// first, so it makes the connection first, in the casting process as its Cast would. A
	// node that cannot be reached leaves the probe without an answer, and the Cast its error.
	if _, err := m.node.Network().GetNode(to.Node); err != nil {
		return m.cast(from, to, request)
	}
	return m.cast(from, m.afterProbe(to, first), request)
}

// afterProbe waits for first, the first probe of (to.Node, to.Name), to end, and returns to
// with the partitioner it found usable.
func (m *Manifold) afterProbe(to gen.ProcessID, first <-chan struct{}) gen.ProcessID {
	m.probes.wait(probeKey{to.Node, to.Name}, first, probeWaitMax)
	to.Name = m.probes.resolve(to.Node, to.Name)
	return to
}

// queue queues the cast of request to to when no connection to its node is up, starting the
// dial if none is under way, and always when first (see queuedCast) is not nil. It reports
// false when the connection is up: the caller sends. The cast is encoded outside the lock,
// which casts to every node take: a large one queued for a node being dialled must not hold up
// the others.
func (c *connects) queue(m *Manifold, to gen.ProcessID, request etf.Tuple, first <-chan struct{}) (bool, error) {
	var enc etf.Encoded
	for {
		c.mu.Lock()
		d, dialling := c.nodes[to.Node]
		if !dialling && first == nil {
			if _, err := m.node.Network().Node(to.Node); err == nil {
				c.mu.Unlock()
				return false, nil
			}
		}
		if enc.Bytes() != nil {
			c.add(m, to, enc, first, d)
			c.mu.Unlock()
			return true, nil
		}
		c.mu.Unlock()
		// Encoded now; what was decided above is decided again after it.
		var err error
		if enc, err = etf.NewEncoded(etf.Tuple{atomGenCast, request}); err != nil {
			return true, err
		}
	}
}

// add queues enc for to's node, behind d, or starts the node's dial when d is nil. c.mu is
// held.
func (c *connects) add(m *Manifold, to gen.ProcessID, enc etf.Encoded, first <-chan struct{}, d *dialing) {
	if d == nil {
		if c.nodes == nil {
			c.nodes = make(map[gen.Atom]*dialing)
			c.dials = make(chan struct{}, maxDials)
		}
		d = &dialing{}
		c.nodes[to.Node] = d
		go c.dial(m, to.Node)
	}
	size := len(enc.Bytes())
	// One cast of any size fits an empty queue.
	if d.bytes > 0 && d.bytes+size > maxQueuedBytes || c.bytes > 0 && c.bytes+size > queuedBytesLimit {
		d.dropped++
		m.dropped.Add(1)
		return
	}
	d.bytes += size
	c.bytes += size
	d.queue = append(d.queue, queuedCast{to: to, msg: enc, first: first})
}

// dial connects to node and sends what queued for it meanwhile, in order, until nothing is
// left; then casts to node go straight to the connection again.
func (c *connects) dial(m *Manifold, node gen.Atom) {
	c.dials <- struct{}{}
	_, dialErr := m.node.Network().GetNode(node)
	<-c.dials
	for {
		c.mu.Lock()
		d := c.nodes[node]
		batch, over := d.queue, d.dropped
		c.bytes -= d.bytes
		d.queue, d.bytes, d.dropped = nil, 0, 0
		if len(batch) == 0 && over == 0 {
			delete(c.nodes, node)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if dialErr != nil {
			m.dropped.Add(uint64(len(batch)))
			m.node.Log().Error("manifold: %s unreachable, %d casts to it dropped: %s", node, len(batch)+over, dialErr)
			continue
		}
		if over > 0 {
			m.node.Log().Error("manifold: %d casts to %s dropped: over %d MB waited for its connection, or over %d MB for all connections being made",
				over, node, maxQueuedBytes>>20, queuedBytesLimit>>20)
		}
		for _, q := range batch {
			if q.first != nil {
				q.to = m.afterProbe(q.to, q.first)
			}
			if err := m.node.Send(q.to, q.msg); err != nil {
				m.dropped.Add(1)
				m.node.Log().Error("manifold: cast to %s on %s failed: %s", q.to.Name, node, err)
				continue
			}
			m.relayed.Add(1)
		}
	}
}

// idle reports whether no cast waits for a connection.
func (c *connects) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes) == 0
}
