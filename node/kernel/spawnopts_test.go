package kernel

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// The options BEAM accepts and refuses in a remote spawn, as erl answered on OTP 25, 27 and 29.
func TestParseSpawnOptions(t *testing.T) {
	a := func(s string) etf.Atom { return etf.Atom(s) }
	kv := func(k string, v etf.Term) etf.Tuple { return etf.Tuple{a(k), v} }
	so, err := parseSpawnOptions(etf.List{a("link"), a("monitor"), a("link")})
	require.NoError(t, err)
	require.Equal(t, spawnOptions{link: true, monitor: true}, so)
	so, err = parseSpawnOptions(nil)
	require.NoError(t, err)
	require.Equal(t, spawnOptions{}, so)

	for _, ok := range []etf.Term{
		kv("priority", a("max")), kv("priority", a("low")), kv("fullsweep_after", int64(0)),
		kv("min_heap_size", int64(10)), kv("min_bin_vheap_size", int64(1000)),
		kv("max_heap_size", int64(100000)), kv("max_heap_size", etf.Map{{Key: a("size"), Value: int64(1)}}),
		kv("message_queue_data", a("on_heap")), kv("message_queue_data", a("off_heap")),
		kv("async_dist", true), kv("scheduler", int64(1)), kv("min_heap_size", new(big.Int).Lsh(big.NewInt(1), 70)),
	} {
		_, err := parseSpawnOptions(etf.List{ok})
		require.NoError(t, err, "%v", ok)
	}
	for _, bad := range []etf.Term{
		kv("link", true), kv("monitor", true), kv("priority", a("bogus")), kv("fullsweep_after", int64(-1)),
		kv("async_dist", int64(1)), kv("label", a("x")), a("bogus"), kv("sensitive", true),
		etf.Tuple{a("priority"), a("high"), a("x")}, kv("message_queue_data", a("x")),
		etf.Tuple{int64(1), int64(2)}, int64(7), kv("min_heap_size", new(big.Int).Neg(big.NewInt(5))),
	} {
		_, err := parseSpawnOptions(etf.List{a("monitor"), bad})
		var be *BadOptionError
		require.ErrorAs(t, err, &be, "%v", bad)
		require.Equal(t, bad, be.Option)
	}
}
