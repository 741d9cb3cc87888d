package dist

import (
	"errors"
	"sync"
	"time"

	"ergo.services/ergo/gen"
)

// A BEAM process's mailbox has no bound, so a peer that sent a message to a live process takes
// it as delivered. An Ergo process may have one (gen.ProcessOptions.MailboxSize), and when it is
// full Ergo refuses the message. Such a message is lost for good: the connection counts it and
// says so in the log, where a message to a process that does not exist is dropped silently, as
// BEAM drops it.

// undeliveredLog keeps the log to about a line a second however fast messages are lost: the
// reader writes a line at a loss when the last one is older than reportInterval, else counts
// it for the next line, which a loss, a tick check or the connection's end writes.
type undeliveredLog struct {
	mu         sync.Mutex
	last       time.Time // of the last line written
	unreported uint64    // lost since then
}

// reportInterval is the least time between two log lines about lost messages.
const reportInterval = time.Second

// add counts n losses at now. When a line is due, because the last one is at least
// reportInterval old or final is set, it returns how many losses the line is to tell of and
// since when, and the caller writes it; else 0.
func (u *undeliveredLog) add(now time.Time, n uint64, final bool) (told uint64, since time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.unreported += n
	if u.unreported == 0 || !final && now.Sub(u.last) < reportInterval {
		return 0, time.Time{}
	}
	told, since = u.unreported, u.last
	u.last, u.unreported = now, 0
	return told, since
}

// undeliverable accounts for a message from the peer that Ergo did not take, err saying why;
// target names the local process it was for.
func (c *Connection) undeliverable(what string, from gen.PID, target any, err error) {
	if !errors.Is(err, gen.ErrProcessMailboxFull) {
		c.log.Trace("%s from %s to %v not delivered: %s", what, from, target, err)
		return
	}
	c.messageLost(what, from, target, "the mailbox is full")
}

// messageLost counts a message from the peer that is lost for good, why saying why, and logs
// it, or counts it for the next line when the last one is less than reportInterval old.
func (c *Connection) messageLost(what string, from gen.PID, target any, why string) {
	c.undelivered.Add(1)
	told, since := c.undeliveredLog.add(time.Now(), 1, false)
	switch {
	case told == 0:
	case told > 1:
		c.log.Warning("%s from %s to %v lost: %s (and %d more messages from %s lost since %s)",
			what, from, target, why, told-1, c.peer.Name, since.Format(time.TimeOnly))
	default:
		c.log.Warning("%s from %s to %v lost: %s", what, from, target, why)
	}
}

// signalUndeliverable accounts for an exit signal or a DOWN that Ergo did not take (err nil: it
// did). Those are rare, and worse to lose than a message: a process linked to a peer process
// lives on after it died. So each one is logged, as an error.
func (c *Connection) signalUndeliverable(what string, from, to gen.PID, err error) {
	switch {
	case err == nil:
	case errors.Is(err, gen.ErrProcessMailboxFull):
		c.undelivered.Add(1)
		c.log.Error("%s from %s to %s lost: the mailbox is full", what, from, to)
	default:
		c.log.Trace("%s from %s to %s not delivered: %s", what, from, to, err)
	}
}

// reportUndelivered logs the losses no line has told of: those of the last second at a tick
// check, all of them when the connection ends (final).
func (c *Connection) reportUndelivered(final bool) {
	if n, since := c.undeliveredLog.add(time.Now(), 0, final); n > 0 {
		c.log.Warning("%d more messages from %s lost since %s",
			n, c.peer.Name, since.Format(time.TimeOnly))
	}
}

// MessagesUndelivered is how many messages (exit signals and DOWNs included) from the peer
// were lost because the local process they were for had a full mailbox, or because they nest
// deeper than the node decodes (etf.DefaultMaxDepth levels). Every gen.RemoteNode
// of this package has it:
//
//	if r, ok := remote.(interface{ MessagesUndelivered() uint64 }); ok { ... }
func (r *remoteNode) MessagesUndelivered() uint64 { return r.c.undelivered.Load() }
