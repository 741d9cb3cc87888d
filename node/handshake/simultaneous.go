package handshake

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ergo.services/ergo/gen"
)

// Simultaneous connects. When two nodes dial each other at once, the acceptor of each attempt
// must know whether it is itself dialling the initiator, to let exactly one of the two
// connections survive (status ok_simultaneous / nok, decided by comparing node names). Ergo
// does not tell NetworkHandshake.Start which node it dials, so the node's resolver announces it
// (ExpectPeer, called with the routes it returns) and Start recognises the dialled address.

// expectationTTL bounds how long a resolved route is remembered for the dial that follows it.
const expectationTTL = 30 * time.Second

type expectation struct {
	node  gen.Atom
	until time.Time
	dials int // resolutions not yet taken by a dial: several processes may connect at once
}

// attempt is one outgoing handshake in progress towards a known node.
type attempt struct {
	conn    net.Conn
	yielded atomic.Bool // the acceptor side let the peer's own attempt win
	done    bool        // the handshake completed; under dials.mu
}

type dials struct {
	mu       sync.Mutex
	expected map[string]expectation
	pending  map[gen.Atom]map[*attempt]struct{}
	slots    map[gen.Atom]*slot
	// accepting counts the incoming handshakes in progress per peer. A node must not dial a
	// peer whose connection to it it is accepting (net_kernel keeps one pending connection
	// per node, whichever side started it); the dial waits for that one instead.
	accepting map[gen.Atom]int
}

// slot lets one connection attempt towards a node run at a time. Ergo resolves and dials once
// per process that finds no connection, so the first sends of many processes to a new node
// would start as many handshakes; a second handshake makes the peer (seeing us "alive") drop the
// first connection, and waiting dials hold sockets that a peer's serial accept loop would wait
// on. So the turn is taken when the route is resolved, before Ergo dials, and given back when
// that dial's handshake ends; the dials after it find the connection made and use it.
type slot struct {
	turn      chan struct{} // holds a token while a resolved dial is under way
	waiting   int           // resolutions waiting for the turn
	held      *turn         // the turn given to the dial under way, until its Start claims it
	succeeded time.Time     // when a handshake through this slot last succeeded
}

// turn is one resolution's right to dial; release is idempotent.
type turn struct {
	once  sync.Once
	timer *time.Timer // read and written under dials.mu
	free  func()
}

func (t *turn) release() { t.once.Do(t.free) }

func (d *dials) expect(addr string, node gen.Atom) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expected == nil {
		d.expected = make(map[string]expectation)
	}
	for k, e := range d.expected {
		if now.After(e.until) {
			delete(d.expected, k)
		}
	}
	e := d.expected[addr]
	if e.node != node {
		e = expectation{node: node}
	}
	e.until = now.Add(expectationTTL)
	e.dials++
	d.expected[addr] = e
}

// take returns the node expected at addr, if a resolver announced one.
func (d *dials) take(addr string) gen.Atom {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.expected[addr]
	if !ok {
		return ""
	}
	if e.dials--; e.dials <= 0 {
		delete(d.expected, addr)
	} else {
		d.expected[addr] = e
	}
	if time.Now().After(e.until) {
		return ""
	}
	return e.node
}

// acquire waits, until deadline, for the turn to dial peer, and holds it for the dial that
// follows: the Start that handshakes on that dial claims it. A dial that never reaches Start
// (the TCP connect failed) gives the turn back after unclaimed.
func (d *dials) acquire(peer gen.Atom, deadline time.Time, unclaimed time.Duration) bool {
	d.mu.Lock()
	if d.slots == nil {
		d.slots = make(map[gen.Atom]*slot)
	}
	s := d.slots[peer]
	if s == nil {
		s = &slot{turn: make(chan struct{}, 1)}
		d.slots[peer] = s
	}
	s.waiting++
	d.mu.Unlock()

	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	got := false
	select {
	case s.turn <- struct{}{}:
		got = true
	case <-wait.C:
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	s.waiting--
	if !got {
		return false
	}
	t := &turn{}
	t.free = func() {
		d.mu.Lock()
		t.timer.Stop() // set below, under d.mu like this
		if s.held == t {
			s.held = nil
		}
		if s.waiting == 0 && s.held == nil && time.Since(s.succeeded) > recentSuccess && d.slots[peer] == s {
			delete(d.slots, peer)
		}
		d.mu.Unlock()
		<-s.turn
	}
	t.timer = time.AfterFunc(unclaimed, t.release)
	s.held = t // the previous turn was claimed or freed before the token came back
	return true
}

// claim hands the Start dialling peer the turn its resolution holds; nil when it holds none
// (the turn timed out, or the route did not come from the resolver).
func (d *dials) claim(peer gen.Atom) *turn {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.slots[peer]
	if s == nil || s.held == nil {
		return nil
	}
	t := s.held
	s.held = nil
	if t.timer != nil {
		t.timer.Stop()
	}
	return t
}

// recentSuccess is how long at most, after a successful handshake, a dial to the same node
// waits for that connection to be registered instead of starting its own: Ergo registers it
// right after Start returns, and the wait ends as soon as it has (registered).
const recentSuccess = 2 * time.Second

// succeeded records that a handshake with peer has just succeeded.
func (d *dials) succeeded(peer gen.Atom) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.slots[peer]; s != nil {
		s.succeeded = time.Now()
	}
}

// registered records that the node has a connection to peer again after a handshake with it
// succeeded: no dial needs to wait for it any more, and, unless a dial is under way or waiting,
// the slot goes (the next dial makes a new one), so that peers met once leave nothing behind.
func (d *dials) registered(peer gen.Atom) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.slots[peer]
	if s == nil {
		return
	}
	s.succeeded = time.Time{}
	if s.waiting == 0 && s.held == nil && len(s.turn) == 0 {
		delete(d.slots, peer)
	}
}

// succeededRecently reports whether a handshake with peer succeeded within recentSuccess and its
// connection is not registered yet.
func (d *dials) succeededRecently(peer gen.Atom) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.slots[peer]
	return s != nil && time.Since(s.succeeded) < recentSuccess
}

// begin records an outgoing attempt to peer, unless an incoming handshake from peer is in
// progress: then it returns nil, and the dial should wait for that connection.
func (d *dials) begin(peer gen.Atom, conn net.Conn) *attempt {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.accepting[peer] > 0 {
		return nil
	}
	a := &attempt{conn: conn}
	if d.pending == nil {
		d.pending = make(map[gen.Atom]map[*attempt]struct{})
	}
	set := d.pending[peer]
	if set == nil {
		set = make(map[*attempt]struct{})
		d.pending[peer] = set
	}
	set[a] = struct{}{}
	return a
}

// finish marks a's handshake complete, unless the acceptor side has yielded it meanwhile.
func (d *dials) finish(a *attempt) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a.yielded.Load() {
		return false
	}
	a.done = true
	return true
}

// incoming records an incoming handshake from peer (until the returned func is called) and
// reports whether this node is dialling peer at the same time, in one step with begin's check.
func (d *dials) incoming(peer gen.Atom) (dialling bool, done func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.accepting == nil {
		d.accepting = make(map[gen.Atom]int)
	}
	d.accepting[peer]++
	return len(d.pending[peer]) > 0, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.accepting[peer]--; d.accepting[peer] <= 0 {
			delete(d.accepting, peer)
		}
	}
}

// acceptingFrom reports whether an incoming handshake from peer is in progress.
func (d *dials) acceptingFrom(peer gen.Atom) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.accepting[peer] > 0
}

func (d *dials) end(peer gen.Atom, a *attempt) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if set := d.pending[peer]; set != nil {
		delete(set, a)
		if len(set) == 0 {
			delete(d.pending, peer)
		}
	}
}

func (d *dials) dialling(peer gen.Atom) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending[peer]) > 0
}

// yield aborts the outgoing attempts to peer: the peer's attempt has won. Closing the socket
// wakes the blocked Start at once instead of leaving it to wait for the peer's "nok". If one
// of them has already completed, that one has won instead: nothing is aborted and yield
// reports false.
func (d *dials) yield(peer gen.Atom) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a := range d.pending[peer] {
		if a.done {
			return false
		}
	}
	for a := range d.pending[peer] {
		a.yielded.Store(true)
		a.conn.Close()
	}
	return true
}

// addrKey gives an address the one spelling both a route and a socket's RemoteAddr produce.
func addrKey(host string, port uint16) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap().WithZone(""), port).String()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

func remoteKey(conn net.Conn) string {
	addr := conn.RemoteAddr()
	if addr == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return ""
	}
	return addrKey(host, uint16(p))
}
