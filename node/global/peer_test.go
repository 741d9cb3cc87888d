package global_test

import (
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/global"
	"github.com/gobeam/gobeam/node/nodetest"
)

// serverCall makes the call req to global_name_server on node to from pid, a
// nodetest.Runner playing a BEAM node's process, as OTP 25's multi_call does
// ({'$gen_call', {Self, {Ref, Node}}, Req}), and returns the reply.
func serverCall(t *testing.T, n gen.Node, pid gen.PID, out chan any, to gen.Atom, req etf.Term) etf.Term {
	t.Helper()
	tag := etf.Tuple{n.MakeRef(), to}
	var err error
	nodetest.Run(t, n, pid, func(p gen.Process) {
		err = p.Send(gen.ProcessID{Name: global.ServerName, Node: to}, etf.Tuple{etf.Atom("$gen_call"), etf.Tuple{p.PID(), tag}, req})
	})
	require.NoError(t, err)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-out:
			if r, ok := m.(etf.Tuple); ok && len(r) == 2 && etf.Equal(r[0], tag) {
				return r[1]
			}
		case <-deadline:
			t.Fatalf("no reply to %v", req)
		}
	}
}

// Names registered for pids of a node that cannot be reached all go once the dial to it has
// failed, as they go on BEAM with the DOWN noconnection of their monitors.
func TestNamesOfPidsOnAnUnreachableNodeAllGo(t *testing.T) {
	c := &goCluster{t: t, port: nodetest.Port(t)}
	n1, g1 := c.start("a")
	n2, g2 := c.start("b")
	require.NoError(t, g2.Stop()) // b plays a BEAM node, by hand
	connect(t, n2, n1)
	p, out := nodetest.StartRunner(t, n2)
	method := etf.ExportFun{Module: "global", Function: "random_exit_name", Arity: 3}
	lock := etf.Tuple{etf.Atom("global"), p}
	require.Equal(t, true, serverCall(t, n2, p, out, n1.Name(), etf.Tuple{etf.Atom("set_lock"), lock}))
	for i, name := range []etf.Atom{"g1", "g2", "g3", "g4"} {
		ghost := gen.PID{Node: "ghost@127.0.0.1", ID: uint64(100 + i), Creation: 1}
		require.Equal(t, etf.Atom("yes"), serverCall(t, n2, p, out, n1.Name(), etf.Tuple{etf.Atom("register"), name, ghost, method}))
	}
	require.Equal(t, true, serverCall(t, n2, p, out, n1.Name(), etf.Tuple{etf.Atom("del_lock"), lock}))
	eventually(t, "the names of the unreachable node's pids to go", func() bool { return len(g1.RegisteredNames()) == 0 })
}
