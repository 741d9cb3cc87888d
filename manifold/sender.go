package manifold

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
)

// sender is Manifold.Sender (send_mode offload): it does the packing and the per-node casts
// for a sending process, so that process does not have to.
type sender struct {
	act.Actor
	m *Manifold
}

// offload is a Go process's request to a sender.
type offload struct {
	req senderRequest
}

func (s *sender) Init(args ...any) error {
	s.m = args[0].(*Manifold)
	s.m.track(s.PID())
	return nil
}

func (s *sender) HandleMessage(from gen.PID, message any) error {
	if o, ok := message.(*offload); ok {
		s.m.fanout(s, o.req)
		return nil
	}
	req, isReq, err := parseSenderRequest(message)
	switch {
	case err != nil:
		s.m.dropped.Add(1)
		s.Log().Error("malformed Manifold sender request from %s dropped: %s", from, err)
	case isReq:
		s.m.fanout(s, req)
	default:
		s.Log().Debug("ignored message from %s: %v", from, message)
	}
	return nil
}

// Terminate counts the requests left in the sender's mailbox, which end with it, as dropped.
func (s *sender) Terminate(reason error) {
	var left uint64
	leftInMailbox(s, func(message any) {
		if _, ok := message.(*offload); ok {
			left++
		} else if _, isReq, err := parseSenderRequest(message); err == nil && isReq {
			left++
		}
	})
	if left > 0 {
		s.m.dropped.Add(left)
		s.Log().Warning("manifold sender ended (%s) with %d requests unhandled, dropped", reason, left)
	}
	s.m.untrack(s.PID())
}
