package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/apps/nodestats"
	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
)

// BEAM code reads the Go node's Manifold counters and link state with a gen_server call.
func TestNodeStatsFromErl(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	m, err := manifold.Start(gn, manifold.Config{Partitioners: 1})
	require.NoError(t, err)
	_, err = nodestats.Start(gn, m)
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 3)
	pids, right, _ := spawnCounters(t, gn, 10, etf.Atom("hi"))
	_, err = ex.EvalWith(`'Elixir.GobeamManifold':send(Pids, hi)`, map[string]etf.Term{"Pids": pids})
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
