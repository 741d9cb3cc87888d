package dist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gobeam/gobeam/etf"
)

// reader turns the packets of one connection into control messages and payloads. It belongs to
// the connection's read loop and keeps that direction's atom cache and partial fragments.
type reader struct {
	c     *Connection
	cache atomCacheReader
	frags fragments
	dec   etf.Decoder
}

func (r *reader) packet(p []byte) error {
	switch p[0] {
	case passThrough:
		return r.passThrough(p[1:])
	case versionMagic:
		if len(p) < 2 {
			return errShortHeader
		}
		limit := r.c.opts.MaxMessageSize
		switch p[1] {
		case headerNormal:
			atoms, rest, err := r.cache.readRefs(p[2:])
			if err != nil {
				return err
			}
			return r.message(atoms, rest)
		case headerFragment:
			if len(p) < 18 {
				return errShortHeader
			}
			buf, err := r.frags.buffer(len(p), binary.BigEndian.Uint64(p[10:]), limit)
			if err != nil {
				return err
			}
			return r.firstFragment(append(buf, p...))
		case headerContinue:
			return errShortHeader // 18 bytes or more are read by continuation
		}
		return badHeader("unknown header tag %d", p[1])
	}
	return badHeader("packet starts with %d, neither a distribution header nor pass-through", p[0])
}

// continuationHeader is the size of a continuation fragment's header: 131, 70, the sequence id
// and the fragment id.
const continuationHeader = 18

// readFailure marks an error of the socket, as opposed to the peer's data.
type readFailure struct{ err error }

func (e readFailure) Error() string { return e.err.Error() }
func (e readFailure) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var rf readFailure
	return errors.As(err, &rf)
}

// continuation reads the body of a continuation fragment (n bytes from src) onto the end of
// its sequence's buffer, and handles the message when it was the last fragment.
func (r *reader) continuation(head []byte, src io.Reader, n int) error {
	seq, id := binary.BigEndian.Uint64(head[2:]), binary.BigEndian.Uint64(head[10:])
	var readErr error
	atoms, body, done, err := r.frags.add(seq, id, n, r.c.opts.MaxMessageSize, func(body []byte, n int) []byte {
		body, err := appendRead(src, body, n)
		if err != nil {
			readErr = readFailure{err}
		}
		return body
	})
	if readErr != nil {
		return readErr
	}
	if err != nil || !done {
		return err
	}
	err = r.message(atoms, body)
	r.frags.recycle(body)
	return err
}

// firstFragment starts a fragmented message with its first packet p, which it takes over: the
// message is assembled in place behind it.
func (r *reader) firstFragment(p []byte) error {
	seq, id := binary.BigEndian.Uint64(p[2:]), binary.BigEndian.Uint64(p[10:])
	atoms, rest, err := r.cache.readRefs(p[18:])
	if err != nil {
		return err
	}
	atoms, body, done, err := r.frags.start(seq, id, atoms, rest, r.c.opts.MaxMessageSize)
	if err != nil || !done {
		return err
	}
	err = r.message(atoms, body) // a sequence of one fragment
	r.frags.recycle(p)
	return err
}

// passThrough reads a packet without a distribution header: versioned control and payload.
func (r *reader) passThrough(b []byte) error {
	r.dec.AtomCache = nil
	r.dec.MaxSize = r.decodeLimit(len(b))
	ctrlTerm, rest, err := r.versioned(b)
	if err != nil {
		return err
	}
	ctrl, ok, err := r.parse(ctrlTerm)
	if !ok {
		return err
	}
	var payload etf.Term
	if ctrl.Op.HasPayload() {
		if payload, rest, err = r.versioned(rest); err != nil {
			if handled, err := r.tooDeep(ctrl, err); handled {
				return err
			}
			return fmt.Errorf("payload of %s: %w", ctrl.Op, err)
		}
	}
	if len(rest) != 0 {
		return fmt.Errorf("dist: %d bytes after the %s message", len(rest), ctrl.Op)
	}
	return r.deliver(ctrl, payload)
}

func (r *reader) versioned(b []byte) (etf.Term, []byte, error) {
	if len(b) == 0 || b[0] != versionMagic {
		return nil, nil, badHeader("pass-through term lacks the version byte")
	}
	return r.dec.DecodeTerm(b[1:])
}

// message reads the control message and payload that follow a distribution header. Both are
// decoded in one pass, so that a small message's terms share one allocation.
func (r *reader) message(atoms []etf.Atom, b []byte) error {
	r.dec.AtomCache = atoms
	r.dec.MaxSize = r.decodeLimit(len(b))
	var terms [2]etf.Term
	n, rest, err := r.dec.DecodeTerms(b, terms[:])
	if n == 0 {
		return fmt.Errorf("control message: %w", err)
	}
	ctrl, ok, perr := r.parse(terms[0])
	if !ok {
		return perr
	}
	switch {
	case !ctrl.Op.HasPayload():
		if n > 1 || err != nil {
			return fmt.Errorf("dist: bytes after the %s message, which has no payload", ctrl.Op)
		}
	case err != nil:
		if handled, err := r.tooDeep(ctrl, err); handled {
			return err
		}
		return fmt.Errorf("payload of %s: %w", ctrl.Op, err)
	case n < 2:
		return fmt.Errorf("dist: the %s message lacks its payload", ctrl.Op)
	case len(rest) != 0:
		return fmt.Errorf("dist: %d bytes after the %s message", len(rest), ctrl.Op)
	}
	return r.deliver(ctrl, terms[1])
}

// tooDeep takes a signal whose payload nests deeper than the decoder follows, and reports
// whether it did (err is then what the signal's delivery returned). BEAM decodes terms of any
// depth: an iolist built as [Acc, Bin] in a loop is such a term, and so is the exit reason of a
// process that crashed with one among the arguments in its stacktrace. The signal arrived whole
// and nothing else on the connection is at fault, so the connection goes on:
//   - a message is dropped, counted and logged as lost;
//   - an exit or DOWN signal arrives with the reason {too_deep_to_decode, MaxDepth} in place of
//     its own, logged: the link or monitor fires as it would have, since a reason that deep is
//     no normal or kill;
//   - a spawn request is refused with system_limit, as BEAM refuses one it cannot carry out.
//
// Other signals with such a payload end the connection.
func (r *reader) tooDeep(ctrl Control, err error) (bool, error) {
	if !errors.Is(err, etf.ErrTooDeep) {
		return false, nil
	}
	deep := "nests deeper than " + strconv.Itoa(r.maxDepth()) + " levels, more than this node decodes"
	var target any
	switch ctrl.Op {
	case OpSend, OpSendTT, OpSendSender, OpSendSenderTT:
		target = ctrl.To
	case OpRegSend, OpRegSendTT:
		target = ctrl.ToName
	case OpAliasSend, OpAliasSendTT:
		target = ctrl.Ref
	case OpPayloadExit, OpPayloadExitTT, OpPayloadExit2, OpPayloadExit2TT, OpPayloadMonitorPExit:
		r.c.log.Warning("%s from %s to %s arrives with the reason {too_deep_to_decode,%d}: its own reason %s",
			ctrl.Op, ctrl.From, ctrl.To, r.maxDepth(), deep)
		return true, r.deliver(ctrl, etf.Tuple{etf.Atom("too_deep_to_decode"), int64(r.maxDepth())})
	case OpSpawnRequest, OpSpawnRequestTT:
		if err := r.c.checkProcesses(ctrl); err != nil {
			return true, err
		}
		r.c.messagesIn.Add(1)
		r.c.log.Warning("%s from %s for %s:%s refused with system_limit: its argument list %s",
			ctrl.Op, ctrl.From, ctrl.Module, ctrl.Function, deep)
		r.c.sendLogged(Control{Op: OpSpawnReply, Ref: ctrl.Ref, To: ctrl.From, Result: etf.Atom("system_limit")}, nil)
		return true, nil
	default:
		return false, nil
	}
	r.c.messagesIn.Add(1)
	r.c.messageLost("message", ctrl.From, target, "it "+deep)
	return true, nil
}

func (r *reader) maxDepth() int {
	if r.dec.MaxDepth > 0 {
		return r.dec.MaxDepth
	}
	return etf.DefaultMaxDepth
}

// decodeLimit is the decoder's MaxSize for a message of n bytes. The message has arrived
// whole within MaxMessageSize, so its size is no reason to refuse it: BEAM takes a message of
// any size from a peer, and so does this node unless MaxMessageSize says otherwise. What the
// limit still bounds is a compressed term's expansion: to MaxMessageSize when it is set, else
// to the decoder's default or the message's own size, whichever is larger.
func (r *reader) decodeLimit(n int) int {
	if limit := r.c.opts.MaxMessageSize; limit > 0 {
		return limit
	}
	return max(n, etf.DefaultMaxSize)
}

// parse reads a control message. ok is false when there is nothing to deliver: err says what
// was wrong, or is nil for an operation this node does not know, which is logged and skipped (a
// newer release may add operations).
func (r *reader) parse(t etf.Term) (ctrl Control, ok bool, err error) {
	ctrl, err = ParseControl(t)
	if err != nil {
		if ce, isCtrl := err.(*ControlError); isCtrl && ce.Reason == "unknown operation" {
			r.c.log.Warning("%s sent control message %v, which this node does not know; ignored",
				r.c.peer.Name, t)
			return ctrl, false, nil
		}
		return ctrl, false, err
	}
	return ctrl, true, nil
}

// deliver hands a control message and its payload (nil for operations without one) on.
func (r *reader) deliver(ctrl Control, payload etf.Term) error {
	r.c.messagesIn.Add(1)
	return r.c.dispatch(ctrl, payload)
}
