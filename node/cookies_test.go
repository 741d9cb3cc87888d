package node

import (
	"testing"
	"time"

	"ergo.services/ergo"
	"ergo.services/ergo/app/system"
	"ergo.services/ergo/gen"
	"github.com/gobeam/gobeam/node/nodetest"
	"github.com/stretchr/testify/require"
)

// disconnect closes the connection between a and b and waits until both have seen it close.
func disconnect(t *testing.T, a, b gen.Node) {
	t.Helper()
	if r, err := a.Network().Node(b.Name()); err == nil {
		r.Disconnect()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errA := a.Network().Node(b.Name())
		_, errB := b.Network().Node(a.Name())
		if errA != nil && errB != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s and %s still connected", a.Name(), b.Name())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Cookies change on running nodes, as with erlang:set_cookie/1,2: a peer's own cookie and the
// node's, for dials and accepts alike, from the next connection on.
func TestCookiesAtRunTime(t *testing.T) {
	port := nodetest.Port(t)
	a := startNode(t, "rta@127.0.0.1", Options{Cookie: "ca", EPMDPort: port})
	b := startNode(t, "rtb@127.0.0.1", Options{Cookie: "cb", EPMDPort: port})
	c := startNode(t, "rtc@127.0.0.1", Options{Cookie: "cb", EPMDPort: port})
	gotA, inboxA := registerInbox(t, a, 4)
	gotB, inboxB := registerInbox(t, b, 4)

	require.Error(t, a.Send(inboxB, "refused"), "the nodes' cookies differ")

	// b's own cookie on a: a dials b with it, and takes b in with it.
	require.NoError(t, SetPeerCookie(a, "rtb@127.0.0.1", "cb"))
	cookie, err := PeerCookie(a, "rtb@127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, "cb", cookie)
	cookie, err = PeerCookie(a, "rtc@127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, "ca", cookie, "other peers: the node's")
	require.NoError(t, a.Send(inboxB, "a dials b"))
	require.Equal(t, []byte("a dials b"), received(t, gotB))
	disconnect(t, a, b)
	require.NoError(t, b.Send(inboxA, "b dials a"))
	require.Equal(t, []byte("b dials a"), received(t, gotA))
	require.Error(t, c.Send(inboxA, "refused"), "c has b's cookie, but it is b's alone")

	// Taken away, b is back on a's cookie.
	disconnect(t, a, b)
	require.NoError(t, SetPeerCookie(a, "rtb@127.0.0.1", ""))
	require.Error(t, a.Send(inboxB, "refused"))
	require.NoError(t, a.Network().SetCookie("cb"))
	require.Error(t, a.Send(inboxB, "refused"), "Ergo's setter does not change the node's cookie")

	// a's own cookie changes: both ways, with every peer.
	require.NoError(t, SetCookie(a, "cb"))
	require.Equal(t, "cb", a.Network().Cookie())
	acceptors, err := a.Network().Acceptors()
	require.NoError(t, err)
	for _, acc := range acceptors {
		require.Equal(t, "cb", acc.Cookie())
	}
	require.NoError(t, a.Send(inboxB, "new cookie"))
	require.Equal(t, []byte("new cookie"), received(t, gotB))
	require.NoError(t, c.Send(inboxA, "c dials a"))
	require.Equal(t, []byte("c dials a"), received(t, gotA))
}

func TestCookieSettersRefuse(t *testing.T) {
	port := nodetest.Port(t)
	n := startNode(t, "refuse@127.0.0.1", Options{Cookie: "c", EPMDPort: port})
	require.ErrorContains(t, SetCookie(n, ""), "empty cookie")
	require.ErrorContains(t, SetPeerCookie(n, "nohost", "x"), `"nohost" is not a node name`)
	cookie, err := PeerCookie(n, "other@127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, "c", cookie, "unchanged by the refused calls")

	plain, err := ergo.StartNode("plain@127.0.0.1", gen.NodeOptions{
		Env:     map[gen.Env]any{system.DISABLE_METRICS: true},
		Network: gen.NetworkOptions{Mode: gen.NetworkModeDisabled},
		Log:     gen.LogOptions{DefaultLogger: gen.DefaultLoggerOptions{DisableBanner: true}},
	})
	require.NoError(t, err)
	defer plain.Stop()
	require.ErrorContains(t, SetCookie(plain, "x"), "plain@127.0.0.1 was not started by node.Start")

	n.Stop()
	require.ErrorIs(t, SetPeerCookie(n, "other@127.0.0.1", "x"), gen.ErrNodeTerminated)
	_, tracked := handshakes.Load(n)
	require.False(t, tracked, "a stopped node's handshake is forgotten")
}
