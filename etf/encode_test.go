package etf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func encodeHex(t *testing.T, v any) string {
	t.Helper()
	b, err := Encode(v)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// decoded encodes v and decodes the result.
func decoded(t *testing.T, v any) Term {
	t.Helper()
	b, err := Encode(v)
	require.NoError(t, err)
	d, err := Decode(b)
	require.NoError(t, err, "%x", b)
	return d
}

func TestEncodeIntegers(t *testing.T) {
	// The bytes are erlang:term_to_binary's (see the int and big vectors of codec_vectors.txt).
	cases := []struct {
		v    any
		want string
	}{
		{0, "836100"},
		{int8(-1), "8362ffffffff"},
		{int16(255), "8361ff"},
		{int32(256), "836200000100"},
		{uint8(255), "8361ff"},
		{uint16(65535), "83620000ffff"},
		{uint32(math.MaxInt32), "83627fffffff"},
		{uint32(math.MaxInt32 + 1), "836e040000000080"},
		{int64(math.MinInt32), "836280000000"},
		{int64(math.MinInt32 - 1), "836e040101000080"},
		{int64(math.MaxInt64), "836e0800ffffffffffffff7f"},
		{int64(math.MinInt64), "836e08010000000000000080"},
		{uint64(math.MaxUint64), "836e0800ffffffffffffffff"},
		{uint(1 << 63), "836e08000000000000000080"},
		{uintptr(7), "836107"},
		{big.NewInt(5), "836105"},
		{big.NewInt(-5), "8362fffffffb"},
		{*big.NewInt(1 << 40), "836e0600000000000001"},
		{new(big.Int).Lsh(big.NewInt(1), 64), "836e0900000000000000000001"},
		{new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 64)), "836e0901000000000000000001"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, encodeHex(t, c.v), "%T %v", c.v, c.v)
	}
	// Beyond 255 bytes of digits: LARGE_BIG_EXT.
	z := new(big.Int).Lsh(big.NewInt(1), 2040)
	b, err := Encode(z)
	require.NoError(t, err)
	require.Equal(t, []byte{131, 111, 0, 0, 1, 0, 0}, b[:7])
	require.Len(t, b, 7+256)
	back, err := Decode(b)
	require.NoError(t, err)
	require.Zero(t, z.Cmp(back.(*big.Int)))
}

func TestEncodeScalars(t *testing.T) {
	require.Equal(t, "8377036e696c", encodeHex(t, nil))
	require.Equal(t, "83770474727565", encodeHex(t, true))
	require.Equal(t, "83770566616c7365", encodeHex(t, false))
	require.Equal(t, "83463ff8000000000000", encodeHex(t, 1.5))
	require.Equal(t, "83463ff8000000000000", encodeHex(t, float32(1.5)))
	require.Equal(t, "836d00000003616263", encodeHex(t, "abc"))
	require.Equal(t, "836d00000003616263", encodeHex(t, []byte("abc")))
	require.Equal(t, "836d00000000", encodeHex(t, []byte(nil)))
	require.Equal(t, "836d00000002ff01", encodeHex(t, [2]byte{0xff, 1}))
	require.Equal(t, "837702c3bf", encodeHex(t, Atom("ÿ")))
	require.Equal(t, "834d000000010320", encodeHex(t, BitString{Bytes: []byte{0x3f}, Bits: 3}), "unused bits are cleared")
	require.Equal(t, "836d00000001ff", encodeHex(t, BitString{Bytes: []byte{0xff}, Bits: 8}))
	require.Equal(t, "836a", encodeHex(t, List(nil)))
	require.Equal(t, "836a", encodeHex(t, []int{}))
	require.Equal(t, "836a", encodeHex(t, ByteList{}))
	require.Equal(t, "836b0003616263", encodeHex(t, ByteList("abc")))
	require.Equal(t, "83680277036e6f6e770461406240", encodeHex(t, ProcessID{Name: "non", Node: "a@b@"}))
	require.Equal(t, "836100", encodeHex(t, ImproperList{Tail: 0}), "[ | 0] is 0")

	type myString string
	type myBytes []byte
	type myInt int16
	require.Equal(t, "836d000000026869", encodeHex(t, myString("hi")))
	require.Equal(t, "836d000000026869", encodeHex(t, myBytes("hi")))
	require.Equal(t, "8362fffffff6", encodeHex(t, myInt(-10)))

	x := 7
	px := &x
	require.Equal(t, "836107", encodeHex(t, &px))
	var nilp *int
	require.Equal(t, "8377036e696c", encodeHex(t, nilp))
	require.Equal(t, "8377036e696c", encodeHex(t, (*big.Int)(nil)))
}

func TestEncodeByteListBeyondStringExt(t *testing.T) {
	l := bytes.Repeat([]byte{1}, 70000)
	b, err := Encode(ByteList(l))
	require.NoError(t, err)
	// What erl writes for lists:duplicate(70000, 1): LIST_EXT of SMALL_INTEGER_EXT.
	require.Equal(t, []byte{131, 108, 0, 1, 17, 112, 97, 1, 97, 1}, b[:10])
	require.Len(t, b, 1+5+2*70000+1)
	d, err := Decode(b)
	require.NoError(t, err)
	require.Len(t, d, 70000)
	require.True(t, equalTerms(ByteList(l), d))

	b, err = Encode(ByteList(bytes.Repeat([]byte{2}, 65535)))
	require.NoError(t, err)
	require.Equal(t, []byte{131, 107, 255, 255, 2}, b[:5])
}

func TestEncodePortsAndRefs(t *testing.T) {
	require.Equal(t, "8359770161000000050000000c", encodeHex(t, Port{Node: "a", ID: 5, Creation: 12}))
	require.Equal(t, "8378770161000000010000000000000009", encodeHex(t, Port{Node: "a", ID: 1 << 32, Creation: 9}))
	r := mustRef("a", 3, 1, 2, 3, 4)
	require.Equal(t, "835a00047701610000000300000001000000020000000300000004", encodeHex(t, r))
	require.Equal(t, "835a00047701610000000300000001000000020000000300000004", encodeHex(t, Alias(r)))
	require.Equal(t, r, decoded(t, Alias(r)))
	// An Ergo reference: three words, ID[2] a deadline.
	ergo := Ref{Node: "go@h", Creation: 5, ID: [3]uint64{12, 0, 1900000000}}
	require.Equal(t, ergo, decoded(t, ergo))
}

func TestEncodeValueErrors(t *testing.T) {
	type hasChan struct{ C chan int }
	bad := []struct {
		v    any
		want any // *UnsupportedTypeError or *UnsupportedValueError
	}{
		{make(chan int), &UnsupportedTypeError{}},
		{func() {}, &UnsupportedTypeError{}},
		{complex(1, 2), &UnsupportedTypeError{}},
		{hasChan{}, &UnsupportedTypeError{}},
		{[]any{1, make(chan int)}, &UnsupportedTypeError{}},
		{map[string]any{"f": func() {}}, &UnsupportedTypeError{}},
		{math.NaN(), &UnsupportedValueError{}},
		{math.Inf(-1), &UnsupportedValueError{}},
		{float32(math.Inf(1)), &UnsupportedValueError{}},
		{Atom("\xff"), &UnsupportedValueError{}},
		{Atom(strings.Repeat("é", 256)), &UnsupportedValueError{}},
		{BitString{Bytes: []byte{1}, Bits: 0}, &UnsupportedValueError{}},
		{BitString{Bytes: []byte{1}, Bits: 9}, &UnsupportedValueError{}},
		{BitString{Bits: 3}, &UnsupportedValueError{}},
		{PID{Node: "a", Creation: -1}, &UnsupportedValueError{}},
		{PID{Node: "a", Creation: 1 << 32}, &UnsupportedValueError{}},
		{Ref{Node: "a", Creation: -1}, &UnsupportedValueError{}},
		{LocalFun{Raw: []byte{112, 0}}, &UnsupportedValueError{}},
		{LocalFun{Module: "m", OldUniq: 1 << 40}, &UnsupportedValueError{}},
		{PID{Node: "\xc0"}, &UnsupportedValueError{}},
	}
	for _, c := range bad {
		dst := []byte("keep")
		out, err := Append(dst, c.v)
		require.Error(t, err, "%#v", c.v)
		require.Equal(t, []byte("keep"), out, "dst comes back as it was")
		switch c.want.(type) {
		case *UnsupportedTypeError:
			var e *UnsupportedTypeError
			require.ErrorAs(t, err, &e, "%#v: %v", c.v, err)
		case *UnsupportedValueError:
			var e *UnsupportedValueError
			require.ErrorAs(t, err, &e, "%#v: %v", c.v, err)
		}
	}
	// A 255-character atom of 2-byte characters is fine: ATOM_UTF8_EXT.
	long := Atom(strings.Repeat("é", 255))
	b, err := Encode(long)
	require.NoError(t, err)
	require.Equal(t, []byte{131, 118, 1, 254}, b[:4])
	require.Equal(t, long, decoded(t, long))
}

func TestEncodeCycles(t *testing.T) {
	l := List{nil}
	l[0] = l
	_, err := Encode(l)
	require.ErrorIs(t, err, ErrTooDeep)

	type node struct {
		Next *node
	}
	n := &node{}
	n.Next = n
	_, err = Encode(n)
	require.ErrorIs(t, err, ErrTooDeep)

	m := map[string]any{}
	m["self"] = m
	_, err = Encode(m)
	require.ErrorIs(t, err, ErrTooDeep)

	deep := Tuple{}
	for i := 0; i < 100; i++ {
		deep = Tuple{deep}
	}
	_, err = (&Encoder{MaxDepth: 100}).Encode(deep)
	require.ErrorIs(t, err, ErrTooDeep)
	_, err = (&Encoder{MaxDepth: 101}).Encode(deep)
	require.NoError(t, err)
}

type cacheByIndex map[Atom]uint8

func (c cacheByIndex) CacheIndex(a Atom) (uint8, bool) {
	i, ok := c[a]
	return i, ok
}

func TestEncoderAtomCache(t *testing.T) {
	e := Encoder{AtomCache: cacheByIndex{"reg": 2, "a@b": 0}}
	b, err := e.AppendTerm(nil, Tuple{Atom("reg"), Atom("other"), PID{Node: "a@b", ID: 1, Creation: 5}})
	require.NoError(t, err)
	require.Equal(t, []byte{104, 3, 82, 2, 119, 5, 'o', 't', 'h', 'e', 'r', 88, 82, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5}, b)
	d := Decoder{AtomCache: []Atom{"a@b", "", "reg"}}
	got, rest, err := d.DecodeTerm(b)
	require.NoError(t, err)
	require.Empty(t, rest)
	require.Equal(t, Tuple{Atom("reg"), Atom("other"), PID{Node: "a@b", ID: 1, Creation: 5}}, got)

	b, err = e.Append([]byte{1}, Atom("reg"))
	require.NoError(t, err)
	require.Equal(t, []byte{1, 131, 82, 2}, b)
}

// A Go map whose keys are no plain terms (references, structs, any) is checked for keys that
// are the same term also when atoms go into the atom cache, as on a distribution connection.
func TestEncoderAtomCacheMapKeys(t *testing.T) {
	type key struct{ Name string }
	e := Encoder{AtomCache: cacheByIndex{"a@b": 0, "Name": 1}}
	d := Decoder{AtomCache: []Atom{"a@b", "Name"}}
	r1 := Ref{Node: "a@b", Creation: 1, ID: [3]uint64{1, 2, 3}}
	r2 := Ref{Node: "a@b", Creation: 1, ID: [3]uint64{4, 5, 6}}
	for _, m := range []Term{
		map[Ref]int{r1: 1, r2: 2},
		map[key]int{{"x"}: 1, {"y"}: 2},
		map[any]int{key{"x"}: 1, int64(2): 2},
	} {
		b, err := e.AppendTerm(nil, m)
		require.NoError(t, err, "%T", m)
		got, _, err := d.DecodeTerm(b)
		require.NoError(t, err)
		require.Len(t, got, 2)
	}
	type sameKey struct{ Name string }
	_, err := e.AppendTerm(nil, map[any]int{key{"x"}: 1, sameKey{"x"}: 2})
	var uve *UnsupportedValueError
	require.ErrorAs(t, err, &uve, "two keys that are the same term")
}

// Pid lists of a few nodes, some cached and some not, in both list forms: the node reference
// asked once per run of one node must still follow every change of node.
func TestEncoderAtomCachePidLists(t *testing.T) {
	e := Encoder{AtomCache: cacheByIndex{"a@b": 0, "c@d": 1}}
	d := Decoder{AtomCache: []Atom{"a@b", "c@d"}}
	pids := []PID{
		{Node: "a@b", ID: 1, Creation: 5}, {Node: "a@b", ID: 2, Creation: 5}, {Node: "x@y", ID: 3, Creation: 1},
		{Node: "c@d", ID: 4, Creation: 9}, {Node: "a@b", ID: 1 << 33, Creation: 5}, {Node: "x@y", ID: 6, Creation: 1},
	}
	list := make(List, len(pids))
	for i, p := range pids {
		list[i] = p
	}
	for _, term := range []Term{pids, list, Tuple{Atom("send"), pids}} {
		b, err := e.AppendTerm(nil, term)
		require.NoError(t, err)
		got, rest, err := d.DecodeTerm(b)
		require.NoError(t, err)
		require.Empty(t, rest)
		switch term.(type) {
		case Tuple:
			require.Equal(t, Tuple{Atom("send"), list}, got)
		default:
			require.Equal(t, list, got)
		}
	}
	b, err := e.AppendTerm(nil, pids[:2])
	require.NoError(t, err)
	require.Len(t, b, 1+4+2*15+1, "list header, two pids of 15 bytes, nil")
}

func TestEncodeGoMaps(t *testing.T) {
	got := decoded(t, map[string]any{"b": 1, "a": []string{"x"}, "c": nil})
	require.Equal(t, Map{{[]byte("a"), List{[]byte("x")}}, {[]byte("b"), int64(1)}, {[]byte("c"), Atom("nil")}}, got)

	got = decoded(t, map[Atom]any{"b": 1, "a": 2})
	require.Equal(t, Map{{Atom("a"), int64(2)}, {Atom("b"), int64(1)}}, got)

	got = decoded(t, map[int]string{10: "x", -3: "y", 2: "z"})
	require.Equal(t, Map{{int64(-3), []byte("y")}, {int64(2), []byte("z")}, {int64(10), []byte("x")}}, got)

	got = decoded(t, map[string]int{"z": 1, "y": 2})
	require.Equal(t, Map{{[]byte("y"), int64(2)}, {[]byte("z"), int64(1)}}, got)

	type key struct{ A, B int }
	m := map[key]bool{{2, 1}: true, {1, 2}: false, {1, 1}: true}
	b1, err := Encode(m)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		b2, err := Encode(m)
		require.NoError(t, err)
		require.Equal(t, b1, b2, "the same bytes every time")
	}
	got = decoded(t, m)
	require.Len(t, got, 3)
	for _, p := range got.(Map) {
		k := p.Key.(Map)
		require.Len(t, k, 2)
	}

	var nilMap map[string]int
	require.Equal(t, "837400000000", encodeHex(t, nilMap))
	got = decoded(t, map[any]any{[1]int{1}: "t", 1.5: "f", "s": "s"})
	require.Len(t, got, 3)
}

type user struct {
	_       struct{} `etf:"__struct__,Elixir.MyApp.User"`
	Name    string   `etf:"name"`
	Age     int      `etf:"age,omitempty"`
	Email   string   `etf:"email,omitempty"`
	Admin   bool
	Secret  string `etf:"-"`
	private int
	Tags    []string  `etf:"tags"`
	Joined  time.Time `etf:"joined,omitzero"`
	Nick    *string   `etf:"nick"`
}

func TestEncodeStruct(t *testing.T) {
	u := user{Name: "jo", Age: 0, Admin: true, Secret: "x", private: 1, Tags: []string{"a"}}
	got := decoded(t, u)
	require.Equal(t, Map{
		{Atom("__struct__"), Atom("Elixir.MyApp.User")},
		{Atom("name"), []byte("jo")},
		{Atom("Admin"), true},
		{Atom("tags"), List{[]byte("a")}},
		{Atom("nick"), Atom("nil")},
	}, got)
	require.Equal(t, got, decoded(t, &u))

	info, err := cachedStructInfo(reflect.TypeFor[user]())
	require.NoError(t, err)
	require.Equal(t, Atom("Elixir.MyApp.User"), info.module)
	var names []Atom
	for _, f := range info.fields {
		names = append(names, f.name)
	}
	require.Equal(t, []Atom{"name", "age", "email", "Admin", "tags", "joined", "nick"}, names)
	require.Equal(t, []int{2}, info.fields[1].index)
	require.True(t, info.fields[1].omitEmpty)
	require.True(t, info.fields[5].omitZero)
	require.Len(t, cachedFields(reflect.TypeFor[user]()), 7)
}

type inner struct {
	A int `etf:"a"`
	B int
	C int
}

type Exported struct {
	E int
}

type outer struct {
	inner
	*Exported
	B    string // shallower than inner.B: wins
	Self *outer `etf:"self,omitempty"`
}

type clash1 struct{ X, Y int }
type clash2 struct{ X, Z int }
type clashing struct {
	clash1
	clash2
}

func TestEncodeEmbedded(t *testing.T) {
	got := decoded(t, outer{inner: inner{A: 1, B: 2, C: 3}, B: "b"})
	require.Equal(t, Map{{Atom("a"), int64(1)}, {Atom("C"), int64(3)}, {Atom("B"), []byte("b")}}, got, "a nil embedded pointer hides its fields")

	got = decoded(t, outer{Exported: &Exported{E: 5}, Self: &outer{}})
	require.Equal(t, Map{
		{Atom("a"), int64(0)}, {Atom("C"), int64(0)}, {Atom("E"), int64(5)}, {Atom("B"), []byte{}},
		{Atom("self"), Map{{Atom("a"), int64(0)}, {Atom("C"), int64(0)}, {Atom("B"), []byte{}}}},
	}, got)

}

type ClashInner struct{ ID int }
type ClashOther struct{ ID int }

type clashTagged struct {
	X int `etf:"X"`
}
type clashUntagged struct{ X, Y int }

// Fields that share a key and that no rule tells apart are an error naming them: leaving them
// all out, as encoding/json does, lost their values without a word. The rules that pick a
// winner stay.
func TestStructKeyClash(t *testing.T) {
	clashReason := func(v any) string {
		t.Helper()
		_, err := Encode(v)
		var e *UnsupportedTypeError
		require.ErrorAs(t, err, &e, "%T", v)
		want := reflect.TypeOf(v)
		if want.Kind() == reflect.Slice {
			want = want.Elem()
		}
		require.Equal(t, want, e.Type, "the struct type is named")
		return e.Reason
	}
	type twoTags struct {
		A int `etf:"x"`
		B int `etf:"x"`
	}
	require.Equal(t, "fields A and B both have key x", clashReason(twoTags{A: 1, B: 2}))
	type threeTags struct {
		A int `etf:"x"`
		B int `etf:"x"`
		C int `etf:"x"`
	}
	require.Equal(t, "fields A, B and C all have key x", clashReason(threeTags{}))
	require.Equal(t, "fields clash1.X and clash2.X both have key X", clashReason(clashing{clash1{1, 2}, clash2{3, 4}}))
	type embedsTwo struct {
		ClashInner
		*ClashOther
	}
	require.Equal(t, "fields ClashInner.ID and ClashOther.ID both have key ID", clashReason(embedsTwo{}))
	type twoTagsOneName struct {
		ID  int `etf:"ID"`
		Key int `etf:"ID"`
	}
	require.Equal(t, "fields ID and Key both have key ID", clashReason(twoTagsOneName{}))
	require.Equal(t, "fields A and B both have key x", clashReason([]twoTags{{}}), "found inside a slice too")

	// Shallower beats deeper, tagged beats untagged at one depth.
	type shallowWins struct {
		ClashInner
		ID string
	}
	require.Equal(t, Map{{Atom("ID"), []byte("out")}}, decoded(t, shallowWins{ClashInner{1}, "out"}))
	type taggedWins struct {
		clashTagged
		clashUntagged
	}
	require.Equal(t, Map{{Atom("X"), int64(1)}, {Atom("Y"), int64(3)}},
		decoded(t, taggedWins{clashTagged{1}, clashUntagged{2, 3}}))
	type tagMeetsName struct {
		ID  int
		Key int `etf:"ID"`
	}
	require.Equal(t, Map{{Atom("ID"), int64(2)}}, decoded(t, tagMeetsName{ID: 1, Key: 2}))

	// Unmarshal refuses the type too, rather than fill neither field.
	var into twoTags
	err := UnmarshalTerm(Map{{Atom("x"), int64(7)}}, &into)
	var e *UnsupportedTypeError
	require.ErrorAs(t, err, &e)
	require.Equal(t, "fields A and B both have key x", e.Reason)
	require.Equal(t, twoTags{}, into)
}

type badStructTag struct {
	_ struct{} `etf:"__struct__"`
}

type badAtomTag struct {
	F int `etf:"\xff"`
}

type twoModules struct {
	_ struct{} `etf:"__struct__,Elixir.A"`
	_ struct{} `etf:"__struct__,Elixir.B"`
}

type moduleAndField struct {
	_ struct{} `etf:"__struct__,Elixir.A"`
	M Atom     `etf:"__struct__"`
}

func TestEncodeStructTagErrors(t *testing.T) {
	for _, v := range []any{badStructTag{}, badAtomTag{}, twoModules{}, moduleAndField{}, []badAtomTag{{}}} {
		_, err := Encode(v)
		var e *UnsupportedTypeError
		require.ErrorAs(t, err, &e, "%T", v)
	}
	// A field named __struct__ without a module tag is just a field.
	type dyn struct {
		M Atom `etf:"__struct__"`
	}
	require.Equal(t, Map{{Atom("__struct__"), Atom("Elixir.X")}}, decoded(t, dyn{M: "Elixir.X"}))
}

type celsius float64

func (c celsius) MarshalTerm() (Term, error) { return Tuple{Atom("celsius"), float64(c)}, nil }

type counter struct{ n int }

func (c *counter) MarshalTerm() (Term, error) {
	if c.n < 0 {
		return nil, errors.New("negative")
	}
	return Tuple{Atom("counter"), c.n}, nil
}

type withCounter struct {
	C counter  `etf:"c"`
	P *counter `etf:"p"`
}

type selfMarshal struct{}

func (s selfMarshal) MarshalTerm() (Term, error) { return s, nil }

func TestEncodeMarshaler(t *testing.T) {
	require.Equal(t, Tuple{Atom("celsius"), 21.5}, decoded(t, celsius(21.5)))
	require.Equal(t, List{Tuple{Atom("celsius"), 1.0}}, decoded(t, []celsius{1}))
	require.Equal(t, Tuple{Atom("counter"), int64(3)}, decoded(t, &counter{3}))

	// Pointer receivers apply to addressable values: fields reached through a pointer.
	got := decoded(t, &withCounter{C: counter{1}, P: &counter{2}})
	require.Equal(t, Map{{Atom("c"), Tuple{Atom("counter"), int64(1)}}, {Atom("p"), Tuple{Atom("counter"), int64(2)}}}, got)
	got = decoded(t, &withCounter{C: counter{1}})
	require.Equal(t, Map{{Atom("c"), Tuple{Atom("counter"), int64(1)}}, {Atom("p"), Atom("nil")}}, got, "nil pointer: nil")
	_, err := Encode(withCounter{C: counter{1}})
	var ue *UnsupportedTypeError
	require.ErrorAs(t, err, &ue, "not addressable: the struct itself, whose fields are unexported")
	require.Equal(t, reflect.TypeFor[counter](), ue.Type)
	require.Equal(t, "its fields are unexported and its MarshalTerm has a pointer receiver, which this value, not addressable, cannot be given: encode a pointer to it", ue.Reason)

	_, err = Encode(&counter{-1})
	var me *MarshalerError
	require.ErrorAs(t, err, &me)
	require.EqualError(t, me.Err, "negative")

	_, err = Encode(selfMarshal{})
	require.ErrorIs(t, err, ErrTooDeep)

	// A nil pointer whose type marshals itself is nil, wherever it is: MarshalTerm is not
	// called on it.
	var none *counter
	require.Equal(t, Atom("nil"), decoded(t, none))
	require.Equal(t, List{Atom("nil")}, decoded(t, List{none}))
	require.Equal(t, Map{{Atom("Q"), Atom("nil")}}, decoded(t, struct{ Q any }{Q: none}))

	// omitzero leaves out an interface field of a type with IsZero that holds nothing.
	require.Equal(t, Map{}, decoded(t, struct {
		Z interface{ IsZero() bool } `etf:"z,omitzero"`
	}{}))
}

// level is a byte with a text form.
type level uint8

func (l level) MarshalText() ([]byte, error) { return []byte("L" + string('0'+rune(l))), nil }

// parity has a text form that two values share.
type parity int

func (p parity) MarshalText() ([]byte, error) {
	if p%2 == 0 {
		return []byte("even"), nil
	}
	return []byte("odd"), nil
}

// termAndText has both forms: the term wins.
type termAndText struct{ N int }

func (termAndText) MarshalTerm() (Term, error)   { return Atom("term"), nil }
func (termAndText) MarshalText() ([]byte, error) { return []byte("text"), nil }

// ptrText has its text form through a pointer only.
type ptrText struct{ N int }

func (p *ptrText) MarshalText() ([]byte, error) { return []byte("n=" + string('0'+rune(p.N))), nil }

// A type with a text form and no term form of its own is the binary of its text, as
// encoding/json makes it a string: a time.Time was the map of its exported fields, #{}.
func TestEncodeTextMarshaler(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	text, err := at.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "2026-01-02T03:04:05.000000006Z", string(text))
	require.Equal(t, []byte("2026-01-02T03:04:05.000000006Z"), decoded(t, at))
	require.Equal(t, []byte("2026-01-02T03:04:05.000000006Z"), decoded(t, &at))
	require.Equal(t, Atom("nil"), decoded(t, (*time.Time)(nil)))
	require.Equal(t, Map{{Atom("at"), []byte("2026-01-02T03:04:05.000000006Z")}, {Atom("p"), Atom("nil")}},
		decoded(t, struct {
			At time.Time  `etf:"at"`
			P  *time.Time `etf:"p"`
		}{At: at}))
	require.Equal(t, List{[]byte("2026-01-02T03:04:05.000000006Z")}, decoded(t, []any{at}))

	// net.IP is a []byte that is written as its text, as encoding/json writes it.
	require.Equal(t, []byte("192.0.2.1"), decoded(t, net.IPv4(192, 0, 2, 1)))
	require.Equal(t, []byte("::1"), decoded(t, net.IPv6loopback))
	require.Equal(t, List{[]byte("L1"), []byte("L2")}, decoded(t, []level{1, 2}), "bytes with a text form are no binary")

	// Integers stay integers, though *big.Int has MarshalText.
	require.Equal(t, int64(5), decoded(t, big.NewInt(5)))
	require.Equal(t, Map{{Atom("N"), int64(7)}}, decoded(t, &struct{ N big.Int }{N: *big.NewInt(7)}))

	require.Equal(t, Atom("term"), decoded(t, termAndText{}), "MarshalTerm wins")
	require.Equal(t, []byte("n=3"), decoded(t, &ptrText{3}))
	require.Equal(t, Map{{Atom("P"), []byte("n=4")}}, decoded(t, &struct{ P ptrText }{ptrText{4}}), "addressable: through its pointer")

	_, err = Encode(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	var me *MarshalerError
	require.ErrorAs(t, err, &me)
	require.Equal(t, reflect.TypeFor[time.Time](), me.Type)
	require.ErrorContains(t, me.Err, "year outside of range")
	require.True(t, strings.HasPrefix(me.Error(), "etf: MarshalText of time.Time: "), me.Error())

	// Map keys with a text form are binaries, and two keys of one text are refused like any
	// two keys that are one term.
	require.Equal(t, Map{{[]byte("192.0.2.1"), int64(1)}, {[]byte("2001:db8::1"), int64(2)}},
		decoded(t, map[netip.Addr]int{netip.MustParseAddr("2001:db8::1"): 2, netip.MustParseAddr("192.0.2.1"): 1}))
	require.Equal(t, Map{{[]byte("odd"), int64(1)}, {[]byte("even"), int64(2)}}, decoded(t, map[parity]int{1: 1, 2: 2}),
		"sorted by their encoding, the binary's length first")
	_, err = Encode(map[parity]int{1: 1, 3: 3})
	var ve *UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, ve.Reason, "are the same Erlang term")
}

// secret keeps its state in unexported fields.
type secret struct{ key string }

type HoldsSecret struct{ s secret }

type misTagged struct {
	key int `etf:"key"` // a tag does not export a field
}

// A struct whose state is all in unexported fields, with no MarshalTerm or MarshalText, is an
// error: it was #{}, its value lost without a word. A struct with nothing to hide is a map.
func TestEncodeUnexportedState(t *testing.T) {
	const reason = "its fields are unexported, so it would be #{}, its state lost: give it a MarshalTerm method, or encode in its place a type of your own that has one"
	refusedFor := func(v any, typ reflect.Type, reason string) {
		t.Helper()
		_, err := Encode(v)
		var e *UnsupportedTypeError
		require.ErrorAs(t, err, &e, "%T", v)
		require.Equal(t, typ, e.Type)
		require.Equal(t, reason, e.Reason)
	}
	refused := func(v any, typ reflect.Type) {
		t.Helper()
		refusedFor(v, typ, reason)
	}
	refused(secret{"k"}, reflect.TypeFor[secret]())
	refused(Map{{Atom("s"), &secret{"k"}}}, reflect.TypeFor[secret]())
	refused(&sync.Mutex{}, reflect.TypeFor[sync.Mutex]())
	refused(&struct{ sync.Mutex }{}, reflect.TypeFor[struct{ sync.Mutex }]())
	refused(HoldsSecret{s: secret{key: "k"}}, reflect.TypeFor[HoldsSecret]())
	refused(struct{ HoldsSecret }{}, reflect.TypeFor[struct{ HoldsSecret }]())
	refused(misTagged{key: 1}, reflect.TypeFor[misTagged]())
	refusedFor(map[string]big.Float{"x": {}}, reflect.TypeFor[big.Float](),
		"its fields are unexported and its MarshalText has a pointer receiver, which this value, not addressable, cannot be given: encode a pointer to it")
	require.Equal(t, []byte("1.5"), decoded(t, big.NewFloat(1.5)), "by pointer: its text")

	require.Equal(t, Atom("nil"), decoded(t, (*secret)(nil)))
	require.Equal(t, Map{}, decoded(t, struct{}{}))
	require.Equal(t, Map{{Atom("__struct__"), Atom("Elixir.X")}}, decoded(t, struct {
		_ struct{} `etf:"__struct__,Elixir.X"`
	}{}))
	require.Equal(t, Map{{Atom("__struct__"), Atom("Elixir.X")}}, decoded(t, struct {
		_   struct{} `etf:"__struct__,Elixir.X"`
		key string
	}{key: "k"}), "an Elixir struct of no fields: the tag says what the term is")
	require.Equal(t, Map{}, decoded(t, struct {
		Key string `etf:"-"`
	}{Key: "k"}), "left out by its tag")
	require.Equal(t, Map{}, decoded(t, struct{ _ [0]func() }{}))
	require.Equal(t, Map{{Atom("Name"), []byte("n")}}, decoded(t, struct {
		Name string
		key  string
	}{Name: "n"}), "some fields show: the others are private")
	require.Equal(t, Map{{Atom("Name"), []byte("n")}}, decoded(t, &struct {
		sync.Mutex
		Name string
	}{Name: "n"}))
}

func TestEncodeLocalFun(t *testing.T) {
	f := LocalFun{Arity: 2, Index: 7, Module: "m", OldIndex: -1, OldUniq: 300, Pid: PID{Node: "a@b", ID: 1}, FreeVars: []Term{1, "x"}}
	got := decoded(t, f)
	g := got.(LocalFun)
	require.Equal(t, Atom("m"), g.Module)
	require.Equal(t, int64(-1), g.OldIndex)
	require.Equal(t, int64(300), g.OldUniq)
	require.Equal(t, []Term{int64(1), []byte("x")}, g.FreeVars)
	// Raw is written back byte for byte.
	b, err := Encode(g)
	require.NoError(t, err)
	require.Equal(t, g.Raw, b[1:])
}

func TestAppendTermAndAppend(t *testing.T) {
	var e Encoder
	b, err := e.AppendTerm([]byte("x"), Tuple{1})
	require.NoError(t, err)
	require.Equal(t, []byte{'x', 104, 1, 97, 1}, b)
	b, err = Append([]byte("x"), 1)
	require.NoError(t, err)
	require.Equal(t, []byte{'x', 131, 97, 1}, b)
}

func TestEncodeCompressed(t *testing.T) {
	big := bytes.Repeat([]byte("abcd"), 1000)
	c, err := EncodeCompressed(big, 6)
	require.NoError(t, err)
	require.Equal(t, tagCompressed, c[1])
	require.Less(t, len(c), 200)
	back, err := Decode(c)
	require.NoError(t, err)
	require.Equal(t, big, back)

	// Not worth compressing: the plain form, as term_to_binary does.
	c, err = EncodeCompressed(int64(1), 9)
	require.NoError(t, err)
	require.Equal(t, []byte{131, 97, 1}, c)

	_, err = EncodeCompressed(1, 10)
	require.Error(t, err)
	_, err = EncodeCompressed(make(chan int), 1)
	require.Error(t, err)
}

func TestEncodeSizeHintIsExact(t *testing.T) {
	for _, c := range benchCorpus {
		term := c.term()
		b, err := Encode(term)
		require.NoError(t, err)
		require.Equal(t, len(b), sizeHint(term)-termSlack, c.name)
	}
}

type inserts []struct {
	at int
	b  []byte
}

func (i *inserts) InsertBinary(at int, b []byte) {
	*i = append(*i, struct {
		at int
		b  []byte
	}{at, b})
}

// Large binaries are left out of the output and handed to the Inserter; with each put back at
// its offset, the output is the usual encoding.
func TestEncoderInsertsLargeBinaries(t *testing.T) {
	big1, big2 := bytes.Repeat([]byte{1}, 100), bytes.Repeat([]byte{2}, 300)
	term := Tuple{Atom("seq"), big1, List{[]byte("small"), big2}, Map{{big1, int64(1)}},
		LocalFun{Module: "m", Arity: 1, Pid: PID{Node: "a@b", ID: 1, Creation: 1}, FreeVars: []Term{big2}}, map[string][]byte{"k": big1}}
	want, err := Encode(term)
	require.NoError(t, err)
	var ins inserts
	e := Encoder{Inserter: &ins, InsertMin: 64}
	got, err := e.Encode(term)
	require.NoError(t, err)
	// big1 as an element, as an etf.Map key and as a Go map's value, big2 in the list; the
	// fun's free variable stays.
	require.Len(t, ins, 4)
	var joined []byte
	last := 0
	for _, in := range ins {
		joined = append(joined, got[last:in.at]...)
		joined = append(joined, in.b...)
		last = in.at
	}
	joined = append(joined, got[last:]...)
	require.Equal(t, want, joined)
}

// AppendCompressed compresses the whole encoding, binaries an Inserter would take included.
func TestAppendCompressedCopiesWhatAnInserterWouldTake(t *testing.T) {
	term := Tuple{Atom("seq"), bytes.Repeat([]byte("abcd"), 1000), int64(1)}
	var ins inserts
	e := Encoder{Inserter: &ins, InsertMin: 64}
	c, err := e.AppendCompressed([]byte("x"), term, 6)
	require.NoError(t, err)
	require.Empty(t, ins)
	require.Equal(t, []byte{'x', versionByte, tagCompressed}, c[:3])
	back, err := Decode(c[1:])
	require.NoError(t, err)
	require.True(t, Equal(term, back), "%v", back)
}

// zeroByPointer is zero by its own reckoning, with IsZero on the pointer.
type zeroByPointer struct{ N int }

func (z *zeroByPointer) IsZero() bool { return z.N < 0 }

// omitzero asks IsZero of a pointer receiver for a struct passed by value too: the same value
// encodes the same whether Encode gets it or a pointer to it.
func TestOmitZeroWithIsZeroOnThePointer(t *testing.T) {
	type holder struct {
		Z zeroByPointer `etf:"z,omitzero"`
	}
	h := holder{Z: zeroByPointer{N: -1}}
	byValue, err := Encode(h)
	require.NoError(t, err)
	byPointer, err := Encode(&h)
	require.NoError(t, err)
	require.Equal(t, byPointer, byValue)
	require.Equal(t, Map{}, decoded(t, h))
	require.Equal(t, Phash2(&h, 0), Phash2(h, 0))
}
