package dist

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// quietLog swallows everything: fuzzing produces a log line per bad packet.
type quietLog struct{ gen.Log }

func (quietLog) Trace(string, ...any)   {}
func (quietLog) Debug(string, ...any)   {}
func (quietLog) Info(string, ...any)    {}
func (quietLog) Warning(string, ...any) {}
func (quietLog) Error(string, ...any)   {}

// seedPackets are valid packets as a peer sends them, for the fuzzers to mutate.
func seedPackets(f *testing.F) [][]byte {
	var seeds [][]byte
	enc := etf.Encoder{}
	add := func(ctrl Control, payload etf.Term) {
		tuple, err := ctrl.Term()
		if err != nil {
			f.Fatal(err)
		}
		b := appendHeader(nil)
		if b, err = enc.AppendTerm(b, tuple); err != nil {
			f.Fatal(err)
		}
		if ctrl.Op.HasPayload() {
			if b, err = enc.AppendTerm(b, payload); err != nil {
				f.Fatal(err)
			}
		}
		seeds = append(seeds, b)
	}
	add(Control{Op: OpSendSender, From: pidA, To: pidB}, etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("send"), etf.List{pidB}, []byte("hi")}})
	add(Control{Op: OpRegSend, From: pidA, ToName: "Elixir.Manifold.Partitioner"}, etf.Map{{Key: []byte("k"), Value: int64(1)}})
	add(Control{Op: OpAliasSend, From: pidA, Ref: refR}, etf.Atom("x"))
	add(Control{Op: OpMonitorP, From: pidA, ToName: "named", Ref: refR}, nil)
	add(Control{Op: OpUnlinkID, ID: 7, From: pidA, To: pidB}, nil)
	add(Control{Op: OpPayloadExit, From: pidA, To: pidB}, etf.Atom("normal"))
	add(Control{Op: OpSpawnRequest, Ref: refR, From: pidA, GroupLeader: pidA, Module: "m", Function: "f", Arity: 1}, etf.List{int64(1)})
	// the spec's fragmented example, first and last fragment
	seeds = append(seeds, []byte{131, 69, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 2,
		5, 4, 137, 9, 10, 5, 236, 3, 114, 101, 103, 9, 4, 99, 97, 108, 108,
		238, 13, 115, 101, 116, 95, 103, 101, 116, 95, 115, 116, 97, 116, 101,
		104, 4, 97, 6, 103, 82, 0, 0, 0, 0, 85, 0, 0, 0, 0, 2, 82, 1, 82, 2,
		104, 3, 82, 3, 103, 82, 0, 0, 0, 0, 245, 0, 0, 0, 2, 2, 104, 2, 82, 4, 109, 0, 0, 0, 2})
	seeds = append(seeds, []byte{131, 70, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0})
	seeds = append(seeds, []byte{112, 131, 104, 3, 97, 2, 100, 0, 0, 88, 119, 1, 97, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 131, 97, 1})
	return seeds
}

// FuzzPacket feeds packets, one after another on the same connection, to the reader: it must
// answer every one with routing or an error, never a panic.
func FuzzPacket(f *testing.F) {
	for _, s := range seedPackets(f) {
		f.Add(s, []byte{131, 68, 0})
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		core := &fakeCore{name: "b@host", discard: true, unknown: map[gen.PID]bool{}}
		c := newConnection(core, Peer{Name: "a@host", Flags: allFlags}, Options{MaxMessageSize: 1 << 20}.withDefaults(), quietLog{})
		c.out.close() // replies (DOWN, UNLINK_ID_ACK) are dropped: no socket here
		r := reader{c: c}
		for _, p := range [][]byte{first, second} {
			if len(p) == 0 {
				continue
			}
			if err := feed(&r, p); err != nil {
				return
			}
		}
	})
}

// feed hands a packet to the reader the way the read loop does: continuation fragments by
// their header and a reader over their body, everything else whole.
func feed(r *reader, p []byte) error {
	if len(p) >= continuationHeader && p[0] == versionMagic && p[1] == headerContinue {
		return r.continuation(p[:continuationHeader], bytes.NewReader(p[continuationHeader:]), len(p)-continuationHeader)
	}
	return r.packet(p)
}

// FuzzParseControl: any decodable term either parses as a control message or is refused.
func FuzzParseControl(f *testing.F) {
	for _, s := range seedPackets(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		term, err := etf.Decode(append([]byte{131}, b...))
		if err != nil {
			return
		}
		c, err := ParseControl(term)
		if err != nil {
			return
		}
		// What parsed builds again, and parses to the same thing.
		tuple, err := c.Term()
		if err != nil {
			t.Fatalf("parsed %v but cannot build it: %v", term, err)
		}
		if _, err := ParseControl(tuple); err != nil {
			t.Fatalf("rebuilt %v does not parse: %v", tuple, err)
		}
	})
}

// FuzzStream feeds a byte stream to the read loop, framing included, as a peer's socket would
// deliver it: the loop must end with an error (the stream ends, or the peer sent something it
// cannot accept), never panic, and set aside memory only as far as bytes arrived, however large
// the lengths and fragment counts the stream announces.
func FuzzStream(f *testing.F) {
	var all []byte
	for _, s := range seedPackets(f) {
		f.Add(frame(uint32(len(s)), s...))
		all = append(all, frame(uint32(len(s)), s...)...)
	}
	f.Add(all)
	f.Add(append(frame(4), frame(0)...)) // ticks
	f.Add(frame(0xF000_0000, fragmentHead(true, 7, 1<<40)...))
	f.Add(append(frame(continuationHeader+3, append(fragmentHead(true, 9, 3), 1, 2)...),
		frame(0xF000_0000, fragmentHead(false, 9, 2)...)...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		core := &fakeCore{name: "b@host", discard: true, unknown: map[gen.PID]bool{}}
		c := newConnection(core, Peer{Name: "a@host", Flags: allFlags}, Options{}.withDefaults(), quietLog{})
		c.out.close() // replies (DOWN, UNLINK_ID_ACK) are dropped: no socket here
		c.conn = streamConn{bytes.NewReader(stream)}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := c.readLoop()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatal("the read loop ended without an error")
		}
		bound := 8*uint64(len(stream)) + reserveBudget + 4*claimChunk + 1<<20
		if got := after.TotalAlloc - before.TotalAlloc; got > bound {
			t.Fatalf("%d bytes in allocated %d bytes (bound %d)", len(stream), got, bound)
		}
	})
}

// streamConn is a socket that only reads, from r.
type streamConn struct{ r io.Reader }

func (s streamConn) Read(p []byte) (int, error)     { return s.r.Read(p) }
func (streamConn) Write(p []byte) (int, error)      { return len(p), nil }
func (streamConn) Close() error                     { return nil }
func (streamConn) LocalAddr() net.Addr              { return nil }
func (streamConn) RemoteAddr() net.Addr             { return nil }
func (streamConn) SetDeadline(time.Time) error      { return nil }
func (streamConn) SetReadDeadline(time.Time) error  { return nil }
func (streamConn) SetWriteDeadline(time.Time) error { return nil }
