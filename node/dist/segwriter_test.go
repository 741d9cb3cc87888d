package dist

import (
	"bytes"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeCounter is a connection that is not a socket (as a TLS connection is not) and records
// every Write.
type writeCounter struct {
	net.Conn
	writes int
	got    bytes.Buffer
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.got.Write(p)
}

func TestSegmentsToANonSocketAreGatheredIntoRecords(t *testing.T) {
	conn := &writeCounter{}
	w := newSegmentWriter(conn)
	require.NotNil(t, w.gather)

	// 300 small messages of four segments each: one Write per batch instead of 1,200.
	var iov net.Buffers
	var want []byte
	for i := range 300 {
		for _, seg := range [][]byte{{0, 0, 0, 9}, {131, 68, 0}, {byte(i), 1, 2}, {byte(i >> 8), 3, 4}} {
			iov = append(iov, seg)
			want = append(want, seg...)
		}
	}
	n, err := w.write(&iov)
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)), n)
	assert.Equal(t, want, conn.got.Bytes())
	assert.Equal(t, 1, conn.writes, "%d bytes fit one record", len(want))

	// A large segment behind a small one: the small one and the head of the large one make
	// one full record, the rest of the large one goes out whole.
	conn.got.Reset()
	conn.writes = 0
	large := bytes.Repeat([]byte{7}, 100_000)
	iov = net.Buffers{{1, 2, 3}, large, {4}}
	n, err = w.write(&iov)
	require.NoError(t, err)
	assert.Equal(t, int64(100_004), n)
	require.Equal(t, 100_004, conn.got.Len())
	assert.True(t, bytes.Equal(append(append([]byte{1, 2, 3}, large...), 4), conn.got.Bytes()))
	assert.Equal(t, 3, conn.writes)
}

func TestSegmentsToATCPSocketGoOutInOneWritev(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	assert.Nil(t, newSegmentWriter(conn).gather)
}
