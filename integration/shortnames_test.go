package integration

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
)

// Short names, as erl -sname and manifold-node --sname: the Go node named name@host with this
// machine's short host name, and erl nodes started with -sname, reach each other both ways.
func TestShortNamesBothWays(t *testing.T) {
	const count = 1_000
	hostname, err := os.Hostname()
	require.NoError(t, err)
	short, _, _ := strings.Cut(hostname, ".")
	if _, err := net.LookupHost(short); err != nil {
		t.Skipf("this machine's short host name %q does not resolve: %v", short, err)
	}
	c := newCluster(t)
	gn := c.goNodeAt("go", short, node.Options{})
	_, out := spawnInbox(t, gn, "inbox", count+16)

	p := c.erlNode("erl_s", erlpeer.Options{ShortNames: true})
	_, host, _ := strings.Cut(string(p.Node()), "@")
	require.Equal(t, short, host, "erl -sname names the node after the short host name")
	dest := etf.Tuple{etf.Atom("inbox"), gn.Name()}
	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_dist", "send_seq", dest, etf.Atom("short"), count))
	for i := 1; i <= count; i++ {
		require.Equal(t, etf.Tuple{etf.Atom("seq"), etf.Atom("short"), int64(i)}, receive(t, out, 30*time.Second), "message %d", i)
	}

	q := c.erlNode("erl_t", erlpeer.Options{ShortNames: true})
	collector := q.MustCall("gobeam_dist", "start_collector", count).(etf.PID)
	for i := 1; i <= count; i++ {
		require.NoError(t, gn.Send(collector, etf.Tuple{etf.Atom("seq"), etf.Atom("go"), i}))
	}
	require.Equal(t, etf.Atom("ok"), q.MustCall("gobeam_dist", "await_collector", collector, 30_000))
}
