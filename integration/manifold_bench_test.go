package integration

import (
	"sync/atomic"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/manifold/elixir"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

// BenchmarkManifold fans a ~300-byte chat map out to 10,000 receivers, b.N rounds, in one run:
// BEAM->BEAM (two Elixir nodes, the reference), BEAM->Go, Go->BEAM and Go->Go, and the
// receiving Go node's fan-out to its own actors alone (go-local). It reports
// deliveries/s (until the last receiver got the last round) and the sender's time per round.
// scripts/bench-manifold prints the ratios.
func BenchmarkManifold(b *testing.B) {
	const receivers = 10_000
	c := &cluster{epmdPort: nodetest.Port(b), cookie: "bench"}
	start := func(prefix string) gen.Node {
		opts := node.Options{Cookie: c.cookie, EPMDPort: c.epmdPort}
		opts.Ergo.Log.Level = gen.LogLevelWarning
		n, err := node.Start(erlpeer.UniqueName(prefix)+"@127.0.0.1", opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(n.Stop)
		return n
	}
	goA, goB := start("goa"), start("gob")
	cfg := manifold.Config{Partitioners: 1, Shape: manifold.Shape3}
	mA, err := manifold.Start(goA, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := manifold.Start(goB, cfg); err != nil {
		b.Fatal(err)
	}
	beam := func(prefix string) *erlpeer.Peer {
		p := erlpeer.Start(b, erlpeer.Options{Name: erlpeer.UniqueName(prefix), Cookie: c.cookie,
			EPMDPort: int(c.epmdPort), NoStartEPMD: true, Elixir: true})
		p.MustLoadFS(elixir.Sources, "*.ex")
		if _, err := p.Eval(`'Elixir.GobeamManifold':start([{partitioners, 1}, {shape, 3}])`); err != nil {
			b.Fatal(err)
		}
		return p
	}
	exA, exB := beam("exa"), beam("exb")
	msg := chatMsg

	// Receivers: 10,000 on exB, on goB (for Go->Go) and on goA (for BEAM->Go).
	beamRecv := exB.MustCall("Elixir.GobeamManifold.Receivers", "spawn_counters", receivers).(etf.Tuple)
	beamCounter, beamPids := beamRecv[0], beamRecv[1].(etf.List)
	goPidsA, countA := spawnBenchReceivers(b, goA, receivers)
	goPidsB, countB := spawnBenchReceivers(b, goB, receivers)
	beamCount := func() int64 { return exB.MustCall("Elixir.GobeamManifold.Receivers", "read", beamCounter).(int64) }

	waitCount := func(b *testing.B, count func() int64, want int64) {
		deadline := time.Now().Add(10 * time.Minute)
		for count() < want {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d deliveries", count(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	report := func(b *testing.B, took, sending time.Duration) {
		b.ReportMetric(float64(b.N*receivers)/took.Seconds(), "deliveries/s")
		b.ReportMetric(float64(sending.Microseconds())/1000/float64(b.N), "sender-ms/round")
	}

	b.Run("beam-beam", func(b *testing.B) {
		base := beamCount()
		start := time.Now()
		us := exA.MustCall("Elixir.GobeamManifold.Receivers", "send_rounds", beamPids, msg, b.N).(int64)
		waitCount(b, beamCount, base+int64(b.N*receivers))
		report(b, time.Since(start), time.Duration(us)*time.Microsecond)
	})
	b.Run("beam-go", func(b *testing.B) {
		base := countA.Load()
		start := time.Now()
		us := exA.MustCall("Elixir.GobeamManifold.Receivers", "send_rounds", goPidsA, msg, b.N).(int64)
		waitCount(b, countA.Load, base+int64(b.N*receivers))
		report(b, time.Since(start), time.Duration(us)*time.Microsecond)
	})
	goSend := func(b *testing.B, list etf.List, count func() int64) {
		// A Go program holds its receivers as []gen.PID, as the Elixir sender holds a list.
		pids := make([]gen.PID, len(list))
		for i, p := range list {
			pids[i] = p.(gen.PID)
		}
		base := count()
		sending := make(chan time.Duration, 1)
		start := time.Now()
		s := spawnSender(b, goA)
		if err := goA.Send(s, senderJob(func(p gen.Process) {
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				mA.Send(p, pids, msg)
			}
			sending <- time.Since(t0)
		})); err != nil {
			b.Fatal(err)
		}
		took := <-sending
		waitCount(b, count, base+int64(b.N*receivers))
		report(b, time.Since(start), took)
	}
	b.Run("go-beam", func(b *testing.B) { goSend(b, beamPids, beamCount) })
	b.Run("go-go", func(b *testing.B) { goSend(b, goPidsB, countB.Load) })

	// The ceiling of BEAM->Go: the receiving node's Manifold send to its own 10,000 receivers
	// (partitioner and workers, no connection, no decoding, and no erl sender beside it on the
	// machine's cores).
	b.Run("go-local", func(b *testing.B) { goSend(b, goPidsA, countA.Load) })
}

type benchReceiver struct {
	act.Actor
	count *atomic.Int64
}

func (r *benchReceiver) HandleMessage(from gen.PID, msg any) error {
	r.count.Add(1)
	return nil
}

func spawnBenchReceivers(b *testing.B, n gen.Node, count int) (etf.List, *atomic.Int64) {
	c := &atomic.Int64{}
	pids := make(etf.List, count)
	for i := range pids {
		pid, err := n.Spawn(func() gen.ProcessBehavior { return &benchReceiver{count: c} }, gen.ProcessOptions{})
		if err != nil {
			b.Fatal(err)
		}
		pids[i] = pid
	}
	return pids, c
}
