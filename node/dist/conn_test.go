package dist

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// routed is one thing a connection handed to the core.
type routed struct {
	kind    string
	from    gen.PID
	to      any
	ref     gen.Ref
	message any
	reason  error
}

// fakeCore stands in for Ergo's node: it records what the connection routes.
type fakeCore struct {
	gen.Core // methods a test does not expect panic on the nil interface
	name     gen.Atom
	routed   chan routed
	unknown  map[gen.PID]bool
	full     map[gen.PID]bool // processes whose mailbox is full
	discard  bool             // fuzzing: route into nothing
	mu       sync.Mutex
	refs     uint64
	names    map[gen.Atom]gen.PID // see ProcessPID
}

func newFakeCore(name gen.Atom) *fakeCore {
	return &fakeCore{name: name, routed: make(chan routed, 1<<17), unknown: map[gen.PID]bool{}, full: map[gen.PID]bool{}}
}

func (f *fakeCore) push(r routed) {
	if !f.discard {
		f.routed <- r
	}
}

// ProcessPID finds every name registered, each to a pid of its own, so that a monitor by name
// is set as on a node where the name stands for a process.
func (f *fakeCore) ProcessPID(name gen.Atom) (gen.PID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.names == nil {
		f.names = map[gen.Atom]gen.PID{}
	}
	pid, ok := f.names[name]
	if !ok {
		pid = gen.PID{Node: f.name, ID: uint64(1<<20 + len(f.names)), Creation: 1}
		f.names[name] = pid
	}
	return pid, nil
}

func (f *fakeCore) Name() gen.Atom { return f.name }
func (f *fakeCore) PID() gen.PID   { return gen.PID{Node: f.name, ID: 1, Creation: 1} }
func (f *fakeCore) MakeRef() gen.Ref {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs++
	return gen.Ref{Node: f.name, Creation: 1, ID: [3]uint64{f.refs, 0, 0}}
}
func (f *fakeCore) RouteSendPID(from, to gen.PID, o gen.MessageOptions, m any) error {
	if f.unknown[to] {
		return gen.ErrProcessUnknown
	}
	if f.full[to] {
		return gen.ErrProcessMailboxFull
	}
	f.push(routed{kind: "send", from: from, to: to, message: m})
	return nil
}
func (f *fakeCore) RouteSendProcessID(from gen.PID, to gen.ProcessID, o gen.MessageOptions, m any) error {
	f.push(routed{kind: "regsend", from: from, to: to, message: m})
	return nil
}
func (f *fakeCore) RouteSendAlias(from gen.PID, to gen.Alias, o gen.MessageOptions, m any) error {
	f.push(routed{kind: "aliassend", from: from, to: to, message: m})
	return nil
}
func (f *fakeCore) RouteCallPID(from, to gen.PID, o gen.MessageOptions, m any) error {
	if f.full[to] {
		return gen.ErrProcessMailboxFull
	}
	f.push(routed{kind: "call", from: from, to: to, ref: o.Ref, message: m})
	return nil
}
func (f *fakeCore) RouteCallProcessID(from gen.PID, to gen.ProcessID, o gen.MessageOptions, m any) error {
	f.push(routed{kind: "call", from: from, to: to, ref: o.Ref, message: m})
	return nil
}
func (f *fakeCore) RouteSendResponse(from, to gen.PID, o gen.MessageOptions, m any) error {
	f.push(routed{kind: "response", from: from, to: to, ref: o.Ref, message: m})
	return nil
}
func (f *fakeCore) RouteSendResponseError(from, to gen.PID, o gen.MessageOptions, err error) error {
	f.push(routed{kind: "response error", from: from, to: to, ref: o.Ref, reason: err})
	return nil
}
func (f *fakeCore) RouteSendExit(from, to gen.PID, reason error) error {
	if f.full[to] {
		return gen.ErrProcessMailboxFull
	}
	f.push(routed{kind: "exit", from: from, to: to, reason: reason})
	return nil
}
func (f *fakeCore) RouteTerminatePID(target gen.PID, reason error) error {
	f.push(routed{kind: "terminated", to: target, reason: reason})
	return nil
}
func (f *fakeCore) RouteLinkPID(pid, target gen.PID) error {
	if f.unknown[target] {
		return gen.ErrProcessUnknown
	}
	return nil
}
func (f *fakeCore) RouteUnlinkPID(pid, target gen.PID) error { return nil }
func (f *fakeCore) RouteMonitorPID(pid, target gen.PID) error {
	if f.unknown[target] {
		return gen.ErrProcessUnknown
	}
	return nil
}
func (f *fakeCore) RouteDemonitorPID(pid, target gen.PID) error { return nil }
func (f *fakeCore) RouteMonitorProcessID(pid gen.PID, target gen.ProcessID) error {
	return nil
}
func (f *fakeCore) RouteDemonitorProcessID(pid gen.PID, target gen.ProcessID) error {
	return nil
}
func (f *fakeCore) RouteCallAlias(from gen.PID, to gen.Alias, o gen.MessageOptions, m any) error {
	f.push(routed{kind: "call", from: from, to: to, ref: o.Ref, message: m})
	return nil
}
func (f *fakeCore) RouteTerminateProcessID(target gen.ProcessID, reason error) error {
	f.push(routed{kind: "terminated", to: target, reason: reason})
	return nil
}

func (f *fakeCore) next(t *testing.T) routed {
	t.Helper()
	select {
	case r := <-f.routed:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("nothing routed within 10s")
	}
	return routed{}
}

// testLog discards Ergo log lines but keeps errors visible in the test output, and keeps
// warnings and errors in warnings and errors when those are set.
type testLog struct {
	gen.Log
	t                *testing.T
	warnings, errors *logLines
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func (l testLog) Trace(string, ...any)    {}
func (l testLog) Debug(string, ...any)    {}
func (l testLog) Info(f string, a ...any) { l.t.Logf("info: "+f, a...) }
func (l testLog) Warning(f string, a ...any) {
	l.t.Logf("warning: "+f, a...)
	l.warnings.add(f, a...)
}
func (l testLog) Error(f string, a ...any) {
	l.t.Logf("error: "+f, a...)
	l.errors.add(f, a...)
}

func (l *logLines) add(f string, a ...any) {
	if l != nil {
		l.mu.Lock()
		l.lines = append(l.lines, fmt.Sprintf(f, a...))
		l.mu.Unlock()
	}
}

const allFlags = flagDistHdrAtomCache | flagSendSender | flagExitPayload | flagFragments | flagUnlinkID | flagAlias

type served struct {
	conn *Connection
	core *fakeCore
	done chan error
}

func serveOn(t *testing.T, sock net.Conn, local, peer gen.Atom, flags uint64, opts Options) *served {
	return serveLogged(t, sock, local, peer, flags, opts, testLog{t: t})
}

func serveLogged(t *testing.T, sock net.Conn, local, peer gen.Atom, flags uint64, opts Options, log testLog) *served {
	core := newFakeCore(local)
	c := newConnection(core, Peer{Name: peer, Creation: 1, Flags: flags, LocalFlags: allFlags}, opts.withDefaults(), log)
	require.NoError(t, c.Join(sock, "", nil, nil))
	s := &served{conn: c, core: core, done: make(chan error, 1)}
	go func() { s.done <- c.serve() }()
	t.Cleanup(func() { c.Terminate(nil) })
	return s
}

// pair connects two nodes' connections over an in-memory socket.
func pair(t *testing.T, flags uint64, opts Options) (a, b *served) {
	sa, sb := net.Pipe()
	a = serveOn(t, sa, "a@host", "b@host", flags, opts)
	b = serveOn(t, sb, "b@host", "a@host", flags, opts)
	return a, b
}

func TestMessagesArriveInOrder(t *testing.T) {
	for _, flags := range []uint64{allFlags, 0} { // with a distribution header and pass-through
		a, b := pair(t, flags, Options{})
		from := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
		to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
		const n = 20000
		go func() {
			for i := 0; i < n; i++ {
				require.NoError(t, a.conn.SendPID(from, to, gen.MessageOptions{}, etf.Tuple{etf.Atom("seq"), i}))
			}
		}()
		for i := 0; i < n; i++ {
			r := b.core.next(t)
			require.Equal(t, "send", r.kind)
			require.Equal(t, to, r.to)
			if flags != 0 {
				require.Equal(t, from, r.from) // SEND_SENDER carries the sender
			}
			require.Equal(t, etf.Tuple{etf.Atom("seq"), int64(i)}, r.message)
		}
	}
}

func TestLargeMessageIsFragmentedAndReassembled(t *testing.T) {
	a, b := pair(t, allFlags, Options{FragmentSize: 1000})
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	require.NoError(t, a.conn.SendProcessID(gen.PID{Node: "a@host", ID: 5}, gen.ProcessID{Name: "sink", Node: "b@host"}, gen.MessageOptions{}, big))
	require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 5}, to, gen.MessageOptions{}, "after"))
	r := b.core.next(t)
	require.Equal(t, "regsend", r.kind)
	require.Equal(t, gen.ProcessID{Name: "sink", Node: "b@host"}, r.to)
	require.Equal(t, big, r.message)
	require.Equal(t, []byte("after"), b.core.next(t).message)
}

// Like BEAM, a node without MaxMessageSize takes a message of any size, also one larger than
// the decoder's default limit.
func TestMessageBeyondTheDecodersDefaultLimitArrives(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	big := make([]byte, etf.DefaultMaxSize+1)
	big[0], big[len(big)/2], big[len(big)-1] = 1, 2, 3
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 5}, to, gen.MessageOptions{}, big))
	require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 5}, to, gen.MessageOptions{}, "after"))
	got, ok := b.core.next(t).message.([]byte)
	require.True(t, ok)
	require.Len(t, got, len(big))
	require.Equal(t, []byte{1, 2, 3}, []byte{got[0], got[len(got)/2], got[len(got)-1]})
	require.Equal(t, []byte("after"), b.core.next(t).message)
}

func TestGenCallBothWays(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	ref := a.core.MakeRef()

	// a calls b: b's core sees a call with the tag as its reference.
	require.NoError(t, a.conn.CallPID(caller, server, gen.MessageOptions{Ref: ref}, etf.Atom("ping")))
	r := b.core.next(t)
	require.Equal(t, "call", r.kind)
	require.Equal(t, ref, r.ref)
	require.Equal(t, etf.Atom("ping"), r.message)

	// b answers: a's core sees the response for that reference, not a plain message.
	require.NoError(t, b.conn.SendResponse(server, caller, gen.MessageOptions{Ref: r.ref}, etf.Atom("pong")))
	r = a.core.next(t)
	require.Equal(t, "response", r.kind)
	require.Equal(t, ref, r.ref)
	require.Equal(t, etf.Atom("pong"), r.message)
}

func TestAliasTaggedCallIsAnsweredThroughTheAlias(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	alias := gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{77, 1, 2}}
	tag := etf.ImproperList{Elems: []etf.Term{etf.Atom("alias")}, Tail: alias}
	// What OTP 24+ gen:call sends.
	msg := etf.Tuple{etf.Atom("$gen_call"), etf.Tuple{caller, tag}, etf.Atom("hello")}
	require.NoError(t, a.conn.SendPID(caller, server, gen.MessageOptions{}, msg))
	r := b.core.next(t)
	require.Equal(t, "call", r.kind)
	require.Equal(t, alias, r.ref)

	require.NoError(t, b.conn.SendResponse(server, caller, gen.MessageOptions{Ref: r.ref}, etf.Atom("world")))
	r = a.core.next(t)
	require.Equal(t, "aliassend", r.kind)
	require.Equal(t, gen.Alias(alias), r.to)
	require.Equal(t, etf.Tuple{tag, etf.Atom("world")}, r.message)
}

func TestMonitorAndLinkOfUnknownProcessAnswerNoproc(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	ghost := gen.PID{Node: "b@host", ID: 4040, Creation: 1}
	b.core.unknown[ghost] = true
	watcher := a.core.PID()

	require.NoError(t, a.conn.MonitorPID(watcher, ghost))
	r := a.core.next(t)
	require.Equal(t, "terminated", r.kind)
	require.Equal(t, ghost, r.to)
	require.ErrorIs(t, r.reason, gen.ErrProcessUnknown)

	require.NoError(t, a.conn.LinkPID(watcher, ghost))
	r = a.core.next(t)
	require.Equal(t, "terminated", r.kind)
	require.ErrorIs(t, r.reason, gen.ErrProcessUnknown)
}

func TestTerminatedTargetSendsExitAndDown(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	target := gen.PID{Node: "b@host", ID: 2000, Creation: 1}
	require.NoError(t, a.conn.MonitorPID(a.core.PID(), target))
	require.NoError(t, a.conn.LinkPID(a.core.PID(), target))
	// Wait until b has both recorded.
	require.Eventually(t, func() bool {
		b.conn.sig.mu.Lock()
		defer b.conn.sig.mu.Unlock()
		return len(b.conn.sig.links[target]) == 1 && b.conn.sig.monitors[target].len() == 1
	}, 5*time.Second, time.Millisecond)

	reason := &ExitReason{Term: etf.Tuple{etf.Atom("shutdown"), int64(42)}}
	require.NoError(t, b.conn.SendTerminatePID(target, reason))
	for i := 0; i < 2; i++ {
		r := a.core.next(t)
		require.Equal(t, "terminated", r.kind)
		require.Equal(t, target, r.to)
		require.Equal(t, reason, r.reason)
	}
}

func TestSilentPeerIsDeclaredDown(t *testing.T) {
	ours, theirs := net.Pipe()
	s := serveOn(t, ours, "a@host", "b@host", allFlags, Options{TickTime: 200 * time.Millisecond})
	// The peer reads (so our ticks go out) but never writes.
	go func() {
		buf := make([]byte, 1024)
		for {
			if _, err := theirs.Read(buf); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-s.done:
		require.ErrorIs(t, err, ErrTickTimeout)
	case <-time.After(5 * time.Second):
		t.Fatal("a silent peer was not declared down")
	}
}

// A peer that vanished, reading nothing and sending nothing, is declared down within
// net_ticktime even while senders keep the queue full; the senders it blocked get an error.
func TestSilentPeerIsDeclaredDownWhileTheQueueIsFull(t *testing.T) {
	ours, _ := net.Pipe() // nobody reads or writes the other end
	// A queue that holds one message beside the one being written is full for a tick too.
	s := serveOn(t, ours, "a@host", "b@host", allFlags, Options{TickTime: 200 * time.Millisecond, MaxQueueBytes: 1})
	from := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	const senders = 4
	ended := make(chan error, senders)
	for range senders {
		go func() {
			for {
				if err := s.conn.SendPID(from, to, gen.MessageOptions{}, make([]byte, 1000)); err != nil {
					ended <- err
					return
				}
			}
		}()
	}
	select {
	case err := <-s.done:
		require.ErrorIs(t, err, ErrTickTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("a vanished peer was not declared down while the queue was full")
	}
	for range senders {
		select {
		case err := <-ended:
			require.ErrorIs(t, err, errClosed)
		case <-time.After(10 * time.Second):
			t.Fatal("a sender is still blocked after the connection ended")
		}
	}
}

// The node's answers to the peer's signals, and the EXIT of a local process that ended, go out
// even while the queue is full: the reader keeps reading the peer, and Ergo, which sends the
// EXIT while it holds its link tables, goes on.
// fillQueue fills the send queue of a, whose peer reads nothing and whose MaxQueueBytes is
// tiny: one message from local to remote is being written and one waits, and so does a sender.
func fillQueue(t *testing.T, a *served, local, remote gen.PID) {
	t.Helper()
	for range 3 {
		go a.conn.SendPID(local, remote, gen.MessageOptions{}, make([]byte, 1000))
	}
	require.Eventually(t, func() bool {
		a.conn.out.mu.Lock()
		defer a.conn.out.mu.Unlock()
		return a.conn.out.writing && len(a.conn.out.items) > 0
	}, 10*time.Second, time.Millisecond)
}

func TestTheNodesOwnSignalsDoNotWaitForRoom(t *testing.T) {
	ours, theirs := net.Pipe() // the peer writes, and reads nothing
	a := serveOn(t, ours, "a@host", "b@host", allFlags, Options{MaxQueueBytes: 1})
	local := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	remote := gen.PID{Node: "b@host", ID: 2002, Creation: 1}
	ghost := gen.PID{Node: "a@host", ID: 4040, Creation: 1}
	a.core.unknown[ghost] = true

	fillQueue(t, a, local, remote)

	// Each of these signals wants an answer but the last.
	var stream []byte
	for _, signal := range [][]etf.Term{
		{controlTerm(t, Control{Op: OpLink, From: remote, To: local})},
		{controlTerm(t, Control{Op: OpUnlinkID, ID: 7, From: remote, To: local})},
		{controlTerm(t, Control{Op: OpLink, From: remote, To: ghost})},
		{controlTerm(t, Control{Op: OpMonitorP, From: remote, To: ghost, Ref: gen.Ref{Node: "b@host", Creation: 1, ID: [3]uint64{1, 2, 3}}})},
		{controlTerm(t, Control{Op: OpLink, From: remote, To: local})},
		{controlTerm(t, Control{Op: OpSendSender, From: remote, To: local}), etf.Atom("still_reading")},
	} {
		packet := messagePacket(t, signal...)
		stream = append(stream, frame(uint32(len(packet)), packet...)...)
	}
	go theirs.Write(stream)
	r := a.core.next(t)
	require.Equal(t, "send", r.kind)
	require.Equal(t, etf.Atom("still_reading"), r.message)

	// local is linked to remote again: its end sends the EXIT.
	ended := make(chan error, 1)
	go func() { ended <- a.conn.SendTerminatePID(local, gen.TerminateReasonNormal) }()
	select {
	case err := <-ended:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the EXIT of an ended process waits for room in the queue")
	}
	// Behind the message that waited are the answers, and the EXIT.
	require.Equal(t, []Op{OpUnlinkIDAck, OpPayloadExit, OpPayloadMonitorPExit, OpPayloadExit}, queuedOps(t, a.conn)[1:])
}

// queuedOps returns the operations of the messages waiting in c's queue; those sent by
// sendNow, which are written without atom cache references, are the ones it can read.
func queuedOps(t *testing.T, c *Connection) []Op {
	t.Helper()
	var ops []Op
	for _, ctrl := range queuedControls(t, c) {
		ops = append(ops, ctrl.Op)
	}
	return ops
}

// queuedControls returns the control messages waiting in c's queue, as queuedOps reads them: a
// Control{} (operation 0, which no operation has) for one it cannot read.
func queuedControls(t *testing.T, c *Connection) []Control {
	t.Helper()
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	var ctrls []Control
	for _, item := range c.out.items {
		packet := slices.Concat(item.segs...)[4:]
		if len(packet) < 3 || packet[2] != 0 { // a distribution header with atom cache references
			ctrls = append(ctrls, Control{})
			continue
		}
		term, _, err := (&etf.Decoder{}).DecodeTerm(packet[3:])
		require.NoError(t, err)
		ctrl, err := ParseControl(term)
		require.NoError(t, err)
		ctrls = append(ctrls, ctrl)
	}
	return ctrls
}

func TestTicksKeepAnIdleLinkUp(t *testing.T) {
	a, b := pair(t, allFlags, Options{TickTime: 200 * time.Millisecond})
	time.Sleep(time.Second) // five tick times without messages
	select {
	case err := <-a.done:
		t.Fatalf("connection went down: %v", err)
	case err := <-b.done:
		t.Fatalf("connection went down: %v", err)
	default:
	}
}

func TestMalformedPacketClosesOnlyThatConnection(t *testing.T) {
	other1, other2 := pair(t, allFlags, Options{})
	ours, theirs := net.Pipe()
	s := serveOn(t, ours, "a@host", "evil@host", allFlags, Options{})
	packet := []byte{131, 68, 0, 104, 2, 97} // tuple cut short
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(packet)))
	go theirs.Write(append(frame, packet...))
	select {
	case err := <-s.done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("malformed packet did not end the connection")
	}
	// The other connection still works.
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	require.NoError(t, other1.conn.SendPID(gen.PID{Node: "a@host", ID: 1}, to, gen.MessageOptions{}, "still here"))
	require.Equal(t, []byte("still here"), other2.core.next(t).message)
}

func TestSecondSocketIsRefused(t *testing.T) {
	a, _ := pair(t, allFlags, Options{})
	x, _ := net.Pipe()
	require.ErrorIs(t, a.conn.Join(x, "", nil, nil), errAlreadyJoined)
}

func TestUnencodableExitReasonStillFiresTheMonitor(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	target := gen.PID{Node: "b@host", ID: 2000, Creation: 1}
	require.NoError(t, a.conn.MonitorPID(a.core.PID(), target))
	require.Eventually(t, func() bool {
		b.conn.sig.mu.Lock()
		defer b.conn.sig.mu.Unlock()
		return b.conn.sig.monitors[target].len() == 1
	}, 5*time.Second, time.Millisecond)
	// A channel has no Erlang form.
	require.NoError(t, b.conn.SendTerminatePID(target, &ExitReason{Term: make(chan int)}))
	r := a.core.next(t)
	require.Equal(t, "terminated", r.kind)
	var er *ExitReason
	require.ErrorAs(t, r.reason, &er)
	require.IsType(t, []byte(nil), er.Term)
}

func TestFlushWaitsUntilEverythingQueuedIsWritten(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	from := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	to := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	const n = 5000
	for i := 0; i < n; i++ {
		require.NoError(t, a.conn.SendPID(from, to, gen.MessageOptions{}, etf.Tuple{etf.Atom("seq"), i}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, a.conn.Flush(ctx))
	a.conn.Terminate(nil) // what was flushed is on the wire: closing now loses nothing
	for i := 0; i < n; i++ {
		require.Equal(t, etf.Tuple{etf.Atom("seq"), int64(i)}, b.core.next(t).message)
	}
}

func TestFlushGivesUpWhenThePeerDoesNotRead(t *testing.T) {
	sock, _ := net.Pipe() // nobody reads the other end
	a := serveOn(t, sock, "a@host", "b@host", allFlags, Options{})
	require.NoError(t, a.conn.SendPID(gen.PID{Node: "a@host", ID: 1001, Creation: 1},
		gen.PID{Node: "b@host", ID: 1002, Creation: 1}, gen.MessageOptions{}, "stuck"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := a.conn.Flush(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "b@host")
}

// What OTP 24+ gen:call does towards a Go process: monitor it with a reference that doubles
// as the reply alias, then send {'$gen_call', {Caller, [alias | Ref]}, Request}.
func peerCall(t *testing.T, a *served, caller, server gen.PID, ref gen.Ref) {
	t.Helper()
	require.NoError(t, a.conn.send(Control{Op: OpMonitorP, From: caller, To: server, Ref: ref}, nil))
	tag := etf.ImproperList{Elems: []etf.Term{etf.Atom("alias")}, Tail: ref}
	msg := etf.Tuple{etf.Atom("$gen_call"), etf.Tuple{caller, tag}, etf.Atom("hello")}
	require.NoError(t, a.conn.SendPID(caller, server, gen.MessageOptions{}, msg))
}

func pendingPeerCalls(c *Connection) int {
	c.peerCalls.mu.Lock()
	defer c.peerCalls.mu.Unlock()
	return len(c.peerCalls.calls)
}

// A call its caller gave up on (gen:call demonitors the callee at its timeout) is forgotten:
// a Go process that never answers costs nothing, and a late answer goes to the caller's
// alias, which BEAM has deactivated and drops, not to the caller's mailbox.
func TestAbandonedPeerCallIsForgotten(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	for i := uint64(1); i <= 100; i++ {
		ref := gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{i, 5, 6}}
		peerCall(t, a, caller, server, ref)
		require.Equal(t, "call", b.core.next(t).kind)
		require.NoError(t, a.conn.send(Control{Op: OpDemonitorP, From: caller, To: server, Ref: ref}, nil))
	}
	require.Eventually(t, func() bool { return pendingPeerCalls(b.conn) == 0 }, 5*time.Second, time.Millisecond,
		"%d abandoned calls still kept", pendingPeerCalls(b.conn))

	late := gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{100, 5, 6}}
	require.NoError(t, b.conn.SendResponse(server, caller, gen.MessageOptions{Ref: late}, etf.Atom("late")))
	r := a.core.next(t)
	require.Equal(t, "aliassend", r.kind)
	require.Equal(t, gen.Alias(late), r.to)
}

// Only the caller gives a call up: a DEMONITOR_P from another process with the call's reference
// leaves the call waiting for its answer, which then goes back in the caller's tag.
func TestAnotherProcessCannotGiveUpACall(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	other := gen.PID{Node: "a@host", ID: 1003, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	ref := gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{7, 5, 6}}
	peerCall(t, a, caller, server, ref)
	require.Equal(t, "call", b.core.next(t).kind)
	require.NoError(t, a.conn.send(Control{Op: OpDemonitorP, From: other, To: server, Ref: ref}, nil))
	// The connection reads in order: once this message is in, the DEMONITOR_P was read.
	require.NoError(t, a.conn.SendPID(caller, server, gen.MessageOptions{}, etf.Atom("after")))
	require.Equal(t, etf.Atom("after"), b.core.next(t).message)
	require.Equal(t, 1, pendingPeerCalls(b.conn))

	require.NoError(t, b.conn.SendResponse(server, caller, gen.MessageOptions{Ref: ref}, etf.Atom("answer")))
	r := a.core.next(t)
	require.Equal(t, "aliassend", r.kind)
	require.Equal(t, gen.Alias(ref), r.to)
	require.Equal(t, etf.Tuple{etf.ImproperList{Elems: []etf.Term{etf.Atom("alias")}, Tail: ref}, etf.Atom("answer")}, r.message)
	require.Equal(t, 0, pendingPeerCalls(b.conn))
}

// A call whose callee ends unanswered is forgotten when the DOWN goes to the caller.
func TestPeerCallToAnEndedProcessIsForgotten(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	ref := gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{9, 5, 6}}
	peerCall(t, a, caller, server, ref)
	require.Equal(t, "call", b.core.next(t).kind)
	require.Equal(t, 1, pendingPeerCalls(b.conn))

	// The monitor came before the call, so b has recorded it: the end sends the DOWN.
	require.NoError(t, b.conn.SendTerminatePID(server, gen.TerminateReasonNormal))
	require.Equal(t, 0, pendingPeerCalls(b.conn))
}
