package integration

import (
	"testing"
	"time"

	"ergo.services/ergo/gen"
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

	own := c.erlNode("", erlpeer.Options{Name: ownName, Cookie: ownCookie})
	require.Equal(t, etf.Atom("pong"), pingGo(own, gn), "the listed peer dials in with its own cookie")
	require.True(t, connected(gn, own.Node()))

	// The Go node dials the listed peer with its cookie too.
	erlDisconnects(t, own, gn)
	goSendsInOrder(t, gn, own, 3, 10*time.Second)

	// The listed peer cannot use the node's cookie.
	erlDisconnects(t, own, gn)
	require.Equal(t, true, own.MustCall("erlang", "set_cookie", goName, etf.Atom(c.cookie)))
	require.Equal(t, etf.Atom("pang"), pingGo(own, gn), "the listed peer used the node's cookie")

	// Other peers use the node's cookie: one whose own cookie differs is refused, and gets in
	// once it sets the Go node's cookie for the Go node alone.
	stranger := c.erlNode("stranger", erlpeer.Options{Cookie: "stranger-cookie"})
	require.Equal(t, etf.Atom("pang"), pingGo(stranger, gn))
	require.Equal(t, true, stranger.MustCall("erlang", "set_cookie", goName, etf.Atom(c.cookie)))
	require.Equal(t, etf.Atom("pong"), pingGo(stranger, gn))
	require.False(t, connected(gn, own.Node()))
}

// Cookies change on the running Go node, as erl's erlang:set_cookie/1,2: a peer's own cookie
// lets it in and is used to dial it, and a new node cookie is the one every other peer needs,
// both ways, while the old one is refused.
func TestCookiesChangeAtRunTime(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})

	laterCookie := "later-" + erlpeer.UniqueName("cookie")
	later := c.erlNode("later", erlpeer.Options{Cookie: laterCookie})
	require.Equal(t, etf.Atom("pang"), pingGo(later, gn), "before its cookie is set")
	require.NoError(t, node.SetPeerCookie(gn, string(later.Node()), laterCookie))
	require.Equal(t, etf.Atom("pong"), pingGo(later, gn), "after")
	erlDisconnects(t, later, gn)
	goSendsInOrder(t, gn, later, 3, 10*time.Second) // the Go node dials it with its cookie

	rotated := "rotated-" + erlpeer.UniqueName("cookie")
	require.NoError(t, node.SetCookie(gn, rotated))
	cookie, err := node.PeerCookie(gn, "anyone@127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, rotated, cookie)
	oldCookie := c.erlNode("old", erlpeer.Options{Cookie: c.cookie})
	require.Equal(t, etf.Atom("pang"), pingGo(oldCookie, gn), "the cookie the node started with")
	newCookie := c.erlNode("new", erlpeer.Options{Cookie: rotated})
	require.Equal(t, etf.Atom("pong"), pingGo(newCookie, gn))
	erlDisconnects(t, newCookie, gn)
	goSendsInOrder(t, gn, newCookie, 3, 10*time.Second)
	erlDisconnects(t, later, gn)
	require.Equal(t, etf.Atom("pong"), pingGo(later, gn), "a peer's own cookie outlives the node's change")
}

// pingGo is net_adm:ping of the Go node from erl node p: pong, or pang when refused.
func pingGo(p *erlpeer.Peer, gn gen.Node) etf.Term {
	return p.MustCall("net_adm", "ping", etf.Atom(gn.Name()))
}

// erlDisconnects has erl node p drop its connection to the Go node and waits until the Go node
// has seen it go.
func erlDisconnects(t *testing.T, p *erlpeer.Peer, gn gen.Node) {
	t.Helper()
	require.Equal(t, true, p.MustCall("erlang", "disconnect_node", etf.Atom(gn.Name())))
	waitFor(t, 10*time.Second, "the connection to close", func() bool { return !connected(gn, p.Node()) })
}
