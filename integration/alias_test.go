package integration

import (
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
)

// A Go call to an alias an Erlang process made with alias() gets its reply, and leaves the
// connection as it found it: the call set up no monitor, so its reply removes none (a
// DEMONITOR_P naming no process is an invalid distribution message, and BEAM closes the
// connection over it).
func TestGoCallsAnErlangAlias(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	// The server answers {N, Request} to its Nth call, the way a gen_server does (gen:reply).
	v := p.MustEval(`Self = self(),
	  spawn(fun() ->
	      Self ! {alias, alias()},
	      (fun Serve(N) ->
	          receive {'$gen_call', From, Req} -> gen:reply(From, {N, Req}), Serve(N + 1) end
	      end)(1)
	  end),
	  receive {alias, A} -> A end.`)
	ref, ok := v.(etf.Ref)
	require.True(t, ok, "alias() gave %#v", v)
	alias := gen.Alias(ref)

	reply, err := gn.Call(alias, etf.Atom("first"))
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{int64(1), etf.Atom("first")}, reply)
	controller := distController(t, p, gn.Name())

	// The second call's request leaves after anything the first reply made the Go node send:
	// had that closed the connection, the request would have been lost with it.
	reply, err = gn.Call(alias, etf.Atom("second"))
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{int64(2), etf.Atom("second")}, reply)
	require.Equal(t, controller, distController(t, p, gn.Name()), "erl replaced its connection to the Go node")
	require.True(t, connected(gn, p.Node()))
}

// distController is the port or process erl node p serves its connection to node with.
func distController(t *testing.T, p *erlpeer.Peer, node gen.Atom) etf.Term {
	t.Helper()
	v, err := p.EvalWith(`proplists:get_value(Node, erlang:system_info(dist_ctrl))`, map[string]etf.Term{"Node": etf.Atom(node)})
	require.NoError(t, err)
	require.NotEqual(t, etf.Atom("undefined"), v, "erl has no connection to %s", node)
	return v
}
