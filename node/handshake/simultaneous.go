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
}

// attempt is one outgoing handshake in progress towards a known node.
type attempt struct {
	conn    net.Conn
	yielded atomic.Bool // the acceptor side let the peer's own attempt win
}

type dials struct {
	mu       sync.Mutex
	expected map[string]expectation
	pending  map[gen.Atom]map[*attempt]struct{}
}

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
	d.expected[addr] = expectation{node: node, until: now.Add(expectationTTL)}
}

// take returns the node expected at addr, if a resolver announced one.
func (d *dials) take(addr string) gen.Atom {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.expected[addr]
	if !ok {
		return ""
	}
	delete(d.expected, addr)
	if time.Now().After(e.until) {
		return ""
	}
	return e.node
}

func (d *dials) begin(peer gen.Atom, conn net.Conn) *attempt {
	a := &attempt{conn: conn}
	d.mu.Lock()
	defer d.mu.Unlock()
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
// wakes the blocked Start at once instead of leaving it to wait for the peer's "nok".
func (d *dials) yield(peer gen.Atom) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a := range d.pending[peer] {
		a.yielded.Store(true)
		a.conn.Close()
	}
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
