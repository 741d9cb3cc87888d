package manifold

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// Vectors computed with Elixir: Manifold.Utils.hash/1 of each key.
func TestKeyHashVectors(t *testing.T) {
	cases := []struct {
		key  any
		want uint64
	}{
		{"hello", 10575884659879408057},
		{[]byte("hello"), 10575884659879408057},
		{"", 9098107892288553193},
		{nil, 9098107892288553193},
		{etf.Atom("nil"), 9098107892288553193},
		{"guild:123", 5282912981767676025},
		{etf.Atom("foo"), 15610818590157434861},
		{etf.Atom("Elixir.Foo"), 4717035226401938427},
		{123, 8091599832034528150},
		{int64(-5), 1120384861337239491},
		{1.5, 14623304264290523628},
		{etf.ByteList("abc"), 8250560606382298838},
	}
	for _, c := range cases {
		got, err := KeyHash(c.key)
		require.NoError(t, err, "%#v", c.key)
		require.Equal(t, c.want, got, "%#v", c.key)
	}
	require.Equal(t, uint64(25), mustHash(t, "hello")%32)
	_, err := KeyHash(etf.Tuple{1})
	require.Error(t, err)
}

// A list key's text is List.to_string's: the UTF-8 of its characters, whether they come as the
// bytes of a charlist, as code points, or as binaries in nested lists.
func TestKeyHashOfListsIsTheirUTF8(t *testing.T) {
	same := []struct {
		key  any
		text string
	}{
		{etf.ByteList{233}, "é"}, // 'é' from Erlang: one character, two bytes of text
		{etf.List{int64(0x1F600), int64('a')}, "😀a"},
		{etf.List(nil), ""},
		{etf.List{etf.ByteList("ab"), []byte("c"), etf.List{int64('d')}}, "abcd"},
		{etf.ImproperList{Elems: []etf.Term{int64('a')}, Tail: []byte("bc")}, "abc"},
	}
	for _, c := range same {
		require.Equal(t, mustHash(t, c.text), mustHash(t, c.key), "%#v", c.key)
	}
	for _, bad := range []any{
		etf.List{etf.Atom("a")}, etf.List{int64(-1)}, etf.List{int64(0xD800)}, etf.List{int64(1) << 40},
		etf.List{[]byte{0xff}}, etf.ImproperList{Elems: []etf.Term{int64('a')}, Tail: int64('b')},
	} {
		_, err := KeyHash(bad)
		require.ErrorContains(t, err, "no text", "%#v", bad)
	}
}

func mustHash(t *testing.T, k any) uint64 {
	h, err := KeyHash(k)
	require.NoError(t, err)
	return h
}

func TestNames(t *testing.T) {
	require.Equal(t, "Elixir.Manifold.Partitioner", string(PartitionerName(0)))
	require.Equal(t, "Manifold.Partitioner_31", string(PartitionerName(31)))
	require.Equal(t, "Manifold.Sender_0", string(SenderName(0)))
	require.True(t, isPartitionerName("Manifold.Partitioner_7"))
	require.False(t, isPartitionerName("Manifold.Partitioner_32"))
	require.False(t, isPartitionerName("Manifold.Partitioner_07"))
	require.False(t, isPartitionerName("Elixir.Manifold.Partitioner_1"))
}

// Elixir's to_string of each float, from Elixir 1.14.
func TestElixirFloatText(t *testing.T) {
	cases := map[float64]string{
		1.5: "1.5", 1.0e20: "1.0e20", 1.0e-7: "1.0e-7", 123456789.0: "123456789.0", 0.1: "0.1",
		1.0e16: "1.0e16", 1.0e15: "1.0e15", -2.5e-10: "-2.5e-10", 100.0: "100.0", 1.0e21: "1.0e21",
		0: "0.0", 9007199254740991.0: "9007199254740991.0", 9007199254740992.0: "9.007199254740992e15",
		-9007199254740992.0: "-9.007199254740992e15", 1.2345678901234568e17: "1.2345678901234568e17",
	}
	for f, want := range cases {
		require.Equal(t, want, elixirFloat(f), "%v", f)
	}
}
