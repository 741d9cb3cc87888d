package manifold_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

var seq atomic.Int64

// cluster starts n Go nodes on one embedded EPMD, each running Manifold.
func cluster(t *testing.T, n int, cfg manifold.Config) ([]gen.Node, []*manifold.Manifold) {
	port := nodetest.Port(t)
	var nodes []gen.Node
	var ms []*manifold.Manifold
	for i := 0; i < n; i++ {
		name := "m" + string(rune('a'+i)) + "_" + itoa(seq.Add(1)) + "@127.0.0.1"
		nd, err := node.Start(name, node.Options{Cookie: "c", EPMDPort: port})
		require.NoError(t, err)
		t.Cleanup(nd.Stop)
		m, err := manifold.Start(nd, cfg)
		require.NoError(t, err)
		nodes, ms = append(nodes, nd), append(ms, m)
	}
	return nodes, ms
}

func itoa(i int64) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

// receiver forwards {Self, Msg} to a channel for every message.
type receiver struct {
	act.Actor
	out chan etf.Tuple
}

func (r *receiver) HandleMessage(from gen.PID, msg any) error {
	r.out <- etf.Tuple{r.PID(), msg}
	return nil
}

func receivers(t *testing.T, n gen.Node, count int, out chan etf.Tuple) []gen.PID {
	pids := make([]gen.PID, count)
	for i := range pids {
		pid, err := n.Spawn(func() gen.ProcessBehavior { return &receiver{out: out} }, gen.ProcessOptions{})
		require.NoError(t, err)
		pids[i] = pid
	}
	return pids
}

// caller runs f inside a process, as Send needs a sending process.
type caller struct {
	act.Actor
}

type callerJob func(gen.Process) error

func (c *caller) HandleMessage(from gen.PID, msg any) error {
	if job, ok := msg.(callerJob); ok {
		return job(c)
	}
	return nil
}

func asProcess(t *testing.T, n gen.Node, job callerJob) gen.PID {
	pid, err := n.Spawn(func() gen.ProcessBehavior { return &caller{} }, gen.ProcessOptions{})
	require.NoError(t, err)
	require.NoError(t, n.Send(pid, job))
	return pid
}

func collect(t *testing.T, out chan etf.Tuple, n int) map[gen.PID][]any {
	got := map[gen.PID][]any{}
	for i := 0; i < n; i++ {
		select {
		case m := <-out:
			pid := m[0].(gen.PID)
			got[pid] = append(got[pid], m[1])
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d deliveries arrived", i, n)
		}
	}
	return got
}

func TestManyPidsAcrossNodes(t *testing.T) {
	for _, opts := range [][]manifold.Option{nil, {manifold.PackBinary()}, {manifold.Offload()}, {manifold.Offload(), manifold.PackBinary()}} {
		nodes, ms := cluster(t, 2, manifold.Config{})
		out := make(chan etf.Tuple, 30000)
		pids := append(receivers(t, nodes[0], 5000, out), receivers(t, nodes[1], 5001, out)...)
		msg := etf.Map{{Key: []byte("content"), Value: []byte("hello")}}
		asProcess(t, nodes[0], func(p gen.Process) error { return ms[0].Send(p, pids, msg, opts...) })
		got := collect(t, out, len(pids))
		require.Len(t, got, len(pids))
		for _, pid := range pids {
			require.Equal(t, []any{msg}, got[pid])
		}
	}
}

// TestSendKeepsNoneOfTheCallersPids: Send reads a []gen.PID without copying it where it can,
// so a caller that reuses its slice as soon as Send returns must still reach exactly the pids
// it passed, on the local node, through an offloaded send and through a Cast of its own.
func TestSendKeepsNoneOfTheCallersPids(t *testing.T) {
	var castPids atomic.Int64
	ownCast := func(from gen.Process, to gen.ProcessID, request etf.Tuple) error {
		go func() { // reads the request later, as an asynchronous transport would
			time.Sleep(50 * time.Millisecond)
			if l, ok := request[1].([]gen.PID); ok {
				for _, pid := range l {
					if pid != (gen.PID{}) {
						castPids.Add(1)
					}
				}
			}
			from.Node().Send(to, etf.Tuple{etf.Atom("$gen_cast"), request})
		}()
		return nil
	}
	for _, tc := range []struct {
		name   string
		remote bool
		cfg    manifold.Config
		opts   []manifold.Option
	}{
		{"local", false, manifold.Config{}, nil},
		{"offloaded", false, manifold.Config{}, []manifold.Option{manifold.Offload()}},
		{"remote", true, manifold.Config{}, nil},
		{"remote through a Cast of its own", true, manifold.Config{Cast: ownCast}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, ms := cluster(t, 2, tc.cfg)
			out := make(chan etf.Tuple, 3000)
			at := nodes[0]
			if tc.remote {
				at = nodes[1]
			}
			pids := receivers(t, at, 1000, out)
			others := receivers(t, at, 1000, out)
			sent := make(chan struct{})
			asProcess(t, nodes[0], func(p gen.Process) error {
				defer close(sent)
				list := slices.Clone(pids)
				if err := ms[0].Send(p, list, []byte("hello"), tc.opts...); err != nil {
					return err
				}
				copy(list, others) // the caller reuses its slice at once
				return nil
			})
			<-sent
			got := collect(t, out, len(pids))
			for _, pid := range pids {
				require.Equal(t, []any{[]byte("hello")}, got[pid])
			}
			select {
			case m := <-out:
				t.Fatalf("%v got %v too", m[0], m[1])
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
	require.Equal(t, int64(1000), castPids.Load(), "the Cast saw the pids sent, not the reused slice")
}

func TestNilsSingleAndListOfOne(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{})
	out := make(chan etf.Tuple, 16)
	pid := receivers(t, nodes[0], 1, out)[0]
	errs := make(chan error, 8)
	asProcess(t, nodes[0], func(p gen.Process) error {
		errs <- ms[0].Send(p, nil, "hi")
		errs <- ms[0].Send(p, []any{nil}, "hi")
		errs <- ms[0].Send(p, etf.Atom("nil"), "hi")
		errs <- ms[0].Send(p, []any{nil, pid, etf.Atom("nil")}, "one")
		errs <- ms[0].Send(p, pid, "two")
		errs <- ms[0].Send(p, []gen.PID{pid}, "three")
		// The zero gen.PID is Go's nil pid, skipped in every form.
		errs <- ms[0].Send(p, gen.PID{}, "hi")
		errs <- ms[0].Send(p, []gen.PID{{}}, "hi")
		errs <- ms[0].Send(p, []any{gen.PID{}, pid}, "four")
		errs <- ms[0].Send(p, etf.List{pid, gen.PID{}}, "five")
		errs <- ms[0].Send(p, "nope", "x")
		return nil
	})
	for i := 0; i < 10; i++ {
		require.NoError(t, <-errs)
	}
	require.Error(t, <-errs)
	got := collect(t, out, 5)
	require.Equal(t, []any{"one", "two", "three", "four", "five"}, got[pid])
	require.Zero(t, ms[0].Stats().Dropped)
}

// Manifold's linearization test: one sender, 1,001 messages, even ones to one pid, odd ones to
// three, through offload; the first pid sees them all, in order.
func TestLinearization(t *testing.T) {
	for _, opts := range [][]manifold.Option{nil, {manifold.Offload()}} {
		nodes, ms := cluster(t, 2, manifold.Config{})
		out := make(chan etf.Tuple, 4000)
		pid0 := receivers(t, nodes[1], 1, out)[0]
		others := receivers(t, nodes[1], 2, make(chan etf.Tuple, 4000))
		asProcess(t, nodes[0], func(p gen.Process) error {
			for n := 0; n <= 1000; n++ {
				var err error
				if n%2 == 0 {
					err = ms[0].Send(p, pid0, n, opts...)
				} else {
					err = ms[0].Send(p, []gen.PID{pid0, others[0], others[1]}, n, opts...)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		got := collect(t, out, 1001)[pid0]
		for n := 0; n <= 1000; n++ {
			require.Equal(t, int64(n), got[n], "position %d", n)
		}
	}
}

func TestKeyPinning(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Partitioners: 8, Senders: 8})
	out := make(chan etf.Tuple, 16)
	pid := receivers(t, nodes[0], 1, out)[0]
	asProcess(t, nodes[0], func(p gen.Process) error {
		return ms[0].Send(p, []gen.PID{pid, pid}, "pinned", manifold.PartitionerKey("hello"), manifold.SenderKey("hello"), manifold.Offload())
	})
	require.Len(t, collect(t, out, 2)[pid], 2)
	asProcess(t, nodes[0], func(p gen.Process) error {
		err := ms[0].Send(p, pid, "x", manifold.PartitionerKey(etf.Tuple{1}))
		require.Error(t, err)
		return nil
	})
}

func TestPartitionerAnswersLikeASupervisor(t *testing.T) {
	nodes, _ := cluster(t, 1, manifold.Config{Workers: 3})
	n := nodes[0]
	children, err := n.Call(gen.ProcessID{Name: manifold.PartitionerName(5), Node: n.Name()}, etf.Atom("which_children"))
	require.NoError(t, err)
	require.Len(t, children, 4) // Workers+1
	counts, err := n.Call(gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}, etf.Atom("count_children"))
	require.NoError(t, err)
	require.Equal(t, etf.List{etf.Tuple{etf.Atom("specs"), 1}, etf.Tuple{etf.Atom("active"), 4},
		etf.Tuple{etf.Atom("supervisors"), 0}, etf.Tuple{etf.Atom("workers"), 4}}, counts)
	other, err := n.Call(gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}, etf.Atom("what"))
	require.NoError(t, err)
	require.Equal(t, etf.Atom("error"), other)
}

// 'Elixir.Manifold.Supervisor' answers which_children and count_children as an Elixir
// Supervisor does, whose callers wait without a timeout; before, it left every call unanswered.
func TestSupervisorAnswersLikeASupervisor(t *testing.T) {
	nodes, _ := cluster(t, 1, manifold.Config{})
	n := nodes[0]
	sup := gen.ProcessID{Name: manifold.SupervisorName, Node: n.Name()}
	reply, err := n.Call(sup, etf.Atom("which_children"))
	require.NoError(t, err)
	children, ok := reply.(etf.List)
	require.True(t, ok, "which_children gave %v", reply)
	const specs = manifold.MaxPartitioners + 1 + manifold.MaxSenders // and the prober
	require.Len(t, children, specs)
	byName := map[gen.Atom]etf.Tuple{}
	for _, c := range children {
		child := c.(etf.Tuple)
		byName[child[0].(gen.Atom)] = child
	}
	for name, module := range map[gen.Atom]etf.Atom{
		manifold.PartitionerName(0): "Elixir.Manifold.Partitioner", manifold.PartitionerName(31): "Elixir.Manifold.Partitioner",
		manifold.SenderName(127): "Elixir.Manifold.Sender", manifold.ProberName: etf.Atom(manifold.ProberName),
	} {
		pid, err := n.ProcessPID(name)
		require.NoError(t, err)
		require.Equal(t, etf.Tuple{name, pid, etf.Atom("worker"), etf.List{module}}, byName[name])
	}
	counts, err := n.Call(sup, etf.Atom("count_children"))
	require.NoError(t, err)
	require.Equal(t, etf.List{etf.Tuple{etf.Atom("specs"), specs}, etf.Tuple{etf.Atom("active"), specs},
		etf.Tuple{etf.Atom("supervisors"), 0}, etf.Tuple{etf.Atom("workers"), specs}}, counts)
	other, err := n.Call(sup, etf.Atom("what"))
	require.NoError(t, err)
	require.Equal(t, etf.Atom("error"), other)
}

// Settings Manifold has no meaning for are refused, not read as something else.
func TestStartRefusesSettingsOutOfRange(t *testing.T) {
	nodes, _ := cluster(t, 1, manifold.Config{})
	for _, c := range []struct {
		cfg  manifold.Config
		want string
	}{
		{manifold.Config{Partitioners: 33}, "manifold: Partitioners is 1..32 (0: the default), not 33"},
		{manifold.Config{Partitioners: -1}, "manifold: Partitioners is 1..32 (0: the default), not -1"},
		{manifold.Config{NodePartitioners: map[gen.Atom]int{"a@h": 0}}, "manifold: NodePartitioners['a@h'] is 1..32, not 0"},
		{manifold.Config{NodePartitioners: map[gen.Atom]int{"a@h": 40}}, "manifold: NodePartitioners['a@h'] is 1..32, not 40"},
		{manifold.Config{Workers: manifold.MaxWorkers + 1}, "manifold: Workers is 1..1024 (0: the default), not 1025"},
		{manifold.Config{Senders: 129}, "manifold: Senders is 1..128 (0: the default), not 129"},
		{manifold.Config{Shape: 5}, "manifold: Shape is Shape3 or Shape4 (0: Shape3), not 5"},
		{manifold.Config{NodeShapes: map[gen.Atom]manifold.Shape{"a@h": 0}}, "manifold: NodeShapes['a@h'] is Shape3 or Shape4, not 0"},
	} {
		_, err := manifold.Start(nodes[0], c.cfg)
		require.EqualError(t, err, c.want)
	}
}

func TestCrashedWorkerIsReplaced(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Workers: 1, Partitioners: 1})
	n := nodes[0]
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	before, err := n.Call(part, etf.Atom("which_children"))
	require.NoError(t, err)
	victim := before.(etf.List)[0].(etf.Tuple)[1].(gen.PID)
	require.NoError(t, n.Kill(victim))
	require.Eventually(t, func() bool {
		after, err := n.Call(part, etf.Atom("which_children"))
		return err == nil && after.(etf.List)[0].(etf.Tuple)[1].(gen.PID) != victim
	}, 5*time.Second, 20*time.Millisecond)
	// And it keeps serving.
	out := make(chan etf.Tuple, 100)
	pids := receivers(t, n, 50, out)
	asProcess(t, n, func(p gen.Process) error { return ms[0].Send(p, pids, "after") })
	require.Len(t, collect(t, out, 50), 50)
}

// countingReceiver counts the messages it gets.
type countingReceiver struct {
	act.Actor
	count *atomic.Uint64
}

func (r *countingReceiver) HandleMessage(from gen.PID, msg any) error {
	r.count.Add(1)
	return nil
}

// countingReceivers starts count receivers on n that count what they get in got.
func countingReceivers(t *testing.T, n gen.Node, count int, got *atomic.Uint64) []gen.PID {
	pids := make([]gen.PID, count)
	for i := range pids {
		pid, err := n.Spawn(func() gen.ProcessBehavior { return &countingReceiver{count: got} }, gen.ProcessOptions{})
		require.NoError(t, err)
		pids[i] = pid
	}
	return pids
}

// drain drains m, for at most 20 s.
func drain(t *testing.T, m *manifold.Manifold) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, m.Drain(ctx))
}

// A worker killed while it holds batches takes them with it, as Manifold's does, but what it
// took is counted as undelivered: every delivery asked for is either made or counted.
func TestKilledWorkersDeliveriesAreCounted(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Workers: 1, Partitioners: 1})
	n := nodes[0]
	var got atomic.Uint64
	pids := countingReceivers(t, n, 2000, &got)
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	worker := func() gen.PID {
		children, err := n.Call(part, etf.Atom("which_children"))
		require.NoError(t, err)
		return children.(etf.List)[0].(etf.Tuple)[1].(gen.PID)
	}
	// The casts are handed on far faster than the workers deliver them, so when the last is
	// sent the worker has most of them still to do, nearly always; a try in which it had done
	// them all is made again.
	const rounds = 200
	var st manifold.Stats
	for try := 1; st.Undelivered == 0; try++ {
		require.LessOrEqual(t, try, 5, "the worker had done all its work each time it was killed")
		victim := worker()
		sent := make(chan error, 1)
		asProcess(t, n, func(p gen.Process) error {
			for i := 0; i < rounds; i++ {
				if err := ms[0].Send(p, pids, i); err != nil {
					sent <- err
					return nil
				}
			}
			sent <- n.Kill(victim)
			return nil
		})
		require.NoError(t, <-sent)
		require.Eventually(t, func() bool { return worker() != victim }, 5*time.Second, 10*time.Millisecond)
		drain(t, ms[0])

		st = ms[0].Stats()
		// The receivers take their messages in their own time.
		require.Eventually(t, func() bool { return got.Load() == st.Deliveries }, 10*time.Second, time.Millisecond,
			"%d received, %d delivered", got.Load(), st.Deliveries)
		require.Equal(t, uint64(try*rounds*len(pids)), st.Deliveries+st.Undelivered, "%+v", st)
	}
}

// seqReceiver records the numbers it gets, in the order they come.
type seqReceiver struct {
	act.Actor
	got   []int
	total *atomic.Uint64
}

func (r *seqReceiver) HandleMessage(from gen.PID, msg any) error {
	r.got = append(r.got, msg.(int))
	r.total.Add(1)
	return nil
}

// A partitioner killed while its workers hold batches is restarted by the supervisor. Its
// old workers deliver nothing after the new partitioner's first deliveries, so every receiver
// still gets its messages in send order, and what the old ones took with them (the batches
// in their mailboxes, the casts in the partitioner's) is counted: every delivery asked for is
// made or counted.
func TestKilledPartitionerKeepsOrderAndCountsWhatItTook(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Workers: 1, Partitioners: 1})
	n := nodes[0]
	var total atomic.Uint64
	recs := make([]*seqReceiver, 2000)
	pids := make([]gen.PID, len(recs))
	for i := range recs {
		recs[i] = &seqReceiver{total: &total}
		pid, err := n.Spawn(func() gen.ProcessBehavior { return recs[i] }, gen.ProcessOptions{})
		require.NoError(t, err)
		pids[i] = pid
	}
	name := manifold.PartitionerName(0)
	old, err := n.ProcessPID(name)
	require.NoError(t, err)
	const rounds = 200
	done := make(chan error, 1)
	asProcess(t, n, func(p gen.Process) error {
		for i := 0; i < rounds; i++ {
			if err := ms[0].Send(p, pids, i); err != nil {
				done <- err
				return nil
			}
		}
		if err := n.Kill(old); err != nil {
			done <- err
			return nil
		}
		// Casts go on while the supervisor restarts it: to the old mailbox, to no one, then to
		// the new partitioner.
		for i := rounds; i < 2*rounds; i++ {
			if err := ms[0].Send(p, pids, i); err != nil {
				done <- err
				return nil
			}
			if i%20 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		done <- nil
		return nil
	})
	require.NoError(t, <-done)
	require.Eventually(t, func() bool {
		pid, err := n.ProcessPID(name)
		return err == nil && pid != old
	}, 5*time.Second, 10*time.Millisecond)
	drain(t, ms[0])

	st := ms[0].Stats()
	require.Eventually(t, func() bool { return total.Load() == st.Deliveries }, 10*time.Second, time.Millisecond,
		"%d received, %d delivered", total.Load(), st.Deliveries)
	for i, r := range recs {
		require.True(t, slices.IsSorted(r.got) && len(slices.Compact(slices.Clone(r.got))) == len(r.got),
			"receiver %d got its messages out of order: %v", i, r.got)
	}
	casts := uint64(2*rounds) - st.Dropped // a cast to the name while no one held it is dropped
	require.Equal(t, casts*uint64(len(pids)), st.Deliveries+st.Undelivered, "%+v", st)
	require.NotZero(t, st.Undelivered, "the old workers had nothing left when killed")
	require.Equal(t, 2*rounds-1, recs[0].got[len(recs[0].got)-1], "the new partitioner delivers")
}

// An exit signal with reason shutdown, to a worker or to the partitioner, from anyone but
// the partitioner's supervisor, leaves the partitioner serving under its name: the worker is
// replaced, the signal to the partitioner ignored.
func TestShutdownSignalsDoNotTakeAPartitionerDown(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Workers: 1, Partitioners: 1})
	n := nodes[0]
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	worker := func(i int) gen.PID {
		children, err := n.Call(part, etf.Atom("which_children"))
		require.NoError(t, err)
		return children.(etf.List)[i].(etf.Tuple)[1].(gen.PID)
	}
	victim := worker(1)
	require.NoError(t, n.SendExit(victim, gen.TerminateReasonShutdown))
	require.Eventually(t, func() bool { return worker(1) != victim }, 5*time.Second, 20*time.Millisecond)
	partPID, err := n.ProcessPID(part.Name)
	require.NoError(t, err)
	require.NoError(t, n.SendExit(partPID, gen.TerminateReasonShutdown))

	out := make(chan etf.Tuple, 100)
	pids := receivers(t, n, 50, out)
	asProcess(t, n, func(p gen.Process) error { return ms[0].Send(p, pids, "after") })
	require.Len(t, collect(t, out, 50), 50)
	after, err := n.ProcessPID(part.Name)
	require.NoError(t, err)
	require.Equal(t, partPID, after, "the same partitioner, not a restarted one")
}

// A sender killed with offloaded requests in its mailbox takes them with it, as Manifold's
// does, and they are counted as dropped.
func TestKilledSendersRequestsAreCounted(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Workers: 1, Partitioners: 1, Senders: 1})
	n := nodes[0]
	var got atomic.Uint64
	pids := countingReceivers(t, n, 2000, &got)
	sender, err := n.ProcessPID(manifold.SenderName(0))
	require.NoError(t, err)
	const requests = 300
	done := make(chan error, 1)
	asProcess(t, n, func(p gen.Process) error {
		for i := 0; i < requests; i++ {
			if err := ms[0].Send(p, pids, i, manifold.Offload()); err != nil {
				done <- err
				return nil
			}
		}
		done <- n.Kill(sender)
		return nil
	})
	require.NoError(t, <-done)
	require.Eventually(t, func() bool {
		pid, err := n.ProcessPID(manifold.SenderName(0))
		return err == nil && pid != sender
	}, 5*time.Second, 10*time.Millisecond)
	drain(t, ms[0])
	st := ms[0].Stats()
	require.NotZero(t, st.Dropped, "the sender had done all its requests when killed")
	require.Equal(t, (requests-st.Dropped)*uint64(len(pids)), st.Deliveries+st.Undelivered, "%+v", st)
	require.Eventually(t, func() bool { return got.Load() == st.Deliveries }, 10*time.Second, time.Millisecond)
}

// A worker stopped with shutdown is replaced before the partitioner hands anything on, like a
// crashed one: the casts that follow lose nothing.
func TestWorkerStoppedWithShutdownIsReplacedAtOnce(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{Workers: 1, Partitioners: 1})
	n := nodes[0]
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	children, err := n.Call(part, etf.Atom("which_children"))
	require.NoError(t, err)
	for _, c := range children.(etf.List) {
		require.NoError(t, n.SendExit(c.(etf.Tuple)[1].(gen.PID), gen.TerminateReasonShutdown))
	}
	for _, c := range children.(etf.List) {
		// Once a worker is gone, its exit signal is in the partitioner's mailbox.
		require.Eventually(t, func() bool {
			_, err := n.ProcessInfo(c.(etf.Tuple)[1].(gen.PID))
			return err != nil
		}, 5*time.Second, time.Millisecond)
	}
	out := make(chan etf.Tuple, 1000)
	pids := receivers(t, n, 100, out)
	asProcess(t, n, func(p gen.Process) error {
		for i := 0; i < 10; i++ {
			if err := ms[0].Send(p, pids, i); err != nil {
				return err
			}
		}
		return nil
	})
	got := collect(t, out, 1000)
	require.Len(t, got, 100)
	require.Zero(t, ms[0].Stats().Undelivered)
}

// A partitioner cast that lists pids of another node is relayed there, so a Go node can stand
// in for a BEAM relay node.
func TestPartitionerRelaysOtherNodesPids(t *testing.T) {
	nodes, ms := cluster(t, 2, manifold.Config{})
	out := make(chan etf.Tuple, 100)
	local := receivers(t, nodes[0], 3, out)
	far := receivers(t, nodes[1], 3, out)
	list := etf.List{}
	for _, p := range append(local, far...) {
		list = append(list, p)
	}
	cast := etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), list, "relayed"}}
	require.NoError(t, nodes[0].Send(gen.ProcessID{Name: manifold.PartitionerName(3), Node: nodes[0].Name()}, cast))
	got := collect(t, out, 6)
	require.Len(t, got, 6)
	// The counters move right after the sends, so a delivery can be seen a moment before.
	require.Eventually(t, func() bool { return ms[0].Stats().Relayed == 1 && ms[1].Stats().Deliveries == 3 },
		5*time.Second, time.Millisecond, "%+v / %+v", ms[0].Stats(), ms[1].Stats())
}

func TestMalformedCastIsCountedNotFatal(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{})
	n := nodes[0]
	part := gen.ProcessID{Name: manifold.PartitionerName(0), Node: n.Name()}
	require.NoError(t, n.Send(part, etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), etf.List{int64(1)}, "x"}}))
	require.Eventually(t, func() bool { return ms[0].Stats().Dropped == 1 }, 5*time.Second, 10*time.Millisecond)
	out := make(chan etf.Tuple, 4)
	pid := receivers(t, n, 1, out)[0]
	asProcess(t, n, func(p gen.Process) error { return ms[0].Send(p, pid, "still fine") })
	require.Equal(t, []any{"still fine"}, collect(t, out, 1)[pid])

	// A packed message that does not decode is one dropped cast, however many workers its
	// pids would have gone through; the receivers get nothing.
	list := etf.List{}
	for _, r := range receivers(t, n, 40, out) {
		list = append(list, r)
	}
	bad := etf.Tuple{etf.Atom("manifold_binary"), []byte{131, 104, 9}}
	require.NoError(t, n.Send(part, etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), list, bad}}))
	// A cast after it through the same partitioner: when it arrives, the bad one was handled.
	require.NoError(t, n.Send(part, etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), etf.List{pid}, "after"}}))
	require.Equal(t, []any{"after"}, collect(t, out, 1)[pid])
	require.Equal(t, uint64(2), ms[0].Stats().Dropped)
}

// stuckReceiver tells started of each message it takes and then waits for release, so its
// mailbox fills.
type stuckReceiver struct {
	act.Actor
	started chan any
	release chan struct{}
}

func (r *stuckReceiver) HandleMessage(from gen.PID, msg any) error {
	r.started <- msg
	<-r.release
	return nil
}

// BEAM processes have no bounded mailboxes; an Ergo receiver may, and a delivery it refuses is
// counted, not lost without a trace.
func TestDeliveriesToAFullMailboxAreCounted(t *testing.T) {
	nodes, ms := cluster(t, 1, manifold.Config{})
	n := nodes[0]
	lost := &lossLines{}
	require.NoError(t, n.LoggerAdd("losses", lost, gen.LogLevelWarning))
	r := &stuckReceiver{started: make(chan any, 16), release: make(chan struct{})}
	pid, err := n.Spawn(func() gen.ProcessBehavior { return r }, gen.ProcessOptions{MailboxSize: 1})
	require.NoError(t, err)
	defer close(r.release)

	send := func(msgs ...string) {
		done := make(chan error, 1)
		asProcess(t, n, func(p gen.Process) error {
			for _, m := range msgs {
				if err := ms[0].Send(p, pid, m); err != nil {
					done <- err
					return nil
				}
			}
			done <- nil
			return nil
		})
		require.NoError(t, <-done)
	}
	send("m0")
	require.Equal(t, "m0", <-r.started) // the receiver holds m0; its mailbox has room for one
	send("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9")
	require.Eventually(t, func() bool { st := ms[0].Stats(); return st.Deliveries+st.Undelivered == 10 },
		5*time.Second, time.Millisecond, "%+v", ms[0].Stats())
	st := ms[0].Stats()
	require.EqualValues(t, 2, st.Deliveries)
	require.EqualValues(t, 8, st.Undelivered)
	require.Zero(t, st.Dropped)
	// A line at the first loss; the seven after it within the second are told a second later.
	require.Eventually(t, func() bool { return lost.count() == 8 }, 5*time.Second, 10*time.Millisecond, "%q", lost.all())
	r.release <- struct{}{}
	require.Equal(t, "m1", <-r.started)
}

// lossLines keeps the log lines about deliveries lost to full mailboxes.
type lossLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lossLines) Log(m gen.MessageLog) {
	if line := fmt.Sprintf(m.Format, m.Args...); strings.Contains(line, "lost to full mailboxes") {
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
	}
}
func (l *lossLines) Terminate() {}

func (l *lossLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// count adds up the losses the lines tell of.
func (l *lossLines) count() int {
	total := 0
	for _, line := range l.all() {
		var n, of int
		if _, err := fmt.Sscanf(line, "manifold: %d of %d deliveries", &n, &of); err == nil {
			total += n
			if _, rest, ok := strings.Cut(line, "), and "); ok { // losses an earlier batch left
				var more int
				if _, err := fmt.Sscanf(rest, "%d more", &more); err == nil {
					total += more
				}
			}
		} else if _, err := fmt.Sscanf(line, "manifold: %d more deliveries", &n); err == nil {
			total += n
		}
	}
	return total
}

// onlyPartitioner0 stands in for a BEAM node running one Manifold partitioner: registered as
// partitioner 0, it hands on the message of every cast it gets.
type onlyPartitioner0 struct {
	act.Actor
	out chan any
}

func (p *onlyPartitioner0) HandleMessage(from gen.PID, msg any) error {
	if t, ok := msg.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("$gen_cast") {
		if req, ok := t[1].(etf.Tuple); ok && len(req) >= 3 {
			p.out <- req[2]
		}
	}
	return nil
}

// With a Cast of the program's own, a cast to a node not yet connected waits for the check of
// the partitioner it names, and that check needs a connection: the casting process makes it,
// as its Cast would, so a partitioner the node lacks is found missing and the casts go to
// partitioner 0 there, in order.
func TestOwnCastToANodeNotYetConnected(t *testing.T) {
	port := nodetest.Port(t)
	start := func(prefix string) gen.Node {
		n, err := node.Start(prefix+"_"+itoa(seq.Add(1))+"@127.0.0.1", node.Options{Cookie: "c", EPMDPort: port})
		require.NoError(t, err)
		t.Cleanup(n.Stop)
		return n
	}
	cast := func(from gen.Process, to gen.ProcessID, request etf.Tuple) error {
		return from.Send(to, etf.Tuple{etf.Atom("$gen_cast"), request})
	}
	a, b := start("oca"), start("ocb")
	ma, err := manifold.Start(a, manifold.Config{Partitioners: 8, Cast: cast})
	require.NoError(t, err)
	out := make(chan any, 8)
	_, err = b.SpawnRegister(manifold.PartitionerName(0), func() gen.ProcessBehavior { return &onlyPartitioner0{out: out} }, gen.ProcessOptions{})
	require.NoError(t, err)
	pid := gen.PID{Node: b.Name(), ID: 5000, Creation: b.PID().Creation}
	asProcess(t, a, func(p gen.Process) error {
		for i := int64(0); i < 3; i++ {
			// "hello" pins partitioner 25 % 8 = 1, which b does not run.
			if err := ma.Send(p, pid, i, manifold.PartitionerKey("hello")); err != nil {
				return err
			}
		}
		return nil
	})
	for i := int64(0); i < 3; i++ {
		select {
		case got := <-out:
			require.Equal(t, i, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("cast %d did not reach partitioner 0", i)
		}
	}
}
