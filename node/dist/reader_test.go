package dist

import (
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// message builds a packet with a normal distribution header and the given terms after it.
func messagePacket(t *testing.T, terms ...etf.Term) []byte {
	b := appendHeader(nil)
	for _, term := range terms {
		var err error
		if b, err = (&etf.Encoder{}).AppendTerm(b, term); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func controlTerm(t *testing.T, c Control) etf.Term {
	term, err := c.Term()
	require.NoError(t, err)
	return term
}

// TestReaderChecksWhatFollowsTheControlMessage: the control message and the payload are read
// in one pass; a payload where none belongs, a missing one and trailing bytes are errors, and
// an operation this node does not know is skipped with whatever follows it.
func TestReaderChecksWhatFollowsTheControlMessage(t *testing.T) {
	core := newFakeCore("b@host")
	c := newConnection(core, Peer{Name: "a@host", Flags: allFlags}, Options{}.withDefaults(), quietLog{})
	c.out.close()
	r := reader{c: c}
	send := controlTerm(t, Control{Op: OpRegSend, From: pidA, ToName: "sink"})
	link := controlTerm(t, Control{Op: OpLink, From: pidA, To: pidB})
	payload := etf.Map{{Key: []byte("content"), Value: []byte("hello")}, {Key: []byte("id"), Value: int64(1) << 50}}

	err := r.packet(messagePacket(t, send, payload))
	require.NoError(t, err)
	got := <-core.routed
	require.Equal(t, "regsend", got.kind)
	require.True(t, etf.Equal(payload, got.message), "payload %#v", got.message)

	err = r.packet(messagePacket(t, send))
	require.ErrorContains(t, err, "lacks its payload")

	err = r.packet(messagePacket(t, send, payload, etf.Atom("more")))
	require.ErrorContains(t, err, "bytes after the REG_SEND message")

	err = r.packet(append(messagePacket(t, send), 131)) // a payload that is no term
	require.ErrorContains(t, err, "payload of REG_SEND")

	err = r.packet(messagePacket(t, link, etf.Atom("x")))
	require.ErrorContains(t, err, "which has no payload")

	err = r.packet(messagePacket(t, etf.Tuple{int64(99), etf.Atom("future")}, etf.Atom("payload")))
	require.NoError(t, err, "an unknown operation is skipped")
	err = r.packet(messagePacket(t, etf.Tuple{int64(99)}, etf.Atom("x"), etf.Atom("y")))
	require.NoError(t, err, "with all that follows it")

	err = r.packet(messagePacket(t))
	require.ErrorContains(t, err, "control message")
	require.Empty(t, core.routed, "nothing else was delivered")
}

// With MaxMessageSize set, a compressed payload may expand to that size and no further: a
// small packet must not become a large message behind the limit's back.
func TestReaderBoundsACompressedPayloadByMaxMessageSize(t *testing.T) {
	core := newFakeCore("b@host")
	c := newConnection(core, Peer{Name: "a@host", Flags: allFlags}, Options{MaxMessageSize: 1 << 20}.withDefaults(), quietLog{})
	c.out.close()
	r := reader{c: c}
	send := controlTerm(t, Control{Op: OpRegSend, From: pidA, ToName: "sink"})
	packet := func(n int) []byte {
		z, err := etf.EncodeCompressed(make([]byte, n), 6)
		require.NoError(t, err)
		return append(messagePacket(t, send), z[1:]...) // without the version byte
	}
	require.NoError(t, r.packet(packet(1<<20-16)))
	got := <-core.routed
	require.Len(t, got.message, 1<<20-16)
	err := r.packet(packet(1 << 20))
	require.ErrorIs(t, err, etf.ErrTooLarge)
	require.Less(t, len(packet(1<<20)), 2000, "the packet itself is far below the limit")
}

// deepPayload is an iolist built as [Acc, <<"x">>] 10,001 times: BEAM sends and decodes it,
// and it nests one level deeper than this node's decoder follows.
func deepPayload() []byte {
	var deep []byte
	for range etf.DefaultMaxDepth + 1 {
		deep = append(deep, 108, 0, 0, 0, 2) // [Acc, <<"x">>]
	}
	deep = append(deep, 106)
	for range etf.DefaultMaxDepth + 1 {
		deep = append(deep, 109, 0, 0, 0, 1, 'x', 106)
	}
	return deep
}

// A message nested deeper than the decoder follows is lost alone: counted, logged, and the
// connection reads on.
func TestReaderDropsAMessageTooDeepToDecode(t *testing.T) {
	core := newFakeCore("b@host")
	warnings := &logLines{}
	c := newConnection(core, Peer{Name: "a@host", Flags: allFlags}, Options{}.withDefaults(), testLog{t: t, warnings: warnings})
	c.out.close()
	r := reader{c: c}
	send := controlTerm(t, Control{Op: OpRegSend, From: pidA, ToName: "sink"})
	require.NoError(t, r.packet(append(messagePacket(t, send), deepPayload()...)))
	require.EqualValues(t, 1, c.undelivered.Load())
	require.Len(t, warnings.all(), 1)
	require.Contains(t, warnings.all()[0], "message from "+pidA.String()+" to 'sink' lost: it nests deeper than 10000 levels")

	// The next message arrives.
	require.NoError(t, r.packet(append(messagePacket(t, send), 97, 7)))
	got := <-core.routed
	require.Equal(t, int64(7), got.message)
}

// An exit signal, a DOWN or a spawn request whose payload nests deeper than the decoder follows
// keeps the connection too. The exit signal and the DOWN arrive, with a reason that says what
// happened to theirs: a process that crashed with a deep term in its stacktrace still takes its
// links and monitors with it. The spawn request is refused with system_limit. Before, each of
// them ended the connection, and with it every link and monitor on it.
func TestReaderDeliversSignalsWhosePayloadIsTooDeep(t *testing.T) {
	core := newFakeCore("b@host")
	warnings := &logLines{}
	c := newConnection(core, Peer{Name: "a@host", Flags: allFlags}, Options{}.withDefaults(), testLog{t: t, warnings: warnings})
	r := reader{c: c}
	local := gen.PID{Node: "b@host", ID: 1001, Creation: 9}
	tooDeep := etf.Tuple{etf.Atom("too_deep_to_decode"), int64(etf.DefaultMaxDepth)}

	c.linkIn(pidA, local)
	exit := controlTerm(t, Control{Op: OpPayloadExit, From: pidA, To: local})
	require.NoError(t, r.packet(append(messagePacket(t, exit), deepPayload()...)))
	got := core.next(t)
	require.Equal(t, "exit", got.kind)
	require.Equal(t, pidA, got.from)
	require.Equal(t, local, got.to)
	require.True(t, etf.Equal(tooDeep, exitTerm(t, got.reason)), "%v", got.reason)

	ref, err := c.Monitor(local, pidA)
	require.NoError(t, err)
	down := controlTerm(t, Control{Op: OpPayloadMonitorPExit, From: pidA, To: local, Ref: ref})
	require.NoError(t, r.packet(append(messagePacket(t, down), deepPayload()...)))
	got = core.next(t)
	require.Equal(t, "send", got.kind)
	msg, ok := got.message.(MessageDown)
	require.True(t, ok, "%#v", got.message)
	require.Equal(t, ref, msg.Ref)
	require.True(t, etf.Equal(tooDeep, exitTerm(t, msg.Reason)), "%v", msg.Reason)

	spawnRef := gen.Ref{Node: "a@host", Creation: 7, ID: [3]uint64{1, 2, 3}}
	spawn := controlTerm(t, Control{Op: OpSpawnRequest, Ref: spawnRef, From: pidA, GroupLeader: pidA,
		Module: "m", Function: "f", Arity: 1})
	require.NoError(t, r.packet(append(messagePacket(t, spawn), deepPayload()...)))
	ctrls := queuedControls(t, c)
	reply := ctrls[len(ctrls)-1]
	require.Equal(t, OpSpawnReply, reply.Op)
	require.Equal(t, spawnRef, reply.Ref)
	require.Equal(t, pidA, reply.To)
	require.Equal(t, etf.Atom("system_limit"), reply.Result)

	require.Len(t, warnings.all(), 3)
	require.Contains(t, warnings.all()[0], "PAYLOAD_EXIT from "+pidA.String()+" to "+local.String()+" arrives with the reason {too_deep_to_decode,10000}")
	require.Contains(t, warnings.all()[1], "PAYLOAD_MONITOR_P_EXIT from "+pidA.String())
	require.Contains(t, warnings.all()[2], "SPAWN_REQUEST from "+pidA.String()+" for 'm':'f' refused with system_limit")

	// A message after them arrives: the connection is whole.
	send := controlTerm(t, Control{Op: OpRegSend, From: pidA, ToName: "sink"})
	require.NoError(t, r.packet(append(messagePacket(t, send), 97, 7)))
	got = core.next(t)
	require.Equal(t, int64(7), got.message)
}
