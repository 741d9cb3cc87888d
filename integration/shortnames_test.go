package integration

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
		skipOnThisMachine(t, "this machine's short host name %q does not resolve: %v", short, err)
	}
	c := newCluster(t)
	gn := c.goNodeAt("go", short, node.Options{})
	_, out := spawnInbox(t, gn, "inbox", count+16)

	p := c.erlNode("erl_s", erlpeer.Options{ShortNames: true})
	_, host, _ := strings.Cut(string(p.Node()), "@")
	require.Equal(t, short, host, "erl -sname names the node after the short host name")
	erlSendsInOrder(t, p, gn, out, "short", count)

	q := c.erlNode("erl_t", erlpeer.Options{ShortNames: true})
	goSendsInOrder(t, gn, q, count, 30*time.Second)
}
