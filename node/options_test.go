package node

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The listen range is read as erl reads inet_dist_listen_min/max, and never handed to Ergo's
// acceptor in a form it would walk wrongly.
func TestListenPorts(t *testing.T) {
	for _, c := range []struct {
		min, max, dist uint16
		lo, hi         uint16
		err            string
	}{
		{min: 9100, max: 9199, lo: 9100, hi: 9199},
		{min: 9100, lo: 9100, hi: 9100},
		{min: 9100, max: 9100, lo: 9100, hi: 9100},
		{max: 9199, err: "without ListenPortMin"},
		{min: 9199, max: 9100, err: "ends below its start"},
		// 65535 + 1 is 0 in Ergo's 16-bit counter: a range up to it would bind nothing.
		{min: 65500, max: 65535, lo: 65500, hi: 65534},
		{min: 65535, err: "stops at 65534"},
		{dist: 65535, err: "stops at 65534"},
		{dist: 4370, lo: 4370, hi: 4370},
	} {
		o := Options{ListenPortMin: c.min, ListenPortMax: c.max, DistPort: c.dist}
		lo, hi, err := o.listenPorts("127.0.0.1")
		if c.err != "" {
			require.ErrorContains(t, err, c.err, "%+v", c)
			continue
		}
		require.NoError(t, err, "%+v", c)
		require.Equal(t, [2]uint16{c.lo, c.hi}, [2]uint16{lo, hi}, "%+v", c)
	}

	// A port the system picks, with room above it.
	lo, hi, err := Options{}.listenPorts("127.0.0.1")
	require.NoError(t, err)
	require.NotZero(t, lo)
	require.LessOrEqual(t, hi, uint16(MaxListenPort))
	require.Equal(t, min(int(lo)+64, MaxListenPort), int(hi))
}
