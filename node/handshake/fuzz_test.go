package handshake

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every decoder must turn any input into a message or an error, never a panic, and a message
// it accepts must encode back to the bytes it used.

func FuzzDecodeName(f *testing.F) {
	f.Add(AppendName(nil, NameMessage{Flags: DefaultFlags, Creation: 1, Name: "a@b"}))
	f.Add(AppendName(nil, NameMessage{Legacy: true, Version: 5, Flags: 0xffff, Name: "a@b"}))
	f.Add([]byte{'N', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeName(b)
		if err != nil {
			return
		}
		again := AppendName(nil, m)
		require.True(t, bytes.HasPrefix(b, again), "% x re-encoded as % x", b, again)
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(AppendStatus(nil, StatusMessage{Status: StatusOK}))
	f.Add(AppendStatus(nil, StatusMessage{Status: StatusNamed, Name: "x@y", Creation: 4}))
	f.Add([]byte("snamed:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeStatus(b)
		if err != nil {
			return
		}
		again := AppendStatus(nil, m)
		require.True(t, bytes.HasPrefix(b, again), "% x re-encoded as % x", b, again)
	})
}

func FuzzDecodeChallenge(f *testing.F) {
	f.Add(AppendChallenge(nil, ChallengeMessage{Flags: DefaultFlags, Challenge: 9, Creation: 1, Name: "a@b"}))
	f.Add([]byte{'n', 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeChallenge(b)
		if err != nil {
			return
		}
		again := AppendChallenge(nil, m)
		require.True(t, bytes.HasPrefix(b, again), "% x re-encoded as % x", b, again)
	})
}

func FuzzDecodeShortMessages(f *testing.F) {
	f.Add(AppendComplement(nil, ComplementMessage{FlagsHigh: 1, Creation: 2}))
	f.Add(AppendReply(nil, ReplyMessage{Challenge: 3}))
	f.Add(AppendAck(nil, AckMessage{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeComplement(b); err == nil {
			require.Equal(t, b, AppendComplement(nil, m))
		}
		if m, err := DecodeReply(b); err == nil {
			require.Equal(t, b, AppendReply(nil, m))
		}
		if m, err := DecodeAck(b); err == nil {
			require.Equal(t, b, AppendAck(nil, m))
		}
	})
}

// FuzzAccept feeds arbitrary bytes to the acceptor: it must return, with an error, and never
// panic.
func FuzzAccept(f *testing.F) {
	f.Add(append([]byte{0, 18}, AppendName(nil, NameMessage{Flags: DefaultFlags, Creation: 1, Name: "a@b"})...))
	f.Add([]byte{0, 2, 'n', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		_, err := New(Options{}).accept(newFakeNode("go@h", 1), &scriptConn{r: r}, "C", deadlineFar())
		require.Error(t, err)
	})
}
