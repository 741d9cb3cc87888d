package handshake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"ergo.services/ergo/gen"
)

// Version identifies this handshake to Ergo, which finds a route's handshake by
// Version().Str() ("erlang-handshake:6"): routes to Erlang nodes must carry it.
var Version = gen.Version{Name: "erlang-handshake", Release: "6", License: gen.LicenseMIT}

// PeerVersion is what a connection reports as the remote node's version: the handshake does
// not reveal a peer's OTP release, only that it speaks distribution version 6.
var PeerVersion = gen.Version{Name: "erlang", Release: "dist-6"}

// DefaultTimeout bounds a whole handshake. Accept runs inside Ergo's accept loop, so the bound is
// also the longest a slow peer can hold up other incoming connections.
const DefaultTimeout = 5 * time.Second

// nameTimeout is how long an accepted connection may stay silent before its name, the first
// message, arrives. An Erlang node sends it as soon as it has connected, so a peer that has
// not after a second is not one (an idle connection, a port scan): while it waits, Ergo
// accepts no one else, and erl gives up a connection attempt after 7 s (net_setuptime).
const nameTimeout = time.Second

// Errors a handshake returns, wrapped with the peer's name or address.
var (
	// ErrBadCookie: the digests did not match; the two nodes use different cookies.
	ErrBadCookie = errors.New("cookie mismatch")
	// ErrSimultaneous: both nodes dialled each other and the other connection attempt won;
	// the connection is coming up through it.
	ErrSimultaneous = errors.New("simultaneous connect, the other attempt proceeds")
	// ErrNotAllowed: the peer refused the connection (status not_allowed).
	ErrNotAllowed = errors.New("connection not allowed by the peer")
	// ErrAlreadyConnected: a connection between the two nodes is already up.
	ErrAlreadyConnected = errors.New("already connected")
	// ErrMissingFlags: the peer lacks capabilities every supported Erlang release requires.
	ErrMissingFlags = errors.New("peer lacks mandatory distribution flags")
	// ErrBadName: the peer's node name is not name@host.
	ErrBadName = errors.New("invalid node name")
	// ErrNoCookie: no cookie was configured.
	ErrNoCookie = errors.New("no cookie configured")
)

// Options configure a Handshake.
type Options struct {
	// Flags is what the node announces. Zero means DefaultFlags, or HiddenFlags when Hidden.
	// Every flag of Mandatory is always announced.
	Flags Flags
	// Hidden makes the node hidden: PUBLISHED is not announced, so Erlang nodes list it in
	// nodes(hidden), and global does not sync with it.
	Hidden bool
	// Timeout bounds each handshake (DefaultTimeout when zero).
	Timeout time.Duration
	// NetworkFlags is what NetworkFlags() returns, for acceptors that take their Ergo flags from
	// the handshake. Zero leaves Ergo's node-wide flags in force.
	NetworkFlags gen.NetworkFlags
	// Cookie is the node's cookie. Empty means the cookie Ergo passes in with each handshake
	// (gen.NetworkOptions.Cookie when dialling, the acceptor's when accepting). SetCookie
	// changes it later.
	Cookie string
	// Cookies holds the cookies of particular peers, as erlang:set_cookie(Node, Cookie) does:
	// a peer listed here is challenged with, and answered with, its own cookie, whichever side
	// dials. Every other peer uses the node's cookie. SetPeerCookie changes them later. A
	// dial answers with a peer's own cookie only if it names the node it is for (ExpectPeer,
	// as every dial through the registrar does): otherwise the name is only the claim of
	// whoever answers at the address, and the dial fails rather than prove that node's cookie
	// to it.
	Cookies map[gen.Atom]string
}

// Handshake is the Erlang distribution handshake (version 6, OTP 23 and later) as an Ergo
// gen.NetworkHandshake. One value serves all connections of a node: it keeps the outgoing
// attempts in progress to settle simultaneous connects.
type Handshake struct {
	flags       Flags
	timeout     time.Duration
	nameTimeout time.Duration // nameTimeout; shorter in tests
	netflag     gen.NetworkFlags
	dials       dials

	cookiesMu sync.RWMutex
	cookie    string              // the node's; "" for Ergo's
	cookies   map[gen.Atom]string // particular peers'
}

// New returns a handshake with the given options.
func New(options Options) *Handshake {
	h := &Handshake{
		flags:       options.Flags,
		timeout:     options.Timeout,
		nameTimeout: nameTimeout,
		netflag:     options.NetworkFlags,
		cookie:      options.Cookie,
		cookies:     maps.Clone(options.Cookies),
	}
	if h.flags == 0 {
		h.flags = DefaultFlags
		if options.Hidden {
			h.flags = HiddenFlags
		}
	}
	if options.Hidden {
		h.flags &^= FlagPublished
	}
	// Without these the peer refuses us, and NAME_ME is a request only Start could make.
	h.flags = (h.flags | Mandatory) &^ FlagNameMe
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	return h
}

// nodeCookie is the node's cookie: the one set on the handshake, else given (the one Ergo passed
// in).
func (h *Handshake) nodeCookie(given string) string {
	if c := h.Cookie(); c != "" {
		return c
	}
	return given
}

// cookieFor is the cookie for peer: its own if it has one, else the node's.
func (h *Handshake) cookieFor(peer gen.Atom, node string) string {
	if c, ok := h.PeerCookie(peer); ok {
		return c
	}
	return node
}

// Cookie returns the node's cookie set on the handshake (Options.Cookie or SetCookie); "" when
// it takes the one Ergo passes in.
func (h *Handshake) Cookie() string {
	h.cookiesMu.RLock()
	defer h.cookiesMu.RUnlock()
	return h.cookie
}

// PeerCookie returns the cookie of peer's own, if it has one (Options.Cookies or
// SetPeerCookie).
func (h *Handshake) PeerCookie(peer gen.Atom) (string, bool) {
	h.cookiesMu.RLock()
	defer h.cookiesMu.RUnlock()
	c, ok := h.cookies[peer]
	return c, ok
}

// SetCookie sets the node's cookie, as erlang:set_cookie/1 does on a running node: the
// handshakes that start from then on use it, in both directions, with every peer that has no
// cookie of its own. "" goes back to the cookie Ergo passes in. A connection already up stays up.
func (h *Handshake) SetCookie(cookie string) {
	h.cookiesMu.Lock()
	defer h.cookiesMu.Unlock()
	h.cookie = cookie
}

// SetPeerCookie gives peer a cookie of its own, as erlang:set_cookie(Node, Cookie) does on a
// running node, or with "" takes it away, so that peer uses the node's cookie again. It applies
// to the handshakes that start from then on, in both directions; a connection already up stays
// up.
func (h *Handshake) SetPeerCookie(peer gen.Atom, cookie string) {
	h.cookiesMu.Lock()
	defer h.cookiesMu.Unlock()
	if cookie == "" {
		delete(h.cookies, peer)
		return
	}
	if h.cookies == nil {
		h.cookies = make(map[gen.Atom]string)
	}
	h.cookies[peer] = cookie
}

// Flags returns what the node announces.
func (h *Handshake) Flags() Flags { return h.flags }

// Version implements gen.NetworkHandshake.
func (h *Handshake) Version() gen.Version { return Version }

// NetworkFlags implements gen.NetworkHandshake.
func (h *Handshake) NetworkFlags() gen.NetworkFlags { return h.netflag }

// Join implements gen.NetworkHandshake. Erlang keeps a single connection between two nodes, so
// there is no pool to join.
func (h *Handshake) Join(gen.NodeHandshake, net.Conn, string, gen.HandshakeOptions) ([]byte, error) {
	return nil, gen.ErrUnsupported
}

// ExpectPeer tells the handshake which node the given routes lead to, so that Start knows whom
// it is dialling when Ergo connects to one of them. The node's resolver calls it with the
// routes it returns (epmd.Options.OnResolve), just before Ergo dials.
//
// It also makes dials to one node take turns: it returns when no other dial to node is under
// way (or after the handshake timeout), so processes sending to a new node at once make one
// connection, and the dials after the first find it and use it. Without ExpectPeer,
// simultaneous connects between two nodes of this package are not detected (connects with
// Erlang nodes still settle, as Erlang detects them on its side), and concurrent first sends
// may start competing handshakes.
func (h *Handshake) ExpectPeer(node gen.Atom, routes []gen.Route) {
	// The turn waits for the dial under way: its TCP connect (Ergo gives it 3 s) and its
	// handshake (h.timeout). A dial whose connect fails never reaches Start to give the turn
	// back; it is released after unclaimedTurn, so the others are not held up for long by a
	// refused port.
	h.dials.acquire(node, time.Now().Add(h.timeout+dialTimeout), unclaimedTurn)
	for _, r := range routes {
		for _, key := range routeKeys(r.Host, r.Port) {
			h.dials.expect(key, node)
		}
	}
}

// routeKeys are the addresses a dial to host:port may connect to, as Start sees them (the
// socket's remote address). A route keeps a host name where the name matters (TLS checks the
// peer's certificate against it; without EPMD the node's host is all there is), so the name is
// resolved here as the dial will resolve it; if it does not resolve, neither will the dial.
func routeKeys(host string, port uint16) []string {
	if _, err := netip.ParseAddr(host); err == nil {
		return []string{addrKey(host, port)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return []string{addrKey(host, port)}
	}
	keys := make([]string, len(ips))
	for i, ip := range ips {
		keys[i] = addrKey(ip.String(), port)
	}
	return keys
}

// dialTimeout is how long Ergo's dialer waits for a TCP connection; unclaimedTurn how long a
// resolved dial may take to connect before the next dial to the node may start.
const (
	dialTimeout   = 3 * time.Second
	unclaimedTurn = time.Second
)

func (h *Handshake) result(d Details, options gen.HandshakeOptions) gen.HandshakeResult {
	negotiated := d.Negotiated()
	return gen.HandshakeResult{
		HandshakeVersion: Version,
		ConnectionID:     connectionID(),
		Peer:             d.Peer,
		PeerCreation:     int64(d.PeerCreation),
		PeerVersion:      PeerVersion,
		PeerFlags: gen.NetworkFlags{
			Enable:              true,
			EnableRemoteSpawn:   d.PeerFlags.Has(FlagSpawn),
			EnableFragmentation: negotiated.Has(FlagFragments),
		},
		NodeFlags:          options.Flags,
		NodeMaxMessageSize: options.MaxMessageSize,
		Custom:             d,
	}
}

func connectionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// creationOf is the creation announced for the node: the one its pids carry. Ergo's creation
// is the start time in Unix seconds, which fits the 32 bits of the protocol until 2106.
func creationOf(node gen.NodeHandshake) uint32 {
	return uint32(node.Creation())
}

// maxNameBytes is the longest node name: an atom of 255 characters of up to 4 bytes each.
const maxNameBytes = 255 * 4

// checkNodeName accepts name@host with both parts non-empty.
func checkNodeName(name string) error {
	alive, host, ok := strings.Cut(name, "@")
	if !ok || alive == "" || host == "" || strings.Contains(host, "@") {
		return fmt.Errorf("%w %q: want name@host", ErrBadName, name)
	}
	return checkAtomText(name)
}

func checkAtomText(s string) error {
	if len(s) > maxNameBytes || utf8.RuneCountInString(s) > 255 {
		return fmt.Errorf("%w: %d bytes is longer than an atom", ErrBadName, len(s))
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w %q: not UTF-8", ErrBadName, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w %q: contains NUL", ErrBadName, s)
	}
	return nil
}

// The node Ergo passes in is the full node; these narrow views give the handshake its log and
// its connections without depending on more than it needs.
type nodeWithLog interface{ Log() gen.Log }
type nodeWithNetwork interface{ Network() gen.Network }

func warn(node gen.NodeHandshake, format string, args ...any) {
	if n, ok := node.(nodeWithLog); ok {
		if log := n.Log(); log != nil {
			log.Warning(format, args...)
		}
	}
}

// connection returns the node's live connection to peer, if any.
func connection(node gen.NodeHandshake, peer gen.Atom) gen.RemoteNode {
	n, ok := node.(nodeWithNetwork)
	if !ok {
		return nil
	}
	network := n.Network()
	if network == nil {
		return nil
	}
	remote, err := network.Node(peer)
	if err != nil {
		return nil
	}
	return remote
}

// awaitDisconnect waits until the node no longer lists a connection to peer, or the deadline.
func awaitDisconnect(node gen.NodeHandshake, peer gen.Atom, deadline time.Time) bool {
	return waitUntil(deadline, func() bool { return connection(node, peer) == nil })
}
