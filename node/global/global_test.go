package global_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/global"
	"github.com/gobeam/gobeam/node/nodetest"
)

// Go nodes running global sync with each other as BEAM nodes do, with no erl: both roles of
// the locker, the resolver's own conflict resolution, names registered from Go, and a third
// node learning of the others through new_nodes. (The tests against erl are in integration.)

type idle struct{ act.Actor }

func spawnIdle(t *testing.T, n gen.Node) gen.PID {
	pid, err := n.Spawn(func() gen.ProcessBehavior { return &idle{} }, gen.ProcessOptions{})
	require.NoError(t, err)
	return pid
}

type goCluster struct {
	t    *testing.T
	port uint16
}

// start starts a visible Go node, which runs global. Two Go nodes have no peer that starts the
// sync for them: global polls the connections the node knows to be visible, quickly here.
func (c *goCluster) start(name string) (gen.Node, *global.Global) {
	n, err := node.Start(name+"@127.0.0.1", node.Options{Cookie: "global-test", EPMDPort: c.port,
		Visible: true, Global: global.Options{PollInterval: 50 * time.Millisecond}})
	require.NoError(c.t, err)
	c.t.Cleanup(n.Stop)
	g, ok := global.Of(n)
	require.True(c.t, ok)
	return n, g
}

// startHidden starts a hidden node of the cluster, one that global does not sync with.
func (c *goCluster) startHidden(name string) gen.Node {
	n, err := node.Start(name+"@127.0.0.1", node.Options{Cookie: "global-test", EPMDPort: c.port})
	require.NoError(c.t, err)
	c.t.Cleanup(n.Stop)
	return n
}

func connect(t *testing.T, from gen.Node, to gen.Node) {
	t.Helper()
	_, err := from.Network().GetNode(to.Name())
	require.NoError(t, err)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGoNodesSyncAndShareNames(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n1, g1 := c.start("g1")
	n2, g2 := c.start("g2")

	// Names registered before the nodes meet travel in the sync.
	early := spawnIdle(t, n1)
	ok, err := g1.RegisterName(ctx(t), etf.Atom("early"), early)
	require.NoError(t, err)
	require.True(t, ok)

	connect(t, n1, n2)
	eventually(t, "the nodes to sync", func() bool {
		return len(g1.Synced()) == 1 && len(g2.Synced()) == 1
	})
	require.NoError(t, g1.Sync(ctx(t)))
	require.NoError(t, g2.Sync(ctx(t)))
	require.Equal(t, []gen.Atom{n2.Name()}, g1.Known())
	require.Equal(t, []gen.Atom{n1.Name()}, g2.Known())
	pid, ok := g2.WhereisName(etf.Atom("early"))
	require.True(t, ok)
	require.Equal(t, early, pid)

	// Registered after: on both nodes when RegisterName returns.
	late := spawnIdle(t, n2)
	ok, err = g2.RegisterName(ctx(t), etf.Tuple{etf.Atom("late"), 1}, late)
	require.NoError(t, err)
	require.True(t, ok)
	pid, ok = g1.WhereisName(etf.Tuple{etf.Atom("late"), 1})
	require.True(t, ok)
	require.Equal(t, late, pid)
	ok, err = g1.RegisterName(ctx(t), etf.Tuple{etf.Atom("late"), 1}, spawnIdle(t, n1))
	require.NoError(t, err)
	require.False(t, ok, "the name is taken")

	// A third node that meets one of them learns of the other (global connects them) and of
	// both names.
	n3, g3 := c.start("g3")
	connect(t, n3, n1)
	eventually(t, "g3 to know both nodes", func() bool { return len(g3.Known()) == 2 })
	eventually(t, "g1 to know g3", func() bool { return len(g1.Known()) == 2 })
	require.Equal(t, []gen.Atom{n1.Name(), n2.Name()}, g3.Known())
	_, err = n3.Network().Node(n1.Name())
	require.NoError(t, err, "global connected g3 to g1")
	for _, name := range []etf.Term{etf.Atom("early"), etf.Tuple{etf.Atom("late"), 1}} {
		_, ok := g3.WhereisName(name)
		require.True(t, ok, "g3 knows %v", name)
	}
	require.NoError(t, g3.Sync(ctx(t)))

	// A name goes everywhere when its process ends, and when unregistered.
	require.NoError(t, n1.Kill(early))
	eventually(t, "every node to forget the ended process", func() bool {
		_, ok1 := g1.WhereisName(etf.Atom("early"))
		_, ok2 := g2.WhereisName(etf.Atom("early"))
		_, ok3 := g3.WhereisName(etf.Atom("early"))
		return !ok1 && !ok2 && !ok3
	})
	require.NoError(t, g3.UnregisterName(ctx(t), etf.Tuple{etf.Atom("late"), 1}))
	for _, g := range []*global.Global{g1, g2, g3} {
		_, ok := g.WhereisName(etf.Tuple{etf.Atom("late"), 1})
		require.False(t, ok)
		require.Empty(t, g.RegisteredNames())
	}
}

// Two Go nodes that both have a name when they meet: the smaller node resolves the conflict
// with global:random_exit_name/3, run in Go, which kills the process on the greater node.
func TestGoNodesResolveANameConflict(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n1, g1 := c.start("c1")
	n2, g2 := c.start("c2")
	p1, p2 := spawnIdle(t, n1), spawnIdle(t, n2)
	for _, r := range []struct {
		g   *global.Global
		pid gen.PID
	}{{g1, p1}, {g2, p2}} {
		ok, err := r.g.RegisterName(ctx(t), "contested", r.pid)
		require.NoError(t, err)
		require.True(t, ok)
	}
	connect(t, n2, n1)
	require.NoError(t, g1.Sync(ctx(t)))
	eventually(t, "both nodes to agree", func() bool {
		a, ok1 := g1.WhereisName("contested")
		b, ok2 := g2.WhereisName("contested")
		return ok1 && ok2 && a == p1 && b == p1
	})
	eventually(t, "the process on the greater node to be killed", func() bool {
		_, err := n2.ProcessInfo(p2)
		return err != nil
	})
}

func TestStartTwiceAndStop(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n, g := c.start("s1")
	_, err := global.Start(n, global.Options{})
	require.ErrorIs(t, err, global.ErrStarted)
	require.NoError(t, g.Stop())
	select {
	case <-g.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("global did not stop")
	}
	_, ok := global.Of(n)
	require.False(t, ok)
	_, err = g.RegisterName(ctx(t), etf.Atom("x"), spawnIdle(t, n))
	require.ErrorIs(t, err, global.ErrNotRunning)
	require.ErrorIs(t, g.Sync(ctx(t)), global.ErrNotRunning)
	_, found := g.WhereisName(etf.Atom("x"))
	require.False(t, found)

	// It can run again.
	g2, err := global.Start(n, global.Options{})
	require.NoError(t, err)
	pid := spawnIdle(t, n)
	ok, err = g2.RegisterName(ctx(t), etf.Atom("x"), pid)
	require.NoError(t, err)
	require.True(t, ok)
	got, found := g2.WhereisName(etf.Atom("x"))
	require.True(t, found)
	require.Equal(t, pid, got)
}

// A name server that fails is restarted with a fresh state, as kernel_sup restarts global's.
func TestServerIsRestarted(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n, g := c.start("r1")
	ok, err := g.RegisterName(ctx(t), etf.Atom("before"), spawnIdle(t, n))
	require.NoError(t, err)
	require.True(t, ok)
	first, err := n.ProcessPID(global.ServerName)
	require.NoError(t, err)
	require.NoError(t, n.Kill(first))
	eventually(t, "a new name server", func() bool {
		pid, err := n.ProcessPID(global.ServerName)
		return err == nil && pid != first
	})
	eventually(t, "the API to use it", func() bool {
		_, found := g.WhereisName(etf.Atom("before"))
		return !found
	})
	pid := spawnIdle(t, n)
	ok, err = g.RegisterName(ctx(t), etf.Atom("after"), pid)
	require.NoError(t, err)
	require.True(t, ok)
	got, found := g.WhereisName(etf.Atom("after"))
	require.True(t, found)
	require.Equal(t, pid, got)
	select {
	case <-g.Done():
		t.Fatal("global stopped")
	default:
	}
}

// A request whose caller has stopped waiting is not carried out once its turn comes: the caller
// was told it failed.
func TestCancelledRegistrationIsNotCarriedOut(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n, g := c.start("cancel")
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := g.RegisterName(gone, etf.Atom("late"), spawnIdle(t, n))
	require.ErrorIs(t, err, context.Canceled)
	// Requests are carried out in order: once a later one is done, the first had its turn.
	ok, err := g.RegisterName(ctx(t), etf.Atom("next"), spawnIdle(t, n))
	require.NoError(t, err)
	require.True(t, ok)
	_, found := g.WhereisName(etf.Atom("late"))
	require.False(t, found, "registered after the caller was told it failed")
}

// A hidden node that calls global takes no part in it: Sync does not wait for it.
func TestHiddenCallerIsNoParticipant(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	v, gv := c.start("vis")
	h := c.startHidden("hid")
	known, err := h.Call(gen.ProcessID{Name: global.ServerName, Node: v.Name()}, etf.Atom("get_known"))
	require.NoError(t, err)
	require.Empty(t, known)
	sync, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, gv.Sync(sync), "Sync waited for the hidden node")
}

// A peer synced with the name server before it was restarted syncs with the new one: it drops
// the names of the old one and sees those of the new one.
func TestRestartedServerSyncsAnew(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	a, ga := c.start("ra")
	b, gb := c.start("rb")
	connect(t, a, b)
	require.NoError(t, gb.Sync(ctx(t)))
	ok, err := ga.RegisterName(ctx(t), etf.Atom("old"), spawnIdle(t, a))
	require.NoError(t, err)
	require.True(t, ok)
	eventually(t, "b to see a's name", func() bool { _, found := gb.WhereisName(etf.Atom("old")); return found })

	first, err := a.ProcessPID(global.ServerName)
	require.NoError(t, err)
	require.NoError(t, a.Kill(first))
	eventually(t, "b to drop the name a's new server lacks", func() bool {
		_, found := gb.WhereisName(etf.Atom("old"))
		return !found
	})
	eventually(t, "a and b to be connected again", func() bool { return slices.Contains(b.Network().Nodes(), a.Name()) })
	require.NoError(t, ga.Sync(ctx(t)))
	pid := spawnIdle(t, a)
	ok, err = ga.RegisterName(ctx(t), etf.Atom("new"), pid)
	require.NoError(t, err)
	require.True(t, ok)
	eventually(t, "b to see the new server's name", func() bool {
		got, found := gb.WhereisName(etf.Atom("new"))
		return found && got == pid
	})
}

// connectedSet returns the nodes n is connected to, with n itself.
func connectedSet(n gen.Node) map[gen.Atom]bool {
	set := map[gen.Atom]bool{n.Name(): true}
	for _, p := range n.Network().Nodes() {
		set[p] = true
	}
	return set
}

func sameSet(a, b map[gen.Atom]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// When one link of a fully connected cluster breaks, global (prevent_overlapping_partitions)
// disconnects nodes until the cluster is partitions that do not overlap: every node is
// connected to exactly the other nodes of its partition.
func TestGoNodesPreventOverlappingPartitions(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n1, g1 := c.start("p1")
	n2, g2 := c.start("p2")
	n3, g3 := c.start("p3")
	nodes := []gen.Node{n1, n2, n3}
	// p2 and p3 are left for global to connect: it makes both dial each other at once, a
	// simultaneous connect that must settle on one connection.
	connect(t, n1, n3)
	connect(t, n1, n2)
	eventually(t, "a synced full mesh", func() bool {
		return len(g1.Known()) == 2 && len(g2.Known()) == 2 && len(g3.Known()) == 2 &&
			len(n1.Network().Nodes()) == 2 && len(n3.Network().Nodes()) == 2
	})

	link, err := n1.Network().Node(n3.Name())
	require.NoError(t, err)
	link.Disconnect()
	eventually(t, "partitions that do not overlap", func() bool {
		if len(n1.Network().Nodes()) == 2 || len(n3.Network().Nodes()) == 2 {
			return false // p1 and p3 must no longer share p2
		}
		for _, n := range nodes {
			mine := connectedSet(n)
			for p := range mine {
				for _, m := range nodes {
					if m.Name() == p && !sameSet(connectedSet(m), mine) {
						return false
					}
				}
			}
		}
		return true
	})
	t.Logf("partitions: %v %v %v", n1.Network().Nodes(), n2.Network().Nodes(), n3.Network().Nodes())
}

// A name registered for a pid of a hidden node has global dial that node to monitor the pid;
// the hidden node takes no part in global for that: it is not known, and Sync does not wait
// for it.
func TestHiddenNodeDialledForAPidIsNoParticipant(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	v, gv := c.start("vis")
	h := c.startHidden("hid")
	// What the hidden node's global_name_server would be told.
	told := make(chan any, 16)
	_, err := h.SpawnRegister(global.ServerName, func() gen.ProcessBehavior { return &nodetest.Runner{Out: told} }, gen.ProcessOptions{})
	require.NoError(t, err)
	pid := spawnIdle(t, h)
	ok, err := gv.RegisterName(ctx(t), etf.Atom("on_hidden"), pid)
	require.NoError(t, err)
	require.True(t, ok)
	eventually(t, "the connection to the hidden node", func() bool {
		_, err := v.Network().Node(h.Name())
		return err == nil
	})
	require.NoError(t, gv.Sync(ctx(t)), "Sync waited for the hidden node")
	require.NotContains(t, gv.Known(), h.Name())
	require.Never(t, func() bool { return len(told) > 0 }, 300*time.Millisecond, 10*time.Millisecond,
		"the hidden node was asked to sync")
	// The pid is monitored: its name goes with it.
	h.Kill(pid)
	eventually(t, "the name of the killed process to go", func() bool {
		_, ok := gv.WhereisName(etf.Atom("on_hidden"))
		return !ok
	})
}
