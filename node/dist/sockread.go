package dist

import (
	"io"
	"sync/atomic"
	"time"
)

// socketReader is the read buffer of a connection's socket, sized by how busy the link is. A
// node in a large cluster keeps hundreds of links that mostly carry ticks, so the buffer starts
// at minReadBuffer; while reads fill it, data is waiting in the socket and it doubles, up to
// maxReadBuffer, so a busy link is read with few system calls; and once a read had to wait for
// the peer and brought little, it goes back to the small size.
type socketReader struct {
	src       io.Reader
	buf       []byte
	r, w      int           // buf[r:w] is read and not yet taken
	err       error         // what the socket said after the last bytes it gave
	resize    int           // the size the buffer takes at the next fill, if not 0
	idleAfter time.Duration // a read that waits this long finds the link idle
	onIdle    func()        // called when a read found the link idle, if not nil

	// lastRead, if not nil, is set at every read that brings bytes: a peer in the middle of
	// a large packet on a slow link is not silent, though no packet ends for a while.
	lastRead *atomic.Int64
}

const (
	minReadBuffer = 16 << 10
	maxReadBuffer = 256 << 10
)

// newSocketReader reads src behind the bytes in head, which arrived with the handshake.
func newSocketReader(src io.Reader, head []byte) *socketReader {
	s := &socketReader{src: src, buf: make([]byte, max(minReadBuffer, len(head))), idleAfter: time.Second}
	s.w = copy(s.buf, head)
	return s
}

func (s *socketReader) Read(p []byte) (int, error) {
	if s.r == s.w {
		if s.err != nil {
			return 0, s.err
		}
		if len(p) >= len(s.buf) {
			n, err := s.src.Read(p) // a large read skips the buffer and its copy
			if n > 0 {
				s.arrived()
			}
			return n, err
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.r:s.w])
	s.r += n
	return n, nil
}

// fill reads into the empty buffer, and decides from that read the buffer's next size.
func (s *socketReader) fill() error {
	if s.resize != 0 {
		s.buf, s.resize = make([]byte, s.resize), 0
	}
	s.r, s.w = 0, 0
	start := time.Now()
	var n int
	var err error
	for n == 0 && err == nil {
		n, err = s.src.Read(s.buf)
	}
	s.w, s.err = n, err
	size := len(s.buf)
	idle := n < size/4 && time.Since(start) >= s.idleAfter
	switch {
	case n == size && size < maxReadBuffer:
		s.resize = min(2*size, maxReadBuffer)
	case idle && size > minReadBuffer:
		s.resize = minReadBuffer
	}
	if idle && s.onIdle != nil {
		s.onIdle()
	}
	if n > 0 {
		s.arrived()
		return nil // an error comes when these bytes are taken
	}
	return err
}

func (s *socketReader) arrived() {
	if s.lastRead != nil {
		s.lastRead.Store(time.Now().UnixNano())
	}
}
