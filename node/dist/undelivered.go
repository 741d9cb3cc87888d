package dist

import (
	"errors"
	"time"

	"ergo.services/ergo/gen"
)

// A BEAM process's mailbox has no bound, so a peer that sent a message to a live process takes
// it as delivered. An Ergo process may have one (gen.ProcessOptions.MailboxSize), and when it is
// full Ergo refuses the message. Such a message is lost for good: the connection counts it and
// says so in the log, where a message to a process that does not exist is dropped silently, as
// BEAM drops it.

// undeliveredLog keeps the log to about a line a second however fast messages are lost. Only
// the connection's reader goroutine touches it.
type undeliveredLog struct {
	last       time.Time // of the last line written
	unreported uint64    // lost since then
}

// reportInterval is the least time between two log lines about lost messages.
const reportInterval = time.Second

// undeliverable accounts for a message from the peer that Ergo did not take, err saying why;
// target names the local process it was for.
func (c *Connection) undeliverable(what string, from gen.PID, target any, err error) {
	if !errors.Is(err, gen.ErrProcessMailboxFull) {
		c.log.Trace("%s from %s to %v not delivered: %s", what, from, target, err)
		return
	}
	c.undelivered.Add(1)
	u := &c.undeliveredLog
	now := time.Now()
	if now.Sub(u.last) < reportInterval {
		u.unreported++
		return
	}
	if u.unreported > 0 {
		c.log.Warning("%s from %s to %v lost: the mailbox is full (and %d more messages from %s to full mailboxes since %s)",
			what, from, target, u.unreported, c.peer.Name, u.last.Format(time.TimeOnly))
	} else {
		c.log.Warning("%s from %s to %v lost: the mailbox is full", what, from, target)
	}
	u.last, u.unreported = now, 0
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

// reportUndelivered logs the losses the last line did not cover, when the connection ends.
func (c *Connection) reportUndelivered() {
	u := &c.undeliveredLog
	if u.unreported > 0 {
		c.log.Warning("%d more messages from %s lost to full mailboxes since %s",
			u.unreported, c.peer.Name, u.last.Format(time.TimeOnly))
		u.unreported = 0
	}
}

// MessagesUndelivered is how many messages (exit signals and DOWNs included) from the peer were
// lost because the local process they were for had a full mailbox. Every gen.RemoteNode of this package has it:
//
//	if r, ok := remote.(interface{ MessagesUndelivered() uint64 }); ok { ... }
func (r *remoteNode) MessagesUndelivered() uint64 { return r.c.undelivered.Load() }
