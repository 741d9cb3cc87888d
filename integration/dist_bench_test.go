package integration

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

// BenchmarkDist measures one-way throughput over the distribution link: BEAM->BEAM (two erl
// nodes, the reference), BEAM->Go and Go->BEAM, for small messages and 64 KB messages. Every
// run checks that all messages arrived in order. scripts/bench-dist prints the ratios.
//
// Each sub-benchmark sends b.N messages of the form {seq, Tag, I} or {seq, Tag, I, Payload}
// from one process to one process, and reports msgs/s and MB/s of payload. For 64 KB messages,
// tcp-reuse and tcp-owned show the ceiling: the same erl sender's messages read by Go from a
// plain TCP socket, with no distribution in between.
func BenchmarkDist(b *testing.B) { benchDist(b, nil) }

// BenchmarkDistTLS is BenchmarkDist with every node on the TLS distribution (erl's
// inet_tls_dist, certificates checked both ways), BEAM->BEAM over TLS the reference.
func BenchmarkDistTLS(b *testing.B) { benchDist(b, newTestCA(b, "gobeam bench CA")) }

// benchDist runs the measurements of BenchmarkDist, over TLS with certificates from ca unless
// ca is nil.
func benchDist(b *testing.B, ca *testCA) {
	c := &cluster{epmdPort: nodetest.Port(b), cookie: "bench"}
	opts := node.Options{Cookie: c.cookie, EPMDPort: c.epmdPort}
	if ca != nil {
		opts.TLS = ca.goTLS(b)
	}
	gn, err := node.Start(erlpeer.UniqueName("go")+"@127.0.0.1", opts)
	if err != nil {
		b.Fatal(err)
	}
	defer gn.Stop()
	peer := func(prefix string) *erlpeer.Peer {
		o := erlpeer.Options{Name: erlpeer.UniqueName(prefix), Cookie: c.cookie,
			EPMDPort: int(c.epmdPort), NoStartEPMD: true}
		if ca != nil {
			o.ProtoDist, o.Args = "inet_tls", ca.erlTLSArgs(b, true)
		}
		p := erlpeer.Start(b, o)
		p.MustLoadFS(erlSources, "erl/*.erl")
		return p
	}
	src, dst := peer("src"), peer("dst")
	sink := &countingSink{}
	if _, err := gn.SpawnRegister("sink", func() gen.ProcessBehavior { return sink }, gen.ProcessOptions{}); err != nil {
		b.Fatal(err)
	}
	// Connect everything before measuring.
	for _, p := range []*erlpeer.Peer{src, dst} {
		if v, err := p.Call("net_kernel", "connect_node", gn.Name()); err != nil || v != true {
			b.Fatalf("connect: %v %v", v, err)
		}
	}
	if v, err := src.Call("net_kernel", "connect_node", dst.Node()); err != nil || v != true {
		b.Fatalf("connect: %v %v", v, err)
	}

	for _, size := range []struct {
		name    string
		payload []byte
	}{{"small", nil}, {"64KB", pattern(64 << 10)}} {
		args := func(dest etf.Term, n int) []etf.Term {
			if size.payload == nil {
				return []etf.Term{dest, etf.Atom("b"), n}
			}
			return []etf.Term{dest, etf.Atom("b"), n, size.payload}
		}
		report := func(b *testing.B, took time.Duration) {
			b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
			if size.payload != nil {
				b.ReportMetric(float64(b.N*len(size.payload))/took.Seconds()/1e6, "MB/s")
			}
		}
		b.Run("beam-beam/"+size.name, func(b *testing.B) {
			collector := dst.MustCall("gobeam_dist", "start_collector", b.N)
			start := time.Now()
			src.MustCall("gobeam_dist", "send_seq", args(collector, b.N)...)
			if v := dst.MustCall("gobeam_dist", "await_collector", collector, 600_000); v != etf.Atom("ok") {
				b.Fatalf("collector: %v", v)
			}
			report(b, time.Since(start))
		})
		b.Run("beam-go/"+size.name, func(b *testing.B) {
			done := sink.expect(b.N)
			start := time.Now()
			src.MustCall("gobeam_dist", "send_seq", args(etf.Tuple{etf.Atom("sink"), gn.Name()}, b.N)...)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			report(b, time.Since(start))
		})
		if size.payload != nil && ca == nil {
			// The same erl sender without the distribution: what a Go receiver can take in
			// from it at all. "reuse" reads every message into one buffer; "owned" gives each
			// message a buffer of its own, handed to another goroutine, as a message handed to
			// an actor must be.
			for _, owned := range []bool{false, true} {
				name := map[bool]string{false: "tcp-reuse/", true: "tcp-owned/"}[owned]
				b.Run(name+size.name, func(b *testing.B) {
					report(b, rawTCPReceive(b, src, size.payload, owned))
				})
			}
		}
		b.Run("go-beam/"+size.name, func(b *testing.B) {
			collector := dst.MustCall("gobeam_dist", "start_collector", b.N)
			start := time.Now()
			for i := 1; i <= b.N; i++ {
				var msg etf.Tuple
				if size.payload == nil {
					msg = etf.Tuple{etf.Atom("seq"), etf.Atom("b"), i}
				} else {
					msg = etf.Tuple{etf.Atom("seq"), etf.Atom("b"), i, size.payload}
				}
				if err := gn.Send(collector, msg); err != nil {
					b.Fatal(err)
				}
			}
			if v := dst.MustCall("gobeam_dist", "await_collector", collector, 600_000); v != etf.Atom("ok") {
				b.Fatalf("collector: %v", v)
			}
			report(b, time.Since(start))
		})
	}
}

// rawTCPReceive has src send payload b.N times over plain TCP, each with a 4-byte length in
// front, and reads them in Go; it returns how long that took, counted from the connection.
func rawTCPReceive(b *testing.B, src *erlpeer.Peer, payload []byte, owned bool) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan error, 1)
	go func() {
		_, err := src.Call("gobeam_dist", "send_tcp", ln.Addr().(*net.TCPAddr).Port, payload, b.N)
		sent <- err
	}()
	conn, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	r := bufio.NewReaderSize(conn, 256<<10)
	mailbox := make(chan []byte, 1024)
	taken := make(chan int)
	go func() {
		n := 0
		for m := range mailbox {
			n += len(m)
		}
		taken <- n
	}()
	reused := make([]byte, len(payload))
	var head [4]byte
	for i := 0; i < b.N; i++ {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			b.Fatal(err)
		}
		m := reused[:binary.BigEndian.Uint32(head[:])]
		if owned {
			m = make([]byte, len(m))
		}
		if _, err := io.ReadFull(r, m); err != nil {
			b.Fatal(err)
		}
		if owned {
			mailbox <- m
		}
	}
	close(mailbox)
	took := time.Since(start)
	if n := <-taken; owned && n != b.N*len(payload) {
		b.Fatalf("took in %d bytes, want %d", n, b.N*len(payload))
	}
	if err := <-sent; err != nil {
		b.Fatal(err)
	}
	return took
}

// countingSink checks that {seq, _, 1..N[, _]} arrive in order and reports when all did.
type countingSink struct {
	act.Actor
	next   atomic.Int64
	target atomic.Int64
	done   chan error
}

func (s *countingSink) expect(n int) chan error {
	s.done = make(chan error, 1)
	s.next.Store(1)
	s.target.Store(int64(n))
	return s.done
}

func (s *countingSink) HandleMessage(from gen.PID, message any) error {
	t, ok := message.(etf.Tuple)
	if !ok || len(t) < 3 {
		return nil
	}
	i, _ := t[2].(int64)
	next := s.next.Load()
	if i != next {
		select {
		case s.done <- errOutOfOrder{want: next, got: i}:
		default:
		}
		return nil
	}
	s.next.Store(next + 1)
	if next == s.target.Load() {
		s.done <- nil
	}
	return nil
}

type errOutOfOrder struct{ want, got int64 }

func (e errOutOfOrder) Error() string {
	return fmt.Sprintf("message %d arrived where %d was due", e.got, e.want)
}
