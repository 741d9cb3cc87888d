package integration

import (
	"embed"
	"fmt"
	"math/big"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
)

//go:embed erl/gobeam_etf_gen.erl
var etfGenSource embed.FS

// Knobs for TestETFRandomTerms, so that a failure can be repeated and a run made longer.
const (
	envETFSeed  = "GOBEAM_ETF_SEED"
	envETFTerms = "GOBEAM_ETF_TERMS"

	defaultETFSeed  = 20261123
	defaultETFTerms = 10_000
	etfBatch        = 1_000
	// failuresShown is how many failures the test reports in full, the smallest first.
	failuresShown = 20
)

// phash2Ranges are the ranges checked, as etf.Phash2 takes them: 0 stands for 2^32. The peer's
// gobeam_etf_gen:ranges() lists the same ranges in Erlang's terms.
var phash2Ranges = []uint32{1, 7, 8, 32, 33, 1 << 27, 0}

// startETFPeer starts a peer with the term generator loaded.
func startETFPeer(t *testing.T) *erlpeer.Peer {
	p := erlpeer.Start(t, erlpeer.Options{CallTimeout: 5 * time.Minute})
	p.MustLoadFS(etfGenSource, "erl/gobeam_etf_gen.erl")
	return p
}

// etfFailure is one term that Go got wrong.
type etfFailure struct {
	size   int64
	batch  int
	index  int64
	kind   etf.Atom
	term   string
	detail string
}

// TestETFRandomTerms has erl make random terms of every type and checks, for each, that Go
// decodes term_to_binary(T), that erl's binary_to_term of Go's re-encoding is T again (=:=), and
// that etf.Phash2 agrees with erlang:phash2 for every range in phash2Ranges and for phash2/1.
func TestETFRandomTerms(t *testing.T) {
	p := startETFPeer(t)
	seed := envInt(t, envETFSeed, defaultETFSeed)
	total := envInt(t, envETFTerms, defaultETFTerms)
	t.Logf("OTP %s, %d terms from seed %d (repeat with %s=%d; more terms with %s)",
		p.OTP(), total, seed, envETFSeed, seed, envETFTerms)

	wantRanges := etf.List{int64(1), int64(7), int64(8), int64(32), int64(33), int64(1 << 27), int64(1 << 32)}
	require.Equal(t, wantRanges, p.MustCall("gobeam_etf_gen", "ranges"),
		"the ranges the peer checks are not the ones Go computes")

	var (
		failures         []etfFailure
		counts           = map[etf.Atom]int64{}
		checked, same    int64
		bytesIn          int
		goTime, beamTime time.Duration
	)
	for batch := 0; batch*etfBatch < total; batch++ {
		n := min(etfBatch, total-batch*etfBatch)
		start := time.Now()
		v, err := p.Call("gobeam_etf_gen", "batch", seed, batch, n)
		require.NoError(t, err)
		originals, ok := v.(etf.List)
		require.True(t, ok, "batch returned %T", v)
		beamTime += time.Since(start)

		start = time.Now()
		results := make(etf.List, len(originals))
		for i, o := range originals {
			b, ok := o.([]byte)
			require.True(t, ok, "batch element %d is %T", i, o)
			bytesIn += len(b)
			results[i] = goRoundTrip(b)
		}
		goTime += time.Since(start)

		start = time.Now()
		v, err = p.Call("gobeam_etf_gen", "check", originals, results)
		require.NoError(t, err)
		beamTime += time.Since(start)
		report := v.(etf.Tuple)
		checked += report[0].(int64)
		same += report[1].(int64)
		for _, pair := range report[2].(etf.Map) {
			counts[pair.Key.(etf.Atom)] += pair.Value.(int64)
		}
		for _, f := range listOf(report[3]) {
			ft := f.(etf.Tuple)
			failures = append(failures, etfFailure{
				size: ft[0].(int64), batch: batch, index: ft[1].(int64), kind: ft[2].(etf.Atom),
				term: string(ft[3].([]byte)), detail: string(ft[4].([]byte)),
			})
		}
	}

	assert.Equal(t, int64(total), checked, "terms checked")
	t.Logf("OTP %s: %d terms (%d bytes of term_to_binary) checked; %d re-encoded byte for byte as "+
		"term_to_binary(T, [{minor_version, 2}]); Go decode+encode+8 hashes %s, erl generate+check %s",
		p.OTP(), checked, bytesIn, same, goTime.Round(time.Millisecond), beamTime.Round(time.Millisecond))
	if len(counts) == 0 {
		return
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].size < failures[j].size })
	for i, f := range failures {
		if i == failuresShown {
			break
		}
		t.Errorf("%s failure (seed %d, batch %d, term %d, %d bytes): %s\n\tterm: %s", f.kind, seed, f.batch, f.index, f.size, f.detail, f.term)
	}
	t.Errorf("OTP %s, seed %d: failures by kind: %v (of %d terms; the smallest shown above)", p.OTP(), seed, counts, checked)
}

// goRoundTrip is what Go makes of one term_to_binary result: {ok, Encode(Decode(b)), Hashes}
// with the phash2 values for phash2Ranges and phash2/1, or {error, Stage, Message}.
func goRoundTrip(b []byte) (result etf.Term) {
	stage := etf.Atom("decode")
	defer func() {
		if r := recover(); r != nil {
			result = etf.Tuple{etf.Atom("error"), stage, fmt.Sprintf("panic: %v\n%s", r, debug.Stack())}
		}
	}()
	term, err := etf.Decode(b)
	if err != nil {
		return etf.Tuple{etf.Atom("error"), stage, err.Error()}
	}
	stage = "encode"
	out, err := etf.Encode(term)
	if err != nil {
		return etf.Tuple{etf.Atom("error"), stage, err.Error()}
	}
	stage = "phash2"
	hashes := make(etf.List, 0, len(phash2Ranges)+1)
	for _, r := range phash2Ranges {
		hashes = append(hashes, etf.Phash2(term, r))
	}
	hashes = append(hashes, etf.Phash2Default(term))
	return etf.Tuple{etf.Atom("ok"), out, hashes}
}

// TestPhash2IdentityVectors: phash2 hashes only the number of a pid, the first word of a
// reference and the id of a port, so each names the same partition on every node. erl's values
// say so, and Go's must equal them.
func TestPhash2IdentityVectors(t *testing.T) {
	p := startETFPeer(t)
	// Values erl gives; the same on every release and node.
	known := map[etf.Atom]uint32{
		"pid_number_0": 2858162279,
		"pid_number_1": 2870503209,
	}
	groups := listOf(p.MustCall("gobeam_etf_gen", "identity_vectors"))
	require.Len(t, groups, 6)
	for _, g := range groups {
		gt := g.(etf.Tuple)
		name := gt[0].(etf.Atom)
		cases := listOf(gt[1])
		require.NotEmpty(t, cases, name)
		groupHash := uint32(cases[0].(etf.Tuple)[1].(int64))
		if want, ok := known[name]; ok {
			assert.Equal(t, want, groupHash, "%s: erl's phash2", name)
		}
		for i, c := range cases {
			ct := c.(etf.Tuple)
			erlHash := uint32(ct[1].(int64))
			assert.Equal(t, groupHash, erlHash, "%s[%d]: erl hashes it unlike the rest of its group", name, i)
			term, err := etf.Decode(ct[0].([]byte))
			require.NoError(t, err, "%s[%d]", name, i)
			assert.Equal(t, erlHash, etf.Phash2(term, 0), "%s[%d]: etf.Phash2(%#v, 2^32)", name, i, term)
			if pid, ok := term.(etf.PID); ok {
				assert.Equal(t, erlHash, etf.Phash2PID(pid, 0), "%s[%d]: etf.Phash2PID", name, i)
			}
		}
	}
}

// elixirUser is an Elixir struct as the etf package documents it.
type elixirUser struct {
	_    struct{} `etf:"__struct__,Elixir.MyApp.User"`
	Name string   `etf:"name"`
	Age  int      `etf:"age,omitempty"`
}

type plainStruct struct {
	ID    int64
	Tags  []string `etf:"tags"`
	Skip  string   `etf:"-"`
	inner int
}

// TestEncodeGoValues: Go values (not decoded terms) encode to the Erlang terms the etf
// documentation promises, and hash like them.
func TestEncodeGoValues(t *testing.T) {
	p := startETFPeer(t)
	ref, err := etf.RefFromWords("n@h", 4, []uint32{1, 2, 3, 4, 5})
	require.NoError(t, err)
	two100 := new(big.Int).Lsh(big.NewInt(1), 100)
	longBytes := make(etf.ByteList, 70000)
	for i := range longBytes {
		longBytes[i] = 7
	}
	bigTuple := make(etf.Tuple, 300)
	for i := range bigTuple {
		bigTuple[i] = i + 1
	}
	cases := []struct {
		value etf.Term
		erl   string
	}{
		{"hello", `<<"hello">>`},
		{[]byte{1, 2, 255}, `<<1, 2, 255>>`},
		{[3]byte{1, 2, 3}, `<<1, 2, 3>>`},
		{"", `<<>>`},
		{etf.Atom("ok"), `ok`},
		{etf.Atom("héllo wörld 😀"), `'héllo wörld 😀'`},
		{etf.Atom(""), `''`},
		{true, `true`},
		{false, `false`},
		{nil, `nil`},
		{0, `0`},
		{255, `255`},
		{256, `256`},
		{-1, `-1`},
		{int8(-128), `-128`},
		{int64(1) << 40, `1 bsl 40`},
		{int64(-1) << 63, `-(1 bsl 63)`},
		{uint64(1<<64 - 1), `(1 bsl 64) - 1`},
		{uint32(1 << 31), `1 bsl 31`},
		{two100, `1 bsl 100`},
		{new(big.Int).Neg(two100), `-(1 bsl 100)`},
		{3.5, `3.5`},
		{float32(0.5), `0.5`},
		{1e300, `1.0e300`},
		{etf.List{1, "a"}, `[1, <<"a">>]`},
		{[]any{}, `[]`},
		{[]int{1, 2, 300}, `[1, 2, 300]`},
		{[]string{"a", "b"}, `[<<"a">>, <<"b">>]`},
		{etf.ByteList("abc"), `"abc"`},
		{longBytes, `lists:duplicate(70000, 7)`},
		{etf.ImproperList{Elems: []etf.Term{1}, Tail: 2}, `[1 | 2]`},
		{etf.Tuple{}, `{}`},
		{etf.Tuple{etf.Atom("a"), 1, "b"}, `{a, 1, <<"b">>}`},
		{bigTuple, `list_to_tuple(lists:seq(1, 300))`},
		{etf.BitString{Bytes: []byte{0xA0}, Bits: 3}, `<<5:3>>`},
		{etf.BitString{Bytes: []byte{1, 0x80}, Bits: 1}, `<<1, 1:1>>`},
		{map[string]int{"b": 2, "a": 1}, `#{<<"a">> => 1, <<"b">> => 2}`},
		{map[etf.Atom]any{"k": "v", "n": nil}, `#{k => <<"v">>, n => nil}`},
		{map[int]bool{}, `#{}`},
		{etf.Map{{Key: 1, Value: etf.Atom("int")}, {Key: 1.0, Value: etf.Atom("float")}}, `#{1 => int, 1.0 => float}`},
		{elixirUser{Name: "jo"}, `#{'__struct__' => 'Elixir.MyApp.User', name => <<"jo">>}`},
		{elixirUser{Name: "jo", Age: 3}, `#{'__struct__' => 'Elixir.MyApp.User', name => <<"jo">>, age => 3}`},
		{plainStruct{ID: 7, Tags: []string{"x"}, Skip: "no", inner: 3}, `#{'ID' => 7, tags => [<<"x">>]}`},
		{etf.ExportFun{Module: "lists", Function: "map", Arity: 2}, `fun lists:map/2`},
		{etf.PID{Node: "n@h", ID: 5, Creation: 1}, `gobeam_etf_gen:pid('n@h', 5, 0, 1)`},
		{etf.PID{Node: "n@h", ID: 7<<32 | 5, Creation: 1 << 31}, `gobeam_etf_gen:pid('n@h', 5, 7, 1 bsl 31)`},
		{ref, `gobeam_etf_gen:ref('n@h', 4, [1, 2, 3, 4, 5])`},
		{etf.Alias(ref), `gobeam_etf_gen:ref('n@h', 4, [1, 2, 3, 4, 5])`},
		{etf.Port{Node: "n@h", ID: 9, Creation: 2}, `gobeam_etf_gen:port('n@h', 9, 2)`},
		{etf.Port{Node: "n@h", ID: 1 << 40, Creation: 2}, `gobeam_etf_gen:port('n@h', 1 bsl 40, 2)`},
		{etf.ProcessID{Name: "reg", Node: "n@h"}, `{reg, 'n@h'}`},
		{&plainStruct{ID: 1}, `#{'ID' => 1, tags => []}`},
	}
	input := make(etf.List, 0, len(cases))
	for i, c := range cases {
		b, err := etf.Encode(c.value)
		require.NoError(t, err, "case %d: Encode(%#v)", i, c.value)
		h, err := etf.Phash2Checked(c.value, 0)
		require.NoError(t, err, "case %d: Phash2Checked(%#v)", i, c.value)
		input = append(input, etf.Tuple{b, c.erl, h})
	}
	for _, f := range listOf(p.MustCall("gobeam_etf_gen", "check_go_values", input)) {
		ft := f.(etf.Tuple)
		i := ft[0].(int64)
		t.Errorf("case %d, Go %#v as %s: %s", i, cases[i].value, cases[i].erl, ft[1].([]byte))
	}
}

// listOf is the elements of a decoded list: List, or ByteList when erl sent a list of bytes.
func listOf(t etf.Term) []etf.Term {
	switch l := t.(type) {
	case etf.List:
		return l
	case etf.ByteList:
		out := make([]etf.Term, len(l))
		for i, b := range l {
			out[i] = int64(b)
		}
		return out
	case nil:
		return nil
	}
	panic(fmt.Sprintf("not a list: %#v", t))
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q is not a non-negative integer", name, s)
	}
	return n
}
