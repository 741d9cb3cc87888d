package manifold

import (
	"context"
	"fmt"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/node"
)

// Drain waits until the partitioners, workers and senders have handled every cast and request
// already in their mailboxes, casts waiting for a connection to their node have gone out (or
// the dial failed), and the node's connections have written what that produced (relays to
// other nodes' partitioners, casts of offloaded sends), or until ctx is done. It is the first
// half of a clean stop: casts that arrived before Drain are delivered, not dropped with the
// mailboxes.
//
//	m.Drain(ctx) // with a deadline: a peer that keeps casting keeps the mailboxes busy
//	m.Stop()
//	n.Stop()
//
// Manifold keeps serving while it drains: a cast that arrives meanwhile is handled too.
func (m *Manifold) Drain(ctx context.Context) error {
	wait := 200 * time.Microsecond
	for {
		// Twice idle in a row: a worker that just took its batch from the mailbox shows
		// as running, and a partitioner that just handed a batch on made its worker's mailbox
		// non-empty; one quiet look after another sees both settled.
		if m.idle() && m.connects.idle() && m.idle() {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("manifold: draining: %d messages still queued: %w", m.queued(), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
	return node.Flush(ctx, m.node)
}

// track and untrack keep the set of Manifold's processes that Drain watches.
func (m *Manifold) track(pid gen.PID)   { m.procs.Store(pid, struct{}{}) }
func (m *Manifold) untrack(pid gen.PID) { m.procs.Delete(pid) }

// idle reports whether none of Manifold's processes has a message queued or is handling one.
func (m *Manifold) idle() bool {
	idle := true
	m.procs.Range(func(k, _ any) bool {
		info, err := m.node.ProcessInfo(k.(gen.PID))
		if err != nil {
			return true // ended: nothing of it to wait for
		}
		if info.MailboxQueues.Main > 0 || info.MailboxQueues.Urgent > 0 || info.State == gen.ProcessStateRunning {
			idle = false
			return false
		}
		return true
	})
	return idle
}

// queued counts the messages in the mailboxes of Manifold's processes.
func (m *Manifold) queued() int64 {
	var n int64
	m.procs.Range(func(k, _ any) bool {
		if info, err := m.node.ProcessInfo(k.(gen.PID)); err == nil {
			n += info.MailboxQueues.Main + info.MailboxQueues.Urgent
		}
		return true
	})
	return n
}
