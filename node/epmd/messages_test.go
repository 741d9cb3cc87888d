package epmd

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sampleNode = NodeInfo{
	Name: "go", Port: 11144, Type: NodeTypeNormal, Protocol: ProtocolTCP,
	HighestVersion: 6, LowestVersion: 6,
}

func TestAlive2RequestBytes(t *testing.T) {
	b := AppendAlive2Request(nil, sampleNode)
	// length 15, 'x', port 11144, 'M', 0, 6, 6, name length 2, "go", extra length 0
	assert.Equal(t, "000f"+"78"+"2b88"+"4d"+"00"+"0006"+"0006"+"0002"+"676f"+"0000", hex.EncodeToString(b))
	req, err := DecodeRequest(b[2:])
	require.NoError(t, err)
	assert.Equal(t, &Alive2Request{Node: sampleNode}, req)

	withExtra := sampleNode
	withExtra.Extra = []byte{1, 2, 3}
	b = AppendAlive2Request(nil, withExtra)
	req, err = DecodeRequest(b[2:])
	require.NoError(t, err)
	assert.Equal(t, &Alive2Request{Node: withExtra}, req)
}

func TestDecodeAlive2Errors(t *testing.T) {
	good := AppendAlive2Request(nil, sampleNode)[2:]
	for _, b := range [][]byte{
		good[:12],
		good[:len(good)-1],
		append(append([]byte{}, good[:len(good)-2]...), 0, 9), // extra length beyond the end
		AppendAlive2Request(nil, NodeInfo{Name: "", HighestVersion: 6})[2:],
		AppendAlive2Request(nil, NodeInfo{Name: "a\x00b"})[2:],
		AppendAlive2Request(nil, NodeInfo{Name: "\xff\xfe"})[2:],
	} {
		_, err := DecodeRequest(b)
		assert.ErrorIs(t, err, ErrMalformed, "% x", b)
	}
}

func TestOtherRequests(t *testing.T) {
	b := AppendPortPlease2Request(nil, "erl")
	assert.Equal(t, "00047a65726c", hex.EncodeToString(b))
	req, err := DecodeRequest(b[2:])
	require.NoError(t, err)
	assert.Equal(t, &PortPlease2Request{Name: "erl"}, req)

	req, err = DecodeRequest([]byte("zerl\x00"))
	require.NoError(t, err)
	assert.Equal(t, &PortPlease2Request{Name: "erl"}, req)
	_, err = DecodeRequest([]byte("z"))
	assert.ErrorIs(t, err, ErrMalformed)

	assert.Equal(t, "00016e", hex.EncodeToString(AppendNamesRequest(nil)))
	for body, want := range map[string]Request{
		"n": &NamesRequest{}, "d": &DumpRequest{}, "k": &KillRequest{}, "sfoo": &StopRequest{Name: "foo"},
	} {
		req, err := DecodeRequest([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, want, req)
	}
	_, err = DecodeRequest([]byte{1})
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeRequest(nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestAlive2Response(t *testing.T) {
	x := Alive2Response{Creation: 0x01020304, Extended: true}
	assert.Equal(t, "760001020304", hex.EncodeToString(AppendAlive2Response(nil, x)))
	got, err := DecodeAlive2Response(AppendAlive2Response(nil, x))
	require.NoError(t, err)
	assert.Equal(t, x, got)

	old := Alive2Response{Result: 1, Creation: 3}
	assert.Equal(t, "79010003", hex.EncodeToString(AppendAlive2Response(nil, old)))
	got, err = DecodeAlive2Response(AppendAlive2Response(nil, old))
	require.NoError(t, err)
	assert.Equal(t, old, got)

	for _, b := range [][]byte{nil, {118, 0, 0}, {121, 0, 0, 0, 0}, {77, 0, 0, 0}} {
		_, err := DecodeAlive2Response(b)
		assert.ErrorIs(t, err, ErrMalformed, "% x", b)
	}
}

func TestPort2Response(t *testing.T) {
	r := Port2Response{Node: NodeInfo{Name: "erl", Port: 40000, Type: NodeTypeHidden, HighestVersion: 6, LowestVersion: 5, Extra: []byte("x")}}
	b := AppendPort2Response(nil, r)
	assert.Equal(t, "7700"+"9c40"+"48"+"00"+"0006"+"0005"+"0003"+"65726c"+"0001"+"78", hex.EncodeToString(b))
	got, err := DecodePort2Response(b)
	require.NoError(t, err)
	assert.Equal(t, r, got)
	assert.True(t, got.Node.Supports(6))
	assert.True(t, got.Node.Supports(5))
	assert.False(t, got.Node.Supports(7))

	notFound := AppendPort2Response(nil, Port2Response{Result: 1})
	assert.Equal(t, "7701", hex.EncodeToString(notFound))
	got, err = DecodePort2Response(notFound)
	require.NoError(t, err)
	assert.Equal(t, Port2Response{Result: 1}, got)

	for _, bad := range [][]byte{nil, {119}, {118, 0}, b[:11], b[:14], b[:len(b)-1]} {
		_, err := DecodePort2Response(bad)
		assert.ErrorIs(t, err, ErrMalformed, "% x", bad)
	}
}

func TestNamesResponse(t *testing.T) {
	entries := []NameEntry{{Name: "go", Port: 11144}, {Name: "with space", Port: 1}}
	b := AppendNamesResponse(nil, 4369, entries)
	assert.Equal(t, "\x00\x00\x11\x11name go at port 11144\nname with space at port 1\n", string(b))
	port, got, err := DecodeNamesResponse(b)
	require.NoError(t, err)
	assert.Equal(t, uint32(4369), port)
	assert.Equal(t, entries, got)

	port, got, err = DecodeNamesResponse([]byte{0, 0, 0x11, 0x11})
	require.NoError(t, err)
	assert.Equal(t, uint32(4369), port)
	assert.Empty(t, got)

	for _, bad := range []string{"\x00\x00", "\x00\x00\x00\x01name x at port 1", "\x00\x00\x00\x01nam x at port 1\n", "\x00\x00\x00\x01name x at port 99999\n"} {
		_, _, err := DecodeNamesResponse([]byte(bad))
		assert.ErrorIs(t, err, ErrMalformed, "%q", bad)
	}
}

func TestSplitNodeName(t *testing.T) {
	name, host, err := SplitNodeName("erl@127.0.0.1")
	require.NoError(t, err)
	assert.Equal(t, "erl", name)
	assert.Equal(t, "127.0.0.1", host)
	for _, bad := range []string{"erl", "@h", "erl@", "a@b@c"} {
		_, _, err := SplitNodeName(bad)
		assert.Error(t, err, bad)
	}
}

func TestPortFromEnv(t *testing.T) {
	t.Setenv("ERL_EPMD_PORT", "")
	assert.Equal(t, uint16(4369), PortFromEnv())
	t.Setenv("ERL_EPMD_PORT", "14369")
	assert.Equal(t, uint16(14369), PortFromEnv())
	t.Setenv("ERL_EPMD_PORT", "nonsense")
	assert.Equal(t, uint16(4369), PortFromEnv())
}
