package etf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRefWordsRoundTrip(t *testing.T) {
	cases := [][]uint32{
		{7},
		{1, 2},
		{1, 2, 3},
		{0, 0, 0},
		{1, 2, 3, 4},
		{1, 2, 3, 0, 0},
		{0xffffffff, 0xfffffffe, 0xfffffffd, 0xfffffffc, 0xfffffffb},
	}
	for _, words := range cases {
		r, err := RefFromWords("a@b", 9, words)
		require.NoError(t, err)
		require.Equal(t, words, RefWords(r), "words %v", words)
	}
	_, err := RefFromWords("a@b", 1, nil)
	require.Error(t, err)
	_, err = RefFromWords("a@b", 1, make([]uint32, 6))
	require.Error(t, err)
}

func TestErgoRefIsThreeWords(t *testing.T) {
	r := Ref{Node: "go@h", Creation: 5, ID: [3]uint64{12, 0, 1900000000}}
	require.Equal(t, []uint32{12, 0, 1900000000}, RefWords(r))
}

func TestProperList(t *testing.T) {
	l, ok := ProperList(ByteList("hi"))
	require.True(t, ok)
	require.Equal(t, List{int64('h'), int64('i')}, l)
	l, ok = ProperList(List{Atom("a")})
	require.True(t, ok)
	require.Equal(t, List{Atom("a")}, l)
	_, ok = ProperList(ImproperList{Elems: []Term{1}, Tail: 2})
	require.False(t, ok)
	_, ok = ProperList(Tuple{})
	require.False(t, ok)
}
