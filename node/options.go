package node

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/node/dist"
	"github.com/gobeam/gobeam/node/global"
	"github.com/gobeam/gobeam/node/handshake"
	"github.com/gobeam/gobeam/node/kernel"
)

// Options configure a node. The zero value behaves like `erl -name ... -hidden`: the cookie from
// ~/.erlang.cookie, a hidden node, EPMD on $ERL_EPMD_PORT or 4369 (started inside this process
// when none is running), an ephemeral listen port, net_ticktime 60 s.
type Options struct {
	// Cookie is the magic cookie. Empty: the content of ~/.erlang.cookie, created if missing,
	// as erl does.
	Cookie string
	// Cookies holds the cookies of particular peers by node name, as erl's
	// erlang:set_cookie(Node, Cookie) or -setcookie Node Cookie: a listed peer must use its own
	// cookie, whichever side dials, and every other peer uses Cookie. It lets one Go node sit
	// between clusters that each keep a cookie of their own.
	Cookies map[string]string
	// Visible makes the node a full member of the cluster: BEAM nodes list it in nodes() and
	// global syncs with it, so the node runs global's name server (package node/global, see
	// Global). The default is hidden, as for C nodes: BEAM nodes list it in nodes(hidden) and
	// code that treats every node in nodes() as a BEAM node (rpc:multicall(nodes(), ...),
	// global's partition prevention) leaves it alone. Manifold, gen_server calls, links and
	// monitors work the same either way.
	Visible bool
	// Global configures global on a visible node.
	Global global.Options

	// EPMDPort is the port of the Erlang Port Mapper Daemon. 0: $ERL_EPMD_PORT, else 4369.
	EPMDPort uint16
	// NoEmbeddedEPMD stops the node from running its own EPMD when none listens on EPMDPort;
	// it then fails to start without one.
	NoEmbeddedEPMD bool

	// DistPort runs the node in a cluster without EPMD, as erl nodes started with
	// -erl_epmd_port DistPort -start_epmd false: the node listens on DistPort, registers with
	// no EPMD and runs none, and reaches every other node at the host part of its name and
	// DistPort. 0: EPMD as usual.
	DistPort uint16

	// ListenHost is the address the distribution listener binds. Empty: every interface, as
	// erl listens (IPv6 too where the system has it), so a node whose name's host is not an
	// address of the machine (behind NAT, a port mapping) still listens; but without EPMD
	// (DistPort), where every node listens on the one port and is reached at its name's host,
	// the host part of the node name, so that nodes can share a machine on their own addresses.
	ListenHost string
	// ListenPortMin and ListenPortMax bound the listen port, like inet_dist_listen_min/max:
	// the first free port from ListenPortMin up to ListenPortMax. ListenPortMin alone is that
	// one port (as in erl); ListenPortMax alone, which erl ignores, is an error, as is a
	// range that ends below its start. Both 0: a free port chosen by the system. Port 65535
	// cannot be used: Ergo's acceptor counts ports in 16 bits and never reaches it.
	ListenPortMin, ListenPortMax uint16

	// TickTime is net_ticktime: a peer silent for this long is declared down. 0: 60 s.
	// Use the same value on every node of a cluster, as with erl.
	TickTime time.Duration
	// MaxMessageSize bounds one incoming distribution message in bytes, and what a compressed
	// term in it may expand to; a peer sending a larger one loses its connection. Fragmented
	// messages of different processes interleave: those not yet complete may hold 4 times it
	// together. 0: no limit, as in BEAM (a compressed term then expands to 64 MiB or the
	// message's size at most).
	MaxMessageSize int

	// HandshakeTimeout bounds each distribution handshake, and on an accepted TLS connection the
	// TLS handshake before it (a dial has Ergo's 3 s for TCP and TLS set-up). 0: 5 s. Ergo
	// accepts one connection at a time, so an accepted connection has the first second of it
	// to send its name, which an Erlang node does at once: a silent one (an idle client, a
	// port scan) holds up the connections behind it for a second, not the whole timeout.
	HandshakeTimeout time.Duration

	// TLS runs the distribution over TLS, as erl's -proto_dist inet_tls. Nil: plain TCP, as
	// erl's default inet_tcp.
	TLS *TLS

	// Registry holds the Go functions and processes BEAM nodes may call (rpc:call, erpc:call)
	// and spawn (Node.spawn/4, spawn_link, spawn_monitor, erlang:spawn_request). Nil: none, and
	// such calls find the function undefined, as on a BEAM node without the module.
	Registry *kernel.Registry

	// Ergo holds every other setting of the Ergo node: applications to start, environment,
	// logging, security. Its Network field is filled in by Start and must be left zero, and its
	// CertManager too: TLS sets it.
	Ergo gen.NodeOptions
}

// DefaultEPMDPort is the port EPMD listens on unless ERL_EPMD_PORT says otherwise.
const DefaultEPMDPort = 4369

func (o Options) epmdPort() (uint16, error) {
	if o.EPMDPort != 0 {
		return o.EPMDPort, nil
	}
	if s := os.Getenv("ERL_EPMD_PORT"); s != "" {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			return 0, fmt.Errorf("node: ERL_EPMD_PORT=%q is not a port number", s)
		}
		return uint16(p), nil
	}
	return DefaultEPMDPort, nil
}

func (o Options) cookie() (string, error) {
	if o.Cookie != "" {
		return o.Cookie, nil
	}
	return handshake.DefaultCookie()
}

// CheckCookies checks cookies as Start checks Options.Cookies: every key a node name
// (name@host), every cookie not empty. A program that reads them from its configuration can
// say which setting is wrong before it starts the node.
func CheckCookies(cookies map[string]string) error {
	_, err := Options{Cookies: cookies}.peerCookies()
	return err
}

func (o Options) peerCookies() (map[gen.Atom]string, error) {
	if len(o.Cookies) == 0 {
		return nil, nil
	}
	cookies := make(map[gen.Atom]string, len(o.Cookies))
	for peer, cookie := range o.Cookies {
		if _, _, err := checkName(peer); err != nil {
			return nil, fmt.Errorf("node: Cookies: %q is not a node name (name@host)", peer)
		}
		if cookie == "" {
			return nil, fmt.Errorf("node: Cookies: empty cookie for %s", peer)
		}
		cookies[gen.Atom(peer)] = cookie
	}
	return cookies, nil
}

func (o Options) distOptions() dist.Options {
	return dist.Options{
		TickTime:          o.TickTime,
		MaxMessageSize:    o.MaxMessageSize,
		PeerFromHandshake: peerFromHandshake,
		TrapsExits:        trapsExits,
	}
}

// checkName accepts name@host, as erl's -name and -sname do.
func checkName(name string) (alive, host string, err error) {
	alive, host, ok := strings.Cut(name, "@")
	if !ok || alive == "" || host == "" || strings.Contains(host, "@") {
		return "", "", fmt.Errorf("node: invalid node name %q: want name@host", name)
	}
	return alive, host, nil
}

// listenPorts returns the port range for the distribution listener. Ergo's acceptor walks a
// range and cannot bind port 0, so "any free port" is found here by asking the system for one.
func (o Options) listenPorts(host string) (uint16, uint16, error) {
	lo, hi, err := o.configuredPorts()
	if err != nil {
		return 0, 0, err
	}
	if lo != 0 {
		if lo > MaxListenPort {
			return 0, 0, fmt.Errorf("node: cannot listen on port %d: Ergo's acceptor stops at %d", lo, MaxListenPort)
		}
		return lo, min(hi, MaxListenPort), nil
	}
	// Where the system's ephemeral ports reach the top, it may give one Ergo cannot bind.
	for range 16 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, 0, fmt.Errorf("node: cannot listen on %s: %w", host, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port <= MaxListenPort {
			// Should another program take the port in between, the acceptor tries the next ones.
			return uint16(port), uint16(min(port+64, MaxListenPort)), nil
		}
	}
	return 0, 0, fmt.Errorf("node: the system gave no free port below %d on %s; set ListenPortMin", MaxListenPort+1, host)
}

// configuredPorts returns the port range the options set (DistPort, or ListenPortMin and
// ListenPortMax), or zeros when they leave the port to the system.
func (o Options) configuredPorts() (uint16, uint16, error) {
	if o.DistPort != 0 {
		if (o.ListenPortMin != 0 && o.ListenPortMin != o.DistPort) || (o.ListenPortMax != 0 && o.ListenPortMax != o.DistPort) {
			return 0, 0, fmt.Errorf("node: ListenPortMin and ListenPortMax are for EPMD; without it (DistPort %d) the node listens on DistPort", o.DistPort)
		}
		return o.DistPort, o.DistPort, nil
	}
	lo, hi := o.ListenPortMin, o.ListenPortMax
	switch {
	case lo == 0 && hi != 0:
		return 0, 0, fmt.Errorf("node: ListenPortMax %d without ListenPortMin: set both, or ListenPortMin alone for one port", hi)
	case hi == 0:
		hi = lo
	case hi < lo:
		return 0, 0, fmt.Errorf("node: listen port range %d..%d ends below its start", lo, hi)
	}
	return lo, hi, nil
}

// MaxListenPort is the highest port a node can listen on: Ergo's acceptor walks a range with a
// 16-bit counter while the counter is below the range's end plus one, which for 65535 is 0.
const MaxListenPort = 65534

// peerFromHandshake reads what the handshake learnt into what the DIST layer needs.
func peerFromHandshake(result gen.HandshakeResult) (dist.Peer, error) {
	d, ok := handshake.DetailsOf(result)
	if !ok {
		return dist.Peer{}, fmt.Errorf("node: handshake result from %s carries no handshake details", result.Peer)
	}
	return dist.Peer{
		Name:       d.Peer,
		Creation:   d.PeerCreation,
		Flags:      uint64(d.Negotiated()),
		LocalFlags: uint64(d.Flags),
		Version:    result.PeerVersion,
	}, nil
}
