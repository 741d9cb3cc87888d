package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/global"
)

// A Go node in a cluster of BEAM nodes, visible with global running on it and hidden without,
// against real erl: the cluster stays connected, global:sync() returns, global names go both
// ways, and name conflicts are resolved when nodes join. The tests run in parallel, so the
// two-minute life of the clusters is spent once.

const (
	// clusterLife is how long the clusters must stay connected.
	clusterLife = 2 * time.Minute
	// globalBound bounds global:sync() and the spreading of a name.
	globalBound = 20 * time.Second
)

// startGlobal returns the global a visible node started with.
func startGlobal(t *testing.T, n gen.Node) *global.Global {
	t.Helper()
	g, ok := global.Of(n)
	require.True(t, ok, "a visible node runs global")
	return g
}

// requireSync runs global:sync() on each peer and requires ok within globalBound.
func requireSync(t *testing.T, peers ...*erlpeer.Peer) {
	t.Helper()
	for _, p := range peers {
		start := time.Now()
		require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_global", "sync", int(globalBound/time.Millisecond)),
			"global:sync() on %s", p.Node())
		t.Logf("global:sync() on %s returned ok after %s", p.Node(), time.Since(start).Round(time.Millisecond))
	}
}

func requireNodes(t *testing.T, p *erlpeer.Peer, kind string, want ...etf.Term) {
	t.Helper()
	got := p.MustEval(fmt.Sprintf(`lists:sort(nodes(%s)).`, kind))
	require.ElementsMatch(t, etf.List(want), got, "nodes(%s) on %s", kind, p.Node())
}

// nodedowns returns the nodedown events among what a node monitor recorded.
func nodedowns(t *testing.T, events etf.Term) etf.List {
	t.Helper()
	list, ok := events.(etf.List)
	require.True(t, ok, "node events: %v", events)
	var downs etf.List
	for _, e := range list {
		if tu, ok := e.(etf.Tuple); ok && len(tu) > 0 && tu[0] == etf.Atom("nodedown") {
			downs = append(downs, e)
		}
	}
	return downs
}

// pinger answers {ping, From} with From ! {pong, Name, self()}, as gobeam_global's named
// processes do, and reports everything else on a channel.
type pinger struct {
	act.Actor
	name etf.Term
	out  chan any
}

func (p *pinger) HandleMessage(from gen.PID, message any) error {
	if t, ok := message.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("ping") {
		if to, ok := t[1].(etf.PID); ok {
			return p.Send(to, etf.Tuple{etf.Atom("pong"), p.name, p.PID()})
		}
	}
	p.out <- message
	return nil
}

func spawnPinger(t *testing.T, n gen.Node, name etf.Term) (gen.PID, chan any) {
	t.Helper()
	out := make(chan any, 16)
	pid, err := n.Spawn(func() gen.ProcessBehavior { return &pinger{name: name, out: out} }, gen.ProcessOptions{})
	require.NoError(t, err)
	return pid, out
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestGlobalVisibleGoNodeStaysInTheCluster(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	gn := c.goNode("go", node.Options{Visible: true})
	g := startGlobal(t, gn)
	a := c.erlNode("a", erlpeer.Options{})
	b := c.erlNode("b", erlpeer.Options{})
	logRelease(t, a)
	a.MustCall("gobeam_dist", "monitor_nodes")
	b.MustCall("gobeam_dist", "monitor_nodes")

	require.Equal(t, true, a.MustCall("net_kernel", "connect_node", b.Node()))
	require.Equal(t, true, a.MustCall("net_kernel", "connect_node", gn.Name()))
	formed := time.Now()
	// b never asked for the Go node: global's sync makes the mesh, as for any visible node.
	waitFor(t, globalBound, "global to connect b and the Go node", func() bool { return connected(gn, b.Node()) })
	requireSync(t, a, b)
	require.NoError(t, g.Sync(ctxFor(t, globalBound)))
	requireNodes(t, a, "", b.Node(), gn.Name())
	requireNodes(t, b, "", a.Node(), gn.Name())
	require.Equal(t, []gen.Atom{a.Node(), b.Node()}, g.Known())
	require.ElementsMatch(t, etf.List{b.Node(), gn.Name()}, a.MustCall("gobeam_global", "known"), "global's known nodes on a")
	require.ElementsMatch(t, etf.List{a.Node(), gn.Name()}, b.MustCall("gobeam_global", "known"), "global's known nodes on b")

	t.Run("NamesFromBEAM", func(t *testing.T) {
		goPid, goOut := spawnPinger(t, gn, etf.Atom("go_pinger"))
		names := []struct {
			peer *erlpeer.Peer
			name etf.Term
		}{
			{a, etf.Atom("beam_atom")},
			{b, etf.Tuple{etf.Atom("beam"), etf.Atom("tuple"), 1}},
			{a, []byte("beam binary")},
		}
		pids := make([]etf.PID, len(names))
		for i, n := range names {
			r := n.peer.MustCall("gobeam_global", "start_named", n.name).(etf.Tuple)
			require.Equal(t, etf.Atom("yes"), r[0], "register_name(%v) on %s", n.name, n.peer.Node())
			pids[i] = r[1].(etf.PID)
		}
		for i, n := range names {
			waitFor(t, globalBound, fmt.Sprintf("Go to know %v", n.name), func() bool {
				pid, ok := g.WhereisName(n.name)
				return ok && pid == pids[i]
			})
		}
		// A string is the same binary name.
		pid, ok := g.WhereisName("beam binary")
		require.True(t, ok)
		require.Equal(t, pids[2], pid)
		registered := g.RegisteredNames()
		for _, n := range names {
			require.Condition(t, func() bool {
				for _, r := range registered {
					if etf.Equal(r, n.name) {
						return true
					}
				}
				return false
			}, "RegisteredNames %v lacks %v", registered, n.name)
		}

		// global:send from Go, answered to a Go process.
		to, err := g.Send(etf.Atom("beam_atom"), etf.Tuple{etf.Atom("ping"), goPid})
		require.NoError(t, err)
		require.Equal(t, pids[0], to)
		require.Equal(t, etf.Tuple{etf.Atom("pong"), etf.Atom("beam_atom"), pids[0]}, receive(t, goOut, globalBound))

		// Unregistered on BEAM, and a named process that ends: both go on the Go side.
		require.Equal(t, etf.Atom("ok"), b.MustCall("global", "unregister_name", names[1].name))
		require.Equal(t, etf.Atom("ok"), a.MustCall("gobeam_global", "stop_named", pids[0]))
		for _, i := range []int{0, 1} {
			waitFor(t, globalBound, fmt.Sprintf("Go to forget %v", names[i].name), func() bool {
				_, ok := g.WhereisName(names[i].name)
				return !ok
			})
		}
		_, ok = g.WhereisName(names[2].name)
		require.True(t, ok, "the third name is still there")
	})

	t.Run("NamesFromGo", func(t *testing.T) {
		ctx := ctxFor(t, globalBound)
		name := etf.Atom("go_name")
		pid, _ := spawnPinger(t, gn, name)
		ok, err := g.RegisterName(ctx, name, pid)
		require.NoError(t, err)
		require.True(t, ok)
		// Registration is done on every known node when RegisterName returns.
		require.Equal(t, pid, a.MustCall("gobeam_global", "lookup", name))
		require.Equal(t, pid, b.MustCall("gobeam_global", "lookup", name))
		require.Equal(t, etf.Tuple{etf.Atom("pong"), name, pid}, b.MustCall("gobeam_global", "ask", name, 5000))

		// Taken: neither Go nor BEAM may register it again.
		other, _ := spawnPinger(t, gn, name)
		ok, err = g.RegisterName(ctx, name, other)
		require.NoError(t, err)
		require.False(t, ok)
		r := a.MustCall("gobeam_global", "start_named", name).(etf.Tuple)
		require.Equal(t, etf.Atom("no"), r[0])
		a.MustCall("gobeam_global", "stop_named", r[1])
		// Nor may the same pid take a second name.
		ok, err = g.RegisterName(ctx, etf.Atom("go_second_name"), pid)
		require.NoError(t, err)
		require.False(t, ok)

		require.NoError(t, g.UnregisterName(ctx, name))
		require.Equal(t, etf.Atom("undefined"), a.MustCall("gobeam_global", "lookup", name))
		require.Equal(t, etf.Atom("undefined"), b.MustCall("gobeam_global", "lookup", name))

		// BEAM registers a Go process; when it ends, every node lets the name go.
		_, err = a.EvalWith(`yes = global:register_name(go_via_beam, Pid), ok.`, map[string]etf.Term{"Pid": other})
		require.NoError(t, err)
		got, ok := g.WhereisName(etf.Atom("go_via_beam"))
		require.True(t, ok)
		require.Equal(t, other, got)
		require.Equal(t, other, b.MustCall("gobeam_global", "lookup", etf.Atom("go_via_beam")))
		require.NoError(t, gn.Kill(other))
		for _, p := range []*erlpeer.Peer{a, b} {
			waitFor(t, globalBound, "BEAM to forget the ended Go process", func() bool {
				return p.MustCall("gobeam_global", "lookup", etf.Atom("go_via_beam")) == etf.Atom("undefined")
			})
		}
		waitFor(t, globalBound, "Go to forget the ended Go process", func() bool {
			_, ok := g.WhereisName(etf.Atom("go_via_beam"))
			return !ok
		})
	})

	t.Logf("cluster formed; staying up until %s have passed", clusterLife)
	time.Sleep(time.Until(formed.Add(clusterLife)))

	requireNodes(t, a, "", b.Node(), gn.Name())
	requireNodes(t, b, "", a.Node(), gn.Name())
	require.True(t, connected(gn, a.Node()) && connected(gn, b.Node()), "the Go node's connections")
	requireSync(t, a, b)
	for _, p := range []*erlpeer.Peer{a, b} {
		require.Empty(t, nodedowns(t, p.MustCall("gobeam_dist", "node_events")), "nodedown events on %s", p.Node())
	}
	require.Equal(t, []gen.Atom{a.Node(), b.Node()}, g.Known())
}

func TestGlobalHiddenGoNodeStaysConnected(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	a := c.erlNode("a", erlpeer.Options{})
	b := c.erlNode("b", erlpeer.Options{})
	a.MustCall("gobeam_dist", "monitor_nodes")
	b.MustCall("gobeam_dist", "monitor_nodes")

	require.Equal(t, true, a.MustCall("net_kernel", "connect_node", b.Node()))
	require.Equal(t, true, a.MustCall("net_kernel", "connect_node", gn.Name()))
	require.Equal(t, true, b.MustCall("net_kernel", "connect_node", gn.Name()))
	formed := time.Now()
	check := func() {
		t.Helper()
		requireNodes(t, a, "", b.Node())
		requireNodes(t, b, "", a.Node())
		requireNodes(t, a, "hidden", gn.Name())
		requireNodes(t, b, "hidden", gn.Name())
		requireSync(t, a, b)
	}
	check()
	// A name registered on BEAM is global among the BEAM nodes only.
	r := a.MustCall("gobeam_global", "start_named", etf.Atom("hidden_test")).(etf.Tuple)
	require.Equal(t, etf.Atom("yes"), r[0])
	require.Equal(t, r[1], b.MustCall("gobeam_global", "lookup", etf.Atom("hidden_test")))

	time.Sleep(time.Until(formed.Add(clusterLife)))
	check()
	require.True(t, connected(gn, a.Node()) && connected(gn, b.Node()), "the Go node's connections")
	for _, p := range []*erlpeer.Peer{a, b} {
		require.Empty(t, nodedowns(t, p.MustCall("gobeam_dist", "node_events")), "nodedown events on %s", p.Node())
	}
}

// When two nodes that both have a name join, the node with the smaller name resolves the
// conflict with the name's resolve function, global:random_exit_name/3 by default: the
// process on the greater node is killed and the other keeps the name everywhere.
func TestGlobalNameConflictWhenNodesJoin(t *testing.T) {
	t.Parallel()
	name := etf.Atom("contested")
	setup := func(t *testing.T, erlPrefix string) (gen.Node, *global.Global, *erlpeer.Peer, gen.PID, etf.PID) {
		c := newCluster(t)
		gn := c.goNode("go", node.Options{Visible: true})
		g := startGlobal(t, gn)
		p := c.erlNode(erlPrefix, erlpeer.Options{})
		goPid, _ := spawnPinger(t, gn, name)
		ok, err := g.RegisterName(ctxFor(t, globalBound), name, goPid)
		require.NoError(t, err)
		require.True(t, ok)
		r := p.MustCall("gobeam_global", "start_named", name).(etf.Tuple)
		require.Equal(t, etf.Atom("yes"), r[0])
		require.Equal(t, true, p.MustCall("net_kernel", "connect_node", gn.Name()))
		requireSync(t, p)
		require.NoError(t, g.Sync(ctxFor(t, globalBound)))
		return gn, g, p, goPid, r[1].(etf.PID)
	}
	alive := func(p *erlpeer.Peer, pid etf.PID) etf.Term {
		v, err := p.EvalWith(`erlang:is_process_alive(Pid).`, map[string]etf.Term{"Pid": pid})
		require.NoError(t, err)
		return v
	}

	t.Run("GoNodeResolves", func(t *testing.T) {
		// "go_…" < "z_…": the Go node resolves, and the BEAM process is the one killed.
		gn, g, p, goPid, beamPid := setup(t, "z")
		require.Less(t, string(gn.Name()), string(p.Node()))
		require.Equal(t, goPid, p.MustCall("gobeam_global", "lookup", name))
		got, ok := g.WhereisName(name)
		require.True(t, ok)
		require.Equal(t, goPid, got)
		waitFor(t, globalBound, "the BEAM process to be killed", func() bool { return alive(p, beamPid) == false })
	})

	t.Run("BEAMNodeResolves", func(t *testing.T) {
		// "a_…" < "go_…": the BEAM node resolves, and the Go process is the one killed.
		gn, g, p, goPid, beamPid := setup(t, "a")
		require.Less(t, string(p.Node()), string(gn.Name()))
		require.Equal(t, beamPid, p.MustCall("gobeam_global", "lookup", name))
		got, ok := g.WhereisName(name)
		require.True(t, ok)
		require.Equal(t, beamPid, got)
		waitFor(t, globalBound, "the Go process to be killed", func() bool {
			_, err := gn.ProcessInfo(goPid)
			return err != nil
		})
		require.Equal(t, true, alive(p, beamPid))
	})
}

// A BEAM node that dies takes its names with it, is forgotten by global on the Go node, and
// syncs again when it comes back under the same name.
func TestGlobalBEAMNodeRestarts(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	gn := c.goNode("go", node.Options{Visible: true})
	g := startGlobal(t, gn)
	opts := erlpeer.Options{}
	p := c.erlNode("a", opts)
	require.Equal(t, true, p.MustCall("net_kernel", "connect_node", gn.Name()))
	requireSync(t, p)
	r := p.MustCall("gobeam_global", "start_named", etf.Atom("restarting")).(etf.Tuple)
	require.Equal(t, etf.Atom("yes"), r[0])
	got, ok := g.WhereisName(etf.Atom("restarting"))
	require.True(t, ok)
	require.Equal(t, r[1], got)

	require.NoError(t, p.Kill())
	waitFor(t, globalBound, "global to forget the dead node and its name", func() bool {
		_, ok := g.WhereisName(etf.Atom("restarting"))
		return !ok && len(g.Known()) == 0
	})

	opts.Name = string(p.Node())
	opts.Cookie = c.cookie
	opts.EPMDPort = int(c.epmdPort)
	opts.NoStartEPMD = true
	p2 := erlpeer.Start(t, opts)
	p2.MustLoadFS(erlSources, "erl/*.erl")
	require.Equal(t, true, p2.MustCall("net_kernel", "connect_node", gn.Name()))
	requireSync(t, p2)
	require.NoError(t, g.Sync(ctxFor(t, globalBound)))
	require.Equal(t, []gen.Atom{p2.Node()}, g.Known())
	pid, _ := spawnPinger(t, gn, etf.Atom("after_restart"))
	ok, err := g.RegisterName(ctxFor(t, globalBound), etf.Atom("after_restart"), pid)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, pid, p2.MustCall("gobeam_global", "lookup", etf.Atom("after_restart")))
}
