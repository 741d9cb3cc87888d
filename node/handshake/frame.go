package handshake

import (
	"encoding/binary"
	"fmt"
	"io"
)

// MaxMessageSize bounds a handshake message. The longest legitimate one is a challenge with a
// 255-character UTF-8 node name (under 1,100 bytes); the margin leaves room for the extra data
// the protocol lets future releases append. A peer announcing more is refused before anything
// is allocated.
const MaxMessageSize = 4096

// readMessage reads one frame (16-bit length, then the body).
func readMessage(r io.Reader) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(head[:]))
	if n == 0 {
		return nil, malformed("empty frame")
	}
	if n > MaxMessageSize {
		return nil, fmt.Errorf("%w: frame of %d bytes exceeds the %d-byte limit", ErrMalformed, n, MaxMessageSize)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// writeMessage frames body and writes it in one call, so a message is never split between
// writes.
func writeMessage(w io.Writer, body []byte) error {
	frame := make([]byte, 2, 2+len(body))
	binary.BigEndian.PutUint16(frame, uint16(len(body)))
	_, err := w.Write(append(frame, body...))
	return err
}
