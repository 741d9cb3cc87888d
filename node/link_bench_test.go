package node

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/gobeam/gobeam/node/nodetest"
)

// BenchmarkIdleLinkMemory measures what one idle distribution link costs a node: heap (buffers
// and state), goroutine stacks and goroutines. A hub node and 32 peer nodes run in this
// process, and each peer connects to the hub; every link has both its ends here, so the growth
// is divided by twice the number of links. It measures once, whatever b.N: run it with
// -benchtime=1x.
//
//	go test -run '^$' -bench IdleLinkMemory -benchtime=1x ./node/
func BenchmarkIdleLinkMemory(b *testing.B) {
	const peers = 32
	port := nodetest.Port(b)
	opts := Options{Cookie: "c", EPMDPort: port, TickTime: 4 * time.Second}
	hub := startNode(b, "hub@127.0.0.1", opts)
	got, inbox := registerInbox(b, hub, peers)
	nodes := make([]gen.Node, peers)
	for i := range nodes {
		nodes[i] = startNode(b, fmt.Sprintf("peer%d@127.0.0.1", i), opts)
	}
	before := settledMemory()

	for _, n := range nodes {
		if err := n.Send(inbox, "hello"); err != nil {
			b.Fatal(err)
		}
	}
	for range nodes {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("a peer's message did not arrive")
		}
	}
	// Long enough for every reader to wait on a quiet link (and give back its grown buffer)
	// and for ticks to pass both ways.
	time.Sleep(3 * time.Second)
	after := settledMemory()

	ends := float64(2 * peers)
	b.ReportMetric(float64(after.heap-before.heap)/ends, "heap-B/link")
	b.ReportMetric(float64(after.stack-before.stack)/ends, "stack-B/link")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/ends, "goroutines/link")
	b.ReportMetric(0, "ns/op")
}

type memory struct {
	heap, stack uint64
	goroutines  int
}

func settledMemory() memory {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return memory{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}
