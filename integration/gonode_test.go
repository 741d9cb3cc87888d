package integration

import (
	"embed"
	"fmt"
	"sync"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

//go:embed erl/*.erl
var erlSources embed.FS

// cluster is one test's EPMD port and cookie, shared by the Go node and the erl peers.
type cluster struct {
	t        *testing.T
	epmdPort uint16
	cookie   string
}

func newCluster(t *testing.T) *cluster {
	return &cluster{t: t, epmdPort: nodetest.Port(t), cookie: "gobeam-" + erlpeer.UniqueName("cookie")}
}

// goNode starts a Go node on the cluster's EPMD (embedded: no erl has started one).
func (c *cluster) goNode(prefix string, opts node.Options) gen.Node {
	c.t.Helper()
	return c.goNodeAt(prefix, "127.0.0.1", opts)
}

// goNodeAt is goNode for a node whose name has the given host.
func (c *cluster) goNodeAt(prefix, host string, opts node.Options) gen.Node {
	c.t.Helper()
	if opts.Cookie == "" {
		opts.Cookie = c.cookie
	}
	opts.EPMDPort = c.epmdPort
	name := erlpeer.UniqueName(prefix) + "@" + host
	n, err := node.Start(name, opts)
	require.NoError(c.t, err, "starting Go node %s", name)
	c.t.Cleanup(n.Stop)
	return n
}

// erlNode starts an erl peer that registers with the cluster's EPMD and loads the test modules.
// Its name is opts.Name when set (a name the Go node must know before the peer starts), else a
// new one made from prefix.
func (c *cluster) erlNode(prefix string, opts erlpeer.Options) *erlpeer.Peer {
	c.t.Helper()
	if opts.Name == "" {
		opts.Name = erlpeer.UniqueName(prefix)
	}
	if opts.Cookie == "" {
		opts.Cookie = c.cookie
	}
	opts.EPMDPort = int(c.epmdPort)
	opts.NoStartEPMD = true
	p := erlpeer.Start(c.t, opts)
	p.MustLoadFS(erlSources, "erl/*.erl")
	return p
}

// inbox is a Go process that hands every message it receives to a channel.
type inbox struct {
	act.Actor
	out chan any
}

func (i *inbox) HandleMessage(from gen.PID, message any) error {
	i.out <- message
	return nil
}

// HandleCall answers {echo, X} with X, so BEAM code can GenServer.call a Go process.
func (i *inbox) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	if t, ok := request.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("echo") {
		return t[1], nil
	}
	return etf.Tuple{etf.Atom("unexpected"), request}, nil
}

// spawnInbox starts an inbox registered under name.
func spawnInbox(t *testing.T, n gen.Node, name gen.Atom, capacity int) (gen.PID, chan any) {
	t.Helper()
	out := make(chan any, capacity)
	pid, err := n.SpawnRegister(name, func() gen.ProcessBehavior { return &inbox{out: out} }, gen.ProcessOptions{})
	require.NoError(t, err)
	return pid, out
}

func receive(t *testing.T, ch chan any, timeout time.Duration) any {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(timeout):
		t.Fatalf("nothing received within %s", timeout)
	}
	return nil
}

// erlSendsInOrder has erl node p send {seq, Tag, 1..count} to the Go node's process
// registered as inbox, whose messages come out of out, and checks that all of them arrive, in
// order.
func erlSendsInOrder(t *testing.T, p *erlpeer.Peer, gn gen.Node, out chan any, tag etf.Atom, count int) {
	t.Helper()
	dest := etf.Tuple{etf.Atom("inbox"), gn.Name()}
	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "send_seq", dest, tag, count))
	for i := 1; i <= count; i++ {
		require.Equal(t, etf.Tuple{etf.Atom("seq"), tag, int64(i)}, receive(t, out, 30*time.Second), "message %d", i)
	}
}

// goSendsInOrder has the Go node send {seq, go, 1..count} to a collector on erl node p and
// waits up to timeout for the collector to have all of them, in order.
func goSendsInOrder(t *testing.T, gn gen.Node, p *erlpeer.Peer, count int, timeout time.Duration) {
	t.Helper()
	v := p.MustCall("gobeam_dist", "start_collector", count)
	collector, ok := v.(etf.PID)
	require.True(t, ok, "start_collector returned %v", v)
	for i := 1; i <= count; i++ {
		require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i}))
	}
	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "await_collector", collector, int(timeout.Milliseconds())))
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connected reports whether the Go node has a distribution connection to peer.
func connected(n gen.Node, peer gen.Atom) bool {
	for _, name := range n.Network().Nodes() {
		if name == peer {
			return true
		}
	}
	return false
}

// pattern is the Go twin of gobeam_dist:pattern/1.
func pattern(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i * 7 % 256)
	}
	return b
}

var onceLog sync.Once

func logRelease(t *testing.T, p *erlpeer.Peer) {
	onceLog.Do(func() { fmt.Printf("integration: peers run OTP %s\n", p.OTP()) })
}
