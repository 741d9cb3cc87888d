package dist

import (
	"strconv"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// Erlang monitors are per reference, Ergo's per pair of processes: a peer process holding
// two monitors on one local process keeps Ergo's monitor until it removes the second, and a
// DEMONITOR_P naming another process's reference removes nothing.
func TestErgosMonitorGoesWithThePeersLastReference(t *testing.T) {
	a, b, bcore := demonitorPair(t)

	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	other := gen.PID{Node: "a@host", ID: 1002, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1003, Creation: 1}
	ref1, ref2, ref3 := a.core.MakeRef(), a.core.MakeRef(), a.core.MakeRef()
	signal := func(ctrl Control) { require.NoError(t, a.conn.send(ctrl, nil)) }
	// demonitored returns the demonitors routed before a message sent after the signals.
	demonitored := func() []routed {
		require.NoError(t, a.conn.SendPID(caller, server, gen.MessageOptions{}, etf.Atom("mark")))
		require.Equal(t, etf.Atom("mark"), bcore.next(t).message)
		var got []routed
		for len(bcore.demonitors) > 0 {
			got = append(got, <-bcore.demonitors)
		}
		return got
	}

	signal(Control{Op: OpMonitorP, From: caller, To: server, Ref: ref1})
	signal(Control{Op: OpMonitorP, From: caller, To: server, Ref: ref2})
	signal(Control{Op: OpMonitorP, From: other, To: server, Ref: ref3})
	signal(Control{Op: OpDemonitorP, From: caller, To: server, Ref: ref3})
	require.Empty(t, demonitored(), "another process's reference removed a monitor")
	signal(Control{Op: OpDemonitorP, From: caller, To: server, Ref: ref1})
	require.Empty(t, demonitored(), "the first of two references removed the monitor")
	signal(Control{Op: OpDemonitorP, From: caller, To: server, Ref: ref2})
	require.Equal(t, []routed{{kind: "demonitor", from: caller, to: server}}, demonitored())
	signal(Control{Op: OpDemonitorP, From: caller, To: server, Ref: ref2})
	require.Empty(t, demonitored(), "a second DEMONITOR_P of one reference")

	b.sig.mu.Lock()
	left := b.sig.monitors[server]
	require.Equal(t, 1, left.len())
	require.Equal(t, map[gen.PID]int{other: 1}, left.holders)
	b.sig.mu.Unlock()
	signal(Control{Op: OpDemonitorP, From: other, To: server, Ref: ref3})
	require.Equal(t, []routed{{kind: "demonitor", from: other, to: server}}, demonitored())
	b.sig.mu.Lock()
	require.Nil(t, b.sig.monitors[server])
	b.sig.mu.Unlock()
}

// BenchmarkMonitorsOfOneProcess records n peer monitors on one local process and removes
// them again, as n concurrent gen_server callers do: the cost per monitor should not grow
// with n.
func BenchmarkMonitorsOfOneProcess(b *testing.B) {
	server := gen.PID{Node: "b@host", ID: 1003, Creation: 1}
	for _, n := range []int{100, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			refs := make([]gen.Ref, n)
			callers := make([]gen.PID, n)
			for i := range refs {
				refs[i] = gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{uint64(i), 1, 2}}
				callers[i] = gen.PID{Node: "a@host", ID: uint64(1001 + i), Creation: 1}
			}
			var monitors map[gen.PID]*monitorSet
			b.ResetTimer()
			for range b.N {
				for i := range refs {
					addMonitor(&monitors, server, refs[i], callers[i])
				}
				for i := range refs {
					removeMonitor(monitors, server, refs[i], callers[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/monitor")
		})
	}
}
