package handshake

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlsBuffer stands for a TLS connection: it has a ConnectionState, and its bytes are what the
// TLS layer carries.
type tlsBuffer struct{ bytes.Buffer }

func (*tlsBuffer) ConnectionState() tls.ConnectionState { return tls.ConnectionState{} }

func TestFramesOverTLSHaveFourByteLengths(t *testing.T) {
	body := AppendStatus(nil, StatusMessage{Status: StatusOK})

	var plain bytes.Buffer
	require.NoError(t, writeMessage(&plain, body))
	assert.Equal(t, append([]byte{0, byte(len(body))}, body...), plain.Bytes(), "TCP: a 2-byte length")

	var over tlsBuffer
	require.NoError(t, writeMessage(&over, body))
	assert.Equal(t, append([]byte{0, 0, 0, byte(len(body))}, body...), over.Bytes(), "TLS: a 4-byte length, as erl's {packet, 4}")
	got, err := readMessage(&over)
	require.NoError(t, err)
	assert.Equal(t, body, got)

	// A length beyond the limit is refused before anything is allocated for it, in both forms.
	over.Reset()
	over.Write([]byte{0xff, 0xff, 0xff, 0xff, 1})
	_, err = readMessage(&over)
	assert.True(t, errors.Is(err, ErrMalformed), "%v", err)
	over.Reset()
	over.Write([]byte{0, 0, 0, 0})
	_, err = readMessage(&over)
	assert.True(t, errors.Is(err, ErrMalformed), "%v", err)
}
