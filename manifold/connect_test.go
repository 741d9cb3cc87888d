package manifold_test

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/nodetest"
)

// frozenNode registers name with the EPMD on port, at a listener that accepts connections
// and never says a word: a dial to the node hangs in the handshake until its timeout, as a
// dial to a stopped or partitioned machine does. accepted, if not nil, counts the connections.
func frozenNode(t *testing.T, port uint16, name string, accepted *atomic.Int32) gen.Atom {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if accepted != nil {
				accepted.Add(1)
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	reg, err := (&epmd.Client{Port: port}).Register(context.Background(), "127.0.0.1", epmd.NodeInfo{
		Name: name, Port: uint16(l.Addr().(*net.TCPAddr).Port), Type: epmd.NodeTypeHidden,
		Protocol: epmd.ProtocolTCP, HighestVersion: epmd.DistVersion, LowestVersion: epmd.DistVersion,
	})
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })
	return gen.Atom(name + "@127.0.0.1")
}

// nodeGivingUpIn4s starts a node running Manifold, on the EPMD at port, whose handshakes
// give up after 4 s.
func nodeGivingUpIn4s(t *testing.T, port uint16) (gen.Node, *manifold.Manifold) {
	n, err := node.Start("mx_"+itoa(seq.Add(1))+"@127.0.0.1", node.Options{Cookie: "c", EPMDPort: port, HandshakeTimeout: 4 * time.Second})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	m, err := manifold.Start(n, manifold.Config{})
	require.NoError(t, err)
	return n, m
}

// A cast naming pids of a node that cannot be reached does not hold up the partitioner: the
// dial runs in the background, and the casts behind it reach this node's receivers at once.
// What waited for the dial is dropped when it fails, and counted.
func TestUnreachableNodeDoesNotHoldUpTheFanOut(t *testing.T) {
	port := nodetest.Port(t)
	n, m := nodeGivingUpIn4s(t, port)
	frozen := frozenNode(t, port, "frozen", nil)
	out := make(chan etf.Tuple, 100)
	local := receivers(t, n, 1, out)[0]
	far := gen.PID{Node: frozen, ID: 500, Creation: 1}

	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	for i := 0; i < 5; i++ {
		cast := etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), etf.List{far, local}, int64(i)}}
		require.NoError(t, n.Send(part, cast))
	}
	got := collect(t, out, 5)[local]
	require.Equal(t, []any{int64(0), int64(1), int64(2), int64(3), int64(4)}, got)
	// Had a cast waited for the dial, the next delivery would have come after the dial failed.
	require.Equal(t, uint64(0), m.Stats().Dropped, "local deliveries waited for the dial to fail")

	// The handshake times out after 4 s: the five casts for the frozen node are dropped.
	require.Eventually(t, func() bool { return m.Stats().Dropped == 5 }, 15*time.Second, 10*time.Millisecond)
	require.Equal(t, uint64(0), m.Stats().Relayed)
}

// After the link to a node went down, casts for it wait for the new connection and then arrive,
// all of them and in order, as the first casts to a node not yet connected do.
func TestCastsAfterALostLinkArriveInOrder(t *testing.T) {
	nodes, ms := cluster(t, 2, manifold.Config{})
	out := make(chan etf.Tuple, 1000)
	pid := receivers(t, nodes[1], 1, out)[0]
	sendRange := func(from, to int) {
		asProcess(t, nodes[0], func(p gen.Process) error {
			for i := from; i < to; i++ {
				if err := ms[0].Send(p, []gen.PID{pid}, i); err != nil {
					return err
				}
			}
			return nil
		})
		got := collect(t, out, to-from)[pid]
		for i := from; i < to; i++ {
			require.Equal(t, int64(i), got[i-from], "position %d", i)
		}
	}
	sendRange(0, 300)
	remote, err := nodes[0].Network().Node(nodes[1].Name())
	require.NoError(t, err)
	remote.Disconnect()
	require.Eventually(t, func() bool {
		_, err := nodes[0].Network().Node(nodes[1].Name())
		return err != nil
	}, 5*time.Second, time.Millisecond)
	sendRange(300, 600)
	require.Zero(t, ms[0].Stats().Dropped)
}

// Casts with pids of more unconnected nodes than maxDials dial that many at a time, the others
// waiting their turn with their casts queued; and the casts waiting for all connections
// together are bounded, those beyond dropped and counted.
func TestDialsToManyNodesAreBounded(t *testing.T) {
	port := nodetest.Port(t)
	n, m := nodeGivingUpIn4s(t, port)
	defer manifold.SetQueuedBytesLimit(1 << 20)()

	var accepted atomic.Int32
	const nodes = manifold.MaxDials + 8
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	big := make([]byte, 300<<10)
	for i := range nodes {
		frozen := frozenNode(t, port, "frozen"+strconv.Itoa(i), &accepted)
		var msg any = int64(i)
		if i < 5 {
			msg = big // the fourth and fifth are beyond 1 MB queued
		}
		cast := etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), etf.List{gen.PID{Node: frozen, ID: 500, Creation: 1}}, msg}}
		require.NoError(t, n.Send(part, cast))
	}
	require.Eventually(t, func() bool { return accepted.Load() == manifold.MaxDials }, 3*time.Second, time.Millisecond)
	require.Equal(t, uint64(2), m.Stats().Dropped, "the casts beyond the bound")
	// The handshakes under way time out after 4 s; until then, no other dial starts.
	require.Never(t, func() bool { return accepted.Load() > manifold.MaxDials }, time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return m.Stats().Dropped == nodes }, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, int32(nodes), accepted.Load(), "every node was dialled in the end")
}
