package integration

import (
	"crypto/sha256"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
)

// The distribution over IPv6 against erl's inet6_tcp_dist, as in clusters on IPv6-only private
// networks (node names such as app@fdaa:0:1::3): both nodes named by an IPv6 address, EPMD
// asked over IPv6, messages in order and a large message each way.
func TestIPv6DistributionBothWays(t *testing.T) {
	requireIPv6(t)
	const count = 10_000
	const size = 2 << 20
	c := newCluster(t)
	gn := c.goNodeAt("go", "::1", node.Options{})
	_, out := spawnInbox(t, gn, "inbox", count+16)
	p := c.erlNode6("erl_a", erlpeer.Options{})

	// erl dials the Go node.
	erlSendsInOrder(t, p, gn, out, "v6", count)
	_, err := p.EvalWith(`{inbox, Go} ! {big, gobeam_dist:pattern(Size)}, ok.`, map[string]etf.Term{"Go": gn.Name(), "Size": size})
	require.NoError(t, err)
	big := receive(t, out, 60*time.Second).(etf.Tuple)
	require.Equal(t, sha256.Sum256(pattern(size)), sha256.Sum256(big[1].([]byte)))
	peerAddr, err := p.EvalWith(erlPeerAddress, map[string]etf.Term{"Peer": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, loopback6, peerAddr, "erl reaches the Go node over IPv6")

	// The Go node dials another erl, found through EPMD by its IPv6 host. erl checks the large
	// message against the pattern it builds itself.
	q := c.erlNode6("erl_b", erlpeer.Options{})
	collector := checkingCollector(t, q, count+1, `fun(I) when I =< Count -> no_payload; (_) -> gobeam_dist:pattern(Size) end`,
		map[string]etf.Term{"Count": count, "Size": size})
	for i := 1; i <= count; i++ {
		require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i}))
	}
	require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), count + 1, pattern(size)}))
	require.Equal(t, etf.Atom("ok"), q.MustCall("gobeam_dist", "await_collector", collector, 60_000))
}

// TLS over IPv6, against erl's inet6_tls_dist: both ways, in order, with certificates checked
// both ways, and each connection checked on the erl side to be a TLS connection over IPv6.
func TestTLSOverIPv6BothWays(t *testing.T) {
	requireIPv6(t)
	const count = 5_000
	ca := newTestCA(t, "gobeam test CA")
	c := newCluster(t)
	gn := c.goNodeAt("go", "::1", node.Options{TLS: ca.goTLS(t)})
	_, out := spawnInbox(t, gn, "inbox", count+16)
	tls6 := func(prefix string) *erlpeer.Peer {
		return c.erlNode6(prefix, erlpeer.Options{ProtoDist: "inet6_tls", Args: ca.erlTLSArgs(t, true)})
	}
	overTLS6 := func(p *erlpeer.Peer) {
		t.Helper()
		vars := map[string]etf.Term{"Peer": gn.Name()}
		carrier, err := p.EvalWith(tlsControlled, vars)
		require.NoError(t, err)
		require.Equal(t, etf.Atom("tls"), carrier)
		addr, err := p.EvalWith(erlPeerAddress, vars)
		require.NoError(t, err)
		require.Equal(t, loopback6, addr)
	}

	// erl dials the Go node.
	a := tls6("erl_a")
	erlSendsInOrder(t, a, gn, out, "tls6", count)
	overTLS6(a)

	// The Go node dials another erl.
	b := tls6("erl_b")
	goSendsInOrder(t, gn, b, count, time.Minute)
	overTLS6(b)
}

// requireIPv6 skips a test on a machine without an IPv6 loopback.
func requireIPv6(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		skipOnThisMachine(t, "this machine has no IPv6 loopback: %v", err)
	}
	l.Close()
}

// erlNode6 starts an erl peer named by the IPv6 loopback address, on inet6_tcp unless
// opts.ProtoDist says otherwise.
func (c *cluster) erlNode6(prefix string, opts erlpeer.Options) *erlpeer.Peer {
	c.t.Helper()
	opts.Name = erlpeer.UniqueName(prefix) + "@::1"
	if opts.ProtoDist == "" {
		opts.ProtoDist = "inet6_tcp"
	}
	return c.erlNode(prefix, opts)
}

// erlPeerAddress is the address of the node Peer as erl's net_kernel holds it, over TCP and
// TLS alike. (Its family field is no help: inet6_tls_dist of OTP 25 says inet.)
const erlPeerAddress = `{ok, Info} = net_kernel:node_info(Peer),
	{address, {net_address, {Addr, _Port}, _Host, _Proto, _Family}} = lists:keyfind(address, 1, Info),
	Addr.`

// loopback6 is ::1 as erl writes an address.
var loopback6 = etf.Tuple{int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(1)}
