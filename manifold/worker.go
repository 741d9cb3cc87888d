package manifold

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// worker is Manifold.Worker: it sends one message to each of its pids, unpacking a
// {manifold_binary, Bin} message once for all of them.
type worker struct {
	act.Actor
	m *Manifold
}

// batch is a partitioner's request to a worker.
type batch struct {
	pids []gen.PID
	msg  any
	opts etf.List
}

func (w *worker) Init(args ...any) error {
	w.m = args[0].(*Manifold)
	w.m.track(w.PID())
	return nil
}

func (w *worker) HandleMessage(from gen.PID, message any) error {
	b, ok := message.(batch)
	if !ok {
		w.Log().Debug("ignored message from %s: %v", from, message)
		return nil
	}
	msg, err := unpack(b.msg)
	if err != nil {
		w.m.dropped.Add(1)
		w.Log().Error("cannot unpack a manifold_binary message for %d pids: %s", len(b.pids), err)
		return nil
	}
	// Every receiver gets the same decoded value; receivers must treat messages as read-only,
	// as BEAM processes cannot but do.
	delivered := 0
	for _, pid := range b.pids {
		// A receiver that is gone is no error: Manifold's send to a dead pid is dropped too.
		// (SendPID, not Send: a gen.PID passed as any would be copied to the heap each time.)
		if err := w.SendPID(pid, msg); err == nil {
			delivered++
		}
	}
	w.m.deliveries.Add(uint64(delivered))
	return nil
}

func (w *worker) Terminate(reason error) { w.m.untrack(w.PID()) }
