package handshake

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNameRoundTrip(t *testing.T) {
	m := NameMessage{Flags: DefaultFlags, Creation: 0xdeadbeef, Name: "go@127.0.0.1"}
	body := AppendName(nil, m)
	assert.Equal(t, byte('N'), body[0])
	assert.Len(t, body, 15+len(m.Name))
	got, err := DecodeName(body)
	require.NoError(t, err)
	assert.Equal(t, m, got)
}

func TestNameWireBytes(t *testing.T) {
	body := AppendName(nil, NameMessage{Flags: 0x0000000d_07df7fbd, Creation: 0x01020304, Name: "a@b"})
	assert.Equal(t, "4e"+"0000000d07df7fbd"+"01020304"+"0003"+"614062", hex.EncodeToString(body))
}

func TestNameExtraIgnored(t *testing.T) {
	body := append(AppendName(nil, NameMessage{Flags: FlagPublished, Creation: 7, Name: "x@y"}), 1, 2, 3)
	got, err := DecodeName(body)
	require.NoError(t, err)
	assert.Equal(t, "x@y", got.Name)
	assert.Equal(t, uint32(7), got.Creation)
}

func TestLegacyName(t *testing.T) {
	m := NameMessage{Legacy: true, Version: 5, Flags: DefaultFlags & 0xffffffff, Name: "old@host"}
	body := AppendName(nil, m)
	assert.Equal(t, "6e0005", hex.EncodeToString(body[:3]))
	got, err := DecodeName(body)
	require.NoError(t, err)
	assert.Equal(t, m, got)
}

func TestDecodeNameErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{'N'},
		{'N', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'},
		{'n', 0, 5},
		{'x', 1, 2},
	} {
		_, err := DecodeName(b)
		assert.ErrorIs(t, err, ErrMalformed, "% x", b)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, m := range []StatusMessage{
		{Status: StatusOK}, {Status: StatusOKSimultaneous}, {Status: StatusNOK},
		{Status: StatusNotAllowed}, {Status: StatusAlive}, {Status: StatusTrue}, {Status: StatusFalse},
		{Status: StatusNamed, Name: "dyn1@host", Creation: 0x11223344},
	} {
		body := AppendStatus(nil, m)
		got, err := DecodeStatus(body)
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	assert.Equal(t, "736f6b", hex.EncodeToString(AppendStatus(nil, StatusMessage{Status: StatusOK})))
	assert.Equal(t, "736e616d65643a0003612f6200000009",
		hex.EncodeToString(AppendStatus(nil, StatusMessage{Status: StatusNamed, Name: "a/b", Creation: 9})))
}

func TestDecodeStatusErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {'x', 'o', 'k'}, []byte("snamed:"), []byte("snamed:\x00\x05ab")} {
		_, err := DecodeStatus(b)
		assert.ErrorIs(t, err, ErrMalformed, "%q", b)
	}
}

func TestChallengeRoundTrip(t *testing.T) {
	m := ChallengeMessage{Flags: DefaultFlags, Challenge: 0xcafebabe, Creation: 42, Name: "erl@127.0.0.1"}
	body := AppendChallenge(nil, m)
	assert.Len(t, body, 19+len(m.Name))
	got, err := DecodeChallenge(body)
	require.NoError(t, err)
	assert.Equal(t, m, got)

	_, err = DecodeChallenge([]byte{'n', 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 'a'})
	assert.ErrorIs(t, err, ErrLegacyChallenge)
	_, err = DecodeChallenge(body[:18])
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeChallenge(body[:len(body)-1])
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestComplementReplyAck(t *testing.T) {
	c := ComplementMessage{FlagsHigh: 0xf, Creation: 0x01020304}
	body := AppendComplement(nil, c)
	assert.Equal(t, "630000000f01020304", hex.EncodeToString(body))
	gotC, err := DecodeComplement(body)
	require.NoError(t, err)
	assert.Equal(t, c, gotC)
	_, err = DecodeComplement(body[:8])
	assert.ErrorIs(t, err, ErrMalformed)

	r := ReplyMessage{Challenge: 1, Digest: Digest(5, "c")}
	body = AppendReply(nil, r)
	assert.Len(t, body, 21)
	gotR, err := DecodeReply(body)
	require.NoError(t, err)
	assert.Equal(t, r, gotR)
	_, err = DecodeReply(append(body, 0))
	assert.ErrorIs(t, err, ErrMalformed)

	a := AckMessage{Digest: Digest(6, "c")}
	body = AppendAck(nil, a)
	assert.Len(t, body, 17)
	gotA, err := DecodeAck(body)
	require.NoError(t, err)
	assert.Equal(t, a, gotA)
	_, err = DecodeAck(body[1:])
	assert.ErrorIs(t, err, ErrMalformed)
}

// The digest erl computes: erlang:md5("SECRET" ++ integer_to_list(3735928559)).
func TestDigestMatchesErlang(t *testing.T) {
	d := Digest(3735928559, "SECRET")
	assert.Equal(t, "c64b6a6c2d1fc13eeebac332548f35e4", hex.EncodeToString(d[:]))
	assert.True(t, validDigest(d, 3735928559, "SECRET"))
	assert.False(t, validDigest(d, 3735928559, "SECRET2"))
	assert.False(t, validDigest(d, 3735928558, "SECRET"))
}

func TestFlags(t *testing.T) {
	assert.Equal(t, Flags(0x4000000), FlagMandatory25Digest)
	assert.Equal(t, Flags(0x1_0000_0000), FlagSpawn)
	assert.Equal(t, Flags(0x8_0000_0000), FlagAlias)
	assert.True(t, DefaultFlags.Has(Mandatory))
	assert.True(t, DefaultFlags.Has(FlagPublished))
	assert.False(t, HiddenFlags.Has(FlagPublished))
	assert.Equal(t, FlagV4NC|FlagUnlinkID, (Mandatory25 | FlagPublished).Missing(Mandatory))
	assert.Equal(t, "PUBLISHED|EXTENDED_REFERENCES|SPAWN|0x80000000000", (FlagPublished | FlagExtendedReferences | FlagSpawn | 1<<43).String())
	assert.Equal(t, "0", Flags(0).String())

	// The digest stands for the OTP 25 set; PUBLISHED needs both sides.
	peer := FlagMandatory25Digest | Mandatory26 | FlagSpawn
	n := Negotiate(DefaultFlags, peer)
	assert.True(t, n.Has(Mandatory))
	assert.True(t, n.Has(FlagSpawn))
	assert.False(t, n.Has(FlagPublished))
	assert.False(t, n.Has(FlagAlias))
}

func TestReadMessageLimits(t *testing.T) {
	_, err := readMessage(bytesReader([]byte{0x10, 0x01}))
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = readMessage(bytesReader([]byte{0, 0}))
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = readMessage(bytesReader([]byte{0, 5, 's', 'o'}))
	assert.True(t, errors.Is(err, io.ErrUnexpectedEOF))
	b, err := readMessage(bytesReader([]byte{0, 3, 's', 'o', 'k', 'x'}))
	require.NoError(t, err)
	assert.Equal(t, "sok", string(b))
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
