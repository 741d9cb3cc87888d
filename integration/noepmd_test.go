package integration

import (
	"strconv"
	"testing"
	"time"

	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

// A cluster without EPMD, as erl runs with -erl_epmd_port Port -start_epmd false: every node
// listens on the one port (here on its own loopback address) and reaches the others by name
// alone. Nothing listens on the EPMD port the nodes are given, so any EPMD request would fail.
func TestNoEPMDClusterBothWays(t *testing.T) {
	const count = 10_000
	c := newCluster(t)
	distPort := nodetest.Port(t)
	gn := c.goNodeAt("go", "127.0.0.2", node.Options{DistPort: distPort})
	_, out := spawnInbox(t, gn, "inbox", count+16)
	erlNoEPMD := func(prefix string) *erlpeer.Peer {
		return c.erlNode(prefix, erlpeer.Options{Args: []string{"-erl_epmd_port", strconv.Itoa(int(distPort)),
			"-kernel", "inet_dist_use_interface", "{127,0,0,1}"}})
	}

	a := erlNoEPMD("erl_a")
	erlSendsInOrder(t, a, gn, out, "direct", count)
	a.Stop() // the next erl listens on the same address and port

	b := erlNoEPMD("erl_b")
	goSendsInOrder(t, gn, b, count, time.Minute)
}
