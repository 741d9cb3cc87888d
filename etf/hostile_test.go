package etf

import (
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// allocatedBy reports the bytes f allocates.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A list whose tail is a LIST_EXT whose tail is a LIST_EXT, and so on, is one long list: it
// decodes in memory proportional to its size, as binary_to_term decodes it, not in memory
// that grows with the square of the number of links.
func TestChainedListTailsDecodeInLinearMemory(t *testing.T) {
	const links, each = 10000, 33
	in := []byte{131}
	for i := 0; i < links; i++ {
		in = append(in, tagList, 0, 0, 0, each)
		for j := 0; j < each; j++ {
			in = append(in, tagSmallInteger, byte(j))
		}
	}
	in = append(in, tagNil)
	var got Term
	var err error
	used := allocatedBy(func() { got, err = Decode(in) })
	require.NoError(t, err)
	l, ok := got.(List)
	require.True(t, ok, "%T", got)
	require.Len(t, l, links*each)
	require.Equal(t, int64(5), l[each*7+5])
	require.Less(t, used, uint64(64*len(in)), "bytes allocated for %d bytes of input", len(in))

	// Ending in an improper tail or a string, the same.
	in[len(in)-1] = tagSmallInteger
	in = append(in, 9)
	got, err = Decode(in)
	require.NoError(t, err)
	require.Len(t, got.(ImproperList).Elems, links*each)
	require.Equal(t, int64(9), got.(ImproperList).Tail)
	in = append(in[:len(in)-2], tagString, 0, 2, 'h', 'i')
	got, err = Decode(in)
	require.NoError(t, err)
	require.Len(t, got.(List), links*each+2)
}

// nestedFuns is a NEW_FUN_EXT whose one free variable is a NEW_FUN_EXT, and so on, depth deep.
func nestedFuns(depth int) []byte {
	inner := []byte{tagNil}
	for i := 0; i < depth; i++ {
		body := []byte{0}                        // arity
		body = append(body, make([]byte, 16)...) // uniq
		body = binary.BigEndian.AppendUint32(body, uint32(i))
		body = binary.BigEndian.AppendUint32(body, 1) // one free variable
		body = append(body, tagSmallAtomUTF8, 1, 'm', tagSmallInteger, 0, tagSmallInteger, 0)
		body = append(body, tagNewPid, tagSmallAtomUTF8, 1, 'a')
		body = append(body, make([]byte, 12)...)
		body = append(body, inner...)
		f := binary.BigEndian.AppendUint32([]byte{tagNewFun}, uint32(len(body)+4))
		inner = append(f, body...)
	}
	return append([]byte{131}, inner...)
}

// Each fun keeps its bytes to be written back as they came, and the bytes of a fun hold the
// funs among its free variables: a chain of funs must not keep a copy per link of everything
// inside it (9,000 links took gigabytes). The outer fun is written back byte for byte, and an
// inner one taken on its own is written from its fields.
func TestNestedFunsDecodeInLinearMemory(t *testing.T) {
	in := nestedFuns(5000)
	var got Term
	var err error
	used := allocatedBy(func() { got, err = Decode(in) })
	require.NoError(t, err)
	require.Less(t, used, uint64(64*len(in)), "bytes allocated for %d bytes of input", len(in))
	out, err := Encode(got)
	require.NoError(t, err)
	require.Equal(t, in, out)

	inner := got.(LocalFun).FreeVars[0].(LocalFun)
	require.Equal(t, uint32(4998), inner.Index)
	alone, err := Encode(inner)
	require.NoError(t, err)
	back, err := Decode(alone)
	require.NoError(t, err)
	require.True(t, Equal(inner, back))
}

// Keys that are the same term in erl make a map erl refuses, even when they are written
// differently: a reference with trailing zero words and the same one without them, two funs
// that differ only in the pid that made them.
func TestMapKeysEqualInErlAreDuplicates(t *testing.T) {
	// #{R3 => 1, R5 => 2}, R5 being R3 with two more zero words: binary_to_term says badarg
	// (OTP 25, 27 and 29).
	in, err := hex.DecodeString("8374000000025A000377036140680000000100000001000000020000000361015A000577036140680000000100000001000000020000000300000000000000006102")
	require.NoError(t, err)
	_, err = Decode(in)
	require.ErrorIs(t, err, ErrInvalid)

	fun := func(creator uint64) LocalFun {
		return LocalFun{Arity: 1, Index: 3, Module: "m", OldIndex: 3, OldUniq: 7,
			Pid: PID{Node: "a@h", ID: creator, Creation: 1}, FreeVars: []Term{int64(1)}}
	}
	for _, keys := range [][2]Term{{fun(100), fun(200)}, {refOfWords(t, 1, 2, 3), refOfWords(t, 1, 2, 3, 0, 0)}} {
		m := Map{{Key: keys[0], Value: int64(1)}, {Key: keys[1], Value: int64(2)}}
		for i := 0; i < 8; i++ { // and as keys of a larger map, hashed
			_, err = Decode(mapBytesAsGiven(t, m))
			require.ErrorIs(t, err, ErrInvalid, "%d keys", len(m))
			_, err = Encode(m)
			require.ErrorContains(t, err, "duplicate map key: the keys of pairs 0 and 1 of a Map", "%d keys", len(m))
			m = append(m, MapPair{Key: int64(100 + i), Value: nil})
			m = append(m, MapPair{Key: []byte{byte(i)}, Value: nil})
		}
	}
}

// decodeCountingSteps decodes in, which must be one whole term, and returns the term and the
// steps the duplicate-key check took.
func decodeCountingSteps(t *testing.T, in []byte) (Term, int) {
	t.Helper()
	var s decodeState
	s.init(&Decoder{}, in)
	s.pos = 1
	got, err := s.top()
	require.NoError(t, err)
	require.Equal(t, len(in), s.pos)
	return got, s.dups.work
}

// nestedKeyMaps is depth maps, each of nine keys out of order, the first key holding the map
// below it (inside a list, then as the value of a one-pair map when viaValue is set), and the
// innermost holding a list of bottom integers.
func nestedKeyMaps(depth, bottom int, viaValue bool) []byte {
	open := []byte{tagMap, 0, 0, 0, 9, tagList, 0, 0, 0, 1}
	if viaValue {
		open = append(open, tagMap, 0, 0, 0, 1, tagSmallAtomUTF8, 1, 'x')
	}
	shut := []byte{tagNil, tagNil}
	for k := byte(0); k < 8; k++ {
		shut = append(shut, tagSmallAtomUTF8, 1, 'i'-k, tagSmallInteger, k)
	}
	in := []byte{131}
	for i := 0; i < depth; i++ {
		in = append(in, open...)
	}
	in = binary.BigEndian.AppendUint32(append(in, tagList), uint32(bottom))
	for i := 0; i < bottom; i++ {
		in = append(in, tagSmallInteger, byte(i))
	}
	in = append(in, tagNil)
	for i := 0; i < depth; i++ {
		in = append(in, shut...)
	}
	return in
}

// A map's keys are checked for duplicates when it is decoded; a key that holds the map below
// it, which holds its own keys, and so on, is hashed once and not once per level above it
// (2,000 levels over a list of a million took 20 s; erl takes 22 ms).
func TestNestedMapKeysAreHashedOnce(t *testing.T) {
	for _, viaValue := range []bool{false, true} {
		in := nestedKeyMaps(2000, 1_000_000, viaValue)
		got, steps := decodeCountingSteps(t, in)
		require.Less(t, steps, 4*len(in), "hashing steps for %d bytes of input", len(in))
		m := got.(Map)
		require.Len(t, m, 9)
		require.Equal(t, Atom("i"), m[1].Key)
	}
}

// similarKeyMaps is a map of eight keys, each a map like it one level down, the keys at the
// bottom being the integers 0..7. The maps of one level differ only in the value of their last
// key, which is last, so telling two of them apart compares everything before it.
func similarKeyMaps(depth, last int) []byte {
	if depth == 0 {
		return []byte{tagSmallInteger, byte(last)}
	}
	out := binary.BigEndian.AppendUint32([]byte{tagMap}, 8)
	for k := 0; k < 8; k++ {
		out = append(out, similarKeyMaps(depth-1, k)...)
		v := byte(0)
		if k == 7 {
			v = byte(last)
		}
		out = append(out, tagSmallInteger, v)
	}
	return out
}

// Keys of a small map that are maps themselves, alike but for one value deep inside, are not
// compared pair by pair: that compares each level's keys with each other, and the levels below
// again for every comparison, so the cost grew 36 times per level while the input grew 8 times
// (1.3 MB took 10 s; erl decodes it in 12 ms).
func TestSimilarMapKeysAreNotComparedPairwise(t *testing.T) {
	in := append([]byte{131}, similarKeyMaps(5, 0)...)
	got, steps := decodeCountingSteps(t, in)
	require.Len(t, got.(Map), 8)
	require.Less(t, steps, 4*len(in), "steps for %d bytes of input", len(in))

	// The same maps as two keys of one map are duplicates, found without the pairwise cost.
	inner := similarKeyMaps(5, 3)
	dup := binary.BigEndian.AppendUint32([]byte{131, tagMap}, 2)
	dup = append(append(append(dup, inner...), tagNil), inner...)
	dup = append(dup, tagNil)
	var s decodeState
	s.init(&Decoder{}, dup)
	s.pos = 1
	_, err := s.top()
	require.ErrorIs(t, err, ErrInvalid)
	require.Less(t, s.dups.work, 4*len(dup), "steps for %d bytes of input", len(dup))
}

// Equal and Compare of maps keyed by maps keyed by maps (as similarKeyMaps) take steps in
// proportion to the terms, as =:= and < take on the BEAM, instead of sorting or searching the
// keys of each map again every time the level above compares it (d=5, 160 KB: 0.3 s each).
func TestEqualAndCompareOfMapsKeyedByMaps(t *testing.T) {
	const depth = 5
	decode := func(last int) Term {
		v, err := Decode(append([]byte{131}, similarKeyMaps(depth, last)...))
		require.NoError(t, err)
		return v
	}
	a, b, other := decode(1), decode(1), decode(2)
	size := len(similarKeyMaps(depth, 1))
	for _, tc := range []struct {
		x, y Term
		same bool
	}{{a, b, true}, {a, other, false}} {
		var c comparer
		require.Equal(t, tc.same, c.equal(tc.x, tc.y, 0))
		require.Less(t, c.steps+c.hashes.work, 4*size, "steps of Equal")
		c = comparer{}
		require.Equal(t, tc.same, c.compare(tc.x, tc.y, false, 0) == 0)
		require.Less(t, c.steps, 10*size, "steps of Compare")
	}
	require.Equal(t, -1, Compare(a, other))
	require.Equal(t, 1, CompareKeys(other, a))
}

// Sorting the keys of a map compares them about n·log₂(n) times, not n²/2: keys alike up to
// their ends cost their size for each comparison (20 keys in reverse order: 190 comparisons
// by insertion, 67 merged).
func TestMapKeysSortInFewComparisons(t *testing.T) {
	const keys, width = 20, 1000
	var m Map
	for i := keys - 1; i >= 0; i-- {
		k := make(Tuple, width)
		for j := range k {
			k[j] = int64(0)
		}
		k[width-1] = int64(i)
		m = append(m, MapPair{Key: k, Value: int64(i)})
	}
	var c comparer
	sorted := c.sortedPairs(m, 0)
	require.Equal(t, int64(0), sorted[0].Value)
	require.Equal(t, int64(keys-1), sorted[keys-1].Value)
	require.Less(t, c.steps, 80*(width+1), "steps to sort %d keys", keys)
}

// A Go value can hold itself more than once (a list whose two elements are the list). Every
// walk over such a value must stop at the depth limit as soon as it reaches it: one that
// carries on with the other elements walks 2^DefaultMaxDepth paths and never ends.
func TestValuesHoldingThemselvesTwiceAreRefusedPromptly(t *testing.T) {
	twice := List{nil, nil}
	twice[0], twice[1] = twice, twice
	pair := Tuple{nil, nil, nil}
	pair[0], pair[1], pair[2] = pair, twice, pair

	for _, v := range []Term{twice, pair, Map{{Key: twice, Value: twice}}} {
		_, err := Encode(v)
		require.ErrorIs(t, err, ErrTooDeep)
		_, err = EncodeCompressed(v, 6)
		require.ErrorIs(t, err, ErrTooDeep)
		_, err = Phash2Checked(v, 0)
		require.ErrorIs(t, err, ErrTooDeep)
		require.False(t, Equal(v, v))

		var c comparer
		c.compare(v, v, false, 0)
		require.Less(t, c.steps, 4*DefaultMaxDepth, "terms compared")
		c = comparer{}
		c.compare(v, v, true, 0)
		require.Less(t, c.steps, 4*DefaultMaxDepth, "terms compared as map keys")
	}
}
