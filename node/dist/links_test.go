package dist

import (
	"net"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// unlinkHoldingCore is a fakeCore whose node holds each UNLINK_ID it receives until the test
// releases it: the connection acknowledges an UNLINK_ID only once the core has removed the
// link, so until then the peer's unlink waits for its UNLINK_ID_ACK.
type unlinkHoldingCore struct {
	*fakeCore
	unlinking chan gen.PID // the peer process that unlinked
	release   chan struct{}
}

func (u *unlinkHoldingCore) RouteUnlinkPID(pid, target gen.PID) error {
	u.unlinking <- pid
	<-u.release
	return nil
}

// unlinkHoldingPair connects a, served on a fakeCore, to b, whose core holds UNLINK_IDs.
func unlinkHoldingPair(t *testing.T) (*served, *Connection, *unlinkHoldingCore) {
	sa, sb := net.Pipe()
	a := serveOn(t, sa, "a@host", "b@host", allFlags, Options{})
	bcore := &unlinkHoldingCore{fakeCore: newFakeCore("b@host"), unlinking: make(chan gen.PID, 8), release: make(chan struct{})}
	b := newConnection(bcore, Peer{Name: "a@host", Creation: 1, Flags: allFlags, LocalFlags: allFlags}, Options{}.withDefaults(), testLog{t: t})
	require.NoError(t, b.Join(sb, "", nil, nil))
	go b.serve()
	t.Cleanup(func() { b.Terminate(nil) })
	return a, b, bcore
}

// An exit signal for a link this side does not have is dropped, as on BEAM: above all the EXIT
// a peer process sent before the UNLINK_ID of a local process reached it, which arrives while
// that unlink still waits for its acknowledgement.
func TestExitWithoutALinkIsDropped(t *testing.T) {
	a, b, bcore := unlinkHoldingPair(t)
	t.Cleanup(func() { close(bcore.release) })

	local := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	remote := gen.PID{Node: "b@host", ID: 2002, Creation: 1}
	stranger := gen.PID{Node: "b@host", ID: 2003, Creation: 1}

	// marker has b send a message to local and waits for it: whatever b sent before it has
	// been handled by a.
	marker := func(name etf.Atom) {
		t.Helper()
		require.NoError(t, b.SendPID(remote, local, gen.MessageOptions{}, name))
		r := a.core.next(t)
		require.Equal(t, "send", r.kind, "%s came instead of the message %s: %v", r.kind, name, r.reason)
		require.Equal(t, name, r.message)
	}

	// Never linked.
	b.sendExit(stranger, local, etf.Atom("boom"))
	marker("after_stranger")

	// Linked: the EXIT arrives.
	require.NoError(t, a.conn.Link(local, remote))
	b.sendExit(remote, local, etf.Atom("boom"))
	r := a.core.next(t)
	require.Equal(t, "exit", r.kind)
	require.Equal(t, remote, r.from)
	require.Equal(t, etf.Atom("boom"), exitTerm(t, r.reason))

	// Linked again and unlinked: b holds the UNLINK_ID unacknowledged while its process's
	// EXIT, sent before it saw the unlink, reaches a.
	require.NoError(t, a.conn.Link(local, remote))
	require.NoError(t, a.conn.Unlink(local, remote))
	require.Equal(t, local, <-bcore.unlinking)
	b.sendExit(remote, local, etf.Atom("boom"))
	marker("after_unlink")
	bcore.release <- struct{}{}

	// The links the node's core makes for Ergo's processes follow the same rule.
	core := a.core.PID()
	require.NoError(t, a.conn.LinkPID(core, remote))
	require.NoError(t, a.conn.UnlinkPID(core, remote))
	require.Equal(t, core, <-bcore.unlinking)
	b.sendExit(remote, core, etf.Atom("boom"))
	marker("after_core_unlink")
	bcore.release <- struct{}{}
}

func exitTerm(t *testing.T, err error) etf.Term {
	t.Helper()
	var er *ExitReason
	require.ErrorAs(t, err, &er)
	return er.Term
}

// endingCore is a fakeCore on which the processes in ending end the moment Ergo has made them
// the target of a link or a monitor, before the call that made it returns: Ergo then tells the
// connection at once (SendTerminatePID).
type endingCore struct {
	*fakeCore
	c      *Connection
	ending map[gen.PID]error
}

func (e *endingCore) end(target gen.PID) error {
	if reason, ok := e.ending[target]; ok {
		return e.c.SendTerminatePID(target, reason)
	}
	return nil
}

func (e *endingCore) RouteLinkPID(pid, target gen.PID) error    { return e.end(target) }
func (e *endingCore) RouteMonitorPID(pid, target gen.PID) error { return e.end(target) }

// A local process that ends as soon as it is linked or monitored, whether the peer or a local
// process made the link, still sends its EXIT or DOWN to the peer process.
func TestAnEndRightAfterALinkOrMonitorReachesThePeer(t *testing.T) {
	sa, sb := net.Pipe()
	a := serveOn(t, sa, "a@host", "b@host", allFlags, Options{})
	monitored := gen.PID{Node: "b@host", ID: 2001, Creation: 1}
	linked := gen.PID{Node: "b@host", ID: 2002, Creation: 1}
	linking := gen.PID{Node: "b@host", ID: 2003, Creation: 1}
	bcore := &endingCore{fakeCore: newFakeCore("b@host"), ending: map[gen.PID]error{
		monitored: &ExitReason{Term: etf.Atom("monitored_and_gone")},
		linked:    &ExitReason{Term: etf.Atom("linked_and_gone")},
		linking:   &ExitReason{Term: etf.Atom("linking_and_gone")},
	}}
	b := newConnection(bcore, Peer{Name: "a@host", Creation: 1, Flags: allFlags, LocalFlags: allFlags}, Options{}.withDefaults(), testLog{t: t})
	bcore.c = b
	require.NoError(t, b.Join(sb, "", nil, nil))
	go b.serve()
	t.Cleanup(func() { b.Terminate(nil) })

	require.NoError(t, a.conn.MonitorPID(a.core.PID(), monitored))
	r := a.core.next(t)
	require.Equal(t, "terminated", r.kind)
	require.Equal(t, monitored, r.to)
	require.Equal(t, etf.Atom("monitored_and_gone"), exitTerm(t, r.reason))

	require.NoError(t, a.conn.LinkPID(a.core.PID(), linked))
	r = a.core.next(t)
	require.Equal(t, "terminated", r.kind)
	require.Equal(t, linked, r.to)
	require.Equal(t, etf.Atom("linked_and_gone"), exitTerm(t, r.reason))

	remote := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	require.NoError(t, b.Link(linking, remote))
	r = a.core.next(t)
	require.Equal(t, "exit", r.kind)
	require.Equal(t, linking, r.from)
	require.Equal(t, remote, r.to)
	require.Equal(t, etf.Atom("linking_and_gone"), exitTerm(t, r.reason))
}

// The link protocol's crossing case: a local process unlinks while the peer process, which has
// not seen the UNLINK_ID yet, links again. The peer's LINK finds the link being unlinked and is
// ignored; the peer removes the link when the UNLINK_ID reaches it; both sides end unlinked.
// Before, the LINK made the link active again on this side alone, and the loss of the
// connection then sent the local process the exit signal noconnection.
func TestLinkCrossingAnUnlinkIsIgnored(t *testing.T) {
	a, b, bcore := unlinkHoldingPair(t)

	local := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	remote := gen.PID{Node: "b@host", ID: 2002, Creation: 1}
	linkState := func() (uint64, bool) {
		a.conn.sig.mu.Lock()
		defer a.conn.sig.mu.Unlock()
		state, ok := a.conn.sig.links[local][remote]
		return state, ok
	}

	require.NoError(t, a.conn.Link(local, remote))
	require.NoError(t, a.conn.Unlink(local, remote))
	require.Equal(t, local, <-bcore.unlinking) // b holds the UNLINK_ID, unacknowledged
	require.NoError(t, b.sendNow(Control{Op: OpLink, From: remote, To: local}, nil))
	require.NoError(t, b.SendPID(remote, local, gen.MessageOptions{}, etf.Atom("after_link")))
	r := a.core.next(t)
	require.Equal(t, "send", r.kind, "%s came before the marker: the LINK reached Ergo", r.kind)
	state, ok := linkState()
	require.True(t, ok)
	require.NotEqual(t, uint64(0), state, "the crossing LINK made the link active again")

	// A second unlink of a link being unlinked starts no second unlink.
	require.NoError(t, a.conn.Unlink(local, remote))
	again, _ := linkState()
	require.Equal(t, state, again)

	close(bcore.release)
	require.Eventually(t, func() bool { _, ok := linkState(); return !ok }, 10*time.Second, time.Millisecond,
		"the UNLINK_ID_ACK did not end the unlink")

	// No link is left to give noconnection when the connection goes.
	a.conn.Terminate(nil)
	<-a.done
	for {
		select {
		case r := <-a.core.routed:
			require.NotEqual(t, local, r.to, "%s to the unlinked process: %v", r.kind, r.reason)
			continue
		default:
		}
		break
	}
}
