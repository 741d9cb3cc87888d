package integration

import (
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/apps/nodestats"
	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
)

// statsCluster starts a Go node running Manifold (one partitioner) and manifold_node_stats,
// and an Elixir node running Manifold beside it.
func statsCluster(t *testing.T) (c *cluster, gn gen.Node, ex *erlpeer.Peer) {
	c = newCluster(t)
	gn = c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 1})
	require.NoError(t, err)
	_, err = nodestats.Start(gn, m)
	require.NoError(t, err)
	return c, gn, c.elixirNode("ex", 1, 3)
}

// BEAM code reads the Go node's Manifold counters and link state with a gen_server call.
func TestNodeStatsFromErl(t *testing.T) {
	c, gn, ex := statsCluster(t)
	pids, right, _ := spawnCounters(t, gn, 10, etf.Atom("hi"))
	_, err := ex.EvalWith(`'Elixir.GobeamManifold':send(Pids, hi)`, map[string]etf.Term{"Pids": pids})
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "deliveries", func() bool { return right.Load() == 10 })

	// A second node connects and goes away: it stays in the list, down.
	gone := c.erlNode("gone", erlpeer.Options{})
	require.Equal(t, etf.Atom("pong"), gone.MustEval(`net_adm:ping('`+string(gn.Name())+`').`))
	stats := `gen_server:call({manifold_node_stats, '` + string(gn.Name()) + `'}, stats)`
	require.Len(t, ex.MustEval(`maps:get(peers, `+stats+`).`), 2)
	require.NoError(t, gone.Kill())
	waitFor(t, 10*time.Second, "the lost node to be noticed", func() bool {
		for _, p := range gn.Network().Nodes() {
			if p == gone.Node() {
				return false
			}
		}
		return true
	})

	got := ex.MustEval(`S = ` + stats + `,
	    [Down, Up] = lists:sort(fun(A, B) -> maps:get(state, A) =< maps:get(state, B) end, maps:get(peers, S)),
	    {maps:get(casts_in, S), maps:get(deliveries, S),
	     maps:get(node, Up), maps:get(state, Up), maps:get(messages_in, Up) > 0,
	     maps:get(node, Down), maps:get(state, Down),
	     gen_server:call({manifold_node_stats, '` + string(gn.Name()) + `'}, other)}.`)
	require.Equal(t, etf.Tuple{int64(1), int64(10), ex.Node(), etf.Atom("up"), true, gone.Node(), etf.Atom("down"),
		etf.Tuple{etf.Atom("error"), etf.Atom("unknown_request")}}, got)
}

// stuck takes one message, tells started, and waits for release, so its bounded mailbox fills.
type stuck struct {
	act.Actor
	started chan any
	release chan struct{}
}

func (s *stuck) HandleMessage(from gen.PID, msg any) error {
	s.started <- msg
	<-s.release
	return nil
}

// A BEAM sender takes a message to a live process as delivered. When a Go receiver's bounded
// mailbox refuses one, from erl directly or through Manifold, the loss shows in the counters
// BEAM code reads.
func TestFullMailboxLossesShowInNodeStats(t *testing.T) {
	_, gn, ex := statsCluster(t)

	s := &stuck{started: make(chan any, 16), release: make(chan struct{})}
	pid, err := gn.SpawnRegister("stuck", func() gen.ProcessBehavior { return s }, gen.ProcessOptions{MailboxSize: 1})
	require.NoError(t, err)
	defer close(s.release)
	vars := map[string]etf.Term{"Dest": etf.Tuple{etf.Atom("stuck"), gn.Name()}, "Pids": etf.List{pid}}

	_, err = ex.EvalWith(`Dest ! {m, 0}`, vars)
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("m"), int64(0)}, receive(t, s.started, 10*time.Second))
	// Now the receiver is busy and its mailbox has room for one message: of the next nine
	// plain messages eight are lost, and so are the five Manifold deliveries after them.
	_, err = ex.EvalWith(`[Dest ! {m, I} || I <- lists:seq(1, 9)],
	    [ok = 'Elixir.GobeamManifold':send(Pids, {cast, I}) || I <- lists:seq(1, 5)], ok`, vars)
	require.NoError(t, err)

	stats := `gen_server:call({manifold_node_stats, '` + string(gn.Name()) + `'}, stats)`
	query := `S = ` + stats + `,
	    [Peer] = [P || P <- maps:get(peers, S), maps:get(node, P) =:= node()],
	    {maps:get(messages_undelivered, Peer), maps:get(undelivered, S), maps:get(deliveries, S), maps:get(dropped, S)}.`
	want := etf.Tuple{int64(8), int64(5), int64(0), int64(0)}
	got := ex.MustEval(query)
	for deadline := time.Now().Add(10 * time.Second); !etf.Equal(got, want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		got = ex.MustEval(query)
	}
	require.Equal(t, want, got)

	// What the mailbox held is still delivered.
	s.release <- struct{}{}
	require.Equal(t, etf.Tuple{etf.Atom("m"), int64(1)}, receive(t, s.started, 10*time.Second))
}
