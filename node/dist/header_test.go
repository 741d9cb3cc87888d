package dist

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// The example of erl_ext_dist ("Distribution Header for fragmented messages"): five atom cache
// references, two already cached, three new ('reg', 'call', 'set_get_state').
func TestAtomCacheRefsFromSpecExample(t *testing.T) {
	var c atomCacheReader
	// The two cached atoms must have been sent before; put them in the slots the example uses
	// (flag nibbles 0100 and 0000: segment 4 index 10 and segment 0 index 5).
	c.table.put(4*256+10, "a@host")
	c.table.put(0*256+5, "b@host")
	hdr := []byte{5, 4, 137, 9,
		10, 5,
		236, 3, 114, 101, 103,
		9, 4, 99, 97, 108, 108,
		238, 13, 115, 101, 116, 95, 103, 101, 116, 95, 115, 116, 97, 116, 101,
		104, 1} // what follows the header
	refs, rest, err := c.readRefs(hdr)
	require.NoError(t, err)
	require.Equal(t, []etf.Atom{"a@host", "b@host", "reg", "call", "set_get_state"}, refs)
	require.Equal(t, []byte{104, 1}, rest)

	// A later header refers to a cached entry without its text.
	refs, rest, err = c.readRefs([]byte{1, 0x01, 236})
	require.NoError(t, err)
	require.Equal(t, []etf.Atom{"reg"}, refs)
	require.Empty(t, rest)
}

func TestAtomCacheRefsErrors(t *testing.T) {
	var c atomCacheReader
	for name, b := range map[string][]byte{
		"empty":          {},
		"flags missing":  {2},
		"index missing":  {1, 0x08},
		"length missing": {1, 0x08, 3},
		"text short":     {1, 0x08, 3, 5, 'a'},
		"never filled":   {1, 0x00, 3},
		"long len short": {1, 0x18, 3, 0}, // LongAtoms set, 2-byte length cut
	} {
		_, _, err := c.readRefs(b)
		require.Error(t, err, name)
	}
}

func TestAtomCacheLongAtoms(t *testing.T) {
	var c atomCacheReader
	// one new ref in segment 2; LongAtoms in the nibble after it
	refs, _, err := c.readRefs([]byte{1, 0x1a, 7, 0, 3, 'a', 'b', 'c'})
	require.NoError(t, err)
	require.Equal(t, []etf.Atom{"abc"}, refs)
	a, ok := c.table.get(2*256 + 7)
	require.True(t, ok)
	require.Equal(t, etf.Atom("abc"), a)
}

func TestFragmentsReassemble(t *testing.T) {
	var f fragments
	atoms := []etf.Atom{"x"}
	_, _, done, err := f.start(9, 3, atoms, []byte("ab"), 0)
	require.NoError(t, err)
	require.False(t, done)
	// another sequence interleaves
	got, body, done, err := f.start(10, 1, nil, []byte("solo"), 0)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, []byte("solo"), body)
	require.Empty(t, got)

	_, _, done, err = f.add(9, 2, 2, 0, fill("cd"))
	require.NoError(t, err)
	require.False(t, done)
	got, body, done, err = f.add(9, 1, 2, 0, fill("ef"))
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, []byte("abcdef"), body)
	require.Equal(t, atoms, got)
	require.Zero(t, f.bytes)
	require.Empty(t, f.pending)
}

func TestFragmentsErrors(t *testing.T) {
	var f fragments
	_, _, _, err := f.add(1, 1, 0, 0, fill(""))
	require.ErrorContains(t, err, "unknown sequence")
	_, _, _, err = f.start(1, 0, nil, nil, 0)
	require.Error(t, err)
	_, _, _, err = f.start(2, 3, nil, []byte("x"), 0)
	require.NoError(t, err)
	_, _, _, err = f.start(2, 3, nil, []byte("x"), 0)
	require.ErrorContains(t, err, "twice")
	_, _, _, err = f.add(2, 1, 0, 0, fill(""))
	require.ErrorContains(t, err, "expected")
	_, _, _, err = f.start(3, 2, nil, make([]byte, 10), 8)
	require.ErrorContains(t, err, "limit")
}

// fill is a read function for fragments.add that supplies text.
func fill(text string) func([]byte, int) []byte {
	return func(body []byte, _ int) []byte { return append(body, text...) }
}

// An atom cache entry is an atom: UTF-8 of at most 255 characters, as the decoder requires of
// atoms in terms and BEAM of cache entries. Before, any 64 KB of bytes went into the cache, and
// into the connection's table of atom texts, which keeps 65,536 of them.
func TestAtomCacheEntriesAreAtoms(t *testing.T) {
	entry := func(text string) []byte { // one new ref in segment 0, LongAtoms set
		b := []byte{1, 0x18, 7, byte(len(text) >> 8), byte(len(text))}
		return append(b, text...)
	}
	var c atomCacheReader
	longest := strings.Repeat("é", 255)
	refs, _, err := c.readRefs(entry(longest))
	require.NoError(t, err)
	require.Equal(t, []etf.Atom{etf.Atom(longest)}, refs)

	for name, text := range map[string]string{
		"256 characters":  strings.Repeat("a", 256),
		"64 KB":           strings.Repeat("é", 1<<15-1),
		"not UTF-8":       "ab\xffc",
		"a cut character": "ab\xc3",
	} {
		_, _, err := c.readRefs(entry(text))
		var he *HeaderError
		require.ErrorAs(t, err, &he, name)
	}
	a, ok := c.table.get(7)
	require.True(t, ok)
	require.Equal(t, etf.Atom(longest), a, "the slot keeps its atom")
	require.Len(t, c.intern, 1)
}

// firstFragmentPacket is the first packet of a sequence of count fragments, with the atom cache
// references refs (from NumberOfAtomCacheRefs on) and body.
func firstFragmentPacket(seq, count uint64, refs, body []byte) []byte {
	p := appendFragmentHeader(nil, true, seq, count)
	return append(append(p, refs...), body...)
}

// MaxMessageSize bounds each message: messages of different processes interleave their
// fragments, and two under the limit together are no reason to end the connection. Together the
// unfinished ones may hold 4 times the limit.
func TestFragmentsLimitEachMessage(t *testing.T) {
	const limit = 1 << 20
	c := newConnection(newFakeCore("b@host"), Peer{Name: "a@host", Flags: allFlags}, Options{MaxMessageSize: limit}.withDefaults(), quietLog{})
	c.out.close()
	r := reader{c: c}
	body := make([]byte, 600<<10)
	for seq := uint64(1); seq <= 6; seq++ {
		require.NoError(t, r.packet(firstFragmentPacket(seq, 2, []byte{0}, body)), "sequence %d", seq)
	}
	err := r.packet(firstFragmentPacket(7, 2, []byte{0}, body))
	require.ErrorContains(t, err, "together")

	// One message over the limit is refused, whatever else is pending.
	r = reader{c: c}
	require.NoError(t, r.packet(firstFragmentPacket(1, 3, []byte{0}, body)))
	_, _, _, err = r.frags.add(1, 2, len(body), limit, fill(string(body)))
	require.ErrorContains(t, err, "over the 1048576-byte limit")
}

// A sequence that never ends holds its first fragment's atom cache references: a peer that
// starts sequence after sequence, each with 255 references in a packet of a few hundred bytes
// and no body, is stopped once they hold overheadBudget, limit or not.
func TestFragmentsBoundWhatUnfinishedSequencesHold(t *testing.T) {
	for _, limit := range []int{0, 1 << 20} {
		c := newConnection(newFakeCore("b@host"), Peer{Name: "a@host", Flags: allFlags}, Options{MaxMessageSize: limit}.withDefaults(), quietLog{})
		c.out.close()
		r := reader{c: c}
		// Fill the cache: 255 new one-letter atoms, in a header carrying {5}.
		fill := []byte{255}
		flags := bytes.Repeat([]byte{0x88}, 255/2+1)
		flags[len(flags)-1] = 0x08 // the last entry's nibble; LongAtoms clear
		fill = append(fill, flags...)
		for i := range 255 {
			fill = append(fill, byte(i), 1, byte('a'+i%26))
		}
		require.NoError(t, r.packet(append(append([]byte{131, 68}, fill...), 104, 1, 97, 5)))
		// Then sequences that refer to all 255, with no body, which never go on.
		cached := append([]byte{255}, make([]byte, 255/2+1)...)
		for i := range 255 {
			cached = append(cached, byte(i))
		}
		var err error
		seq := uint64(1)
		for ; seq <= 100_000 && err == nil; seq++ {
			err = r.packet(firstFragmentPacket(seq, 2, cached, nil))
		}
		require.ErrorContains(t, err, "unfinished fragmented messages", "limit %d", limit)
		require.LessOrEqual(t, r.frags.overhead, overheadBudget)
		require.Equal(t, overheadBudget/(seqOverhead+255*atomRefSize), len(r.frags.pending))
	}
}

// The room set aside for fragments announced but not sent stays within what MaxMessageSize lets
// the pending messages hold: 70 first fragments of a kilobyte that each announce 1,024 fragments
// do not pin 64 MB for a connection limited to 1 MB messages.
func TestFragmentsReserveWithinTheLimit(t *testing.T) {
	const limit = 1 << 20
	var f fragments
	for seq := uint64(1); seq <= 70; seq++ {
		p := firstFragmentPacket(seq, 1024, []byte{0}, make([]byte, 1000))
		buf, err := f.buffer(len(p), 1024, limit)
		require.NoError(t, err)
		buf = append(buf, p...)
		_, _, _, err = f.start(seq, 1024, nil, buf[19:], limit)
		require.NoError(t, err)
	}
	require.LessOrEqual(t, f.reserved, pendingBudget(limit)+70*fragmentSlack)
}
