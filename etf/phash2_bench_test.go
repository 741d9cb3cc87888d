package etf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type phash2BenchItem struct {
	name string
	term Term
}

// phash2BenchItems builds the benchmark items exactly as bench_items/0 of
// testdata/gen_phash2_compare.escript does, so that the hashes (TestPhash2BenchItems) and the
// BEAM's timings can be compared.
func phash2BenchItems() []phash2BenchItem {
	bin := func(s string) []byte { return []byte(s) }
	chat := Map{
		{Key: bin("id"), Value: bin("1145141919810893312")},
		{Key: bin("channel_id"), Value: bin("1000000000000000001")},
		{Key: bin("guild_id"), Value: bin("900000000000000009")},
		{Key: bin("author"), Value: Map{
			{Key: bin("id"), Value: bin("80351110224678912")},
			{Key: bin("username"), Value: bin("nelly")},
			{Key: bin("discriminator"), Value: bin("1337")},
			{Key: bin("avatar"), Value: bin("8342729096ea3675442027381ff50dfe")},
		}},
		{Key: bin("content"), Value: bin("hey, is the fan-out still lagging on the big guilds?")},
		{Key: bin("timestamp"), Value: bin("2024-05-01T12:34:56.789000+00:00")},
		{Key: bin("tts"), Value: false},
		{Key: bin("mention_everyone"), Value: false},
		{Key: bin("mentions"), Value: List(nil)},
		{Key: bin("pinned"), Value: false},
		{Key: bin("type"), Value: int64(0)},
		{Key: bin("nonce"), Value: int64(1145141919810891776)},
	}
	pids := make(List, 10000)
	for i := range pids {
		pids[i] = PID{Node: "bench@host", ID: uint64(i + 1), Creation: 1}
	}
	bigMap := make(Map, 10000)
	for i := range bigMap {
		bigMap[i] = MapPair{Key: []byte("key-" + strconv.Itoa(i+1)), Value: int64(i + 1)}
	}
	blob := make([]byte, 1<<20)
	for i := range blob {
		blob[i] = byte(i*31 + 7)
	}
	return []phash2BenchItem{
		{"chat_map", chat},
		{"pid_list", pids},
		{"big_map", bigMap},
		{"binary_1m", blob},
		{"pid", PID{Node: "bench@host", ID: 12345, Creation: 1}},
	}
}

var beamTimings struct {
	once sync.Once
	ns   map[string]float64
	err  error
}

// beamPhash2Timings runs erlang:phash2/2 on the same items in a compiled loop (the timing mode of
// the generator script) and returns the BEAM's ns per hash for each. Set GOBEAM_BENCH_BEAM=0 to
// skip it; without escript on PATH it is skipped too.
func beamPhash2Timings() (map[string]float64, error) {
	beamTimings.once.Do(func() {
		if os.Getenv("GOBEAM_BENCH_BEAM") == "0" {
			return
		}
		escript, err := exec.LookPath("escript")
		if err != nil {
			return
		}
		out, err := exec.Command(escript, filepath.Join("testdata", "gen_phash2_compare.escript"), "timing", "2000000").Output()
		if err != nil {
			beamTimings.err = err
			return
		}
		beamTimings.ns = map[string]float64{}
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) != 2 {
				continue
			}
			if v, err := strconv.ParseFloat(fields[1], 64); err == nil {
				beamTimings.ns[fields[0]] = v
			}
		}
	})
	return beamTimings.ns, beamTimings.err
}

// BenchmarkPhash2 hashes the items a fan-out service hashes: a chat message, a member list of
// pids, a large map, a large binary and, above all, a single pid. Where escript is on PATH each
// result also reports the BEAM's time for erlang:phash2/2 of the same item ("beam-ns/op") and
// how many times faster Go is ("x-beam").
func BenchmarkPhash2(b *testing.B) {
	beam, err := beamPhash2Timings()
	if err != nil {
		b.Logf("BEAM timings unavailable: %v", err)
	}
	report := func(b *testing.B, name string, start time.Time) {
		if ns, ok := beam[name]; ok && b.N > 0 {
			goNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "beam-ns/op")
			b.ReportMetric(ns/goNs, "x-beam")
		}
	}
	for _, it := range phash2BenchItems() {
		b.Run(it.name, func(b *testing.B) {
			term := it.term
			if blob, ok := term.([]byte); ok {
				b.SetBytes(int64(len(blob)))
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var sink uint32
			for i := 0; i < b.N; i++ {
				sink ^= Phash2(term, 0)
			}
			b.StopTimer()
			report(b, it.name, start)
			_ = sink
		})
	}
	b.Run("pid_typed", func(b *testing.B) {
		pid := PID{Node: "bench@host", ID: 12345, Creation: 1}
		b.ReportAllocs()
		start := time.Now()
		var sink uint32
		for i := 0; i < b.N; i++ {
			sink ^= Phash2PID(pid, 0)
		}
		b.StopTimer()
		report(b, "pid", start)
		_ = sink
	})
}

// BenchmarkPhash2ChainFloor is the part of hashing 10,000 pids that no implementation can skip:
// erlang:phash2 folds each pid into the running hash with one lookup2 mix that needs the
// previous result, so the mixes form one chain of dependent instructions. Here the ids sit in a
// plain array and nothing else is done. BenchmarkPhash2/pid_list (the same 10,000 pids as a
// decoded list) is compared with it: the difference is the cost of walking terms, and the floor
// bounds how much faster than the BEAM any erlang:phash2 of a pid list can be.
func BenchmarkPhash2ChainFloor(b *testing.B) {
	ids := make([]uint32, 10000)
	for i := range ids {
		ids[i] = uint32(i + 1)
	}
	var sink uint32
	for i := 0; i < b.N; i++ {
		var h uint32
		for _, id := range ids {
			h = hash1(h, id, hconst5)
		}
		sink ^= h
	}
	if sink == 1 {
		b.Log(sink) // keeps the loop from being optimised away
	}
}
