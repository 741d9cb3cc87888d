package manifold_test

import (
	"testing"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/manifold"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

// BenchmarkSendToRemoteNode is the Go sender's loop for one round of a fan-out to 10,000
// receivers on another node: grouping, the cast's encoding and its hand-off to the connection.
// The other node runs no Manifold, so it only reads and drops the casts.
func BenchmarkSendToRemoteNode(b *testing.B) {
	port := nodetest.Port(b)
	start := func(name string) gen.Node {
		opts := node.Options{Cookie: "c", EPMDPort: port}
		opts.Ergo.Log.Level = gen.LogLevelError
		n, err := node.Start(name+"_"+itoa(seq.Add(1))+"@127.0.0.1", opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(n.Stop)
		return n
	}
	a, far := start("sa"), start("sb")
	m, err := manifold.Start(a, manifold.Config{Partitioners: 1})
	if err != nil {
		b.Fatal(err)
	}
	pids := make([]gen.PID, 10_000)
	for i := range pids {
		pids[i] = gen.PID{Node: far.Name(), ID: uint64(5000 + i), Creation: far.PID().Creation}
	}
	msg := etf.Map{
		{Key: []byte("id"), Value: []byte("1180539227473182760")},
		{Key: []byte("content"), Value: []byte("hello from the other side")},
	}
	for _, v := range []struct {
		name string
		pids any
	}{{"gen.PID", pids}, {"etf.List", toList(pids)}} {
		b.Run(v.name, func(b *testing.B) {
			done := make(chan time.Duration, 1)
			pid, err := a.Spawn(func() gen.ProcessBehavior { return &caller{} }, gen.ProcessOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := a.Send(pid, callerJob(func(p gen.Process) error {
				t0 := time.Now()
				for i := 0; i < b.N; i++ {
					if err := m.Send(p, v.pids, msg); err != nil {
						b.Error(err)
						break
					}
				}
				done <- time.Since(t0)
				return nil
			})); err != nil {
				b.Fatal(err)
			}
			<-done
		})
	}
}

func toList(pids []gen.PID) etf.List {
	l := make(etf.List, len(pids))
	for i, p := range pids {
		l[i] = p
	}
	return l
}
