package dist

import (
	"net"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// A message waiting in the queue holds a buffer near its own size. Buffers come from a pool
// that large messages, of any connection, return theirs to; before, a small signal could take
// a megabyte from it and keep it while it waited, so that the answers to a peer that sent
// small signals and read nothing held a megabyte each, past the queue's limit, which counts
// the bytes of the messages.
func TestQueuedMessagesHoldBuffersOfTheirSize(t *testing.T) {
	for _, flags := range []uint64{allFlags, 0} { // with a distribution header and pass-through
		ours, _ := net.Pipe() // the peer reads nothing
		a := serveOn(t, ours, "a@host", "b@host", flags, Options{MaxQueueBytes: 64 << 20})
		local := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
		remote := gen.PID{Node: "b@host", ID: 2002, Creation: 1}
		// One message is being written, and stays: the rest wait in the queue.
		require.NoError(t, a.conn.SendPID(local, remote, gen.MessageOptions{}, "first"))
		require.Eventually(t, func() bool {
			a.conn.out.mu.Lock()
			defer a.conn.out.mu.Unlock()
			return a.conn.out.writing
		}, 10*time.Second, time.Millisecond)

		for i := range 50 {
			putBuffer(make([]byte, 0, maxPooledBuffer))
			require.NoError(t, a.conn.sendNow(Control{Op: OpUnlinkIDAck, ID: uint64(i), From: local, To: remote}, nil))
			putBuffer(make([]byte, 0, maxPooledBuffer))
			require.NoError(t, a.conn.SendPID(local, remote, gen.MessageOptions{}, etf.Atom("small")))
		}
		a.conn.out.mu.Lock()
		items := append([]outItem(nil), a.conn.out.items...)
		a.conn.out.mu.Unlock()
		require.Len(t, items, 100)
		for _, item := range items {
			size := 0
			for _, s := range item.segs {
				size += len(s)
			}
			require.LessOrEqual(t, cap(item.owner), 2*size+fitSlack, "a %d-byte message holds a %d-byte buffer", size, cap(item.owner))
		}
	}
}
