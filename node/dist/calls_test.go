package dist

import (
	"net"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// demonitorCore is a fakeCore that also reports the demonitors the connection routes.
type demonitorCore struct {
	*fakeCore
	demonitors chan routed
}

func (d *demonitorCore) RouteDemonitorPID(pid, target gen.PID) error {
	d.demonitors <- routed{kind: "demonitor", from: pid, to: target}
	return nil
}

func (d *demonitorCore) RouteDemonitorProcessID(pid gen.PID, target gen.ProcessID) error {
	d.demonitors <- routed{kind: "demonitor", from: pid, to: target}
	return nil
}

// demonitorPair connects a@host (a) and b@host (b), whose core reports demonitors.
func demonitorPair(t *testing.T) (a *served, b *Connection, bcore *demonitorCore) {
	sa, sb := net.Pipe()
	a = serveOn(t, sa, "a@host", "b@host", allFlags, Options{})
	bcore = &demonitorCore{fakeCore: newFakeCore("b@host"), demonitors: make(chan routed, 8)}
	b = newConnection(bcore, Peer{Name: "a@host", Creation: 1, Flags: allFlags, LocalFlags: allFlags}, Options{}.withDefaults(), testLog{t: t})
	require.NoError(t, b.Join(sb, "", nil, nil))
	go b.serve()
	t.Cleanup(func() { b.Terminate(nil) })
	return a, b, bcore
}

// A gen_server call by pid monitors the callee and its reply removes the monitor. A call
// through an alias monitors nothing, so its reply sends no DEMONITOR_P: one that names no
// process is a malformed message to BEAM, which closes the whole connection over it.
func TestOnlyACallThatMonitorsDemonitorsAtItsReply(t *testing.T) {
	a, b, bcore := demonitorPair(t)

	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	alias := gen.Alias{Node: "b@host", Creation: 1, ID: [3]uint64{5, 6, 7}}

	// call answers a call the way gen:reply does, Caller ! {Tag, Reply}, and returns the
	// response the caller's node routed.
	call := func(makeCall func(ref gen.Ref) error) routed {
		ref := a.core.MakeRef()
		require.NoError(t, makeCall(ref))
		r := bcore.next(t)
		require.Equal(t, "call", r.kind)
		require.Equal(t, ref, r.ref)
		require.NoError(t, b.SendPID(server, caller, gen.MessageOptions{}, etf.Tuple{ref, etf.Atom("pong")}))
		r = a.core.next(t)
		require.Equal(t, "response", r.kind)
		require.Equal(t, ref, r.ref)
		require.Equal(t, etf.Atom("pong"), r.message)
		return r
	}

	call(func(ref gen.Ref) error {
		return a.conn.CallPID(caller, server, gen.MessageOptions{Ref: ref}, etf.Atom("ping"))
	})
	d := <-bcore.demonitors
	require.Equal(t, caller, d.from)
	require.Equal(t, server, d.to)

	call(func(ref gen.Ref) error {
		return a.conn.CallAlias(caller, alias, gen.MessageOptions{Ref: ref}, etf.Atom("ping"))
	})
	// A message sent after the response arrives after anything the reply made a send.
	require.NoError(t, a.conn.SendPID(caller, server, gen.MessageOptions{}, etf.Atom("after")))
	r := bcore.next(t)
	require.Equal(t, etf.Atom("after"), r.message)
	require.Empty(t, bcore.demonitors, "the reply to a call through an alias sent a DEMONITOR_P")
}

// Calls waiting for a reply from the peer end with gen.ErrNoConnection when the connection
// goes, as an Erlang caller's monitor ends gen:call when the callee's node goes; a call
// through an alias, which monitors nothing, is left to its timeout, as in Erlang.
func TestCallsEndWhenTheConnectionGoes(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1002, Creation: 1}
	byPID, byName, byAlias := a.core.MakeRef(), a.core.MakeRef(), a.core.MakeRef()
	require.NoError(t, a.conn.CallPID(caller, server, gen.MessageOptions{Ref: byPID}, etf.Atom("ping")))
	require.NoError(t, a.conn.CallProcessID(caller, gen.ProcessID{Name: "srv", Node: "b@host"}, gen.MessageOptions{Ref: byName}, etf.Atom("ping")))
	require.NoError(t, a.conn.CallAlias(caller, gen.Alias{Node: "b@host", Creation: 1, ID: [3]uint64{5, 6, 7}}, gen.MessageOptions{Ref: byAlias}, etf.Atom("ping")))
	for i := 0; i < 3; i++ {
		require.Equal(t, "call", b.core.next(t).kind)
	}
	b.conn.Terminate(nil)
	<-a.done

	ended := map[gen.Ref]error{}
	for len(a.core.routed) > 0 {
		if r := <-a.core.routed; r.kind == "response error" {
			require.Equal(t, caller, r.to)
			ended[r.ref] = r.reason
		}
	}
	require.Equal(t, map[gen.Ref]error{byPID: gen.ErrNoConnection, byName: gen.ErrNoConnection}, ended)
}

// The table of calls to the peer is swept of calls whose caller gave up as it doubles, not at
// every call once it holds 4,096: before, a peer that answered nothing made each new call look
// at every call still waiting, work quadratic in their number.
func TestPendingCallsAreSweptAsTheTableDoubles(t *testing.T) {
	var p pendingCalls
	const n = 12000
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	for i := range n {
		// no deadline: the caller waits still
		p.add(gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{uint64(i) + 1, 7, 0}}, pendingCall{caller: caller})
	}
	require.Len(t, p.calls, n)
	require.LessOrEqual(t, p.swept, 3*n)

	// Calls past their deadline go at the sweeps.
	for i := range 2 * n {
		p.add(gen.Ref{Node: "a@host", Creation: 1, ID: [3]uint64{uint64(i) + 1, 8, 1}}, pendingCall{caller: caller})
	}
	require.Less(t, len(p.calls), 2*n)
	require.LessOrEqual(t, p.swept, 6*n)
}

// A reply counts only when it reaches the caller: the caller's tag sent to another local
// process is an ordinary message to that process, and the call still waits for its reply.
func TestAReplyAnswersOnlyItsCaller(t *testing.T) {
	a, b := pair(t, allFlags, Options{})
	caller := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	stranger := gen.PID{Node: "a@host", ID: 1002, Creation: 1}
	server := gen.PID{Node: "b@host", ID: 1003, Creation: 1}
	ref := a.core.MakeRef()
	require.NoError(t, a.conn.CallPID(caller, server, gen.MessageOptions{Ref: ref}, etf.Atom("ping")))
	require.Equal(t, "call", b.core.next(t).kind)

	require.NoError(t, b.conn.SendPID(server, stranger, gen.MessageOptions{}, etf.Tuple{ref, etf.Atom("misdirected")}))
	r := a.core.next(t)
	require.Equal(t, "send", r.kind)
	require.Equal(t, stranger, r.to)
	require.Equal(t, etf.Tuple{ref, etf.Atom("misdirected")}, r.message)

	require.NoError(t, b.conn.SendPID(server, caller, gen.MessageOptions{}, etf.Tuple{ref, etf.Atom("pong")}))
	r = a.core.next(t)
	require.Equal(t, "response", r.kind)
	require.Equal(t, caller, r.to)
	require.Equal(t, etf.Atom("pong"), r.message)
}
