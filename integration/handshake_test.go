package integration

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/handshake"
	"github.com/gobeam/gobeam/node/nodetest"
)

// The distribution handshake against real erl, both ways, visible and hidden, and refused
// both ways on a wrong cookie. After the handshake the Go side only answers ticks (the DIST
// layer is not part of these tests), which is all erl needs to keep the connection up and list
// it in nodes() or nodes(hidden).

type hsOutcome struct {
	result gen.HandshakeResult
	err    error
}

// hsAcceptor accepts distribution connections for a Go node, as Ergo's accept loop does.
type hsAcceptor struct {
	listener net.Listener
	results  chan hsOutcome
}

func hsListen(t *testing.T, n *epmdGoNode, h *handshake.Handshake, cookie string) *hsAcceptor {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	a := &hsAcceptor{listener: l, results: make(chan hsOutcome, 8)}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			r, err := h.Accept(n, conn, gen.HandshakeOptions{Cookie: cookie})
			if err != nil {
				conn.Close()
			} else {
				hsAnswerTicks(t, conn)
			}
			a.results <- hsOutcome{r, err}
		}
	}()
	return a
}

func (a *hsAcceptor) port() uint16 { return uint16(a.listener.Addr().(*net.TCPAddr).Port) }

func (a *hsAcceptor) next(t *testing.T) hsOutcome {
	t.Helper()
	select {
	case o := <-a.results:
		return o
	case <-time.After(15 * time.Second):
		t.Fatal("no handshake reached the Go node")
		return hsOutcome{}
	}
}

// hsAnswerTicks keeps a distribution connection alive without a DIST layer: every tick (an
// empty packet) is answered with one, everything else is read and dropped.
func hsAnswerTicks(t *testing.T, conn net.Conn) {
	t.Cleanup(func() { conn.Close() })
	go func() {
		var head [4]byte
		for {
			if _, err := io.ReadFull(conn, head[:]); err != nil {
				return
			}
			n := binary.BigEndian.Uint32(head[:])
			if n == 0 {
				if _, err := conn.Write(head[:]); err != nil {
					return
				}
				continue
			}
			if _, err := io.CopyN(io.Discard, conn, int64(n)); err != nil {
				return
			}
		}
	}()
}

// hsSetup is a Go node with the Erlang handshake, registered with an embedded EPMD, and an
// erl peer on that EPMD.
type hsSetup struct {
	node     *epmdGoNode
	h        *handshake.Handshake
	acceptor *hsAcceptor
	registry *epmd.Registrar
	peer     *erlpeer.Peer
}

func newHSSetup(t *testing.T, hidden bool, goCookie, erlCookie string) *hsSetup {
	t.Helper()
	s := &hsSetup{node: newEPMDGoNode("gohs")}
	s.h = handshake.New(handshake.Options{Hidden: hidden})
	s.acceptor = hsListen(t, s.node, s.h, goCookie)
	port := nodetest.Port(t)
	s.registry = epmdRegistrar(t, s.node, port, s.acceptor.port(), epmd.Options{OnResolve: s.h.ExpectPeer})
	s.peer = erlpeer.Start(t, erlpeer.Options{
		Name: erlpeer.UniqueName("erlhs"), Cookie: erlCookie, EPMDPort: int(port), NoStartEPMD: true,
	})
	return s
}

// dial connects the Go node to the erl peer as Ergo does: resolve, dial, Start.
func (s *hsSetup) dial(t *testing.T, cookie string) (gen.HandshakeResult, net.Conn, error) {
	t.Helper()
	routes, err := s.registry.Resolve(gen.Atom(s.peer.Node()))
	require.NoError(t, err)
	require.Len(t, routes, 1)
	conn, err := net.Dial("tcp", net.JoinHostPort(routes[0].Host, strconv.Itoa(int(routes[0].Port))))
	require.NoError(t, err)
	r, err := s.h.Start(s.node, conn, gen.HandshakeOptions{Cookie: cookie})
	if err != nil {
		conn.Close()
		return r, nil, err
	}
	hsAnswerTicks(t, conn)
	return r, conn, nil
}

// erlLists reports whether erl lists the Go node in nodes(Which).
func (s *hsSetup) erlLists(t *testing.T, which string) bool {
	t.Helper()
	v := s.peer.MustEval(`lists:member('` + string(s.node.name) + `', nodes(` + which + `))`)
	return v == true
}

func hsCheckDetails(t *testing.T, s *hsSetup, r gen.HandshakeResult, initiator, hidden bool) {
	t.Helper()
	assert.Equal(t, gen.Atom(s.peer.Node()), r.Peer)
	assert.Equal(t, handshake.Version, r.HandshakeVersion)
	creation := s.peer.MustEval(`erlang:system_info(creation)`)
	assert.Equal(t, creation, r.PeerCreation, "the peer's creation")
	d, ok := handshake.DetailsOf(r)
	require.True(t, ok)
	assert.Equal(t, initiator, d.Initiator)
	assert.Equal(t, s.node.name, d.Name)
	assert.Equal(t, uint32(s.node.creation), d.Creation)
	assert.True(t, d.PeerFlags.Has(handshake.Mandatory), "erl announces %s", d.PeerFlags)
	assert.True(t, d.PeerFlags.Has(handshake.FlagPublished), "erl is a visible node")
	assert.Equal(t, hidden, d.Hidden())
	assert.Equal(t, handshake.DefaultFlags&^handshake.FlagPublished, d.Negotiated()&^handshake.FlagPublished,
		"erl honours every flag the Go node announces; erl announces %s", d.PeerFlags)
	t.Logf("%s announced %s", s.peer.Node(), d.PeerFlags)
}

func TestHandshakeErlDialsGo(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		t.Run(map[bool]string{false: "visible", true: "hidden"}[hidden], func(t *testing.T) {
			s := newHSSetup(t, hidden, "hs-cookie", "hs-cookie")

			up := s.peer.MustEval(`net_kernel:connect_node('` + string(s.node.name) + `')`)
			require.Equal(t, true, up, "erl connects to the Go node")
			o := s.acceptor.next(t)
			require.NoError(t, o.err)
			hsCheckDetails(t, s, o.result, false, hidden)

			time.Sleep(300 * time.Millisecond)
			assert.Equal(t, !hidden, s.erlLists(t, "visible"), "nodes()")
			assert.Equal(t, hidden, s.erlLists(t, "hidden"), "nodes(hidden)")
		})
	}
}

func TestHandshakeGoDialsErl(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		t.Run(map[bool]string{false: "visible", true: "hidden"}[hidden], func(t *testing.T) {
			s := newHSSetup(t, hidden, "hs-cookie", "hs-cookie")
			r, _, err := s.dial(t, "hs-cookie")
			require.NoError(t, err)
			hsCheckDetails(t, s, r, true, hidden)

			time.Sleep(300 * time.Millisecond)
			assert.Equal(t, !hidden, s.erlLists(t, "visible"), "nodes()")
			assert.Equal(t, hidden, s.erlLists(t, "hidden"), "nodes(hidden)")
		})
	}
}

func TestHandshakeWrongCookieRefusedBothWays(t *testing.T) {
	s := newHSSetup(t, false, "go-cookie", "erl-cookie")

	// erl dials with its cookie: the Go node refuses, naming erl.
	up := s.peer.MustEval(`net_kernel:connect_node('` + string(s.node.name) + `')`)
	assert.Equal(t, false, up)
	o := s.acceptor.next(t)
	require.ErrorIs(t, o.err, handshake.ErrBadCookie)
	assert.Contains(t, o.err.Error(), "handshake from "+string(s.peer.Node())+": cookie mismatch")

	// The Go node dials with its cookie: erl refuses, and the Go node logs it, naming erl.
	_, _, err := s.dial(t, "go-cookie")
	require.ErrorIs(t, err, handshake.ErrBadCookie)
	assert.Contains(t, s.node.log.text(), "warning: handshake with "+string(s.peer.Node())+": cookie mismatch")

	assert.Equal(t, false, s.erlLists(t, "connected"))
}

// erl started with -sname undefined asks the first node it connects to for a name
// (DFLAG_NAME_ME): the Go node assigns one, and erl takes it.
func TestHandshakeDynamicNameForErl(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	// Short names on both sides: erl in -sname mode connects only to short names.
	n := newEPMDGoNode("gohsdyn")
	n.name = gen.Atom(strings.Replace(string(n.name), "@127.0.0.1", "@"+host, 1))
	h := handshake.New(handshake.Options{})
	acceptor := hsListen(t, n, h, "hs-cookie")
	port := nodetest.Port(t)
	epmdRegistrar(t, n, port, acceptor.port(), epmd.Options{})
	p := erlpeer.Start(t, erlpeer.Options{
		Name: "undefined", ShortNames: true, Cookie: "hs-cookie", EPMDPort: int(port), NoStartEPMD: true,
	})

	up := p.MustEval(`net_kernel:connect_node('` + string(n.name) + `')`)
	require.Equal(t, true, up)
	o := acceptor.next(t)
	require.NoError(t, o.err)
	assert.Regexp(t, `^dyn[0-9a-f]{12}@`+regexp.QuoteMeta(host)+`$`, string(o.result.Peer))
	assert.Equal(t, etf.Atom(o.result.Peer), p.MustEval(`node()`), "erl took the name the Go node gave it")
	assert.Equal(t, o.result.PeerCreation, p.MustEval(`erlang:system_info(creation)`))
}
