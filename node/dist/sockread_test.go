package dist

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scriptedSocket gives each read at most the next chunk of its script, after that chunk's wait.
type scriptedSocket struct {
	chunks [][]byte
	waits  []time.Duration
	err    error // once the script is done
}

func (s *scriptedSocket) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, s.err
	}
	time.Sleep(s.waits[0])
	n := copy(p, s.chunks[0])
	if s.chunks[0] = s.chunks[0][n:]; len(s.chunks[0]) == 0 {
		s.chunks, s.waits = s.chunks[1:], s.waits[1:]
	}
	return n, nil
}

// add scripts a chunk that the socket gives after wait, as much of it as a read asks for.
func (s *scriptedSocket) add(b []byte, wait time.Duration) {
	s.chunks = append(s.chunks, b)
	s.waits = append(s.waits, wait)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestSocketReaderGrowsWhileBusyAndShrinksWhenIdle(t *testing.T) {
	sock := &scriptedSocket{err: io.EOF}
	burst := pattern(2 * maxReadBuffer)
	sock.add(burst, 0)
	tick := []byte{0, 0, 0, 0}
	sock.add(tick, 30*time.Millisecond)
	s := newSocketReader(sock, nil)
	s.idleAfter = 20 * time.Millisecond
	require.Equal(t, minReadBuffer, len(s.buf), "an idle link starts small")

	// Read the burst a small message at a time, as the read loop does.
	var got []byte
	sizes := map[int]bool{}
	small := make([]byte, 100)
	for len(got) < len(burst) {
		n, err := s.Read(small[:min(len(small), len(burst)-len(got))])
		require.NoError(t, err)
		got = append(got, small[:n]...)
		sizes[len(s.buf)] = true
	}
	require.True(t, bytes.Equal(burst, got), "the burst, whole")
	require.Equal(t, maxReadBuffer, len(s.buf), "a busy link grows its buffer to the largest size")
	require.True(t, sizes[2*minReadBuffer], "by doubling")

	// The tick arrives after a wait: the link is idle, and the buffer goes back to small.
	_, err := io.ReadFull(s, small[:4])
	require.NoError(t, err)
	require.Equal(t, tick, small[:4])
	_, err = s.Read(small)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, minReadBuffer, len(s.buf))
}

func TestSocketReaderKeepsItsSizeOnAQuietButSteadyLink(t *testing.T) {
	sock := &scriptedSocket{err: io.EOF}
	sock.add(pattern(maxReadBuffer), 0) // grows it...
	sock.add(pattern(maxReadBuffer), 0)
	sock.add(pattern(maxReadBuffer), 0)
	sock.add(pattern(maxReadBuffer), 0)
	sock.add(pattern(10), 0) // ...and a short read without waiting keeps it
	s := newSocketReader(sock, nil)
	s.idleAfter = time.Hour
	all, err := io.ReadAll(s)
	require.NoError(t, err)
	require.Equal(t, 4*maxReadBuffer+10, len(all))
	require.Equal(t, maxReadBuffer, len(s.buf))
}

func TestSocketReaderLargeReadsSkipTheBuffer(t *testing.T) {
	data := pattern(5 * maxReadBuffer)
	src := &countingReader{r: bytes.NewReader(data)}
	s := newSocketReader(src, []byte("from the handshake"))
	head := make([]byte, len("from the handshake"))
	_, err := io.ReadFull(s, head)
	require.NoError(t, err)
	require.Equal(t, "from the handshake", string(head))
	big := make([]byte, len(data))
	_, err = io.ReadFull(s, big)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, big), "the data, whole")
	require.Equal(t, 1, src.reads, "read straight into the caller's slice, in one call")
}

func TestSocketReaderReturnsTheErrorAfterTheBytes(t *testing.T) {
	// The socket gives its last bytes and its error in one read, and is not to be read again.
	broken := errors.New("reset")
	s := newSocketReader(&lastRead{data: []byte("last"), err: broken}, nil)
	b := make([]byte, 4)
	_, err := io.ReadFull(s, b)
	require.NoError(t, err)
	require.Equal(t, "last", string(b))
	_, err = s.Read(b)
	require.ErrorIs(t, err, broken)
	_, err = s.Read(b)
	require.ErrorIs(t, err, broken)
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// lastRead gives data and err in its first read, and fails the test's assertions if read again.
type lastRead struct {
	data []byte
	err  error
	done bool
}

func (l *lastRead) Read(p []byte) (int, error) {
	if l.done {
		return 0, errors.New("read again after its error")
	}
	l.done = true
	return copy(p, l.data), l.err
}

// Every read that brings bytes counts as the peer being heard from, the large reads that skip
// the buffer too: a large packet arriving slowly is no silence, though no packet ends.
func TestSocketReaderNotesEveryArrival(t *testing.T) {
	sock := &scriptedSocket{err: io.EOF}
	sock.add(pattern(10), 0)
	sock.add(pattern(minReadBuffer), 0)
	s := newSocketReader(sock, nil)
	var last atomic.Int64
	s.lastRead = &last

	small := make([]byte, 10)
	_, err := io.ReadFull(s, small)
	require.NoError(t, err)
	first := last.Load()
	require.NotZero(t, first, "a read into the buffer")

	last.Store(0)
	large := make([]byte, minReadBuffer)
	_, err = io.ReadFull(s, large)
	require.NoError(t, err)
	require.NotZero(t, last.Load(), "a read that skipped the buffer")
}

// A read that waited idleAfter for little tells the reader the link is idle, at whatever size
// the buffer is, so that the read loop lets go of memory kept for large messages.
func TestSocketReaderReportsIdleness(t *testing.T) {
	sock := &scriptedSocket{err: io.EOF}
	sock.add([]byte{0, 0, 0, 0}, 0)
	sock.add([]byte{0, 0, 0, 0}, 30*time.Millisecond)
	s := newSocketReader(sock, nil)
	s.idleAfter = 20 * time.Millisecond
	idle := 0
	s.onIdle = func() { idle++ }
	tick := make([]byte, 4)
	_, err := io.ReadFull(s, tick)
	require.NoError(t, err)
	require.Zero(t, idle, "bytes that were there at once")
	_, err = io.ReadFull(s, tick)
	require.NoError(t, err)
	require.Equal(t, 1, idle, "bytes that took idleAfter to come")
}
