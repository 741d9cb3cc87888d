package dist

import (
	"context"
	"strings"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// The writer's model and a reader (the peer's cache) stay in step over many messages,
// including the empty atom, atoms sharing a slot, and messages with many atoms.
func TestAtomCacheWriterAndReaderAgree(t *testing.T) {
	var w atomCacheWriter
	var r atomCacheReader
	messages := [][]etf.Atom{
		{"a@host", "", "sink"},
		{"a@host", "", "sink"}, // all known now
		{"", "b@host"},
	}
	var many []etf.Atom
	for i := 0; i < maxAtomCacheRefs; i++ {
		many = append(many, etf.Atom("atom_"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))))
	}
	messages = append(messages, many, many[:40], []etf.Atom{"a@host"})
	for i, atoms := range messages {
		b := w.appendRefs(nil, atoms)
		require.LessOrEqual(t, len(b), refsSize(atoms))
		got, rest, err := r.readRefs(b)
		require.NoError(t, err, "message %d", i)
		require.Empty(t, rest)
		require.Equal(t, atoms, append([]etf.Atom(nil), got...), "message %d", i)
	}
	// Known atoms cost two bytes each after the count and flags.
	b := w.appendRefs(nil, []etf.Atom{"a@host", "sink"})
	require.Len(t, b, 1+2+2)
}

func TestOutOfLineIndexesDistinctAtoms(t *testing.T) {
	m := getOutOfLine()
	defer putOutOfLine(m)
	for i := 0; i < 3; i++ {
		for k := 0; k < 40; k++ {
			idx, ok := m.CacheIndex(etf.Atom("k" + string(rune('a'+k))))
			require.True(t, ok)
			require.Equal(t, uint8(k), idx)
		}
	}
	require.Len(t, m.list, 40)
	_, ok := m.CacheIndex(etf.Atom(strings.Repeat("é", 200))) // 400 bytes: written inline
	require.False(t, ok)
	for k := len(m.list); k < maxAtomCacheRefs; k++ {
		_, ok := m.CacheIndex(etf.Atom("z" + strings.Repeat("y", k)))
		require.True(t, ok)
	}
	_, ok = m.CacheIndex("one_too_many")
	require.False(t, ok)
}

// A cast to 10,000 pids of one node names the node once, not 10,000 times.
func TestPidListUsesTheAtomCache(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	pids := make([]gen.PID, 10_000)
	for i := range pids {
		pids[i] = gen.PID{Node: "some_long_node_name@some.host.example", ID: uint64(1000 + i), Creation: 7}
	}
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 5}, to, gen.MessageOptions{}, etf.Tuple{etf.Atom("send"), pids}))
	r := b.core.next(t)
	got := r.message.(etf.Tuple)[1].(etf.List)
	require.Len(t, got, len(pids))
	require.Equal(t, pids[9999], got[9999])
	require.NoError(t, a.conn.Flush(context.Background()))
	// 15 bytes a pid: tag, a 2-byte cache reference, id, serial, creation (52 with the node
	// name written inline).
	require.Less(t, a.conn.bytesOut.Load(), uint64(10_000*15+1000))
}

// Large binaries are written from their own memory, between the encoded pieces, whole or cut
// across fragments, and arrive as they were sent.
func TestLargeBinariesAreSentWithoutCopies(t *testing.T) {
	big := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*31)
		}
		return b
	}
	msg := etf.Tuple{etf.Atom("seq"), big(insertMin, 1), etf.List{[]byte("small"), big(3*insertMin+5, 2)},
		etf.Map{{Key: big(insertMin+1, 3), Value: int64(7)}}, big(100, 4)}
	for _, tc := range []struct {
		name  string
		flags uint64
		frag  int
	}{
		{"one packet", allFlags &^ flagFragments, 0},
		{"fragments", allFlags, 1000},
		{"fragment size of a binary", allFlags, insertMin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t, tc.flags, Options{FragmentSize: tc.frag})
			to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
			for i := 0; i < 3; i++ {
				require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 5}, to, gen.MessageOptions{}, msg))
			}
			require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 5}, to, gen.MessageOptions{}, "after"))
			for i := 0; i < 3; i++ {
				require.True(t, etf.Equal(msg, b.core.next(t).message))
			}
			require.Equal(t, []byte("after"), b.core.next(t).message)
		})
	}
}
