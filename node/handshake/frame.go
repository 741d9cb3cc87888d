package handshake

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
)

// MaxMessageSize bounds a handshake message. The longest legitimate one is a challenge with a
// 255-character UTF-8 node name (under 1,100 bytes); the margin leaves room for the extra data
// the protocol lets future releases append. A peer announcing more is refused before anything
// is allocated.
const MaxMessageSize = 4096

// readMessage reads one frame: the body's length, then the body. The length takes 2 bytes, as
// the protocol documents for TCP, or 4 on a TLS connection (see frameHead).
func readMessage(r io.Reader) ([]byte, error) {
	var head [4]byte
	size := frameHead(r)
	if _, err := io.ReadFull(r, head[:size]); err != nil {
		return nil, err
	}
	var n int
	if size == 2 {
		n = int(binary.BigEndian.Uint16(head[:]))
	} else {
		n = int(min(binary.BigEndian.Uint32(head[:]), MaxMessageSize+1))
	}
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
	size := frameHead(w)
	frame := make([]byte, size, size+len(body))
	if size == 2 {
		binary.BigEndian.PutUint16(frame, uint16(len(body)))
	} else {
		binary.BigEndian.PutUint32(frame, uint32(len(body)))
	}
	_, err := w.Write(append(frame, body...))
	return err
}

// frameHead is the size of a handshake message's length on conn. erl's TLS distribution
// (inet_tls_dist) runs the handshake on a TLS socket in {packet, 4} mode, so over TLS the
// length takes 4 bytes instead of the 2 of TCP; the packets after the handshake have 4 on
// both.
func frameHead(conn any) int {
	if _, isTLS := conn.(interface{ ConnectionState() tls.ConnectionState }); isTLS {
		return 4
	}
	return 2
}
