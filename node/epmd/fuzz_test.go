package epmd

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every decoder must return a value or an error for any input, never panic; what it accepts
// must encode back to the bytes it consumed.

func FuzzDecodeRequest(f *testing.F) {
	f.Add(AppendAlive2Request(nil, sampleNode)[2:])
	f.Add(AppendPortPlease2Request(nil, "erl")[2:])
	f.Add([]byte("n"))
	f.Add([]byte("sname"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err != nil {
			return
		}
		switch r := req.(type) {
		case *Alive2Request:
			again := AppendAlive2Request(nil, r.Node)[2:]
			require.True(t, bytes.HasPrefix(b, again), "% x re-encoded as % x", b, again)
		case *PortPlease2Request:
			require.Equal(t, bytes.TrimSuffix(b, []byte{0}), AppendPortPlease2Request(nil, r.Name)[2:])
		}
	})
}

func FuzzDecodeAlive2Response(f *testing.F) {
	f.Add(AppendAlive2Response(nil, Alive2Response{Creation: 9, Extended: true}))
	f.Add(AppendAlive2Response(nil, Alive2Response{Result: 1, Creation: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeAlive2Response(b)
		if err != nil {
			return
		}
		require.Equal(t, b, AppendAlive2Response(nil, r))
	})
}

func FuzzDecodePort2Response(f *testing.F) {
	f.Add(AppendPort2Response(nil, Port2Response{Node: sampleNode}))
	f.Add([]byte{119, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodePort2Response(b)
		if err != nil {
			return
		}
		again := AppendPort2Response(nil, r)
		require.True(t, bytes.HasPrefix(b, again), "% x re-encoded as % x", b, again)
	})
}

func FuzzDecodeNamesResponse(f *testing.F) {
	f.Add(AppendNamesResponse(nil, 4369, []NameEntry{{Name: "a", Port: 1}}))
	f.Add([]byte{0, 0, 0, 0, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		port, entries, err := DecodeNamesResponse(b)
		if err != nil {
			return
		}
		for _, e := range entries {
			// What survived decoding must re-encode and decode to itself.
			_, again, err := DecodeNamesResponse(AppendNamesResponse(nil, port, []NameEntry{e}))
			require.NoError(t, err)
			require.Equal(t, []NameEntry{e}, again)
		}
	})
}
