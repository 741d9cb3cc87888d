package nodetest

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPortIsFreeAndNotEphemeral(t *testing.T) {
	lo, hi, ok := ephemeralRange()
	for range 50 {
		port := Port(t)
		require.NotZero(t, port)
		if ok {
			require.False(t, int(port) >= lo && int(port) <= hi, "port %d is in the ephemeral range %d-%d", port, lo, hi)
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(int(port)))
		require.NoError(t, err, "port %d", port)
		l.Close()
	}
}

func TestPortSkipsTakenPorts(t *testing.T) {
	low, _, ok := pickRange()
	if !ok {
		t.Skip("no range to pick from here")
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(low))
	if err != nil {
		t.Skipf("port %d is taken already: %v", low, err)
	}
	defer l.Close()
	require.False(t, free(uint16(low)))
}
