package etf

import (
	"errors"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// byteListKey is a map key whose term is the list of its bytes, written as STRING_EXT.
type byteListKey string

func (k byteListKey) MarshalTerm() (Term, error) { return ByteList(k), nil }

func refOfWords(t *testing.T, words ...uint32) Ref {
	t.Helper()
	r, err := RefFromWords("n@h", 1, words)
	require.NoError(t, err)
	return r
}

// manyKeys returns a map[any]any of the integers 100.. with n keys, and then the keys given.
func manyKeys(n int, keys ...any) map[any]any {
	m := map[any]any{}
	for i := 0; i < n; i++ {
		m[100+i] = i
	}
	for i, k := range keys {
		m[k] = -i
	}
	return m
}

func TestEncodeMapKeysSameTerm(t *testing.T) {
	one, alsoOne := 1, 1
	cases := []struct {
		name string
		v    any
		keys [2]string // the two keys as the error names them
	}{
		{"int and int64", map[any]any{1: "a", int64(1): "b"}, [2]string{"1 (int)", "1 (int64)"}},
		{"uint8 and int", map[Term]Term{uint8(1): "a", 1: "b"}, [2]string{"1 (int)", "0x1 (uint8)"}},
		{"true", map[any]any{true: 1, Atom("true"): 2}, [2]string{"true (bool)", `"true" (gen.Atom)`}},
		{"nil", map[any]any{nil: 1, Atom("nil"): 2}, [2]string{"<nil> (<nil>)", `"nil" (gen.Atom)`}},
		{"nil pointer", map[any]any{(*int)(nil): 1, Atom("nil"): 2}, [2]string{"(*int)(nil) (*int)", `"nil" (gen.Atom)`}},
		{"pointers", map[*int]string{&one: "a", &alsoOne: "b"}, [2]string{"(*int)", "(*int)"}},
		{"refs", map[Ref]int{refOfWords(t, 1, 2, 3): 1, refOfWords(t, 1, 2, 3, 0): 2}, [2]string{"(gen.Ref)", "(gen.Ref)"}},
		{"list encoded two ways", map[any]any{byteListKey("\x01\x02"): 1, [2]int{1, 2}: 2},
			[2]string{"[2]int{1, 2} ([2]int)", `"\x01\x02" (etf.byteListKey)`}},
		{"many keys", manyKeys(20, int64(105)), [2]string{"105 (int)", "105 (int64)"}},
		{"many keys, list encoded two ways", manyKeys(20, byteListKey("\x01\x02"), [2]int{1, 2}),
			[2]string{"[2]int{1, 2} ([2]int)", `"\x01\x02" (etf.byteListKey)`}},
		{"nested", map[string]any{"m": map[any]any{1.0: "x", 2: "a", uint16(2): "b"}}, [2]string{"2 (int)", "0x2 (uint16)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(err error) {
				t.Helper()
				var uv *UnsupportedValueError
				require.True(t, errors.As(err, &uv), "error %v", err)
				require.Contains(t, err.Error(), "duplicate map key")
				require.Contains(t, err.Error(), c.keys[0])
				require.Contains(t, err.Error(), c.keys[1])
			}
			b, err := Encode(c.v)
			check(err)
			require.Empty(t, b)

			dst := []byte{1, 2, 3}
			out, err := Append(dst, c.v)
			check(err)
			require.Equal(t, []byte{1, 2, 3}, out)

			var e Encoder
			out, err = e.AppendTerm(dst, c.v)
			check(err)
			require.Equal(t, []byte{1, 2, 3}, out)
		})
	}
}

func TestEncodeMapKeysDistinctTerms(t *testing.T) {
	cases := []struct {
		name string
		v    any
		n    int
	}{
		{"integer, float and binary", map[any]any{1: "a", 1.0: "b", "1": "c"}, 3},
		{"bool, atom and binary", map[any]any{true: 1, Atom("false"): 2, "true": 3}, 3},
		{"nil and atoms", map[any]any{nil: 1, Atom("Nil"): 2, Atom("nil2"): 3}, 3},
		{"lists", map[any]any{byteListKey("\x01\x03"): 1, [2]int{1, 2}: 2, [2]uint8{1, 2}: 3}, 3},
		{"refs", map[Ref]int{refOfWords(t, 1, 2, 3): 1, refOfWords(t, 1, 2, 3, 4): 2, refOfWords(t, 1, 2, 4): 3}, 3},
		{"many keys", manyKeys(20, 1.0, int64(1), "1", byteListKey("\x01\x03"), [2]int{1, 2}), 25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.v)
			require.NoError(t, err)
			d, err := Decode(b)
			require.NoError(t, err, "%x", b)
			m, ok := d.(Map)
			require.True(t, ok, "%#v", d)
			require.Len(t, m, c.n)
		})
	}
}

// Two maps are matched by the hashes of their keys, and a hash only points the way: keys that
// share one are found by comparing, and a key is compared with the key its hash leads to.
func TestPairsMatchComparesWhatHashesFind(t *testing.T) {
	var c dupChecker
	a := Map{{Key: Atom("x"), Value: int64(1)}, {Key: Atom("y"), Value: int64(2)}}
	b := Map{{Key: Atom("y"), Value: int64(2)}, {Key: Atom("x"), Value: int64(1)}}
	shared := map[uint64]int{7: -1} // every key of b has hash 7
	require.True(t, pairsMatch(a, b, []uint64{7, 7}, shared, c.equal))
	otherKey := Map{{Key: Atom("y"), Value: int64(2)}, {Key: Atom("z"), Value: int64(1)}}
	require.False(t, pairsMatch(a, otherKey, []uint64{7, 7}, shared, c.equal))
	otherValue := Map{{Key: Atom("y"), Value: int64(2)}, {Key: Atom("x"), Value: int64(3)}}
	require.False(t, pairsMatch(a, otherValue, []uint64{7, 7}, shared, c.equal))

	// x's hash leads to z, the key of otherKey that has it.
	distinct := map[uint64]int{1: 1, 2: 0}
	require.True(t, pairsMatch(a, b, []uint64{1, 2}, distinct, c.equal))
	require.False(t, pairsMatch(a, otherKey, []uint64{1, 2}, distinct, c.equal))
	require.False(t, pairsMatch(a, otherValue, []uint64{1, 2}, distinct, c.equal))
	require.False(t, pairsMatch(a, b, []uint64{1, 3}, distinct, c.equal), "a hash b has not")
}

// TestEncodeRefusesAMapWithAKeyTwice: a Map is a slice of pairs, so it can hold one key twice,
// which no map term can; binary_to_term refuses such a map (badarg on OTP 25, 27 and 29), and a
// node that reads one on a distribution connection closes the connection. Keys are the same
// term whatever Go form they take.
func TestEncodeRefusesAMapWithAKeyTwice(t *testing.T) {
	ref := refOfWords(t, 1, 2, 3)
	same := [][2]Term{
		{Atom("a"), Atom("a")},
		{"id", []byte("id")},
		{BitString{Bytes: []byte("id"), Bits: 8}, "id"},
		{1, int64(1)},
		{uint64(7), int32(7)},
		{big.NewInt(5), int64(5)},
		{true, Atom("true")},
		{nil, Atom("nil")},
		{Tuple{"a", 1}, Tuple{[]byte("a"), int64(1)}},
		{List{int64(104), int64(105)}, ByteList("hi")},
		{[]Term{int64(1)}, List{int64(1)}},
		{ImproperList{Elems: List{int64(1)}, Tail: List{int64(2)}}, List{int64(1), int64(2)}},
		{ProcessID{Name: "srv", Node: "n@h"}, Tuple{Atom("srv"), Atom("n@h")}},
		{Alias(ref), ref},
		{float32(1.5), 1.5},
		{int8(-3), int64(-3)},
		{Map{{"a", 1}, {"b", 2}}, Map{{[]byte("b"), int64(2)}, {[]byte("a"), int64(1)}}},
	}
	for _, keys := range same {
		for _, m := range twoKeysAmongFewAndMany(keys) {
			_, err := Encode(m)
			var uv *UnsupportedValueError
			require.ErrorAs(t, err, &uv, "%#v and %#v among %d keys", keys[0], keys[1], len(m))
			require.ErrorContains(t, err, "duplicate map key: the keys of pairs 0 and 1 of a Map")
			// And the bytes such a map would have are refused by Decode, as by binary_to_term.
			_, err = Decode(mapBytesAsGiven(t, m))
			require.ErrorIs(t, err, ErrInvalid, "%#v and %#v", keys[0], keys[1])
		}
	}

	differ := [][2]Term{
		{1, 1.0},
		{0.0, math.Copysign(0, -1)},
		{"a", Atom("a")},
		{"hi", ByteList("hi")},
		{Atom("nil"), List(nil)},
		{Tuple{1}, List{1}},
		{BitString{Bytes: []byte{0x80}, Bits: 1}, []byte{0x80}},
		{Map{{"a", 1}}, Map{{"a", 2}}},
	}
	for _, keys := range differ {
		for _, m := range twoKeysAmongFewAndMany(keys) {
			b, err := Encode(m)
			require.NoError(t, err, "%#v and %#v", keys[0], keys[1])
			back, err := Decode(b)
			require.NoError(t, err)
			require.Len(t, back.(Map), len(m))
		}
	}
}

// twoKeysAmongFewAndMany returns Maps whose first two keys are keys: the two alone, compared
// pair by pair, and among 40 more in no order, so that they are hashed and cannot be settled by
// being sorted.
func twoKeysAmongFewAndMany(keys [2]Term) []Map {
	few := Map{{Key: keys[0], Value: int64(1)}, {Key: keys[1], Value: int64(2)}}
	many := slices.Clone(few)
	for i := range 40 {
		many = append(many, MapPair{Key: int64(1000 - i), Value: nil})
	}
	return []Map{few, many}
}
