package integration

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/apps/echo"
	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/kernel"
)

// Elixir starts Echo receivers on the Go node with Node.spawn and fans out to them with
// Manifold, as Manifold's own "many pids" test does with a remote node: every receiver answers
// {self(), {hello, Sender}}, once.
func TestEchoReceiversSpawnedFromElixir(t *testing.T) {
	var reg kernel.Registry
	require.NoError(t, echo.Register(&reg))
	c := newCluster(t)
	gn := c.goNode("go", node.Options{Registry: &reg})
	_, err := manifold.Start(gn, manifold.Config{Partitioners: 1})
	require.NoError(t, err)
	ex := c.elixirNode("ex", 1, 3)

	const n = 1001
	got := ex.MustEval(`G = '` + string(gn.Name()) + `',
	    Pids = [erlang:spawn(G, 'Elixir.Echo', reply, []) || _ <- lists:seq(1, 1001)],
	    Msg = {hello, self()},
	    ok = 'Elixir.GobeamManifold':send(Pids, Msg),
	    Got = [receive {P, Msg} -> P after 5000 -> {timeout, P} end || P <- Pids],
	    {length([P || P <- Got, is_pid(P)]), lists:all(fun(P) -> node(P) =:= G end, Pids)}.`)
	require.Equal(t, etf.Tuple{int64(n), true}, got)

	// reply_loop answers every message; noop_loop none; reply exits after one.
	got = ex.MustEval(`G = '` + string(gn.Name()) + `',
	    L = erlang:spawn(G, 'Elixir.Echo', reply_loop, []),
	    N = erlang:spawn(G, 'Elixir.Echo', noop_loop, []),
	    R = erlang:spawn(G, 'Elixir.Echo', reply, []),
	    Ref = erlang:monitor(process, R),
	    [X ! {hello, self(), 1} || X <- [L, N, R]], [X ! {hello, self(), 2} || X <- [L, N]],
	    Replies = lists:sort([receive {_, M} -> M after 2000 -> timeout end || _ <- [1, 2, 3]]),
	    Down = receive {'DOWN', Ref, process, R, Why} -> Why after 2000 -> no_down end,
	    Extra = receive Other -> Other after 300 -> none end,
	    {Replies, Down, Extra}.`)
	self := got.(etf.Tuple)[0].(etf.List)[0].(etf.Tuple)[1]
	require.Equal(t, etf.Tuple{
		etf.List{etf.Tuple{etf.Atom("hello"), self, int64(1)}, etf.Tuple{etf.Atom("hello"), self, int64(1)}, etf.Tuple{etf.Atom("hello"), self, int64(2)}},
		etf.Atom("normal"), etf.Atom("none"),
	}, got)
}
