package etf

import (
	"bufio"
	"encoding/hex"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type compareVectors struct {
	terms  []Term
	rows   []string // rows[i][j]: '<', '>', '=' (== but not =:=) or 'E' (=:=)
	sorted []int    // indices in lists:sort order
	keys   []List   // maps:keys/1 of maps, in map key order
}

func readCompareVectors(t *testing.T) compareVectors {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "compare_otp25.txt"))
	require.NoError(t, err)
	defer f.Close()
	var v compareVectors
	decodeHex := func(s string) Term {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		term, err := Decode(b)
		require.NoError(t, err, s)
		return term
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "T "):
			v.terms = append(v.terms, decodeHex(line[2:]))
		case strings.HasPrefix(line, "C "):
			v.rows = append(v.rows, line[2:])
		case strings.HasPrefix(line, "S "):
			for _, f := range strings.Fields(line[2:]) {
				i, err := strconv.Atoi(f)
				require.NoError(t, err)
				v.sorted = append(v.sorted, i)
			}
		case strings.HasPrefix(line, "K "):
			keys, ok := decodeHex(line[2:]).(List)
			require.True(t, ok)
			v.keys = append(v.keys, keys)
		}
	}
	require.NoError(t, sc.Err())
	require.Len(t, v.rows, len(v.terms))
	require.Len(t, v.sorted, len(v.terms))
	return v
}

// The vectors hold about 170 terms of every type, and how erl orders and equates each pair of
// them (OTP 27 and 29 give the same matrix).
func TestCompareVectors(t *testing.T) {
	v := readCompareVectors(t)
	require.Greater(t, len(v.terms), 150)
	want := map[byte]int{'<': -1, '>': 1, '=': 0, 'E': 0}
	for i, a := range v.terms {
		require.Len(t, v.rows[i], len(v.terms))
		for j, b := range v.terms {
			c := v.rows[i][j]
			require.Equal(t, want[c], Compare(a, b), "Compare(%#v, %#v) (%d, %d)", a, b, i, j)
			require.Equal(t, c == 'E', Equal(a, b), "Equal(%#v, %#v) (%d, %d)", a, b, i, j)
			k := CompareKeys(a, b)
			require.Equal(t, c == 'E', k == 0, "CompareKeys(%#v, %#v) = %d", a, b, k)
			require.Equal(t, -k, CompareKeys(b, a))
			if c == '=' {
				// == but not =:=: only numbers, on their own or inside terms, are so.
				require.NotZero(t, k)
			}
		}
	}
}

func TestCompareSortsAsListsSort(t *testing.T) {
	v := readCompareVectors(t)
	idx := make([]int, len(v.terms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int { return Compare(v.terms[i], v.terms[j]) })
	require.Equal(t, v.sorted, idx)

	// The same from the reverse order: only terms that compare equal may move.
	rev := slices.Clone(idx)
	slices.Reverse(rev)
	slices.SortStableFunc(rev, func(i, j int) int { return Compare(v.terms[i], v.terms[j]) })
	for k := range rev {
		require.Zero(t, Compare(v.terms[rev[k]], v.terms[idx[k]]))
	}
}

// Before OTP 26, maps:keys/1 of a small map lists its keys in map key order.
func TestCompareKeysIsMapKeyOrder(t *testing.T) {
	v := readCompareVectors(t)
	require.Len(t, v.keys, 3)
	for _, keys := range v.keys {
		sorted := slices.Clone(keys)
		slices.Reverse(sorted)
		slices.SortFunc(sorted, CompareKeys)
		require.Equal(t, keys, sorted)

		m := make(Map, len(keys))
		for i, k := range keys {
			m[len(keys)-1-i] = MapPair{Key: k, Value: int64(i)}
		}
		require.Equal(t, keys, List(m.Sorted().Keys()))
	}
}

func TestEqualAcrossGoTypes(t *testing.T) {
	equal := [][]Term{
		{"hi", []byte("hi"), BitString{Bytes: []byte("hi"), Bits: 8}},
		{List{int64(104), int64(105)}, ByteList("hi"), []any{104, 105}, []int{104, 105}},
		{int64(1), 1, uint8(1), int32(1), uint64(1), big.NewInt(1), *big.NewInt(1), uintptr(1)},
		{new(big.Int).Lsh(big.NewInt(1), 64), new(big.Int).Lsh(big.NewInt(1), 64)},
		{uint64(math.MaxUint64), new(big.Int).SetUint64(math.MaxUint64)},
		{1.5, float32(1.5)},
		{true, Atom("true")},
		{nil, Atom("nil"), (*big.Int)(nil)},
		{Alias{Node: "a@h", Creation: 1, ID: [3]uint64{1, 2, 3}}, Ref{Node: "a@h", Creation: 1, ID: [3]uint64{1, 2, 3}}},
		{ProcessID{Name: "reg", Node: "n@h"}, Tuple{Atom("reg"), Atom("n@h")}},
		{List(nil), ByteList(nil), []any{}, []string{}, ImproperList{Tail: List(nil)}},
		{ImproperList{Elems: []Term{1}, Tail: List{2, 3}}, List{1, 2, 3}, ImproperList{Elems: []Term{1, 2}, Tail: ByteList{3}},
			ImproperList{Elems: []Term{1}, Tail: []int{2, 3}}},
		{ImproperList{Elems: []Term{1}, Tail: ImproperList{Elems: []Term{2}, Tail: Atom("t")}}, ImproperList{Elems: []Term{1, 2}, Tail: Atom("t")}},
		{[]string{"a", "b"}, List{[]byte("a"), []byte("b")}},
		{Map{{Key: "a", Value: 1}, {Key: Atom("b"), Value: 2}}, Map{{Key: Atom("b"), Value: int64(2)}, {Key: []byte("a"), Value: int64(1)}},
			map[Term]Term{"a": 1, Atom("b"): 2}},
		{map[string]any{"x": 1, "y": 2}, Map{{Key: []byte("y"), Value: int64(2)}, {Key: []byte("x"), Value: int64(1)}}, map[string]int{"x": 1, "y": 2}},
		{Tuple{1, "a"}, Tuple{int64(1), []byte("a")}},
		{&LocalFun{Module: "m", Index: 3, FreeVars: []Term{1}}, LocalFun{Module: "m", Index: 3, FreeVars: []Term{int64(1)}, Pid: PID{Node: "x@y"}}},
		{phash2User{Name: "jo", Age: 3}, Map{{Key: Atom("__struct__"), Value: Atom("Elixir.User")}, {Key: Atom("age"), Value: int64(3)}, {Key: Atom("name"), Value: []byte("jo")}}},
	}
	for _, group := range equal {
		for _, a := range group {
			for _, b := range group {
				require.True(t, Equal(a, b), "Equal(%#v, %#v)", a, b)
				require.Zero(t, Compare(a, b), "Compare(%#v, %#v)", a, b)
				require.Zero(t, CompareKeys(a, b), "CompareKeys(%#v, %#v)", a, b)
				require.Equal(t, Phash2(a, 0), Phash2(b, 0), "Phash2 of %#v and %#v", a, b)
			}
		}
	}
}

func TestEqualDiffers(t *testing.T) {
	negZero := math.Copysign(0, -1)
	pairs := [][2]Term{
		{1, 1.0}, {int64(1), float32(1)}, {0.0, negZero}, {Atom("a"), "a"}, {[]byte("a"), ByteList("a")},
		{BitString{Bytes: []byte{0x80}, Bits: 1}, []byte{0x80}}, {BitString{Bytes: []byte{0x80}, Bits: 1}, BitString{Bytes: []byte{0x80}, Bits: 2}},
		{List{1, 2}, ImproperList{Elems: []Term{1}, Tail: 2}}, {Tuple{1}, List{1}}, {Map{}, List{}},
		{Map{{Key: 1, Value: 1}}, Map{{Key: 1.0, Value: 1}}}, {Map{{Key: 1, Value: 1}}, Map{{Key: 1, Value: 1.0}}},
		{PID{Node: "a@h", ID: 1, Creation: 1}, PID{Node: "a@h", ID: 1, Creation: 2}},
		{Port{Node: "a@h", ID: 1}, Port{Node: "b@h", ID: 1}},
		{Ref{Node: "a@h", ID: [3]uint64{1}}, Ref{Node: "a@h", ID: [3]uint64{2}}},
		{ExportFun{Module: "m", Function: "f", Arity: 1}, ExportFun{Module: "m", Function: "f", Arity: 2}},
		{LocalFun{Module: "m", Index: 1}, LocalFun{Module: "m", Index: 2}},
		{LocalFun{Module: "m", FreeVars: []Term{1}}, LocalFun{Module: "m", FreeVars: []Term{1.0}}},
		{uint64(math.MaxUint64), int64(-1)},
	}
	for _, p := range pairs {
		require.False(t, Equal(p[0], p[1]), "Equal(%#v, %#v)", p[0], p[1])
		require.False(t, Equal(p[1], p[0]), "Equal(%#v, %#v)", p[1], p[0])
		require.NotZero(t, CompareKeys(p[0], p[1]), "CompareKeys(%#v, %#v)", p[0], p[1])
	}
	// Values with no Erlang form equal nothing, not even themselves.
	for _, v := range []Term{math.NaN(), math.Inf(-1), make(chan int), func() {}, BitString{Bits: 3}} {
		require.False(t, Equal(v, v), "%#v", v)
	}
	// == but not =:=.
	require.Zero(t, Compare(1, 1.0))
	require.Zero(t, Compare(0.0, negZero))
	require.Equal(t, -1, CompareKeys(negZero, 0.0))
	require.Equal(t, -1, CompareKeys(2, 1.0)) // every integer before every float
	require.Equal(t, 1, Compare(2, 1.0))
	require.Zero(t, Compare(Map{{Key: Atom("a"), Value: 1}}, Map{{Key: Atom("a"), Value: 1.0}}))
	require.Equal(t, -1, Compare(Map{{Key: 1, Value: 1}}, Map{{Key: 1.0, Value: 1}}))
}

// References ignore trailing zero words, as the BEAM does.
func TestEqualRefTrailingZeros(t *testing.T) {
	short, err := RefFromWords("a@h", 1, []uint32{9})
	require.NoError(t, err)
	long, err := RefFromWords("a@h", 1, []uint32{9, 0, 0, 0, 0})
	require.NoError(t, err)
	three, err := RefFromWords("a@h", 1, []uint32{9, 0, 0})
	require.NoError(t, err)
	for _, r := range []Ref{long, three} {
		require.True(t, Equal(short, r))
		require.Zero(t, CompareKeys(short, r))
		require.Equal(t, Phash2(short, 0), Phash2(r, 0))
	}
	bigger, err := RefFromWords("a@h", 1, []uint32{0, 1})
	require.NoError(t, err)
	require.Equal(t, -1, Compare(short, bigger))
}

func TestCompareNumbers(t *testing.T) {
	two53 := int64(1) << 53
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	less := [][2]Term{
		{two53, float64(two53) + 2}, {float64(two53), two53 + 1}, {-two53 - 1, float64(-two53)},
		{int64(math.MaxInt64), 9.3e18}, {9.2e18, int64(math.MaxInt64)}, {-9.3e18, int64(math.MinInt64)},
		{int64(math.MinInt64), -9.2e18}, {uint64(math.MaxUint64), 1.9e19}, {1.8e19, uint64(math.MaxUint64)},
		{int64(math.MaxInt64), uint64(1 << 63)}, {uint64(math.MaxUint64), big70}, {new(big.Int).Neg(big70), int64(math.MinInt64)},
		{big70, 1.2e21}, {1.1e21, big70}, {-1.2e21, new(big.Int).Neg(big70)}, {2.5, 3}, {-3, -2.5}, {-2.5, -2},
		{math.MaxInt64 - 1, int64(math.MaxInt64)}, {-1.7976931348623157e308, new(big.Int).Neg(big70)},
		{int8(-1), uint8(0)}, {float32(0.5), 1},
	}
	for _, p := range less {
		require.Equal(t, -1, Compare(p[0], p[1]), "%v < %v", p[0], p[1])
		require.Equal(t, 1, Compare(p[1], p[0]), "%v > %v", p[1], p[0])
	}
	require.Zero(t, Compare(float64(1<<62), int64(1<<62)))
	require.Zero(t, Compare(float64(1<<63), uint64(1<<63)))
	require.Zero(t, Compare(1e21, new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil)))
	// Floats that cannot be Erlang terms sort after every term.
	require.Equal(t, 1, Compare(math.Inf(1), []byte("z")))
	require.Equal(t, 1, Compare(math.NaN(), Tuple{}))
}

func TestCompareBitstrings(t *testing.T) {
	bs := func(bits uint8, b ...byte) BitString { return BitString{Bytes: b, Bits: bits} }
	ordered := []Term{
		[]byte{}, bs(1, 0x00), bs(7, 0x00), []byte{0}, []byte{0, 0}, bs(1, 0x80),
		bs(2, 0x80), []byte{0x80}, bs(1, 0x80, 0x00), bs(2, 0xc0), []byte{0xff}, "\xff\x00", bs(3, 0xff, 0xe0),
	}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if i != j && Equal(ordered[i], ordered[j]) {
				want = 0
			}
			require.Equal(t, want, Compare(ordered[i], ordered[j]), "%d %d: %#v vs %#v", i, j, ordered[i], ordered[j])
		}
	}
	// The bits past the end of the last byte do not count.
	require.True(t, Equal(bs(1, 0x7f), bs(1, 0x00)))
	require.Equal(t, Phash2(bs(1, 0x7f), 0), Phash2(bs(1, 0x00), 0))
}

func TestCompareSelfContaining(t *testing.T) {
	a := make([]any, 1)
	a[0] = a
	b := make([]any, 1)
	b[0] = b
	require.False(t, Equal(a, b))
	require.Zero(t, Compare(a, b))
}

func TestMapHelpers(t *testing.T) {
	m := Map{
		{Key: []byte("id"), Value: int64(7)},
		{Key: Atom("name"), Value: []byte("jo")},
		{Key: true, Value: Atom("yes")},
		{Key: Tuple{Atom("k"), int64(1)}, Value: 1.5},
		{Key: Atom("__struct__"), Value: Atom("Elixir.User")},
	}
	v, ok := m.Get("id")
	require.True(t, ok)
	require.Equal(t, int64(7), v)
	v, ok = m.GetString("id")
	require.True(t, ok)
	require.Equal(t, int64(7), v)
	_, ok = m.GetString("name")
	require.False(t, ok)
	v, ok = m.GetAtom("name")
	require.True(t, ok)
	require.Equal(t, []byte("jo"), v)
	v, ok = m.GetAtom("true")
	require.True(t, ok)
	require.Equal(t, Atom("yes"), v)
	v, ok = m.Get(Tuple{Atom("k"), 1})
	require.True(t, ok)
	require.Equal(t, 1.5, v)
	_, ok = m.Get(Tuple{Atom("k"), 1.0})
	require.False(t, ok)
	require.True(t, m.Has(Atom("name")))
	require.False(t, m.Has("nope"))
	require.Equal(t, 1, m.Index(Atom("name")))
	require.Equal(t, -1, m.Index(Atom("none")))
	mod, ok := m.StructModule()
	require.True(t, ok)
	require.Equal(t, Atom("Elixir.User"), mod)
	_, ok = Map{}.StructModule()
	require.False(t, ok)

	m2 := slices.Clone(m).Put("id", int64(8)).Put("new", int64(9))
	require.Len(t, m2, 6)
	v, _ = m2.Get("id")
	require.Equal(t, int64(8), v)
	v, _ = m2.Get([]byte("new"))
	require.Equal(t, int64(9), v)
	m2 = m2.Delete(Atom("name")).Delete(Atom("absent"))
	require.Len(t, m2, 5)
	require.False(t, m2.Has(Atom("name")))
	require.Equal(t, []Term{[]byte("id"), true, Tuple{Atom("k"), int64(1)}, Atom("__struct__"), "new"}, m2.Keys())

	sorted := Map{{Key: 2.0, Value: 1}, {Key: Atom("a"), Value: 2}, {Key: int64(3), Value: 3}, {Key: []byte("b"), Value: 4}}.Sorted()
	require.Equal(t, []Term{int64(3), 2.0, Atom("a"), []byte("b")}, sorted.Keys())
}

func TestTupleHelpers(t *testing.T) {
	ok := Tuple{Atom("ok"), int64(1)}
	require.True(t, ok.IsRecord("ok", 2))
	require.False(t, ok.IsRecord("ok", 3))
	require.False(t, ok.IsRecord("error", 2))
	require.False(t, Tuple{}.IsRecord("", 0))
	require.False(t, Tuple{int64(1)}.IsRecord("ok", 1))
	tag, isAtom := Tuple{true, 1}.Tag()
	require.True(t, isAtom)
	require.Equal(t, Atom("true"), tag)
	_, isAtom = Tuple{[]byte("ok")}.Tag()
	require.False(t, isAtom)
	_, isAtom = Tuple{}.Tag()
	require.False(t, isAtom)
}

// FuzzTermFunctions checks that Phash2, Equal, Compare, CompareKeys and UnmarshalTerm take any
// decodable term without panicking, and that a term equals itself.
func FuzzTermFunctions(f *testing.F) {
	for _, name := range []string{"compare_otp25.txt", "phash2_otp25.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(strings.TrimPrefix(line, "T "))
			if len(fields) == 0 || i%7 != 0 {
				continue
			}
			if raw, err := hex.DecodeString(fields[0]); err == nil {
				f.Add(raw)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		term, err := Decode(data)
		if err != nil {
			return
		}
		h, err := Phash2Checked(term, 0)
		if err != nil {
			t.Fatalf("Phash2Checked of a decoded term: %v", err)
		}
		if Phash2(term, 0) != h {
			t.Fatal("Phash2 and Phash2Checked differ")
		}
		if !Equal(term, term) || Compare(term, term) != 0 || CompareKeys(term, term) != 0 {
			t.Fatalf("%#v is not equal to itself", term)
		}
		var anyV any
		if err := UnmarshalTerm(term, &anyV); err != nil {
			t.Fatal(err)
		}
		var s struct {
			A string         `etf:"a"`
			B []int          `etf:"b"`
			C map[string]any `etf:"c"`
		}
		_ = UnmarshalTerm(term, &s)
		var m map[string]int
		_ = UnmarshalTerm(term, &m)
		var l []string
		_ = UnmarshalTerm(term, &l)
	})
}

// A Map with a key twice is no term (binary_to_term refuses it) and equal to nothing: pairs of a
// that share a key must not both match one pair of b. Before, Equal(a, b) held while
// Equal(b, a) did not, for maps of every size and kind of key.
func TestEqualMapsWithAKeyTwice(t *testing.T) {
	for _, n := range []int{2, smallMapPairs, smallMapPairs + 1, 100} {
		for _, key := range []func(int) Term{
			func(i int) Term { return int64(i) },        // flat keys, by index or by phash2 bucket
			func(i int) Term { return Tuple{int64(i)} }, // keys that hold terms, by kept hashes
		} {
			twice, distinct := make(Map, n), make(Map, n)
			for i := range n {
				twice[i] = MapPair{Key: key(i &^ 1), Value: int64(0)} // 0, 0, 2, 2, ...
				distinct[i] = MapPair{Key: key(i), Value: int64(0)}
			}
			require.False(t, Equal(twice, distinct), "%d pairs, %T keys", n, key(0))
			require.False(t, Equal(distinct, twice), "%d pairs, %T keys", n, key(0))
			require.True(t, Equal(distinct, slices.Clone(distinct)))
		}
	}
	require.False(t, Equal(map[any]any{1: "x", int64(1): "x"}, Map{{int64(1), "x"}, {int64(2), "x"}}))
}
