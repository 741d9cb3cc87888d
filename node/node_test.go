package node

import (
	"net"
	"strconv"
	"testing"
	"time"

	"ergo.services/ergo/app/system"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/nodetest"
)

func TestStartDisablesMetrics(t *testing.T) {
	n, err := Start("metrics@127.0.0.1", Options{Cookie: "c", EPMDPort: nodetest.Port(t)})
	require.NoError(t, err)
	defer n.Stop()
	v, ok := n.Env(system.DISABLE_METRICS)
	require.True(t, ok, "the node must not report usage to Ergo's authors")
	require.Equal(t, true, v)
	require.Empty(t, n.Commercial(), "no BSL-licensed component may be in use")
}

func TestStartRejectsBadOptions(t *testing.T) {
	_, err := Start("nohost", Options{Cookie: "c"})
	require.ErrorContains(t, err, "name@host")
	t.Setenv("ERL_EPMD_PORT", "not-a-port")
	_, err = Start("a@127.0.0.1", Options{Cookie: "c"})
	require.ErrorContains(t, err, "ERL_EPMD_PORT")
	_, err = Start("a@127.0.0.1", Options{Cookie: "c", Cookies: map[string]string{"peer": "x"}})
	require.ErrorContains(t, err, `Cookies: "peer" is not a node name`)
	_, err = Start("a@127.0.0.1", Options{Cookie: "c", Cookies: map[string]string{"p@h": ""}})
	require.ErrorContains(t, err, "empty cookie for p@h")
}

// Two Go nodes find each other through the embedded EPMD and exchange messages and calls over
// the Erlang distribution protocol, with no Erlang installed.
func TestTwoGoNodes(t *testing.T) {
	nodes, inboxes := goNodes(t, 8, "a@127.0.0.1", "b@127.0.0.1")
	a, got := nodes[0], inboxes[nodes[1]]

	require.NoError(t, a.Send(gen.ProcessID{Name: "inbox", Node: "b@127.0.0.1"}, etf.Tuple{etf.Atom("hi"), "there"}))
	require.Equal(t, etf.Tuple{etf.Atom("hi"), []byte("there")}, received(t, got))

	reply, err := a.Call(gen.ProcessID{Name: "inbox", Node: "b@127.0.0.1"}, etf.Atom("ping"))
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("pong"), etf.Atom("ping")}, reply)
}

// goNodes starts Go nodes of the given names on one embedded EPMD, each with a registered
// process "inbox" that hands what it receives to the node's channel.
func goNodes(t *testing.T, inboxSize int, names ...string) ([]gen.Node, map[gen.Node]chan any) {
	port := nodetest.Port(t)
	var nodes []gen.Node
	inboxes := map[gen.Node]chan any{}
	for _, name := range names {
		n := startNode(t, name, Options{Cookie: "c", EPMDPort: port})
		ch, _ := registerInbox(t, n, inboxSize)
		nodes, inboxes[n] = append(nodes, n), ch
	}
	return nodes, inboxes
}

// sendAtOnce starts senders goroutines per pair of nodes that each send {S, 0..each-1} from
// the first node to the second's inbox, all released together, and waits for them.
func sendAtOnce(t *testing.T, pairs [][2]gen.Node, senders, each int) {
	start := make(chan struct{})
	errs := make(chan error, len(pairs)*senders)
	for _, pair := range pairs {
		from, to := pair[0], pair[1]
		for s := 0; s < senders; s++ {
			go func() {
				<-start
				for i := 0; i < each; i++ {
					if err := from.Send(gen.ProcessID{Name: "inbox", Node: to.Name()}, etf.Tuple{s, i}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
	}
	close(start)
	for range len(pairs) * senders {
		require.NoError(t, <-errs)
	}
}

// expectInOrder reads senders*each messages {S, I} from ch: all of them, each sender's in order.
func expectInOrder(t *testing.T, ch chan any, senders, each int) {
	next := make([]int64, senders)
	for k := 0; k < senders*each; k++ {
		select {
		case m := <-ch:
			tu := m.(etf.Tuple)
			s, i := tu[0].(int64), tu[1].(int64)
			require.Equal(t, next[s], i, "sender %d out of order", s)
			next[s]++
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d messages arrived", k, senders*each)
		}
	}
}

// Many processes' first sends to a node race to connect; one connection carries them all and
// nothing is lost.
func TestConcurrentFirstSendsBetweenGoNodes(t *testing.T) {
	const senders, each = 16, 200
	nodes, inboxes := goNodes(t, senders*each, "ca@127.0.0.1", "cb@127.0.0.1")
	a, b := nodes[0], nodes[1]
	sendAtOnce(t, [][2]gen.Node{{a, b}}, senders, each)
	expectInOrder(t, inboxes[b], senders, each)
	require.Equal(t, []gen.Atom{"cb@127.0.0.1"}, a.Network().Nodes())
}

// Two Go nodes that start talking to each other at the same moment, from several processes
// on each side: the simultaneous connects settle on one connection and nothing is lost.
func TestSimultaneousFirstSendsBothWays(t *testing.T) {
	const senders, each = 8, 100
	nodes, inboxes := goNodes(t, senders*each, "sa@127.0.0.1", "sb@127.0.0.1")
	a, b := nodes[0], nodes[1]
	sendAtOnce(t, [][2]gen.Node{{a, b}, {b, a}}, senders, each)
	expectInOrder(t, inboxes[a], senders, each)
	expectInOrder(t, inboxes[b], senders, each)
}

// Go nodes named by IPv6 addresses, as on IPv6-only private networks, listen and dial over
// IPv6.
func TestTwoGoNodesOverIPv6(t *testing.T) {
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		l.Close()
	}
	nodes, inboxes := goNodes(t, 4, "v6a@::1", "v6b@::1")
	require.NoError(t, nodes[0].Send(gen.ProcessID{Name: "inbox", Node: "v6b@::1"}, "over IPv6"))
	require.Equal(t, []byte("over IPv6"), received(t, inboxes[nodes[1]]))
}

// Go nodes in a cluster without EPMD (erl's -erl_epmd_port): each listens on the one port on
// its own address, and they find each other by name alone.
func TestGoNodesWithoutEPMD(t *testing.T) {
	port, epmdPort := nodetest.Port(t), nodetest.Port(t)
	opts := Options{Cookie: "c", EPMDPort: epmdPort, DistPort: port}
	a := startNode(t, "noepmd_a@127.0.0.1", opts)
	b := startNode(t, "noepmd_b@127.0.0.2", opts)
	got, inbox := registerInbox(t, b, 1)
	require.NoError(t, a.Send(inbox, "no EPMD"))
	require.Equal(t, []byte("no EPMD"), received(t, got))
	_, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(epmdPort))))
	require.Error(t, err, "no EPMD was started")

	opts.ListenPortMin = port + 1
	_, err = Start("noepmd_c@127.0.0.3", opts)
	require.ErrorContains(t, err, "DistPort")
}

// A name EPMD refuses fails Start and leaves nothing behind: no acceptor answering for the name
// the node does not hold, and the port free for the next try.
func TestRefusedNameLeavesNothingListening(t *testing.T) {
	epmdPort, port := nodetest.Port(t), nodetest.Port(t)
	startNode(t, "twice@127.0.0.1", Options{Cookie: "c", EPMDPort: epmdPort})
	_, err := Start("twice@127.0.0.1", Options{Cookie: "c", EPMDPort: epmdPort, ListenPortMin: port})
	require.ErrorIs(t, err, epmd.ErrNameTaken)
	_, err = net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	require.Error(t, err, "the refused node still listens")
	startNode(t, "again@127.0.0.1", Options{Cookie: "c", EPMDPort: epmdPort, ListenPortMin: port})
}

// A node started again under the same name gets another creation, even within the second
// (Ergo's creation is the second of the start), so the pids of the node before are not its.
func TestRestartedNodeGetsANewCreation(t *testing.T) {
	opts := Options{Cookie: "c", EPMDPort: nodetest.Port(t)}
	var seen []int64
	for range 3 {
		n, err := Start("again@127.0.0.1", opts)
		require.NoError(t, err)
		require.NotContains(t, seen, n.Creation())
		seen = append(seen, n.Creation())
		n.Stop()
	}
}

// Like erl, a node listens on every interface, so it starts and is reachable even when its
// name's host is not an address of the machine (a name behind NAT or a port mapping); an
// explicit ListenHost binds that address alone.
func TestNodeListensOnEveryInterface(t *testing.T) {
	port := nodetest.Port(t)
	n := startNode(t, "natted@192.0.2.1", Options{Cookie: "c", EPMDPort: port})
	acceptors, err := n.Network().Acceptors()
	require.NoError(t, err)
	require.Len(t, acceptors, 1)
	_, p, err := net.SplitHostPort(acceptors[0].Info().Interface)
	require.NoError(t, err)
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "::1"} {
		c, err := net.Dial("tcp", net.JoinHostPort(host, p))
		require.NoError(t, err, host)
		c.Close()
	}

	only := startNode(t, "only@127.0.0.1", Options{Cookie: "c", EPMDPort: port, ListenHost: "127.0.0.3"})
	acceptors, err = only.Network().Acceptors()
	require.NoError(t, err)
	require.Equal(t, "127.0.0.3", hostOf(t, acceptors[0].Info().Interface))
	_, p, _ = net.SplitHostPort(acceptors[0].Info().Interface)
	_, err = net.Dial("tcp", net.JoinHostPort("127.0.0.1", p))
	require.Error(t, err)
}

func hostOf(t *testing.T, hostPort string) string {
	h, _, err := net.SplitHostPort(hostPort)
	require.NoError(t, err)
	return h
}
