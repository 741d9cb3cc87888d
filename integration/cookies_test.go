package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
)

// A Go node between clusters of different cookies, as erl's erlang:set_cookie(Node, Cookie):
// the peer listed in node.Options.Cookies gets in, and is dialled, with its own cookie only,
// and every other peer with the node's cookie.
func TestPeerCookiesBothWays(t *testing.T) {
	c := newCluster(t)
	ownName := erlpeer.UniqueName("own") + "@127.0.0.1"
	ownCookie := "own-" + erlpeer.UniqueName("cookie")
	gn := c.goNode("go", node.Options{Cookies: map[string]string{ownName: ownCookie}})
	goName := etf.Atom(gn.Name())
	ping := func(p *erlpeer.Peer) etf.Term {
		return p.MustCall("net_adm", "ping", goName)
	}

	own := c.erlNode("", erlpeer.Options{Name: ownName, Cookie: ownCookie})
	require.Equal(t, etf.Atom("pong"), ping(own), "the listed peer dials in with its own cookie")
	require.True(t, connected(gn, own.Node()))

	// The Go node dials the listed peer with its cookie too.
	require.Equal(t, true, own.MustCall("erlang", "disconnect_node", goName))
	waitFor(t, 10*time.Second, "the connection to close", func() bool { return !connected(gn, own.Node()) })
	collector := own.MustCall("gobeam_dist", "start_collector", 3).(etf.PID)
	for i := 1; i <= 3; i++ {
		require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i}))
	}
	require.Equal(t, etf.Atom("ok"), own.MustCall("gobeam_dist", "await_collector", collector, 10_000))

	// The listed peer cannot use the node's cookie.
	require.Equal(t, true, own.MustCall("erlang", "disconnect_node", goName))
	waitFor(t, 10*time.Second, "the connection to close", func() bool { return !connected(gn, own.Node()) })
	require.Equal(t, true, own.MustCall("erlang", "set_cookie", goName, etf.Atom(c.cookie)))
	require.Equal(t, etf.Atom("pang"), ping(own), "the listed peer used the node's cookie")

	// Other peers use the node's cookie: one whose own cookie differs is refused, and gets in
	// once it sets the Go node's cookie for the Go node alone.
	stranger := c.erlNode("stranger", erlpeer.Options{Cookie: "stranger-cookie"})
	require.Equal(t, etf.Atom("pang"), ping(stranger))
	require.Equal(t, true, stranger.MustCall("erlang", "set_cookie", goName, etf.Atom(c.cookie)))
	require.Equal(t, etf.Atom("pong"), ping(stranger))
	require.False(t, connected(gn, own.Node()))
}

// Cookies change on the running Go node, as erl's erlang:set_cookie/1,2: a peer's own cookie
// lets it in and is used to dial it, and a new node cookie is the one every other peer needs,
// both ways, while the old one is refused.
func TestCookiesChangeAtRunTime(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	goName := etf.Atom(gn.Name())
	ping := func(p *erlpeer.Peer) etf.Term {
		return p.MustCall("net_adm", "ping", goName)
	}
	deliver := func(p *erlpeer.Peer) {
		t.Helper()
		collector := p.MustCall("gobeam_dist", "start_collector", 3).(etf.PID)
		for i := 1; i <= 3; i++ {
			require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i}))
		}
		require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "await_collector", collector, 10_000))
	}
	disconnect := func(p *erlpeer.Peer) {
		t.Helper()
		require.Equal(t, true, p.MustCall("erlang", "disconnect_node", goName))
		waitFor(t, 10*time.Second, "the connection to close", func() bool { return !connected(gn, p.Node()) })
	}

	laterCookie := "later-" + erlpeer.UniqueName("cookie")
	later := c.erlNode("later", erlpeer.Options{Cookie: laterCookie})
	require.Equal(t, etf.Atom("pang"), ping(later), "before its cookie is set")
	require.NoError(t, node.SetPeerCookie(gn, string(later.Node()), laterCookie))
	require.Equal(t, etf.Atom("pong"), ping(later), "after")
	disconnect(later)
	deliver(later) // the Go node dials it with its cookie

	rotated := "rotated-" + erlpeer.UniqueName("cookie")
	require.NoError(t, node.SetCookie(gn, rotated))
	cookie, err := node.PeerCookie(gn, "anyone@127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, rotated, cookie)
	oldCookie := c.erlNode("old", erlpeer.Options{Cookie: c.cookie})
	require.Equal(t, etf.Atom("pang"), ping(oldCookie), "the cookie the node started with")
	newCookie := c.erlNode("new", erlpeer.Options{Cookie: rotated})
	require.Equal(t, etf.Atom("pong"), ping(newCookie))
	disconnect(newCookie)
	deliver(newCookie)
	disconnect(later)
	require.Equal(t, etf.Atom("pong"), ping(later), "a peer's own cookie outlives the node's change")
}
