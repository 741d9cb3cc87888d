package nodetest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Port returns a TCP port that is free on every local address and lies outside the system's
// range of ephemeral ports (where listeners on port 0 and outgoing connections get theirs), so
// that only another explicit pick can take it before the test listens on it. Where that range
// cannot be read (systems other than Linux), Port falls back to a port the system hands out.
func Port(t testing.TB) uint16 {
	t.Helper()
	if low, high, ok := pickRange(); ok {
		for range 200 {
			if port := uint16(low + rand.IntN(high-low+1)); free(port) {
				return port
			}
		}
	}
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatalf("nodetest: no free port: %v", err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// The ports Port picks from: below the ephemeral range when there is room there above the
// well-known and registered services most hosts run (epmd's 4369 among them), else above it,
// past the ports a node tries after the one it was handed (node.Start listens on the first
// free one of 65).
const (
	lowestPick   = 10000
	highestPort  = 65535
	minPickRange = 1000
	nodeScan     = 64
)

// ephemeralRangeFile is where Linux keeps the range of ports it hands out.
const ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

func pickRange() (low, high int, ok bool) {
	lo, hi, ok := ephemeralRange()
	switch {
	case !ok:
		return 0, 0, false
	case lo-1-lowestPick >= minPickRange:
		return lowestPick, lo - 1, true
	case highestPort-(hi+1+nodeScan) >= minPickRange:
		return hi + 1 + nodeScan, highestPort, true
	}
	return 0, 0, false
}

func ephemeralRange() (lo, hi int, ok bool) {
	b, err := os.ReadFile(ephemeralRangeFile)
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

// free reports whether nothing listens on port, on any address of either family, as an
// embedded EPMD or a node would listen.
func free(port uint16) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(int(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
