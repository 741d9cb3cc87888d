package dist

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"
)

// A packet's length and a fragment count are the peer's word. Memory set aside on that word
// alone must stay small: before, one 22-byte frame that announced a huge fragmented message
// made the runtime abort the whole node with "out of memory".

// fragmentHead is the 18-byte header of a fragment: the first one of a sequence (which 0 atom
// cache references follow) or a continuation.
func fragmentHead(first bool, seq, id uint64) []byte {
	b := appendFragmentHeader(nil, first, seq, id)
	if first {
		b = append(b, 0) // no atom cache references
	}
	return b
}

// frame prefixes what follows with the packet length a peer announces.
func frame(announced uint32, b ...byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, announced), b...)
}

// allocatedWhile reports how many bytes the process allocated while the connection served what
// the peer wrote, up to the connection's end.
func allocatedWhile(t *testing.T, s *served, peer net.Conn, writes ...[]byte) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() {
		for _, w := range writes {
			if _, err := peer.Write(w); err != nil {
				return
			}
		}
		peer.Close() // and never send the bytes announced
	}()
	select {
	case err := <-s.done:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not end")
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestAnnouncedSizesReserveLittleUntilTheBytesArrive(t *testing.T) {
	const huge = 0xF000_0000 // 3.75 GB
	normal := append([]byte{versionMagic, headerNormal, 0}, make([]byte, continuationHeader-3)...)
	for _, tc := range []struct {
		name   string
		writes [][]byte
		most   uint64
	}{
		{"a plain packet", [][]byte{frame(huge, normal...)}, 4 * claimChunk},
		{"a first fragment of a huge sequence", [][]byte{frame(huge, fragmentHead(true, 7, 1<<40)...)},
			reserveBudget + 4*claimChunk},
		{"a continuation", [][]byte{
			frame(continuationHeader+1+1000, append(fragmentHead(true, 7, 2), make([]byte, 1000)...)...),
			frame(huge, fragmentHead(false, 7, 1)...),
		}, 4 * claimChunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := net.Pipe()
			s := serveOn(t, ours, "a@host", "evil@host", allFlags, Options{})
			got := allocatedWhile(t, s, theirs, tc.writes...)
			require.Less(t, got, tc.most, "allocated on a length that was never sent")
		})
	}
}

func TestFragmentReservationsShareOneBudget(t *testing.T) {
	// Many sequences each start with a real 64 KB fragment and announce 1,024 of them: each
	// would set aside 64 MB on its own.
	const sequences, size = 200, 64 << 10
	var writes [][]byte
	for seq := uint64(1); seq <= sequences; seq++ {
		head := fragmentHead(true, seq, 1024)
		writes = append(writes, frame(uint32(size), append(head, make([]byte, size-len(head))...)...))
	}
	ours, theirs := net.Pipe()
	s := serveOn(t, ours, "a@host", "evil@host", allFlags, Options{})
	got := allocatedWhile(t, s, theirs, writes...)
	sent := uint64(sequences * size)
	require.Less(t, got, 2*sent+reserveBudget+4*claimChunk)
}

func TestPacketsOverTheClaimChunkStillArriveWhole(t *testing.T) {
	// Without fragments, a large message is one packet, read in steps as its bytes arrive.
	a, b := pair(t, allFlags&^flagFragments, Options{})
	big := make([]byte, 5*claimChunk+123)
	for i := range big {
		big[i] = byte(i * 13)
	}
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	from := gen.PID{Node: "a@host", ID: 5}
	require.NoError(t, a.conn.SendPID(from, to, gen.MessageOptions{}, big))
	require.NoError(t, a.conn.SendPID(from, to, gen.MessageOptions{}, "after"))
	require.Equal(t, big, b.core.next(t).message)
	require.Equal(t, []byte("after"), b.core.next(t).message)
}

func TestAppendRead(t *testing.T) {
	data := make([]byte, 3*claimChunk+5)
	for i := range data {
		data[i] = byte(i * 31)
	}
	// Read in small pieces, onto what b already holds.
	got, err := appendRead(iotest.HalfReader(bytes.NewReader(data)), []byte("head"), len(data))
	require.NoError(t, err)
	require.Equal(t, append([]byte("head"), data...), got)

	// Room b already has is used without a new buffer.
	room := make([]byte, 2, 100)
	got, err = appendRead(bytes.NewReader(data[:50]), room, 50)
	require.NoError(t, err)
	require.Equal(t, &room[:1][0], &got[:1][0])
	require.Equal(t, data[:50], got[2:])

	// An announced length that is never sent grows nothing far past what came.
	got, err = appendRead(bytes.NewReader(data[:10]), nil, 1<<30)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Empty(t, got)
	require.LessOrEqual(t, cap(got), 2*claimChunk)
}
