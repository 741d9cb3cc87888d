package dist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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
			return r.firstFragment(append(buf[:0], p...))
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
	atoms, body, done, err := r.frags.add(seq, id, n, r.c.opts.MaxMessageSize, func(dst []byte) {
		if _, err := io.ReadFull(src, dst); err != nil {
			readErr = readFailure{err}
		}
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
	ctrl, rest, err := r.versioned(b)
	if err != nil {
		return err
	}
	return r.control(ctrl, rest, true)
}

func (r *reader) versioned(b []byte) (etf.Term, []byte, error) {
	if len(b) == 0 || b[0] != versionMagic {
		return nil, nil, badHeader("pass-through term lacks the version byte")
	}
	return r.dec.DecodeTerm(b[1:])
}

// message reads the control message and payload that follow a distribution header.
func (r *reader) message(atoms []etf.Atom, b []byte) error {
	r.dec.AtomCache = atoms
	ctrl, rest, err := r.dec.DecodeTerm(b)
	if err != nil {
		return fmt.Errorf("control message: %w", err)
	}
	return r.control(ctrl, rest, false)
}

func (r *reader) control(ctrlTerm etf.Term, rest []byte, versioned bool) error {
	ctrl, err := ParseControl(ctrlTerm)
	if err != nil {
		if ce, ok := err.(*ControlError); ok && ce.Reason == "unknown operation" {
			// A newer release may add operations; one we do not know is skipped, not fatal.
			r.c.log.Warning("%s sent control message %v, which this node does not know; ignored",
				r.c.peer.Name, ctrlTerm)
			return nil
		}
		return err
	}
	var payload etf.Term
	if ctrl.Op.HasPayload() {
		if versioned {
			payload, rest, err = r.versioned(rest)
		} else {
			payload, rest, err = r.dec.DecodeTerm(rest)
		}
		if err != nil {
			return fmt.Errorf("payload of %s: %w", ctrl.Op, err)
		}
	}
	if len(rest) != 0 {
		return fmt.Errorf("dist: %d bytes after the %s message", len(rest), ctrl.Op)
	}
	r.c.messagesIn.Add(1)
	r.c.dispatch(ctrl, payload)
	return nil
}
