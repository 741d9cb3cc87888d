package etf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEncodedIsWrittenVerbatim(t *testing.T) {
	msg := Map{{Key: []byte("content"), Value: []byte("hello")}, {Key: Atom("n"), Value: int64(300)}}
	enc, err := NewEncoded(msg)
	require.NoError(t, err)

	direct, err := Encode(Tuple{Atom("$gen_cast"), Tuple{Atom("send"), List{}, msg}})
	require.NoError(t, err)
	viaEncoded, err := Encode(Tuple{Atom("$gen_cast"), Tuple{Atom("send"), List{}, enc}})
	require.NoError(t, err)
	require.Equal(t, direct, viaEncoded)

	back, err := enc.Term()
	require.NoError(t, err)
	require.True(t, Equal(msg, back))
	require.Equal(t, Phash2(msg, 0), Phash2(enc, 0))

	_, err = Encode(Encoded{})
	require.Error(t, err)

	// Met by reflection, in a struct, a slice or a map, it is written verbatim too, not as a
	// struct of no exported fields.
	n, err := NewEncoded(int64(300))
	require.NoError(t, err)
	want, err := Encode(Map{{Atom("E"), int64(300)}})
	require.NoError(t, err)
	got, err := Encode(struct{ E Encoded }{n})
	require.NoError(t, err)
	require.Equal(t, want, got)
	back, err = Decode(mustEncode(t, []Encoded{n}))
	require.NoError(t, err)
	require.Equal(t, List{int64(300)}, back)
	back, err = Decode(mustEncode(t, map[string]Encoded{"k": n}))
	require.NoError(t, err)
	require.Equal(t, Map{{[]byte("k"), int64(300)}}, back)
}

func TestPIDSliceEncodesAsAList(t *testing.T) {
	pids := []PID{{Node: "a@h", ID: 1, Creation: 2}, {Node: "b@h", ID: 5<<32 | 3, Creation: 4}}
	want, err := Encode(List{pids[0], pids[1]})
	require.NoError(t, err)
	got, err := Encode(pids)
	require.NoError(t, err)
	require.Equal(t, want, got)
	empty, err := Encode([]PID{})
	require.NoError(t, err)
	require.Equal(t, []byte{131, 106}, empty)
}
