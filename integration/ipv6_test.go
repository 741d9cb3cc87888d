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
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		l.Close()
	}
	const count = 10_000
	const size = 2 << 20
	c := newCluster(t)
	gn := c.goNodeAt("go", "::1", node.Options{})
	_, out := spawnInbox(t, gn, "inbox", count+16)
	p := c.erlNode6("erl_a")

	// erl dials the Go node.
	dest := etf.Tuple{etf.Atom("inbox"), gn.Name()}
	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "send_seq", dest, etf.Atom("v6"), count))
	for i := 1; i <= count; i++ {
		require.Equal(t, etf.Tuple{etf.Atom("seq"), etf.Atom("v6"), int64(i)}, receive(t, out, 30*time.Second), "message %d", i)
	}
	_, err := p.EvalWith(`{inbox, Go} ! {big, gobeam_dist:pattern(Size)}, ok.`, map[string]etf.Term{"Go": gn.Name(), "Size": size})
	require.NoError(t, err)
	big := receive(t, out, 60*time.Second).(etf.Tuple)
	require.Equal(t, sha256.Sum256(pattern(size)), sha256.Sum256(big[1].([]byte)))
	peerAddr, err := p.EvalWith(`[Ctrl] = [C || {N, C} <- erlang:system_info(dist_ctrl), N =:= Go],
		{ok, {Addr, _}} = inet:peername(Ctrl), Addr.`, map[string]etf.Term{"Go": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(1)}, peerAddr,
		"erl reaches the Go node over IPv6")

	// The Go node dials another erl, found through EPMD by its IPv6 host.
	q := c.erlNode6("erl_b")
	collector := q.MustCall("gobeam_dist", "start_collector", count+1).(etf.PID)
	for i := 1; i <= count; i++ {
		require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i}))
	}
	require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), count + 1, pattern(size)}))
	require.Equal(t, etf.Atom("ok"), q.MustCall("gobeam_dist", "await_collector", collector, 60_000))
}

// erlNode6 starts an inet6_tcp erl peer named by the IPv6 loopback address.
func (c *cluster) erlNode6(prefix string) *erlpeer.Peer {
	c.t.Helper()
	p := erlpeer.Start(c.t, erlpeer.Options{Name: erlpeer.UniqueName(prefix) + "@::1", ProtoDist: "inet6_tcp",
		Cookie: c.cookie, EPMDPort: int(c.epmdPort), NoStartEPMD: true})
	p.MustLoadFS(erlSources, "erl/*.erl")
	return p
}
