package etf

import (
	"bufio"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// phash2Ranges are the ranges of the vector files, in their column order; the last column is
// phash2/1.
var phash2Ranges = []uint32{1, 7, 8, 32, 33, 1 << 27, 0}

type phash2Vector struct {
	line   int
	hex    string
	term   Term
	hashes []uint32 // one per phash2Ranges, then phash2/1
}

func readPhash2Vectors(t *testing.T, name string) []phash2Vector {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	var out []phash2Vector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Fields(text)
		require.Len(t, fields, 1+len(phash2Ranges)+1, "%s:%d", name, line)
		b, err := hex.DecodeString(fields[0])
		require.NoError(t, err, "%s:%d", name, line)
		term, err := Decode(b)
		require.NoError(t, err, "%s:%d: decode %s", name, line, fields[0])
		v := phash2Vector{line: line, hex: fields[0], term: term}
		for _, s := range fields[1:] {
			h, err := strconv.ParseUint(s, 10, 32)
			require.NoError(t, err, "%s:%d", name, line)
			v.hashes = append(v.hashes, uint32(h))
		}
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

// The vectors are erlang:phash2 of about 950 terms on OTP 25, 27 and 29: every type, the
// atom, integer and byte-run boundaries, nested and mixed terms, terms of other nodes.
func TestPhash2Vectors(t *testing.T) {
	for _, name := range []string{"phash2_otp25.txt", "phash2_otp27.txt", "phash2_otp29.txt"} {
		t.Run(name, func(t *testing.T) {
			vectors := readPhash2Vectors(t, name)
			require.Greater(t, len(vectors), 900)
			for _, v := range vectors {
				for i, rng := range phash2Ranges {
					require.Equal(t, v.hashes[i], Phash2(v.term, rng), "%s:%d range %d: %s (%#v)", name, v.line, rng, v.hex, v.term)
				}
				require.Equal(t, v.hashes[len(phash2Ranges)], Phash2Default(v.term), "%s:%d phash2/1: %s", name, v.line, v.hex)
				h, err := Phash2Checked(v.term, 0)
				require.NoError(t, err)
				require.Equal(t, v.hashes[len(phash2Ranges)-1], h)
			}
		})
	}
}

// Values from the notes on phash2, checked by hand against OTP 25.
func TestPhash2KnownValues(t *testing.T) {
	cases := []struct {
		term Term
		want uint32
	}{
		{List(nil), 3468870702},
		{Atom("abc"), 26499},
		{int64(0), 3175731469},
		{int64(1), 539485162},
		{int64(-1), 1117813597},
		{[]byte{}, 147926629},
		{[]byte("abc"), 1306188027},
		{0.0, 423528920},
		{math.Copysign(0, -1), 423528920},
		{Tuple{}, 221703996},
		{PID{Node: "a@b", ID: 0}, 2858162279},
		{PID{Node: "a@b", ID: 1}, 2870503209},
		{PID{Node: "other@host", ID: 7<<32 | 1, Creation: 99}, 2870503209},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Phash2(c.term, 0), "%#v", c.term)
	}
	require.Equal(t, uint32(39679005), Phash2Default(Map{}))
	require.Equal(t, uint32(2870503209), Phash2PID(PID{ID: 1}, 0))
	require.Equal(t, uint32(2870503209%1000), Phash2PID(PID{ID: 1}, 1000))
}

type phash2Named int
type phash2Text string
type phash2Bytes []byte

type phash2User struct {
	_    struct{} `etf:"__struct__,Elixir.User"`
	Name string   `etf:"name"`
	Age  int      `etf:"age"`
	Skip int      `etf:"-"`
}

type phash2Marshal struct{ n int }

func (m phash2Marshal) MarshalTerm() (Term, error) { return Tuple{Atom("m"), int64(m.n)}, nil }

type phash2BadMarshal struct{}

func (phash2BadMarshal) MarshalTerm() (Term, error) { return nil, errors.New("no") }

// Go values hash as the term Encode writes for them.
func TestPhash2GoValues(t *testing.T) {
	big1 := new(big.Int).Lsh(big.NewInt(1), 100)
	n := 5
	values := []Term{
		"", "abc", strings.Repeat("x", 100), []byte("abc"), [3]byte{1, 2, 3},
		0, 1, -1, 255, 256, 1 << 27, -(1 << 27), -(1 << 27) - 1, math.MaxInt64, math.MinInt64,
		int8(-5), int16(300), int32(-70000), uint(7), uint8(200), uint16(65535), uint32(math.MaxUint32),
		uint64(math.MaxUint64), uint64(1 << 63), uintptr(9), big1, new(big.Int).Neg(big1), *big1,
		big.NewInt(5), big.NewInt(-5), big.NewInt(1 << 40), (*big.Int)(nil),
		float32(1.5), float32(-0.25), 1.5, true, false, nil,
		[]any{1, "a", Atom("b")}, []any{}, []any{1, 2, 3, 4, 5, 256, 6},
		[]string{"a", "b"}, []string{}, []int{1, 2, 300}, []Atom{"x", "y"},
		map[string]any{"a": 1, "b": []any{2}}, map[Atom]any{"a": 1, "b": 2}, map[any]any{1: "x", Atom("k"): 2.5},
		map[string]int{"x": 1, "y": 2}, map[int]string{1: "one"}, map[string]any{},
		ProcessID{Name: "reg", Node: "n@h"}, Alias{Node: "n@h", Creation: 3, ID: [3]uint64{1, 2, 3}},
		phash2Named(42), phash2Text("txt"), phash2Bytes{1, 2}, &n, (*int)(nil),
		phash2User{Name: "jo", Age: 42}, &phash2User{Name: "al"},
		phash2Marshal{7}, []any{phash2Marshal{1}, phash2Marshal{2}},
		Tuple{1, "x", []byte("y"), float32(2)}, List{int8(1), uint16(2), "s"},
		ImproperList{Elems: []Term{1, 2}, Tail: 3}, ImproperList{Elems: []Term{1}, Tail: nil},
		ImproperList{Elems: []Term{1, 2}, Tail: ByteList("ab")}, ImproperList{Elems: []Term{1, 2}, Tail: List{3, Atom("a")}},
		ImproperList{Elems: []Term{Atom("a")}, Tail: ImproperList{Elems: []Term{1, 2}, Tail: 3}},
		ImproperList{Elems: nil, Tail: 5}, ImproperList{Elems: []Term{1}, Tail: List(nil)},
		ImproperList{Elems: []Term{1, 2, 3}, Tail: ByteList("abcdefg")},
		BitString{Bytes: []byte{0xff}, Bits: 3}, BitString{Bytes: []byte{1, 2}, Bits: 8}, BitString{Bits: 8},
		Map{{Key: "k", Value: int32(3)}, {Key: []byte("j"), Value: nil}},
		&LocalFun{Module: "m", Index: 1, OldUniq: 2, FreeVars: []Term{1}}, (*LocalFun)(nil),
		ExportFun{Module: "lists", Function: "map", Arity: 2},
	}
	for _, v := range values {
		b, err := Encode(v)
		require.NoError(t, err, "%#v", v)
		term, err := Decode(b)
		require.NoError(t, err, "%#v", v)
		want := Phash2(term, 0)
		got, err := Phash2Checked(v, 0)
		require.NoError(t, err, "%#v", v)
		require.Equal(t, want, got, "%#v (as %#v)", v, term)
		require.Equal(t, want, Phash2(v, 0), "%#v", v)
	}
	// Spot checks against the vectors: "abc" as a binary, 2^64-1 as a bignum.
	require.Equal(t, uint32(1306188027), Phash2("abc", 0))
	require.Equal(t, Phash2(Tuple{Atom("reg"), Atom("n@h")}, 0), Phash2(ProcessID{Name: "reg", Node: "n@h"}, 0))
	require.Equal(t, Phash2(Ref{Node: "n@h", ID: [3]uint64{9}}, 0), Phash2(Alias{Node: "x@y", ID: [3]uint64{9}}, 0))
}

// Lists hash alike however they are built: List, []any, ByteList, ImproperList with list tails.
func TestPhash2ListForms(t *testing.T) {
	want := Phash2(List{int64(1), int64(2), int64(3), int64(4), int64(5)}, 0)
	forms := []Term{
		ByteList{1, 2, 3, 4, 5},
		[]any{1, 2, 3, 4, 5},
		[]int{1, 2, 3, 4, 5},
		ImproperList{Elems: []Term{1, 2}, Tail: ByteList{3, 4, 5}},
		ImproperList{Elems: []Term{1, 2, 3}, Tail: List{4, 5}},
		ImproperList{Elems: []Term{1}, Tail: ImproperList{Elems: []Term{2, 3}, Tail: []any{4, 5}}},
		ImproperList{Elems: []Term{1, 2, 3, 4, 5}, Tail: List{}},
	}
	for _, f := range forms {
		require.Equal(t, want, Phash2(f, 0), "%#v", f)
	}
	require.NotEqual(t, want, Phash2(ImproperList{Elems: []Term{1, 2, 3, 4}, Tail: 5}, 0))
}

func TestPhash2Unsupported(t *testing.T) {
	cyclic := make([]any, 1)
	cyclic[0] = cyclic
	deep := Term(List(nil))
	for i := 0; i < DefaultMaxDepth+5; i++ {
		deep = Tuple{deep}
	}
	cases := []struct {
		value Term
		check func(error) bool
	}{
		{make(chan int), func(err error) bool { var e *UnsupportedTypeError; return errors.As(err, &e) }},
		{func() {}, func(err error) bool { var e *UnsupportedTypeError; return errors.As(err, &e) }},
		{math.NaN(), func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{List{1, math.Inf(1)}, func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{float32(math.Inf(-1)), func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{Atom("\xff"), func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{Atom(strings.Repeat("a", 256)), func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{Atom(strings.Repeat("é", 256)), func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{BitString{}, func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{BitString{Bytes: []byte{1}, Bits: 9}, func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{BitString{Bits: 3}, func(err error) bool { var e *UnsupportedValueError; return errors.As(err, &e) }},
		{phash2BadMarshal{}, func(err error) bool { var e *MarshalerError; return errors.As(err, &e) }},
		{map[string]any{"x": complex(1, 2)}, func(err error) bool { var e *UnsupportedTypeError; return errors.As(err, &e) }},
		{cyclic, func(err error) bool { return errors.Is(err, ErrTooDeep) }},
		{deep, func(err error) bool { return errors.Is(err, ErrTooDeep) }},
	}
	for _, c := range cases {
		_, err := Phash2Checked(c.value, 0)
		require.Error(t, err, "%T", c.value)
		require.True(t, c.check(err), "%T: %v", c.value, err)
		require.Equal(t, uint32(0), Phash2(c.value, 7), "%T", c.value)
	}
	// 255 characters are fine, in any script.
	_, err := Phash2Checked(Atom(strings.Repeat("é", 255)), 0)
	require.NoError(t, err)
}

func TestPhash2DoesNotAllocate(t *testing.T) {
	terms := []Term{
		PID{Node: "a@b", ID: 5}, Atom("hello"), []byte("some binary of a few bytes"), int64(1 << 40),
		List{int64(1), Atom("x"), []byte("y")}, ByteList("abcdef"), Tuple{int64(1), 2.5},
		Map{{Key: []byte("k"), Value: Map{{Key: Atom("a"), Value: int64(1)}}}},
		ImproperList{Elems: []Term{int64(1)}, Tail: Atom("t")}, BitString{Bytes: []byte{1, 0x80}, Bits: 1},
		Ref{Node: "a@b", ID: [3]uint64{1, 2, 3}}, Port{Node: "a@b", ID: 7}, new(big.Int).Lsh(big.NewInt(3), 200),
		"a string", []any{1, "x"}, map[string]any{"a": 1}, true, nil,
		ExportFun{Module: "m", Function: "f", Arity: 1}, LocalFun{Module: "m", FreeVars: []Term{int64(1)}},
	}
	var sink uint32 // so that no call is optimised away
	for _, term := range terms {
		allocs := testing.AllocsPerRun(100, func() { sink += Phash2(term, 1000) })
		require.Zero(t, allocs, "%#v", term)
	}
	pid := PID{Node: "a@b", ID: 77}
	require.Zero(t, testing.AllocsPerRun(100, func() { sink += Phash2PID(pid, 64) }))
	_ = sink
}

// The items of the benchmarks hash as erl computed (testdata/phash2_bench.txt).
func TestPhash2BenchItems(t *testing.T) {
	f, err := os.ReadFile(filepath.Join("testdata", "phash2_bench.txt"))
	require.NoError(t, err)
	want := map[string]uint32{}
	for _, line := range strings.Split(string(f), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 2 || strings.HasPrefix(line, "#") {
			continue
		}
		h, err := strconv.ParseUint(fields[1], 10, 32)
		require.NoError(t, err)
		want[fields[0]] = uint32(h)
	}
	items := phash2BenchItems()
	require.Len(t, want, len(items))
	for _, it := range items {
		require.Equal(t, want[it.name], Phash2(it.term, 0), it.name)
	}
	require.Equal(t, want["pid"], Phash2PID(items[len(items)-1].term.(PID), 0))
}

// Map pairs are hashed two at a time with interleaved mixes where the terms allow: every
// combination of leaf kinds must give what hashing the pairs one by one gives.
func TestPhash2PairsInterleaved(t *testing.T) {
	leaves := []Term{
		[]byte{}, []byte("a"), []byte("key-12345"), []byte("exactly12byt"), []byte("thirteen byte"),
		[]byte(strings.Repeat("z", 40)), int64(0), int64(7), int64(-3), int64(1 << 27), int64(-(1 << 27) - 1),
		int64(math.MaxInt64), int64(math.MinInt64), true, false, Atom("ok"), Atom("ÿ"), List(nil), List{int64(1)},
		PID{Node: "a@b", ID: 3}, 2.5, Tuple{}, Map{}, ByteList("ab"), Atom(""),
	}
	sequential := func(m Map) uint32 {
		var s hashState
		var x uint32
		for _, p := range m {
			x ^= s.term(s.term(0, p.Key, 1), p.Value, 1)
		}
		return hash1(hash1(0, uint32(len(m)), hconst16), x, hconst19)
	}
	for _, k1 := range leaves {
		for _, v1 := range leaves {
			for _, k2 := range leaves[:10] {
				for _, v2 := range leaves[5:] {
					m := Map{{Key: k1, Value: v1}, {Key: k2, Value: v2}}
					require.Equal(t, sequential(m), Phash2(m, 0), "%#v", m)
				}
			}
		}
	}
	// A pair hash that is 0 before its value: an atom value is then taken as it is.
	require.Equal(t, sequential(Map{{Key: []byte("x"), Value: Atom("a")}, {Key: Atom("b"), Value: Atom("c")}}),
		Phash2(Map{{Key: []byte("x"), Value: Atom("a")}, {Key: Atom("b"), Value: Atom("c")}}, 0))
}
