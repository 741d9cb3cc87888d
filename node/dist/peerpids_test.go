package dist

import (
	"net"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// relationCore is a fakeCore that also reports the links and monitors it is asked to make or
// remove, which Ergo files in its tables by the processes named.
type relationCore struct{ *fakeCore }

func (r relationCore) relation(kind string, pid gen.PID, target any) error {
	r.push(routed{kind: kind, from: pid, to: target})
	return nil
}
func (r relationCore) RouteLinkPID(pid, target gen.PID) error { return r.relation("link", pid, target) }
func (r relationCore) RouteUnlinkPID(pid, target gen.PID) error {
	return r.relation("unlink", pid, target)
}
func (r relationCore) RouteMonitorPID(pid, target gen.PID) error {
	return r.relation("monitor", pid, target)
}
func (r relationCore) RouteDemonitorPID(pid, target gen.PID) error {
	return r.relation("demonitor", pid, target)
}
func (r relationCore) RouteMonitorProcessID(pid gen.PID, target gen.ProcessID) error {
	return r.relation("monitor", pid, target)
}

// A peer speaks for its own processes, to processes of this node. A link, monitor or exit
// signal from another node's process, or to one, ends the connection, as on BEAM; a message to
// another node's process or alias is dropped, as on BEAM. Before, all of them were routed:
// Ergo filed the stranger in its link and monitor tables, where the end of this connection
// does not clear it, or passed the signal on to that node over its own connection.
func TestSignalsNamingThirdNodesAreRefused(t *testing.T) {
	const local, peer = gen.Atom("a@host"), gen.Atom("evil@host")
	mine := gen.PID{Node: local, ID: 1001, Creation: 1}
	theirs := gen.PID{Node: peer, ID: 77, Creation: 1}
	stranger := gen.PID{Node: "c@host", ID: 1001, Creation: 1}
	ref := gen.Ref{Node: peer, Creation: 1, ID: [3]uint64{1, 2, 3}}
	strangerAlias := gen.Ref{Node: "c@host", Creation: 1, ID: [3]uint64{4, 5, 6}}
	call := etf.Tuple{etf.Atom("$gen_call"), etf.Tuple{theirs, ref}, etf.Atom("hi")}

	for _, tc := range []struct {
		name   string
		signal []etf.Term
		closes bool
	}{
		{"LINK from a stranger", []etf.Term{controlTerm(t, Control{Op: OpLink, From: stranger, To: mine})}, true},
		{"LINK to a stranger", []etf.Term{controlTerm(t, Control{Op: OpLink, From: theirs, To: stranger})}, true},
		{"UNLINK_ID from a stranger", []etf.Term{controlTerm(t, Control{Op: OpUnlinkID, ID: 1, From: stranger, To: mine})}, true},
		{"MONITOR_P from a stranger", []etf.Term{controlTerm(t, Control{Op: OpMonitorP, From: stranger, To: mine, Ref: ref})}, true},
		{"MONITOR_P by name from a stranger", []etf.Term{controlTerm(t, Control{Op: OpMonitorP, From: stranger, ToName: "named", Ref: ref})}, true},
		{"MONITOR_P of a stranger", []etf.Term{controlTerm(t, Control{Op: OpMonitorP, From: theirs, To: stranger, Ref: ref})}, true},
		{"DEMONITOR_P from a stranger", []etf.Term{controlTerm(t, Control{Op: OpDemonitorP, From: stranger, To: mine, Ref: ref})}, true},
		{"EXIT2 to a stranger", []etf.Term{controlTerm(t, Control{Op: OpPayloadExit2, From: theirs, To: stranger}), etf.Atom("kill")}, true},
		{"EXIT2 from a stranger", []etf.Term{controlTerm(t, Control{Op: OpPayloadExit2, From: stranger, To: mine}), etf.Atom("boom")}, true},
		{"SPAWN_REQUEST from a stranger", []etf.Term{controlTerm(t, Control{Op: OpSpawnRequest, Ref: ref, From: stranger, GroupLeader: stranger,
			Module: "m", Function: "f", Arity: 0, SpawnOpts: etf.List{etf.Atom("link")}}), etf.List{}}, true},
		{"a message to a stranger", []etf.Term{controlTerm(t, Control{Op: OpSendSender, From: theirs, To: stranger}), etf.Atom("relay")}, false},
		{"a call to a stranger", []etf.Term{controlTerm(t, Control{Op: OpSendSender, From: theirs, To: stranger}), call}, false},
		{"a message to a stranger's alias", []etf.Term{controlTerm(t, Control{Op: OpAliasSend, From: theirs, Ref: strangerAlias}), etf.Atom("relay")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, sock := net.Pipe()
			core := relationCore{newFakeCore(local)}
			c := newConnection(core, Peer{Name: peer, Creation: 1, Flags: allFlags, LocalFlags: allFlags}, Options{}.withDefaults(), quietLog{})
			require.NoError(t, c.Join(ours, "", nil, nil))
			done := make(chan error, 1)
			go func() { done <- c.serve() }()
			t.Cleanup(func() { c.Terminate(nil) })
			go func() { // the peer reads what it is sent
				buf := make([]byte, 4096)
				for {
					if _, err := sock.Read(buf); err != nil {
						return
					}
				}
			}()

			packet := messagePacket(t, tc.signal...)
			marker := messagePacket(t, controlTerm(t, Control{Op: OpSendSender, From: theirs, To: mine}), etf.Atom("marker"))
			go sock.Write(append(frame(uint32(len(packet)), packet...), frame(uint32(len(marker)), marker...)...))

			if tc.closes {
				select {
				case err := <-done:
					var ce *ControlError
					require.ErrorAs(t, err, &ce)
				case <-time.After(10 * time.Second):
					t.Fatal("the connection did not end")
				}
				require.Empty(t, core.routed, "routed before the connection ended")
				return
			}
			r := core.next(t)
			require.Equal(t, "send", r.kind)
			require.Equal(t, etf.Atom("marker"), r.message, "routed first: %s to %v", r.kind, r.to)
			require.Equal(t, 0, pendingPeerCalls(c))
		})
	}
}

// Ergo asks a connection to link, unlink, monitor and demonitor while it holds the lock of its
// link and monitor tables. Those signals go out even when the queue is full: before, they
// waited for room, and a peer that sent ticks but read nothing stopped, through that lock,
// every link, monitor and process end on the node, and every other connection's reader with
// them.
func TestErgosLinksAndMonitorsDoNotWaitForRoom(t *testing.T) {
	ours, _ := net.Pipe() // the peer reads nothing
	a := serveOn(t, ours, "a@host", "b@host", allFlags, Options{MaxQueueBytes: 1})
	local := gen.PID{Node: "a@host", ID: 1001, Creation: 1}
	remote := gen.PID{Node: "b@host", ID: 2002, Creation: 1}
	named := gen.ProcessID{Name: "named", Node: "b@host"}
	fillQueue(t, a, local, remote)

	core := a.core.PID()
	done := make(chan error, 1)
	go func() {
		for _, f := range []func() error{
			func() error { return a.conn.LinkPID(core, remote) },
			func() error { return a.conn.UnlinkPID(core, remote) },
			func() error { return a.conn.MonitorPID(core, remote) },
			func() error { return a.conn.DemonitorPID(core, remote) },
			func() error { return a.conn.MonitorProcessID(core, named) },
			func() error { return a.conn.DemonitorProcessID(core, named) },
		} {
			if err := f(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a link or monitor of Ergo's waits for room in the queue")
	}
	require.Equal(t, []Op{OpLink, OpUnlinkID, OpMonitorP, OpDemonitorP, OpMonitorP, OpDemonitorP}, queuedOps(t, a.conn)[1:])
}
