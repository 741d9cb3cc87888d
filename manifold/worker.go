package manifold

import (
	"errors"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// worker is Manifold.Worker: it sends one message to each of its pids.
type worker struct {
	act.Actor
	m      *Manifold
	ledger *ledger

	// Deliveries lost to full mailboxes since the last log line about them, and when that was:
	// a flood of them makes a line a second.
	unreported int
	reported   time.Time

	refused uint64 // deliveries of batches that came after the partitioner was gone
}

// reportInterval is the least time between two of a worker's log lines about lost deliveries.
const reportInterval = time.Second

// batch is a partitioner's request to a worker: deliver msg to the pids at positions at.
type batch struct {
	pids castPids // the cast's pids, shared by all its workers: read only
	at   []uint32 // this worker's positions in pids, in the cast's order
	msg  any
	opts etf.List
}

func (w *worker) Init(args ...any) error {
	w.m, w.ledger = args[0].(*Manifold), args[1].(*ledger)
	w.m.track(w.PID())
	return nil
}

func (w *worker) HandleMessage(from gen.PID, message any) error {
	b, ok := message.(batch)
	if !ok {
		if _, due := message.(reportDue); due {
			w.reportUnreported()
			return nil
		}
		w.Log().Debug("ignored message from %s: %v", from, message)
		return nil
	}
	l := w.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.retired {
		// The partitioner is gone, and this worker ends by its link in a moment; a successor
		// may be delivering already, and must not be overtaken.
		n := uint64(len(b.at))
		l.settled.Add(n)
		w.m.undelivered.Add(n)
		w.refused += n
		return nil
	}
	// Every receiver gets the same decoded value (a packed message was unpacked by the
	// partitioner); receivers must treat messages as read-only, as BEAM processes cannot but do.
	msg := b.msg
	delivered, full, settled := 0, 0, 0
	var firstFull gen.PID
deliver:
	for _, i := range b.at {
		pid, _ := b.pids.pidAt(int(i))
		// (SendPID, not Send: a gen.PID passed as any would be copied to the heap each time.)
		err := w.SendPID(pid, msg)
		switch {
		case err == nil:
			delivered++
		case errors.Is(err, gen.ErrProcessUnknown), errors.Is(err, gen.ErrProcessTerminated):
			// A receiver that is gone is no error: Manifold's send to a dead pid is dropped too.
		case errors.Is(err, gen.ErrProcessMailboxFull):
			if full == 0 {
				firstFull = pid
			}
			full++
		default:
			// This worker is being killed (its sends are refused from then on) or the node
			// stops: the rest of the batch is the partitioner's to count as lost.
			break deliver
		}
		settled++
	}
	w.m.deliveries.Add(uint64(delivered))
	w.ledger.settled.Add(uint64(settled))
	if full > 0 {
		w.m.undelivered.Add(uint64(full))
		w.reportFull(full, len(b.at), firstFull)
	}
	return nil
}

// reportFull logs deliveries lost to full mailboxes: at once, unless the last line was less
// than reportInterval ago; then they wait for the next line, which the worker has itself sent
// a reportDue for, so they are told within a second even if no more are lost.
func (w *worker) reportFull(full, of int, first gen.PID) {
	now := time.Now()
	if since := now.Sub(w.reported); since < reportInterval {
		if w.unreported == 0 {
			w.SendAfter(w.PID(), reportDue{}, reportInterval-since)
		}
		w.unreported += full
		return
	}
	// Losses still waiting for their reportDue (queued behind this batch) go in this line.
	if w.unreported > 0 {
		w.Log().Warning("manifold: %d of %d deliveries lost to full mailboxes (the first to %s), and %d more since %s",
			full, of, first, w.unreported, w.reported.Format(time.TimeOnly))
	} else {
		w.Log().Warning("manifold: %d of %d deliveries lost to full mailboxes (the first to %s)", full, of, first)
	}
	w.unreported, w.reported = 0, now
}

// reportDue asks a worker to log the losses it has not told of yet.
type reportDue struct{}

func (w *worker) reportUnreported() {
	if w.unreported > 0 {
		w.Log().Warning("manifold: %d more deliveries lost to full mailboxes since %s",
			w.unreported, w.reported.Format(time.TimeOnly))
		w.unreported, w.reported = 0, time.Now()
	}
}

func (w *worker) Terminate(reason error) {
	w.reportUnreported()
	// What the worker still held once its partitioner is gone is counted here; if the
	// partitioner is alive, it counts it when the exit signal comes.
	held := w.ledger.end()
	w.m.undelivered.Add(held)
	if lost := held + w.refused; lost > 0 {
		w.Log().Warning("manifold worker ended with its partitioner (%s); %d deliveries it held were lost", reason, lost)
	}
	w.m.untrack(w.PID())
}
