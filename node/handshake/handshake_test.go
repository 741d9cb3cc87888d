package handshake

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type outcome struct {
	result gen.HandshakeResult
	err    error
}

// run performs one handshake between two nodes over an in-memory pipe.
func run(t *testing.T, hs, ha *Handshake, ns, na *fakeNode, cookieS, cookieA string) (start, accept outcome) {
	t.Helper()
	return runOn(t, hs, ha, ns, na, cookieS, cookieA, func(c net.Conn) net.Conn { return c })
}

// runNamed is run with the dial naming the node it is for, as every dial through the
// registrar does (ExpectPeer with the routes it resolved).
func runNamed(t *testing.T, hs, ha *Handshake, ns, na *fakeNode, cookieS, cookieA string) (start, accept outcome) {
	t.Helper()
	at := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4370}
	hs.ExpectPeer(na.name, []gen.Route{{Host: at.IP.String(), Port: uint16(at.Port)}})
	start, accept = runOn(t, hs, ha, ns, na, cookieS, cookieA, func(c net.Conn) net.Conn { return addressedConn{c, at} })
	// As if Ergo had registered the connection, and it had gone since: the next dial to the
	// node does not wait for it.
	hs.dials.registered(na.name)
	return start, accept
}

// addressedConn is a connection with the remote address of a dial.
type addressedConn struct {
	net.Conn
	remote net.Addr
}

func (c addressedConn) RemoteAddr() net.Addr { return c.remote }

func runOn(t *testing.T, hs, ha *Handshake, ns, na *fakeNode, cookieS, cookieA string, dialled func(net.Conn) net.Conn) (start, accept outcome) {
	t.Helper()
	cs, ca := net.Pipe()
	defer cs.Close()
	defer ca.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		accept.result, accept.err = ha.Accept(na, ca, gen.HandshakeOptions{Cookie: cookieA})
		if accept.err != nil {
			ca.Close()
		}
	}()
	start.result, start.err = hs.Start(ns, dialled(cs), gen.HandshakeOptions{Cookie: cookieS, MaxMessageSize: 1 << 20})
	if start.err != nil {
		cs.Close()
	}
	wg.Wait()
	return start, accept
}

func TestHandshakeBothSides(t *testing.T) {
	a := newFakeNode("alpha@127.0.0.1", 1700000001)
	b := newFakeNode("beta@127.0.0.1", 1700000002)
	hs, ha := New(Options{}), New(Options{Hidden: true})

	start, accept := run(t, hs, ha, a, b, "COOKIE", "COOKIE")
	require.NoError(t, start.err)
	require.NoError(t, accept.err)

	r := start.result
	assert.Equal(t, gen.Atom("beta@127.0.0.1"), r.Peer)
	assert.Equal(t, int64(1700000002), r.PeerCreation)
	assert.Equal(t, Version, r.HandshakeVersion)
	assert.Equal(t, PeerVersion, r.PeerVersion)
	assert.Equal(t, 1<<20, r.NodeMaxMessageSize)
	assert.True(t, r.PeerFlags.Enable)
	assert.True(t, r.PeerFlags.EnableRemoteSpawn)
	assert.True(t, r.PeerFlags.EnableFragmentation)
	assert.Len(t, r.ConnectionID, 16)
	assert.Empty(t, r.Tail)
	d, ok := DetailsOf(r)
	require.True(t, ok)
	assert.Equal(t, Details{
		Name: "alpha@127.0.0.1", Peer: "beta@127.0.0.1",
		Flags: DefaultFlags, PeerFlags: HiddenFlags | Mandatory25,
		Creation: 1700000001, PeerCreation: 1700000002, Initiator: true,
	}, d)
	assert.True(t, d.Hidden(), "one side hidden makes the connection hidden")

	r = accept.result
	assert.Equal(t, gen.Atom("alpha@127.0.0.1"), r.Peer)
	assert.Equal(t, int64(1700000001), r.PeerCreation)
	d, ok = DetailsOf(r)
	require.True(t, ok)
	assert.Equal(t, Details{
		Name: "beta@127.0.0.1", Peer: "alpha@127.0.0.1",
		Flags: HiddenFlags, PeerFlags: DefaultFlags | Mandatory25,
		Creation: 1700000002, PeerCreation: 1700000001,
	}, d)
	assert.Equal(t, HiddenFlags, d.Negotiated())
}

func TestHandshakeVisibleBothSides(t *testing.T) {
	a := newFakeNode("a@h", 11)
	b := newFakeNode("b@h", 12)
	start, accept := run(t, New(Options{}), New(Options{}), a, b, "C", "C")
	require.NoError(t, start.err)
	require.NoError(t, accept.err)
	d, _ := DetailsOf(start.result)
	assert.False(t, d.Hidden())
	assert.Equal(t, DefaultFlags, d.Negotiated())
}

func TestWrongCookieRefusedBothWays(t *testing.T) {
	a := newFakeNode("alpha@127.0.0.1", 1)
	b := newFakeNode("beta@127.0.0.1", 2)

	start, accept := run(t, New(Options{}), New(Options{}), a, b, "RIGHT", "WRONG")
	assert.ErrorIs(t, start.err, ErrBadCookie)
	assert.ErrorIs(t, accept.err, ErrBadCookie)
	assert.Contains(t, accept.err.Error(), "alpha@127.0.0.1")
	assert.Contains(t, a.log.text(), "warning: handshake with beta@127.0.0.1: cookie mismatch")

	// The other way round: b dials a.
	start, accept = run(t, New(Options{}), New(Options{}), b, a, "WRONG", "RIGHT")
	assert.ErrorIs(t, start.err, ErrBadCookie)
	assert.ErrorIs(t, accept.err, ErrBadCookie)
	assert.Contains(t, b.log.text(), "handshake with alpha@127.0.0.1: cookie mismatch")
}

// connects runs a handshake, dialled by node name, that must succeed on both sides.
func connects(t *testing.T, hs, ha *Handshake, ns, na *fakeNode, cookieS, cookieA, why string) {
	t.Helper()
	start, accept := runNamed(t, hs, ha, ns, na, cookieS, cookieA)
	require.NoError(t, start.err, why)
	require.NoError(t, accept.err, why)
}

// refused runs a handshake, dialled by node name, that both sides must refuse for its cookie.
func refused(t *testing.T, hs, ha *Handshake, ns, na *fakeNode, cookieS, cookieA, why string) {
	t.Helper()
	start, accept := runNamed(t, hs, ha, ns, na, cookieS, cookieA)
	assert.ErrorIs(t, start.err, ErrBadCookie, why)
	assert.ErrorIs(t, accept.err, ErrBadCookie, why)
}

// A peer with a cookie of its own is challenged and answered with it whichever side dials;
// the other peers still need the node's cookie, and the listed peer cannot use that one.
func TestPeerCookies(t *testing.T) {
	a := newFakeNode("alpha@127.0.0.1", 1)
	b := newFakeNode("beta@127.0.0.1", 2)
	c := newFakeNode("gamma@127.0.0.1", 3)
	mine := func() *Handshake { return New(Options{Cookies: map[gen.Atom]string{"beta@127.0.0.1": "PAIR"}}) }

	connects(t, mine(), New(Options{}), a, b, "MINE", "PAIR", "alpha dials beta")
	connects(t, New(Options{}), mine(), b, a, "PAIR", "MINE", "beta dials alpha")

	connects(t, mine(), New(Options{}), a, c, "MINE", "MINE", "gamma has no cookie of its own: the node's")
	refused(t, New(Options{}), mine(), c, a, "PAIR", "MINE", "beta's cookie is beta's only")

	refused(t, New(Options{}), mine(), b, a, "MINE", "MINE", "beta must use its own cookie")
	refused(t, mine(), New(Options{}), a, b, "MINE", "MINE", "alpha dials beta with its own cookie")
}

// A dial that does not name its node (a route of the program's own, not resolved through the
// registrar) never answers with a peer's own cookie: the name is only what the peer at that
// address claims, and the digest would prove that node's cookie, for a challenge of the
// peer's choosing, to whoever it is. It fails, saying why; the node's cookie still serves
// the other peers.
func TestPeerCookieOnlyForADialThatNamesTheNode(t *testing.T) {
	a := newFakeNode("alpha@127.0.0.1", 1)
	b := newFakeNode("beta@127.0.0.1", 2)
	c := newFakeNode("gamma@127.0.0.1", 3)
	mine := New(Options{Cookies: map[gen.Atom]string{"beta@127.0.0.1": "PAIR"}})

	cs, ca := net.Pipe()
	defer cs.Close()
	replied := make(chan ReplyMessage, 1)
	const relayed = 424242 // a challenge the impostor took from beta
	go func() {
		defer ca.Close()
		readMessage(ca)
		writeMessage(ca, AppendStatus(nil, StatusMessage{Status: StatusOK}))
		writeMessage(ca, AppendChallenge(nil, ChallengeMessage{Flags: DefaultFlags, Challenge: relayed, Creation: 5, Name: "beta@127.0.0.1"}))
		body, err := readMessage(ca)
		if err == nil {
			r, _ := DecodeReply(body)
			replied <- r
		}
		close(replied)
	}()
	_, err := mine.Start(a, cs, gen.HandshakeOptions{Cookie: "MINE"})
	require.ErrorIs(t, err, ErrBadCookie)
	require.ErrorContains(t, err, "beta@127.0.0.1 has a cookie of its own, and this dial did not name the node")
	cs.Close()
	r, sent := <-replied
	require.False(t, sent, "a digest went out: %+v (beta's would be %x)", r, Digest(relayed, "PAIR"))

	start, accept := run(t, mine, New(Options{}), a, c, "MINE", "MINE")
	require.NoError(t, start.err, "gamma has no cookie of its own")
	require.NoError(t, accept.err)
	start, _ = run(t, mine, New(Options{}), a, b, "MINE", "PAIR")
	require.ErrorIs(t, start.err, ErrBadCookie, "beta, dialled without its name")
}

// SetPeerCookie changes a peer's cookie for the handshakes after it, both ways, and "" gives the
// peer the node's cookie back.
func TestSetPeerCookie(t *testing.T) {
	a := newFakeNode("alpha@127.0.0.1", 1)
	b := newFakeNode("beta@127.0.0.1", 2)
	h := New(Options{Cookies: map[gen.Atom]string{"beta@127.0.0.1": "OLD"}})

	h.SetPeerCookie("beta@127.0.0.1", "NEW")
	c, ok := h.PeerCookie("beta@127.0.0.1")
	assert.True(t, ok)
	assert.Equal(t, "NEW", c)
	connects(t, h, New(Options{}), a, b, "MINE", "NEW", "alpha dials beta with the new cookie")
	connects(t, New(Options{}), h, b, a, "NEW", "MINE", "beta dials alpha with the new cookie")
	refused(t, New(Options{}), h, b, a, "OLD", "MINE", "the old cookie is gone")

	h.SetPeerCookie("beta@127.0.0.1", "")
	_, ok = h.PeerCookie("beta@127.0.0.1")
	assert.False(t, ok)
	connects(t, h, New(Options{}), a, b, "MINE", "MINE", "beta is back on the node's cookie")

	fresh := New(Options{})
	fresh.SetPeerCookie("beta@127.0.0.1", "PAIR")
	connects(t, New(Options{}), fresh, b, a, "PAIR", "MINE", "a handshake made without cookies takes one later")
}

// The node's cookie set on the handshake stands in for the one Ergo passes in, both ways, until
// it is set to "" again; a peer's own cookie still comes first.
func TestSetCookie(t *testing.T) {
	a := newFakeNode("alpha@127.0.0.1", 1)
	b := newFakeNode("beta@127.0.0.1", 2)
	c := newFakeNode("gamma@127.0.0.1", 3)
	h := New(Options{Cookie: "NODE", Cookies: map[gen.Atom]string{"gamma@127.0.0.1": "PAIR"}})

	connects(t, h, New(Options{}), a, b, "", "NODE", "no cookie from Ergo: the handshake's own")

	h.SetCookie("NEW")
	connects(t, h, New(Options{}), a, b, "ERGO", "NEW", "alpha dials beta with the new cookie")
	connects(t, New(Options{}), h, b, a, "NEW", "ERGO", "beta dials alpha with the new cookie")
	refused(t, New(Options{}), h, b, a, "NODE", "ERGO", "the old cookie is gone")
	connects(t, New(Options{}), h, c, a, "PAIR", "ERGO", "gamma keeps its own cookie")

	h.SetCookie("")
	connects(t, New(Options{}), h, b, a, "ERGO", "ERGO", "back to the cookie Ergo passes in")
	start, _ := run(t, h, New(Options{}), a, b, "", "ERGO")
	assert.ErrorIs(t, start.err, ErrNoCookie)
}

func TestForgedAckRefused(t *testing.T) {
	// An acceptor that knows no cookie but answers with a made-up digest.
	cs, ca := net.Pipe()
	defer cs.Close()
	go func() {
		defer ca.Close()
		readMessage(ca)
		writeMessage(ca, AppendStatus(nil, StatusMessage{Status: StatusOK}))
		writeMessage(ca, AppendChallenge(nil, ChallengeMessage{Flags: DefaultFlags, Challenge: 1, Creation: 5, Name: "evil@h"}))
		readMessage(ca)
		writeMessage(ca, AppendAck(nil, AckMessage{}))
	}()
	n := newFakeNode("go@h", 1)
	_, err := New(Options{}).Start(n, cs, gen.HandshakeOptions{Cookie: "C"})
	assert.ErrorIs(t, err, ErrBadCookie)
	assert.Contains(t, n.log.text(), "handshake with evil@h: cookie mismatch: the peer's challenge ack does not match our cookie")
}

// peerScript runs a hand-written peer on the far end of a pipe connected to Accept.
func acceptWith(t *testing.T, h *Handshake, n *fakeNode, peer func(c net.Conn)) (gen.HandshakeResult, error) {
	t.Helper()
	cs, ca := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cs.Close()
		peer(cs)
	}()
	r, err := h.Accept(n, ca, gen.HandshakeOptions{Cookie: "C"})
	ca.Close()
	<-done
	return r, err
}

// acceptName has go@h accept a peer that sends name and reads the status it gets.
func acceptName(t *testing.T, name NameMessage) (StatusMessage, error) {
	t.Helper()
	var status StatusMessage
	_, err := acceptWith(t, New(Options{}), newFakeNode("go@h", 1), func(c net.Conn) {
		writeMessage(c, AppendName(nil, name))
		body, _ := readMessage(c)
		status, _ = DecodeStatus(body)
	})
	return status, err
}

func TestAcceptRefusesMissingFlags(t *testing.T) {
	status, err := acceptName(t, NameMessage{Flags: Mandatory25, Creation: 1, Name: "old@h"})
	assert.ErrorIs(t, err, ErrMissingFlags)
	assert.Contains(t, err.Error(), "V4_NC")
	assert.Contains(t, err.Error(), "old@h")
	assert.Equal(t, StatusNotAllowed, status.Status)
}

func TestAcceptRefusesBadName(t *testing.T) {
	for _, name := range []string{"noat", "@host", "name@", "a@b@c", "bad\xffutf8@h"} {
		status, err := acceptName(t, NameMessage{Flags: DefaultFlags, Creation: 1, Name: name})
		assert.ErrorIs(t, err, ErrBadName, name)
		assert.Equal(t, StatusNotAllowed, status.Status, name)
	}
}

// A peer under this node's own name is refused with nok, as erl refuses it.
func TestAcceptRefusesItsOwnName(t *testing.T) {
	status, err := acceptName(t, NameMessage{Flags: DefaultFlags, Creation: 2, Name: "go@h"})
	assert.ErrorIs(t, err, ErrBadName)
	assert.ErrorContains(t, err, "go@h is this node's own name")
	assert.Equal(t, StatusNOK, status.Status)
}

func TestAcceptGarbage(t *testing.T) {
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{0xff, 0xff, 1, 2, 3},
		{0, 1, 'Z'},
		{0, 0},
	} {
		_, err := acceptWith(t, New(Options{Timeout: time.Second}), newFakeNode("go@h", 1), func(c net.Conn) {
			c.Write(junk)
		})
		assert.Error(t, err, "%q", junk)
	}
}

func TestAcceptDeadline(t *testing.T) {
	began := time.Now()
	_, err := acceptWith(t, New(Options{Timeout: 100 * time.Millisecond}), newFakeNode("go@h", 1), func(c net.Conn) {
		c.Write([]byte{0, 20, 'N'}) // a frame that never completes
		time.Sleep(300 * time.Millisecond)
	})
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.Less(t, time.Since(began), 300*time.Millisecond+time.Second)
}

// Ergo accepts one connection at a time: a peer that says nothing is given little time, so that
// it does not hold up the nodes behind it; a peer that has sent its name has the handshake's.
func TestAcceptGivesASilentPeerLittleTime(t *testing.T) {
	h := New(Options{})
	h.nameTimeout = 100 * time.Millisecond
	_, err := acceptWith(t, h, newFakeNode("go@h", 1), func(c net.Conn) {
		c.Read(make([]byte, 1)) // until Accept gives up and closes
	})
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.ErrorContains(t, err, "no name within 100ms")

	// Every message after the name comes 300 ms late: within the handshake's time.
	cs, ca := net.Pipe()
	defer cs.Close()
	defer ca.Close()
	started := make(chan error, 1)
	go func() {
		_, err := New(Options{}).Start(newFakeNode("alpha@h", 1), &lateAfterFirstWrite{Conn: cs, delay: 300 * time.Millisecond}, gen.HandshakeOptions{Cookie: "C"})
		started <- err
	}()
	_, err = h.Accept(newFakeNode("beta@h", 2), ca, gen.HandshakeOptions{Cookie: "C"})
	require.NoError(t, err)
	require.NoError(t, <-started)
}

// lateAfterFirstWrite is a connection whose writes after the first wait delay.
type lateAfterFirstWrite struct {
	net.Conn
	delay  time.Duration
	writes int
}

func (c *lateAfterFirstWrite) Write(b []byte) (int, error) {
	if c.writes++; c.writes > 1 {
		time.Sleep(c.delay)
	}
	return c.Conn.Write(b)
}

func TestAcceptLegacyNameWithComplement(t *testing.T) {
	cookie := "C"
	var ack AckMessage
	var challenge ChallengeMessage
	r, err := acceptWith(t, New(Options{}), newFakeNode("go@h", 77), func(c net.Conn) {
		writeMessage(c, AppendName(nil, NameMessage{Legacy: true, Version: 5, Flags: DefaultFlags & 0xffffffff, Name: "otp24@h"}))
		body, _ := readMessage(c)
		if s, _ := DecodeStatus(body); s.Status != StatusOK {
			return
		}
		body, _ = readMessage(c)
		challenge, _ = DecodeChallenge(body)
		writeMessage(c, AppendComplement(nil, ComplementMessage{FlagsHigh: uint32(DefaultFlags >> 32), Creation: 0x0a0b0c0d}))
		writeMessage(c, AppendReply(nil, ReplyMessage{Challenge: 99, Digest: Digest(challenge.Challenge, cookie)}))
		body, _ = readMessage(c)
		ack, _ = DecodeAck(body)
	})
	require.NoError(t, err)
	assert.Equal(t, "go@h", challenge.Name)
	assert.Equal(t, uint32(77), challenge.Creation)
	assert.Equal(t, Digest(99, cookie), ack.Digest)
	d, _ := DetailsOf(r)
	assert.Equal(t, uint32(0x0a0b0c0d), d.PeerCreation)
	assert.Equal(t, DefaultFlags|Mandatory25, d.PeerFlags)
}

func TestAcceptLegacyWithoutHandshake23(t *testing.T) {
	_, err := acceptWith(t, New(Options{}), newFakeNode("go@h", 1), func(c net.Conn) {
		writeMessage(c, AppendName(nil, NameMessage{Legacy: true, Version: 5, Flags: FlagExtendedReferences, Name: "otp22@h"}))
		readMessage(c)
	})
	assert.ErrorIs(t, err, ErrMissingFlags)
}

func TestAcceptNameMe(t *testing.T) {
	var status StatusMessage
	var challenge ChallengeMessage
	r, err := acceptWith(t, New(Options{}), newFakeNode("go@h", 1), func(c net.Conn) {
		writeMessage(c, AppendName(nil, NameMessage{Flags: DefaultFlags | FlagNameMe, Name: "myhost"}))
		body, _ := readMessage(c)
		status, _ = DecodeStatus(body)
		body, _ = readMessage(c)
		challenge, _ = DecodeChallenge(body)
		writeMessage(c, AppendReply(nil, ReplyMessage{Challenge: 3, Digest: Digest(challenge.Challenge, "C")}))
		readMessage(c)
	})
	require.NoError(t, err)
	assert.True(t, challenge.Flags.Has(FlagNameMe), "NAME_ME is announced back")
	assert.Equal(t, StatusNamed, status.Status)
	assert.Regexp(t, `^dyn[0-9a-f]{12}@myhost$`, status.Name)
	assert.Greater(t, status.Creation, uint32(3))
	assert.Equal(t, gen.Atom(status.Name), r.Peer)
	assert.Equal(t, int64(status.Creation), r.PeerCreation)
}

func TestStartRefusesOldPeer(t *testing.T) {
	cs, ca := net.Pipe()
	go func() {
		defer ca.Close()
		readMessage(ca)
		writeMessage(ca, AppendStatus(nil, StatusMessage{Status: StatusOK}))
		writeMessage(ca, AppendChallenge(nil, ChallengeMessage{Flags: Mandatory25, Challenge: 1, Creation: 5, Name: "otp25@h"}))
		readMessage(ca)
	}()
	defer cs.Close()
	n := newFakeNode("go@h", 1)
	_, err := New(Options{}).Start(n, cs, gen.HandshakeOptions{Cookie: "C"})
	assert.ErrorIs(t, err, ErrMissingFlags)
	assert.Contains(t, n.log.text(), "otp25@h")
}

func TestStartStatuses(t *testing.T) {
	for status, want := range map[string]error{
		StatusNOK:        ErrSimultaneous,
		StatusNotAllowed: ErrNotAllowed,
		"bogus":          ErrMalformed,
		StatusNamed:      ErrMalformed,
	} {
		cs, ca := net.Pipe()
		go func() {
			defer ca.Close()
			readMessage(ca)
			writeMessage(ca, AppendStatus(nil, StatusMessage{Status: status, Name: "x@y"}))
		}()
		_, err := New(Options{}).Start(newFakeNode("go@h", 1), cs, gen.HandshakeOptions{Cookie: "C"})
		cs.Close()
		assert.ErrorIs(t, err, want, status)
	}
}

func TestNoCookie(t *testing.T) {
	cs, ca := net.Pipe()
	defer cs.Close()
	defer ca.Close()
	_, err := New(Options{}).Start(newFakeNode("a@h", 1), cs, gen.HandshakeOptions{})
	assert.ErrorIs(t, err, ErrNoCookie)
	_, err = New(Options{}).Accept(newFakeNode("a@h", 1), ca, gen.HandshakeOptions{})
	assert.ErrorIs(t, err, ErrNoCookie)
}

func TestJoinUnsupported(t *testing.T) {
	_, err := New(Options{}).Join(nil, nil, "", gen.HandshakeOptions{})
	assert.ErrorIs(t, err, gen.ErrUnsupported)
}

func TestOptionsFlags(t *testing.T) {
	assert.Equal(t, DefaultFlags, New(Options{}).Flags())
	assert.Equal(t, HiddenFlags, New(Options{Hidden: true}).Flags())
	// Mandatory flags are always there; NAME_ME never; Hidden wins over PUBLISHED.
	f := New(Options{Flags: FlagPublished | FlagNameMe | FlagAlias, Hidden: true}).Flags()
	assert.Equal(t, Mandatory|FlagAlias, f)
	assert.Equal(t, "erlang-handshake:6", New(Options{}).Version().Str())
}

// tcpPair is a listener whose accepted connections go to Accept of node n.
type tcpSide struct {
	n   *fakeNode
	h   *Handshake
	l   net.Listener
	got chan outcome
}

func newTCPSide(t *testing.T, name gen.Atom) *tcpSide {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return &tcpSide{n: newFakeNode(name, 1), h: New(Options{}), l: l, got: make(chan outcome, 1)}
}

func (s *tcpSide) route() []gen.Route {
	a := s.l.Addr().(*net.TCPAddr)
	return []gen.Route{{Host: a.IP.String(), Port: uint16(a.Port)}}
}

// Both nodes dial each other at the same moment: the attempt of the greater name survives on
// both sides; the other dial hands back the connection that survived. Routes name the peer's
// host by address (EPMD) or by name (TLS, or no EPMD), as the dial does.
func TestSimultaneousConnect(t *testing.T) {
	for _, host := range []string{"", "localhost"} {
		t.Run("host="+host, func(t *testing.T) { simultaneousConnect(t, host) })
	}
}

func simultaneousConnect(t *testing.T, host string) {
	a := newTCPSide(t, "a@127.0.0.1")
	b := newTCPSide(t, "b@127.0.0.1")
	route := func(s *tcpSide) []gen.Route {
		r := s.route()
		if host != "" {
			r[0].Host = host
		}
		return r
	}
	a.h.ExpectPeer(b.n.name, route(b))
	b.h.ExpectPeer(a.n.name, route(a))

	// The acceptors wait until both nodes are dialling, so the two attempts overlap: no Start
	// can finish before an Accept has answered it.
	overlap := make(chan struct{})
	go func() {
		defer close(overlap)
		deadline := time.Now().Add(10 * time.Second)
		for !a.h.dials.dialling(b.n.name) || !b.h.dials.dialling(a.n.name) {
			if time.Now().After(deadline) {
				t.Error("the nodes do not know whom they dial")
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	serve := func(me *tcpSide) {
		c, err := me.l.Accept()
		if err != nil {
			me.got <- outcome{err: err}
			return
		}
		<-overlap
		r, err := me.h.Accept(me.n, c, gen.HandshakeOptions{Cookie: "C"})
		if err != nil {
			c.Close()
		} else {
			me.n.network.connect(r.Peer) // what Ergo does with an accepted connection
		}
		me.got <- outcome{r, err}
	}
	go serve(a)
	go serve(b)

	dial := func(from, to *tcpSide, out *outcome, wg *sync.WaitGroup) {
		defer wg.Done()
		c, err := net.Dial("tcp", to.l.Addr().String())
		if err != nil {
			out.err = err
			return
		}
		out.result, out.err = from.h.Start(from.n, c, gen.HandshakeOptions{Cookie: "C"})
		if out.err != nil {
			c.Close()
		}
	}
	var startA, startB outcome
	var wg sync.WaitGroup
	wg.Add(2)
	go dial(a, b, &startA, &wg)
	go dial(b, a, &startB, &wg)
	wg.Wait()
	acceptA, acceptB := <-a.got, <-b.got

	// b@ > a@: b's dial wins.
	require.NoError(t, startB.err)
	assert.Equal(t, gen.Atom("a@127.0.0.1"), startB.result.Peer)
	require.NoError(t, acceptA.err)
	assert.Equal(t, gen.Atom("b@127.0.0.1"), acceptA.result.Peer)
	// a's dial gave way, and hands back the connection b made, which a accepted.
	require.NoError(t, startA.err)
	assert.IsType(t, Existing{}, startA.result.Custom)
	// b answers a's attempt with "nok" if b's own attempt is still in progress then; if it has
	// already completed, a's attempt is gone (a closed it when it let b's attempt win).
	assert.Error(t, acceptB.err)
	assert.False(t, a.h.dials.dialling(b.n.name))
	assert.False(t, b.h.dials.dialling(a.n.name))
}

// The acceptor still lists a connection to the initiator, which dials because it has none: the
// initiator answers "true" to "alive", the stale connection is dropped, the handshake goes on.
func TestAliveStaleConnectionReplaced(t *testing.T) {
	a := newFakeNode("a@h", 1)
	b := newFakeNode("b@h", 2)
	old := b.network.connect("a@h")
	start, accept := run(t, New(Options{}), New(Options{}), a, b, "C", "C")
	require.NoError(t, start.err)
	require.NoError(t, accept.err)
	assert.True(t, old.disconnected)
}

// A peer that claims the name of a connected node and answers "true" to "alive" has the old
// connection dropped only once it has proven the cookie: without it, anyone who can reach
// the node could take down any of its connections.
func TestAliveStaleConnectionKeptUntilTheCookieIsProven(t *testing.T) {
	b := newFakeNode("b@h", 2)
	old := b.network.connect("a@h")
	_, err := acceptWith(t, New(Options{}), b, func(c net.Conn) {
		writeMessage(c, AppendName(nil, NameMessage{Flags: DefaultFlags, Creation: 9, Name: "a@h"}))
		readMessage(c) // alive
		writeMessage(c, AppendStatus(nil, StatusMessage{Status: StatusTrue}))
		readMessage(c) // the challenge
		writeMessage(c, AppendReply(nil, ReplyMessage{Challenge: 1, Digest: Digest(1, "not the cookie")}))
	})
	require.ErrorIs(t, err, ErrBadCookie)
	assert.False(t, old.disconnected, "a peer without the cookie took the connection down")
}

// A dial to a node this node is already connected to (another process dialled a moment
// before) hands back that connection and says nothing on its socket: the peer must not see a
// second connection, which would make it drop the first.
func TestDialToConnectedNodeReusesTheConnection(t *testing.T) {
	a := newTCPSide(t, "a@127.0.0.1")
	b := newTCPSide(t, "b@127.0.0.1")
	a.h.ExpectPeer(b.n.name, b.route())
	existing := a.n.network.connect(b.n.name)
	oldB := b.n.network.connect(a.n.name)

	go func() {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		r, err := b.h.Accept(b.n, c, gen.HandshakeOptions{Cookie: "C"})
		c.Close()
		b.got <- outcome{r, err}
	}()
	c, err := net.Dial("tcp", b.l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	r, err := a.h.Start(a.n, c, gen.HandshakeOptions{Cookie: "C"})
	require.NoError(t, err)
	require.Equal(t, b.n.name, r.Peer)
	require.Equal(t, Existing{Remote: existing}, r.Custom)
	got := <-b.got
	// The socket closed before a name arrived: a bare io.EOF, which Ergo does not log.
	assert.Equal(t, io.EOF, got.err)
	assert.False(t, oldB.disconnected)
	assert.False(t, existing.disconnected)
}

// Dials racing towards one node: the first handshakes, the others wait for their turn when
// their route is resolved, and then hand back the connection the first made.
func TestConcurrentDialsMakeOneConnection(t *testing.T) {
	a := newTCPSide(t, "a@127.0.0.1")
	b := newTCPSide(t, "b@127.0.0.1")
	const dials = 5
	accepted := make(chan error, dials)
	go func() {
		for {
			c, err := b.l.Accept()
			if err != nil {
				return
			}
			go func() {
				_, err := b.h.Accept(b.n, c, gen.HandshakeOptions{Cookie: "C"})
				accepted <- err
			}()
		}
	}()
	type startResult struct {
		r   gen.HandshakeResult
		err error
	}
	results := make(chan startResult, dials)
	for i := 0; i < dials; i++ {
		go func() {
			a.h.ExpectPeer(b.n.name, b.route()) // as Ergo's connect: resolve, dial, Start
			c, err := net.Dial("tcp", b.l.Addr().String())
			if err != nil {
				results <- startResult{err: err}
				return
			}
			r, err := a.h.Start(a.n, c, gen.HandshakeOptions{Cookie: "C"})
			if err == nil {
				if _, dup := r.Custom.(Existing); !dup {
					a.n.network.connect(b.n.name) // what Ergo does with a new connection
				}
			}
			results <- startResult{r, err}
		}()
	}
	fresh := 0
	for i := 0; i < dials; i++ {
		res := <-results
		require.NoError(t, res.err)
		require.Equal(t, b.n.name, res.r.Peer)
		if _, dup := res.r.Custom.(Existing); !dup {
			fresh++
		}
	}
	require.Equal(t, 1, fresh, "exactly one dial makes a connection")
	okAccepts := 0
	for i := 0; i < dials; i++ {
		if err := <-accepted; err == nil {
			okAccepts++
		}
	}
	require.Equal(t, 1, okAccepts, "the peer completes exactly one handshake")
}

func TestExpectedPeerMismatch(t *testing.T) {
	b := newTCPSide(t, "b@127.0.0.1")
	h := New(Options{})
	h.ExpectPeer("c@127.0.0.1", b.route())
	go func() {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		b.h.Accept(b.n, c, gen.HandshakeOptions{Cookie: "C"})
		c.Close()
	}()
	c, err := net.Dial("tcp", b.l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = h.Start(newFakeNode("a@127.0.0.1", 1), c, gen.HandshakeOptions{Cookie: "C"})
	assert.ErrorIs(t, err, ErrBadName)
	assert.Contains(t, err.Error(), "b@127.0.0.1")
}

func TestAddrKey(t *testing.T) {
	assert.Equal(t, "127.0.0.1:4369", addrKey("127.0.0.1", 4369))
	assert.Equal(t, "127.0.0.1:4369", addrKey("::ffff:127.0.0.1", 4369))
	assert.Equal(t, "[::1]:80", addrKey("::1", 80))
	assert.Equal(t, "example.com:80", addrKey("example.com", 80))
}

func TestCookieFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/.erlang.cookie"
	c, err := CookieFromFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `^[A-Z]{20}$`, c)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o400), info.Mode().Perm())
	again, err := CookieFromFile(path)
	require.NoError(t, err)
	assert.Equal(t, c, again)

	other := dir + "/open"
	require.NoError(t, os.WriteFile(other, []byte("SECRET\n"), 0o644))
	_, err = CookieFromFile(other)
	assert.ErrorContains(t, err, "accessible by its owner only")
	require.NoError(t, os.Chmod(other, 0o600))
	c, err = CookieFromFile(other)
	require.NoError(t, err)
	assert.Equal(t, "SECRET", c)

	empty := dir + "/empty"
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	_, err = CookieFromFile(empty)
	assert.ErrorContains(t, err, "empty")

	_, err = CookieFromFile(dir)
	assert.Error(t, err)
}

// What erl (OTP 25) makes of a cookie file: blanks are part of the cookie, and after the
// first character outside space..'~' only newlines, carriage returns and spaces may come.
func TestCookieFileAsErlReadsIt(t *testing.T) {
	for content, want := range map[string]string{
		"secret\n": "secret", "secret": "secret", "secret \n": "secret ", " secret\n": " secret",
		" sp ace \n\r \n": " sp ace ", "secret\r\n": "secret",
		"secret\njunk\n": "", "sec\tret\n": "", "sécret\n": "", "\n": "", "": "",
	} {
		got, err := parseCookie(content)
		if want == "" {
			assert.Error(t, err, "%q", content)
			continue
		}
		require.NoError(t, err, "%q", content)
		assert.Equal(t, want, got, "%q", content)
	}
}

// With no ~/.erlang.cookie, erl reads the one in its configuration directory and creates
// none; with neither, it creates ~/.erlang.cookie.
func TestDefaultCookieLooksWhereErlLooks(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	require.NoError(t, os.MkdirAll(home+"/.config/erlang", 0o700))
	require.NoError(t, os.WriteFile(home+"/.config/erlang/.erlang.cookie", []byte("xdgcookie\n"), 0o400))
	c, err := DefaultCookie()
	require.NoError(t, err)
	assert.Equal(t, "xdgcookie", c)
	assert.NoFileExists(t, home+"/"+CookieFileName)

	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	require.NoError(t, os.MkdirAll(config+"/erlang", 0o700))
	require.NoError(t, os.WriteFile(config+"/erlang/.erlang.cookie", []byte("elsewhere\n"), 0o400))
	c, err = DefaultCookie()
	require.NoError(t, err)
	assert.Equal(t, "elsewhere", c)

	require.NoError(t, os.WriteFile(home+"/"+CookieFileName, []byte("homecookie\n"), 0o400))
	c, err = DefaultCookie()
	require.NoError(t, err)
	assert.Equal(t, "homecookie", c, "the home file comes first")

	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err = DefaultCookie()
	require.NoError(t, err)
	assert.Regexp(t, `^[A-Z]{20}$`, c)
}

func TestRandomCookie(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c := RandomCookie()
		assert.Regexp(t, `^[A-Z]{20}$`, c)
		seen[c] = true
	}
	assert.Len(t, seen, 50)
}

// A resolved dial that never reaches Start (its TCP connect failed) gives its turn back on its
// own, so the next dial to that node is held up briefly, not for the whole handshake timeout.
func TestUnclaimedTurnIsReleased(t *testing.T) {
	h := New(Options{})
	route := []gen.Route{{Host: "127.0.0.1", Port: 1}}
	h.ExpectPeer("gone@127.0.0.1", route) // its dial fails: no Start claims the turn
	start := time.Now()
	h.ExpectPeer("gone@127.0.0.1", route)
	waited := time.Since(start)
	require.GreaterOrEqual(t, waited, unclaimedTurn/2, "the second dial waits for the first")
	require.Less(t, waited, DefaultTimeout, "but not for the whole handshake timeout")
}

// A dial right after a new connection went down again does not wait for that connection:
// dials wait for a connection just made only until the node has registered it.
func TestDialAfterANewConnectionWentDown(t *testing.T) {
	a := newTCPSide(t, "a@127.0.0.1")
	b := newTCPSide(t, "b@127.0.0.1")
	go func() {
		for {
			c, err := b.l.Accept()
			if err != nil {
				return
			}
			r, err := b.h.Accept(b.n, c, gen.HandshakeOptions{Cookie: "C"})
			b.got <- outcome{r, err}
		}
	}()
	dial := func() gen.HandshakeResult {
		a.h.ExpectPeer(b.n.name, b.route())
		c, err := net.Dial("tcp", b.l.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		r, err := a.h.Start(a.n, c, gen.HandshakeOptions{Cookie: "C"})
		require.NoError(t, err)
		require.NoError(t, (<-b.got).err)
		_, reused := r.Custom.(Existing)
		require.False(t, reused, "a new connection, not a handed-back one")
		return r
	}

	dial()
	// Ergo registers the connection; the wait for it ends there, well inside recentSuccess.
	remote := a.n.network.connect(b.n.name)
	require.Eventually(t, func() bool { return !a.h.dials.succeededRecently(b.n.name) },
		recentSuccess/2, time.Millisecond, "dials still wait for a registered connection")
	a.h.dials.mu.Lock()
	_, kept := a.h.dials.slots[b.n.name]
	a.h.dials.mu.Unlock()
	require.False(t, kept, "the dial's slot outlives it")
	// It goes down, and the next dial makes a new one without waiting.
	remote.Disconnect()
	done := make(chan struct{})
	go func() { defer close(done); dial() }()
	select {
	case <-done:
	case <-time.After(recentSuccess / 2):
		t.Fatal("the dial waited for the connection that went down")
	}
}
