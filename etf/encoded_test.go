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
}
