package etf

import (
	"errors"
	"fmt"
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

type umAuthor struct {
	ID       int64  `etf:"id"`
	Username string `etf:"username"`
}

type umMessage struct {
	ID       string            `etf:"id"`
	Author   umAuthor          `etf:"author"`
	Content  string            `etf:"content"`
	Mentions []umAuthor        `etf:"mentions"`
	Pinned   bool              `etf:"pinned"`
	Nonce    *int64            `etf:"nonce"`
	Embeds   map[string]string `etf:"embeds"`
	Score    float64           `etf:"score"`
	Skipped  int               `etf:"-"`
	Untagged string
}

type umUser struct {
	_    struct{} `etf:"__struct__,Elixir.MyApp.User"`
	Name string   `etf:"name"`
	Age  int      `etf:"age,omitempty"`
}

type umBase struct {
	Kind string `etf:"kind"`
}

type umEmbedded struct {
	umBase
	*UmExtra
	Own int `etf:"own"`
}

// UmExtra is exported: reflection cannot allocate an embedded pointer to an unexported type.
type UmExtra struct {
	Extra string `etf:"extra"`
}

type umHidden struct {
	*umExtra
}

type umExtra struct {
	Extra string `etf:"extra"`
}

type umCustom struct{ got Term }

func (c *umCustom) UnmarshalTerm(t Term) error {
	if a, ok := t.(Atom); ok && a == "bad" {
		return errors.New("bad custom value")
	}
	c.got = t
	return nil
}

type umPoint struct {
	X, Y int
}

// UnmarshalTerm reads a point from the tuple {X, Y}.
func (p *umPoint) UnmarshalTerm(t Term) error {
	tu, ok := t.(Tuple)
	if !ok || len(tu) != 2 {
		return fmt.Errorf("want {X, Y}, got %v", t)
	}
	var xy [2]int
	if err := UnmarshalTerm(tu, &xy); err != nil {
		return err
	}
	p.X, p.Y = xy[0], xy[1]
	return nil
}

func mustEncode(t *testing.T, v Term) []byte {
	t.Helper()
	b, err := Encode(v)
	require.NoError(t, err)
	return b
}

func TestUnmarshalStruct(t *testing.T) {
	term := Map{
		{Key: []byte("id"), Value: []byte("1145")},
		{Key: []byte("author"), Value: Map{{Key: []byte("id"), Value: int64(42)}, {Key: []byte("username"), Value: []byte("nelly")}}},
		{Key: []byte("content"), Value: []byte("hi")},
		{Key: []byte("mentions"), Value: List{Map{{Key: Atom("id"), Value: int64(1)}}, Map{{Key: Atom("username"), Value: ByteList("bo")}}}},
		{Key: Atom("pinned"), Value: true},
		{Key: []byte("nonce"), Value: int64(7)},
		{Key: []byte("embeds"), Value: Map{{Key: Atom("a"), Value: []byte("x")}, {Key: []byte("b"), Value: Atom("y")}}},
		{Key: []byte("score"), Value: int64(3)},
		{Key: []byte("Skipped"), Value: int64(9)},
		{Key: Atom("untagged"), Value: []byte("case folded")},
		{Key: []byte("unknown"), Value: Tuple{}},
		{Key: Tuple{}, Value: int64(1)},
	}
	var m umMessage
	require.NoError(t, Unmarshal(mustEncode(t, term), &m))
	nonce := int64(7)
	require.Equal(t, umMessage{
		ID:       "1145",
		Author:   umAuthor{ID: 42, Username: "nelly"},
		Content:  "hi",
		Mentions: []umAuthor{{ID: 1}, {Username: "bo"}},
		Pinned:   true,
		Nonce:    &nonce,
		Embeds:   map[string]string{"a": "x", "b": "y"},
		Score:    3,
		Untagged: "case folded",
	}, m)

	// Elixir's nil empties pointers, maps and slices and leaves the rest.
	m.Skipped = 5
	nilTerm := Map{{Key: Atom("nonce"), Value: nil}, {Key: Atom("embeds"), Value: Atom("nil")},
		{Key: Atom("mentions"), Value: nil}, {Key: Atom("content"), Value: nil}, {Key: Atom("pinned"), Value: nil}}
	require.NoError(t, UnmarshalTerm(nilTerm, &m))
	require.Nil(t, m.Nonce)
	require.Nil(t, m.Embeds)
	require.Nil(t, m.Mentions)
	require.Equal(t, "hi", m.Content)
	require.True(t, m.Pinned)
	require.Equal(t, 5, m.Skipped)
}

func TestUnmarshalRoundTrip(t *testing.T) {
	nonce := int64(-3)
	values := []any{
		umMessage{ID: "x", Author: umAuthor{ID: 1, Username: "u"}, Mentions: []umAuthor{{ID: 2}}, Nonce: &nonce,
			Embeds: map[string]string{"k": "v"}, Score: 1.5, Untagged: "t"},
		umUser{Name: "jo", Age: 3},
		umEmbedded{umBase: umBase{Kind: "k"}, UmExtra: &UmExtra{Extra: "e"}, Own: 1},
		map[string]int{"a": 1, "b": -2},
		map[Atom][]string{"x": {"a", "b"}, "y": {}},
		map[int]bool{1: true, -7: false},
		[]float64{1, 2.5, -0.25},
		[3]int8{-128, 0, 127},
		[4]byte{1, 2, 3, 4},
		[]byte("bytes"),
		"text é",
		uint64(math.MaxUint64),
		int64(math.MinInt64),
		big.NewInt(5),
		new(big.Int).Lsh(big.NewInt(-3), 100),
		PID{Node: "a@h", ID: 5<<32 | 7, Creation: 3},
		Ref{Node: "a@h", Creation: 1, ID: [3]uint64{1, 2, 3}},
		Alias{Node: "a@h", Creation: 1, ID: [3]uint64{4, 5, 6}},
		Port{Node: "a@h", ID: 1 << 40, Creation: 2},
		ProcessID{Name: "reg", Node: "n@h"},
		Atom("ok"),
		Tuple{int64(1), []byte("x")},
		List{int64(1), Atom("a")},
		ByteList("abc"),
		ImproperList{Elems: []Term{int64(1)}, Tail: Atom("t")},
		BitString{Bytes: []byte{0xe0}, Bits: 3},
		ExportFun{Module: "m", Function: "f", Arity: 2},
		Map{{Key: int64(1), Value: Tuple{Atom("a")}}},
		true,
		float32(0.5),
	}
	for _, v := range values {
		b := mustEncode(t, v)
		p := reflect.New(reflect.TypeOf(v))
		require.NoError(t, Unmarshal(b, p.Interface()), "%T", v)
		require.Equal(t, v, p.Elem().Interface(), "%T", v)
	}
}

func TestUnmarshalElixirStruct(t *testing.T) {
	var u umUser
	user := Map{{Key: Atom("__struct__"), Value: Atom("Elixir.MyApp.User")}, {Key: Atom("name"), Value: []byte("jo")}}
	require.NoError(t, UnmarshalTerm(user, &u))
	require.Equal(t, "jo", u.Name)

	// A plain map has no __struct__ to check.
	require.NoError(t, UnmarshalTerm(Map{{Key: Atom("age"), Value: int64(4)}}, &u))
	require.Equal(t, 4, u.Age)

	other := Map{{Key: Atom("__struct__"), Value: Atom("Elixir.MyApp.Admin")}, {Key: Atom("name"), Value: []byte("x")}}
	err := UnmarshalTerm(Map{{Key: Atom("owner"), Value: other}}, &struct {
		Owner umUser `etf:"owner"`
	}{})
	var te *UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, ".Owner", te.Path)
	require.Equal(t, "etf: cannot unmarshal struct Elixir.MyApp.Admin into .Owner of type etf.umUser: not a %MyApp.User{} (Elixir.MyApp.User)", err.Error())

	// A struct without a module takes any __struct__.
	var a umAuthor
	require.NoError(t, UnmarshalTerm(Map{{Key: Atom("__struct__"), Value: Atom("Elixir.X")}, {Key: Atom("id"), Value: int64(1)}}, &a))
	require.Equal(t, int64(1), a.ID)
}

func TestUnmarshalEmbedded(t *testing.T) {
	var e umEmbedded
	require.NoError(t, UnmarshalTerm(Map{{Key: Atom("kind"), Value: []byte("k")}, {Key: Atom("extra"), Value: []byte("e")}, {Key: Atom("own"), Value: int64(2)}}, &e))
	require.Equal(t, umEmbedded{umBase: umBase{Kind: "k"}, UmExtra: &UmExtra{Extra: "e"}, Own: 2}, e)

	var h umHidden
	err := UnmarshalTerm(Map{{Key: Atom("extra"), Value: []byte("e")}}, &h)
	require.EqualError(t, err, "etf: cannot unmarshal binary into .Extra of type string: cannot set embedded pointer to unexported struct etf.umExtra")
}

func TestUnmarshalScalars(t *testing.T) {
	var s string
	require.NoError(t, UnmarshalTerm(ByteList("caf\xe9"), &s)) // character codes, Latin-1
	require.Equal(t, "café", s)
	require.NoError(t, UnmarshalTerm(List{int64(0x65e5), int64(0x672c)}, &s))
	require.Equal(t, "日本", s)
	require.NoError(t, UnmarshalTerm(Atom("atom"), &s))
	require.Equal(t, "atom", s)
	require.NoError(t, UnmarshalTerm(List(nil), &s))
	require.Equal(t, "", s)
	require.NoError(t, UnmarshalTerm("go string", &s))
	require.Equal(t, "go string", s)

	var b []byte
	require.NoError(t, UnmarshalTerm(ByteList{1, 2}, &b))
	require.Equal(t, []byte{1, 2}, b)
	require.NoError(t, UnmarshalTerm(List{int64(3)}, &b))
	require.Equal(t, []byte{3}, b)
	src := []byte("copied")
	require.NoError(t, UnmarshalTerm(src, &b))
	src[0] = 'X'
	require.Equal(t, []byte("copied"), b)

	var f float32
	require.NoError(t, UnmarshalTerm(int64(3), &f))
	require.Equal(t, float32(3), f)
	var f64 float64
	require.NoError(t, UnmarshalTerm(new(big.Int).Lsh(big.NewInt(1), 100), &f64))
	require.Equal(t, math.Ldexp(1, 100), f64)

	var i8 int8
	require.NoError(t, UnmarshalTerm(uint8(100), &i8))
	require.Equal(t, int8(100), i8)
	var u uint64
	require.NoError(t, UnmarshalTerm(new(big.Int).SetUint64(math.MaxUint64), &u))
	require.Equal(t, uint64(math.MaxUint64), u)

	var a Atom
	require.NoError(t, UnmarshalTerm(false, &a))
	require.Equal(t, Atom("false"), a)
	require.NoError(t, UnmarshalTerm(nil, &a))
	require.Equal(t, Atom("nil"), a)

	var bl bool
	require.NoError(t, UnmarshalTerm(Atom("true"), &bl))
	require.True(t, bl)

	var anyV any
	require.NoError(t, UnmarshalTerm(Tuple{Atom("ok"), int64(1)}, &anyV))
	require.Equal(t, Tuple{Atom("ok"), int64(1)}, anyV)
	require.NoError(t, Unmarshal(mustEncode(t, nil), &anyV))
	require.Equal(t, Atom("nil"), anyV)

	var st fmt.Stringer
	require.NoError(t, UnmarshalTerm(PID{Node: "a@b", ID: 1}, &st))
	require.Equal(t, PID{Node: "a@b", ID: 1}, st)

	var bi big.Int
	require.NoError(t, UnmarshalTerm(int64(-9), &bi))
	require.Equal(t, int64(-9), bi.Int64())
	var bp *big.Int
	require.NoError(t, UnmarshalTerm(int64(9), &bp))
	require.Equal(t, int64(9), bp.Int64())
	require.NoError(t, UnmarshalTerm(Atom("nil"), &bp))
	require.Nil(t, bp)

	var l List
	require.NoError(t, UnmarshalTerm(ByteList("ab"), &l))
	require.Equal(t, List{int64('a'), int64('b')}, l)
	var bl2 ByteList
	require.NoError(t, UnmarshalTerm(List{int64(1), int64(2)}, &bl2))
	require.Equal(t, ByteList{1, 2}, bl2)
	var bs BitString
	require.NoError(t, UnmarshalTerm([]byte{1}, &bs))
	require.Equal(t, BitString{Bytes: []byte{1}, Bits: 8}, bs)
	var pid ProcessID
	require.NoError(t, UnmarshalTerm(Tuple{Atom("n"), Atom("a@b")}, &pid))
	require.Equal(t, ProcessID{Name: "n", Node: "a@b"}, pid)

	var arr [2]string
	require.NoError(t, UnmarshalTerm(Tuple{[]byte("a"), Atom("b")}, &arr))
	require.Equal(t, [2]string{"a", "b"}, arr)
	var ints []int
	require.NoError(t, UnmarshalTerm(Tuple{int64(1), int64(2)}, &ints))
	require.Equal(t, []int{1, 2}, ints)
	require.NoError(t, UnmarshalTerm(List(nil), &ints))
	require.Equal(t, []int{}, ints)

	var anyMap map[any]any
	require.NoError(t, UnmarshalTerm(Map{{Key: Atom("a"), Value: int64(1)}, {Key: int64(2), Value: List(nil)}}, &anyMap))
	require.Equal(t, map[any]any{Atom("a"): int64(1), int64(2): List(nil)}, anyMap)

	type blob [3]uint8
	var bl3 blob
	require.NoError(t, UnmarshalTerm([]byte{1, 2, 3}, &bl3))
	require.Equal(t, blob{1, 2, 3}, bl3)
	type octet uint8
	var octets [2]octet
	require.NoError(t, UnmarshalTerm([]byte{4, 5}, &octets))
	require.Equal(t, [2]octet{4, 5}, octets)
	var octetSlice []octet
	require.NoError(t, UnmarshalTerm([]byte{6}, &octetSlice))
	require.Equal(t, []octet{6}, octetSlice)

	var pidKeys map[PID]int
	require.NoError(t, UnmarshalTerm(Map{{Key: PID{Node: "a@b", ID: 3}, Value: int64(1)}}, &pidKeys))
	require.Equal(t, map[PID]int{{Node: "a@b", ID: 3}: 1}, pidKeys)
}

func TestUnmarshalUnmarshaler(t *testing.T) {
	var c umCustom
	require.NoError(t, UnmarshalTerm(Tuple{Atom("x")}, &c))
	require.Equal(t, Tuple{Atom("x")}, c.got)

	var holder struct {
		P  umPoint   `etf:"p"`
		PP *umPoint  `etf:"pp"`
		Ps []umPoint `etf:"ps"`
	}
	term := Map{
		{Key: Atom("p"), Value: Tuple{int64(1), int64(2)}},
		{Key: Atom("pp"), Value: Tuple{int64(3), int64(4)}},
		{Key: Atom("ps"), Value: List{Tuple{int64(5), int64(6)}}},
	}
	require.NoError(t, UnmarshalTerm(term, &holder))
	require.Equal(t, umPoint{1, 2}, holder.P)
	require.Equal(t, &umPoint{3, 4}, holder.PP)
	require.Equal(t, []umPoint{{5, 6}}, holder.Ps)

	require.NoError(t, UnmarshalTerm(Map{{Key: Atom("pp"), Value: nil}}, &holder))
	require.Nil(t, holder.PP)

	err := UnmarshalTerm(Map{{Key: Atom("ps"), Value: List{Tuple{int64(5), int64(6)}, Tuple{int64(7), []byte("x")}}}}, &holder)
	var te *UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, ".Ps[1][1]", te.Path)

	err = UnmarshalTerm(Map{{Key: Atom("p"), Value: int64(1)}}, &holder)
	var ue *UnmarshalerError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, ".P", ue.Path)
	require.Contains(t, err.Error(), "want {X, Y}")

	err = UnmarshalTerm(Atom("bad"), &c)
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "etf: UnmarshalTerm of etf.umCustom at Go value: bad custom value", err.Error())
}

// umTermAndText reads itself both from a term and from text: the term wins.
type umTermAndText struct{ how string }

func (x *umTermAndText) UnmarshalTerm(Term) error     { x.how = "term"; return nil }
func (x *umTermAndText) UnmarshalText(b []byte) error { x.how = "text"; return nil }

// A type that reads itself from text takes a binary or a charlist and is given the text, the
// reverse of Encode writing it as the binary of its text; before, a time.Time took a map of no
// keys and stayed as it was.
func TestUnmarshalTextUnmarshaler(t *testing.T) {
	type stamped struct {
		At time.Time  `etf:"at"`
		P  *time.Time `etf:"p"`
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	later := at.Add(time.Hour)
	in := stamped{At: at, P: &later}
	b, err := Encode(in)
	require.NoError(t, err)
	var out stamped
	require.NoError(t, Unmarshal(b, &out))
	require.Equal(t, in, out)
	require.True(t, out.At.Equal(at) && out.P.Equal(later))

	var fromList time.Time
	require.NoError(t, UnmarshalTerm(ByteList("2026-01-02T03:04:05Z"), &fromList))
	require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), fromList)
	var fromCodes time.Time
	codes := List{}
	for _, c := range "2026-01-02T03:04:05Z" {
		codes = append(codes, int64(c))
	}
	require.NoError(t, UnmarshalTerm(codes, &fromCodes))
	require.Equal(t, fromList, fromCodes)

	// nil leaves a value as it is and a pointer nil.
	require.NoError(t, UnmarshalTerm(Map{{Atom("at"), Atom("nil")}, {Atom("p"), Atom("nil")}}, &out))
	require.Equal(t, stamped{At: at}, out)

	err = UnmarshalTerm(Map{{Atom("at"), []byte("yesterday")}}, &out)
	var ue *UnmarshalerError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, reflect.TypeFor[time.Time](), ue.Type)
	require.Equal(t, ".At", ue.Path)
	require.True(t, strings.HasPrefix(err.Error(), "etf: UnmarshalText of time.Time at .At: "), err.Error())
	err = UnmarshalTerm(Map{{Atom("at"), int64(1)}}, &out)
	var te *UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "etf: cannot unmarshal integer 1 into .At of type time.Time", err.Error())
	err = UnmarshalTerm(List{int64(-1)}, &fromList)
	require.ErrorAs(t, err, &te)
	require.Equal(t, "not a list of character codes", te.Reason)

	// net.IP, a []byte, reads its text, as Encode writes it.
	var ip net.IP
	require.NoError(t, UnmarshalTerm([]byte("192.0.2.1"), &ip))
	require.Equal(t, net.IPv4(192, 0, 2, 1), ip)

	// Text keys of Go maps.
	var byAddr map[netip.Addr]int
	require.NoError(t, UnmarshalTerm(Map{{[]byte("2001:db8::1"), int64(2)}}, &byAddr))
	require.Equal(t, map[netip.Addr]int{netip.MustParseAddr("2001:db8::1"): 2}, byAddr)

	var both umTermAndText
	require.NoError(t, UnmarshalTerm([]byte("x"), &both))
	require.Equal(t, "term", both.how, "UnmarshalTerm wins")

	// Integers stay integers, though *big.Int has UnmarshalText.
	var n struct{ N big.Int }
	require.NoError(t, UnmarshalTerm(Map{{Atom("N"), int64(7)}}, &n))
	require.Equal(t, int64(7), n.N.Int64())
}

// A struct whose state is all in unexported fields, which no key of a map can fill, is refused as
// Encode refuses it; before, a map left it as it was without an error.
func TestUnmarshalUnexportedState(t *testing.T) {
	var s secret
	err := UnmarshalTerm(Map{{Atom("key"), []byte("k")}}, &s)
	var te *UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, reflect.TypeFor[secret](), te.Type)
	require.Equal(t, "its fields are unexported, so no key can fill it: give it an UnmarshalTerm method, or unmarshal into a type of your own that has one", te.Reason)
	var holder struct{ S *secret }
	err = UnmarshalTerm(Map{{Atom("S"), Map{}}}, &holder)
	require.ErrorAs(t, err, &te)
	require.Equal(t, ".S", te.Path)

	require.NoError(t, UnmarshalTerm(Atom("nil"), &s), "nil leaves it as it is")
	require.NoError(t, UnmarshalTerm(Map{{Atom("S"), Atom("nil")}}, &holder))
	require.Nil(t, holder.S)
	var empty struct{}
	require.NoError(t, UnmarshalTerm(Map{{Atom("k"), int64(1)}}, &empty))
	var elixir struct {
		_   struct{} `etf:"__struct__,Elixir.X"`
		key string
	}
	require.NoError(t, UnmarshalTerm(Map{{Atom("__struct__"), Atom("Elixir.X")}}, &elixir))
	var mu sync.Mutex
	require.Error(t, UnmarshalTerm(Map{}, &mu))
}

func TestUnmarshalErrors(t *testing.T) {
	type deep struct {
		Author struct {
			ID int `etf:"id"`
		} `etf:"author"`
		Tags   []uint8          `etf:"tags"`
		Counts map[string]int8  `etf:"counts"`
		Pairs  [2]int           `etf:"pairs"`
		Keys   map[any]int      `etf:"keys"`
		TKeys  map[[2]any]int   `etf:"tkeys"`
		Fn     func()           `etf:"fn"`
		Port   Port             `etf:"port"`
		Name   string           `etf:"name"`
		Ch     map[string][]int `etf:"ch"`
	}
	cases := []struct {
		term Term
		msg  string
	}{
		{Map{{Key: Atom("author"), Value: Map{{Key: Atom("id"), Value: []byte("x")}}}},
			"etf: cannot unmarshal binary into .Author.ID of type int"},
		{Map{{Key: Atom("tags"), Value: List{int64(1), int64(300)}}},
			"etf: cannot unmarshal integer 300 into .Tags[1] of type uint8: out of range"},
		{Map{{Key: Atom("counts"), Value: Map{{Key: []byte("k"), Value: int64(-129)}}}},
			`etf: cannot unmarshal integer -129 into .Counts["k"] of type int8: out of range`},
		{Map{{Key: Atom("counts"), Value: Map{{Key: Tuple{}, Value: int64(1)}}}},
			"etf: cannot unmarshal tuple of 0 into .Counts[tuple of 0] of type string"},
		{Map{{Key: Atom("pairs"), Value: List{int64(1)}}},
			"etf: cannot unmarshal list into .Pairs of type [2]int: 1 elements for 2"},
		{Map{{Key: Atom("keys"), Value: Map{{Key: []byte("k"), Value: int64(1)}}}},
			`etf: cannot unmarshal binary into .Keys["k"] of type interface {}: a []uint8 cannot be a Go map key; use Map, or a map with string keys`},
		{Map{{Key: Atom("tkeys"), Value: Map{{Key: Tuple{[]byte("a"), int64(1)}, Value: int64(1)}}}},
			`etf: cannot unmarshal tuple of 2 into .TKeys[tuple of 2] of type [2]interface {}: this key cannot be a Go map key; use Map, or a map with string keys`},
		{Map{{Key: Atom("fn"), Value: int64(1)}},
			"etf: cannot unmarshal integer 1 into .Fn of type func(): no term unmarshals into a func"},
		{Map{{Key: Atom("port"), Value: PID{}}},
			"etf: cannot unmarshal pid into .Port of type etf.Port"},
		{Map{{Key: Atom("name"), Value: List{int64(-1)}}},
			"etf: cannot unmarshal list into .Name of type string: not a list of character codes"},
		{Map{{Key: Atom("name"), Value: BitString{Bytes: []byte{0x80}, Bits: 1}}},
			"etf: cannot unmarshal bitstring into .Name of type string"},
		{Map{{Key: Atom("ch"), Value: Map{{Key: Atom("a"), Value: ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}}}}},
			"etf: cannot unmarshal improper list into .Ch[a] of type []int"},
		{List{}, "etf: cannot unmarshal [] into Go value of type etf.deep"},
		{Map{{Key: Atom("name"), Value: math.NaN()}},
			"etf: cannot unmarshal float NaN into .Name of type string"},
		{Map{{Key: Atom("name"), Value: make(chan int)}},
			"etf: cannot unmarshal Go value with no Erlang form into .Name of type string: etf: cannot encode Go type chan int"},
	}
	for _, c := range cases {
		var d deep
		err := UnmarshalTerm(c.term, &d)
		var te *UnmarshalTypeError
		require.ErrorAs(t, err, &te, "%#v", c.term)
		require.Equal(t, c.msg, err.Error())
	}

	var i int
	for _, term := range []Term{1.0, Atom("one"), []byte("1"), new(big.Int).Lsh(big.NewInt(1), 64)} {
		require.Error(t, UnmarshalTerm(term, &i), "%#v", term)
	}
	var u uint
	require.Error(t, UnmarshalTerm(int64(-1), &u))
	var f32 float32
	require.Error(t, UnmarshalTerm(1e300, &f32))
	var f64 float64
	require.Error(t, UnmarshalTerm(new(big.Int).Lsh(big.NewInt(1), 2000), &f64))
	var arr [3]byte
	require.Error(t, UnmarshalTerm([]byte{1, 2}, &arr))
	var st fmt.Stringer
	require.Error(t, UnmarshalTerm(int64(1), &st))
	var ptr *int
	require.NoError(t, UnmarshalTerm(int64(4), &ptr))
	require.Equal(t, 4, *ptr)

	var inv *InvalidUnmarshalError
	require.ErrorAs(t, UnmarshalTerm(int64(1), i), &inv)
	require.Equal(t, "etf: Unmarshal(non-pointer int)", inv.Error())
	require.ErrorAs(t, Unmarshal([]byte{131, 97, 1}, nil), &inv)
	require.Equal(t, "etf: Unmarshal(nil)", inv.Error())
	require.ErrorAs(t, Unmarshal([]byte{131, 97, 1}, (*int)(nil)), &inv)

	var de *DecodeError
	require.ErrorAs(t, Unmarshal([]byte{131, 97}, &i), &de)
}

func TestUnmarshalNeverPanics(t *testing.T) {
	type inner struct {
		A []map[string]*[2]float32 `etf:"a"`
		B map[int8]Atom            `etf:"b"`
		C *inner                   `etf:"c"`
		D any                      `etf:"d"`
		E [1]Tuple                 `etf:"e"`
	}
	terms := []Term{
		nil, int64(1), 1.5, []byte("x"), Atom("a"), List{Map{}}, Tuple{}, Map{}, PID{}, Ref{}, Port{},
		Map{{Key: Atom("a"), Value: List{Map{{Key: []byte("k"), Value: Tuple{1.0, int64(2)}}}}}},
		Map{{Key: Atom("a"), Value: List{Map{{Key: []byte("k"), Value: Tuple{1.0, 1e300}}}}}},
		Map{{Key: Atom("b"), Value: Map{{Key: int64(200), Value: Atom("x")}}}},
		Map{{Key: Atom("c"), Value: Map{{Key: Atom("c"), Value: Map{{Key: Atom("e"), Value: List{Tuple{}}}}}}}},
		Map{{Key: Atom("c"), Value: List{int64(1)}}, {Key: Atom("d"), Value: ImproperList{Elems: []Term{1}, Tail: 2}}},
		Map{{Key: Atom("e"), Value: Tuple{int64(1)}}},
	}
	targets := []func() any{
		func() any { return new(inner) }, func() any { return new(int) }, func() any { return new([]string) },
		func() any { return new(map[string]any) }, func() any { return new(any) }, func() any { return new(PID) },
		func() any { return new(chan int) }, func() any { return new(complex128) }, func() any { return new(*[]*int) },
	}
	for _, term := range terms {
		for _, target := range targets {
			require.NotPanics(t, func() { _ = UnmarshalTerm(term, target()) }, "%#v", term)
		}
	}
	cyclic := Tuple{nil}
	cyclic[0] = cyclic
	var x [1][1][1]any
	require.NotPanics(t, func() { _ = UnmarshalTerm(cyclic, &x) })
	var nested any
	for i := 0; i < DefaultMaxDepth+10; i++ {
		nested = []any{nested}
	}
	var target any
	require.NotPanics(t, func() { _ = UnmarshalTerm(nested, &target) })

	// Fields and keys that clash after case folding go to the first match.
	var folded struct {
		Name string
	}
	require.NoError(t, UnmarshalTerm(Map{{Key: Atom("NAME"), Value: []byte("a")}}, &folded))
	require.Equal(t, "a", folded.Name)
	require.True(t, strings.HasPrefix(describeTerm(Map{{Key: Atom("__struct__"), Value: Atom("Elixir.A")}}), "struct"))
}

// Distinct Erlang keys that become one Go key, or name one field, are an error: one value would
// silently replace the other. Entries a Go map held before may be replaced, as documented.
func TestUnmarshalKeysThatBecomeOne(t *testing.T) {
	var byName map[string]int
	err := UnmarshalTerm(Map{{Atom("a"), int64(1)}, {[]byte("a"), int64(2)}}, &byName)
	require.ErrorContains(t, err, "another key of the map is the same Go key")
	var byFloat map[float64]int
	err = UnmarshalTerm(Map{{int64(1), int64(1)}, {1.0, int64(2)}}, &byFloat)
	require.ErrorContains(t, err, "another key of the map is the same Go key")

	held := map[string]int{"a": 9, "b": 8}
	require.NoError(t, UnmarshalTerm(Map{{Atom("a"), int64(1)}}, &held))
	require.Equal(t, map[string]int{"a": 1, "b": 8}, held)
	err = UnmarshalTerm(Map{{Atom("a"), int64(1)}, {[]byte("a"), int64(2)}}, &held)
	require.ErrorContains(t, err, "another key of the map is the same Go key")

	type user struct {
		Name string `etf:"name"`
	}
	var u user
	err = UnmarshalTerm(Map{{Atom("name"), []byte("a")}, {[]byte("name"), []byte("b")}}, &u)
	var te *UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Contains(t, te.Error(), "another key of the map names the same field")
	require.Equal(t, ".Name", te.Path)
}
