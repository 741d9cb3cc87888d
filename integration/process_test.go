package integration

import (
	"errors"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/dist"
)

// Erlang process semantics for Go processes, against real erl: gen_server calls and casts both
// ways, links, monitors and exit signals both ways, and what the loss of a node does to them.

// probe is a Go GenServer that reports what happens to it on a channel and runs commands sent
// to it as local messages.
type probe struct {
	node.GenServer
	trap   bool
	events chan any
}

type probeCmd func(p *probe) error

type cast struct{ msg any }
type terminated struct{ reason error }

func (p *probe) Init(args ...any) error {
	if p.trap {
		p.SetTrapExit(true)
	}
	return nil
}

func (p *probe) HandleCast(msg any) error { p.events <- cast{msg}; return nil }

func (p *probe) HandleCall(from gen.PID, ref gen.Ref, req any) (any, error) {
	if t, ok := req.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("echo") {
		return t[1], nil
	}
	// {late, Ms, X}: X is the answer, Ms milliseconds from now.
	if t, ok := req.(etf.Tuple); ok && len(t) == 3 && t[0] == etf.Atom("late") {
		ms, _ := t[1].(int64)
		answer := func(p *probe) error { return p.SendResponse(from, ref, t[2]) }
		if _, err := p.SendAfter(p.PID(), probeCmd(answer), time.Duration(ms)*time.Millisecond); err != nil {
			return nil, err
		}
		return nil, nil // answered later
	}
	return etf.Atom("unexpected"), nil
}

func (p *probe) HandleInfo(from gen.PID, msg any) error {
	if cmd, ok := msg.(probeCmd); ok {
		return cmd(p)
	}
	p.events <- msg
	return nil
}

func (p *probe) Terminate(reason error) {
	p.GenServer.Terminate(reason)
	p.events <- terminated{reason}
}

func spawnProbe(t *testing.T, n gen.Node, name gen.Atom, trap bool) (gen.PID, chan any) {
	t.Helper()
	events := make(chan any, 64)
	factory := func() gen.ProcessBehavior { return &probe{trap: trap, events: events} }
	var pid gen.PID
	var err error
	if name == "" {
		pid, err = n.Spawn(factory, gen.ProcessOptions{})
	} else {
		pid, err = n.SpawnRegister(name, factory, gen.ProcessOptions{})
	}
	require.NoError(t, err)
	return pid, events
}

// run executes cmd inside the probe process.
func run(t *testing.T, n gen.Node, pid gen.PID, cmd probeCmd) {
	t.Helper()
	require.NoError(t, n.Send(pid, cmd))
}

// linkAndMonitor has the probe pid link to and monitor target the Erlang way, and returns the
// monitor's reference once the signals have had time to reach target's node.
func linkAndMonitor(t *testing.T, gn gen.Node, pid, target gen.PID) gen.Ref {
	t.Helper()
	refs := make(chan gen.Ref, 1)
	run(t, gn, pid, func(pr *probe) error {
		if err := node.Link(pr, target); err != nil {
			return err
		}
		ref, err := node.Monitor(pr, target)
		refs <- ref
		return err
	})
	ref := <-refs
	time.Sleep(200 * time.Millisecond)
	return ref
}

func exitTerm(t *testing.T, err error) etf.Term {
	t.Helper()
	var er *dist.ExitReason
	require.True(t, errors.As(err, &er), "reason %v (%T) is not an Erlang term", err, err)
	return er.Term
}

// receiveExitAndDown takes the two events a trapping probe linked to and monitoring target (with
// ref) gets when target ends with reason: the EXIT and the DOWN, in either order.
func receiveExitAndDown(t *testing.T, events chan any, target gen.PID, ref gen.Ref, reason etf.Term) {
	t.Helper()
	got := map[string]any{}
	for i := 0; i < 2; i++ {
		switch m := receive(t, events, 5*time.Second).(type) {
		case gen.MessageExitPID:
			require.Equal(t, target, m.PID)
			require.Equal(t, reason, exitTerm(t, m.Reason))
			got["exit"] = m
		case dist.MessageDown:
			require.Equal(t, ref, m.Ref)
			require.Equal(t, target, m.PID)
			require.Equal(t, reason, exitTerm(t, m.Reason))
			got["down"] = m
		default:
			t.Fatalf("unexpected %#v", m)
		}
	}
	require.Len(t, got, 2)
}

func TestGenServerCallAndCastFromErl(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	_, events := spawnProbe(t, gn, "srv", false)
	p := c.erlNode("erl", erlpeer.Options{})

	dest := etf.Tuple{etf.Atom("srv"), gn.Name()}
	// OTP 24+ gen:call tags the call with an alias ([alias | Ref]); the reply must come back to it.
	want := etf.Tuple{etf.Atom("a"), int64(1), []byte("bin"), etf.Map{{Key: []byte("k"), Value: 1.5}}}
	got := p.MustCall("gobeam_proc", "call", dest, etf.Tuple{etf.Atom("echo"), want}, 5000)
	require.Equal(t, etf.Tuple{etf.Atom("ok"), want}, got)

	require.Equal(t, etf.Atom("ok"), p.MustCall("gobeam_proc", "cast", dest, etf.Tuple{etf.Atom("hello"), int64(7)}))
	require.Equal(t, cast{etf.Tuple{etf.Atom("hello"), int64(7)}}, receive(t, events, 5*time.Second))

	// A call to a name nobody holds fails at once with noproc, as between BEAM nodes.
	got = p.MustCall("gobeam_proc", "call", etf.Tuple{etf.Atom("nobody"), gn.Name()}, etf.Atom("x"), 5000)
	require.Equal(t, etf.Atom("error"), got.(etf.Tuple)[0])
	require.Equal(t, etf.Atom("noproc"), got.(etf.Tuple)[1].(etf.Tuple)[1].(etf.Tuple)[0], "%v", got)
	require.True(t, connected(gn, p.Node()))
}

// A Go process that answers after its caller gave up: the caller sees a timeout and nothing
// else, as with a late gen_server reply between BEAM nodes (the reply goes to the caller's
// alias, which it has deactivated, not as a stray message into its mailbox).
func TestLateAnswerToAnErlCallIsDropped(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	spawnProbe(t, gn, "srv", false)
	p := c.erlNode("erl", erlpeer.Options{})
	dest := etf.Tuple{etf.Atom("srv"), gn.Name()}

	got := p.MustCall("gobeam_proc", "call_then_mailbox", dest, etf.Tuple{etf.Atom("late"), int64(1000), etf.Atom("x")}, 100, 1500)
	res := got.(etf.Tuple)
	require.Equal(t, etf.Atom("error"), res[0].(etf.Tuple)[0], "%v", got)
	require.Equal(t, etf.Atom("timeout"), res[0].(etf.Tuple)[1].(etf.Tuple)[1].(etf.Tuple)[0], "%v", got)
	require.Empty(t, res[1], "the caller's mailbox after the late answer")

	// A call that waits long enough gets the same answer.
	got = p.MustCall("gobeam_proc", "call", dest, etf.Tuple{etf.Atom("late"), int64(50), etf.Atom("y")}, 5000)
	require.Equal(t, etf.Tuple{etf.Atom("ok"), etf.Atom("y")}, got)
}

func TestGoCallsErlGenServer(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	p.MustCall("gobeam_proc", "start_server", etf.Atom("esrv"))
	srv := gen.ProcessID{Name: "esrv", Node: p.Node()}

	reply, err := gn.Call(srv, etf.Tuple{etf.Atom("echo"), "hi"})
	require.NoError(t, err)
	require.Equal(t, []byte("hi"), reply)

	require.NoError(t, gn.Send(srv, etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("store"), 42}}))
	reply, err = gn.Call(srv, etf.Atom("stored"))
	require.NoError(t, err)
	require.Equal(t, int64(42), reply)

	// No such process: an error at once, not a timeout.
	start := time.Now()
	_, err = gn.Call(gen.ProcessID{Name: "nobody", Node: p.Node()}, etf.Atom("x"))
	require.ErrorIs(t, err, gen.ErrProcessUnknown)
	require.Less(t, time.Since(start), 2*time.Second)

	// The server dies handling the call: the call fails with its exit reason, as a term.
	_, err = gn.Call(srv, etf.Atom("crash"))
	require.Error(t, err)
	require.Equal(t, etf.Atom("crashed_on_purpose"), exitTerm(t, err))
}

func TestErlLinksAndMonitorsGoProcess(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	report, err := p.Mailbox("report")
	require.NoError(t, err)

	for _, mode := range []etf.Atom{"link", "monitor"} {
		pid, events := spawnProbe(t, gn, "", false)
		w := p.MustCall("gobeam_proc", "watch", pid, mode, report).(etf.Tuple)
		watcher := w[0].(etf.PID)
		// The harness answered on its own socket, so the LINK or MONITOR_P may still be on its
		// way. BEAM writes all signals to one node into one distribution connection in the order
		// they are sent, so a message sent after watch/3 returned arrives after it.
		_, err := p.EvalWith(`G ! synced, ok.`, map[string]etf.Term{"G": pid})
		require.NoError(t, err)
		require.Equal(t, etf.Atom("synced"), receive(t, events, 5*time.Second))

		reason := etf.Tuple{etf.Atom("shutdown"), []byte("bye"), int64(3)}
		run(t, gn, pid, func(*probe) error { return &dist.ExitReason{Term: reason} })
		require.Equal(t, terminated{&dist.ExitReason{Term: reason}}, receive(t, events, 5*time.Second))

		got, err := p.Recv(5 * time.Second)
		require.NoError(t, err)
		msg := got.(etf.Tuple)[1].(etf.Tuple) // {report, {watched, W, Msg}}
		require.Equal(t, watcher, msg[1])
		if mode == "link" {
			require.Equal(t, etf.Tuple{etf.Atom("EXIT"), pid, reason}, msg[2], "mode %s", mode)
		} else {
			require.Equal(t, etf.Tuple{etf.Atom("DOWN"), w[1], etf.Atom("process"), pid, reason}, msg[2], "mode %s", mode)
		}
	}
}

// erl's monitor of {Name, GoNode} watches the Go process the name stands for when the monitor
// is set, as between BEAM nodes: unregistering the name fires nothing, the process's end fires
// the DOWN naming {Name, GoNode}, and a name that stands for nothing gets DOWN noproc at once.
func TestErlMonitorByNameWatchesTheProcess(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	_, err := p.Mailbox("report")
	require.NoError(t, err)
	pid, events := spawnProbe(t, gn, "srv", false)

	ref, err := p.EvalWith(`Self = self(), spawn(fun() -> R = monitor(process, {srv, N}), Self ! {monitoring, R}, `+
		`receive M -> report ! M end end), receive {monitoring, R} -> R end.`, map[string]etf.Term{"N": gn.Name()})
	require.NoError(t, err)
	// Round trip through the Go process: the MONITOR_P has reached the Go node.
	_, err = p.EvalWith(`{srv, N} ! synced, ok.`, map[string]etf.Term{"N": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("synced"), receive(t, events, 5*time.Second))

	_, err = gn.UnregisterName("srv")
	require.NoError(t, err)
	run(t, gn, pid, func(*probe) error { return &dist.ExitReason{Term: etf.Atom("done")} })
	receive(t, events, 5*time.Second)
	got, err := p.Recv(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("report"), etf.Tuple{etf.Atom("DOWN"), ref, etf.Atom("process"),
		etf.Tuple{etf.Atom("srv"), gn.Name()}, etf.Atom("done")}}, got,
		"the first DOWN must be the process's end, not the name's")

	v, err := p.EvalWith(`R = monitor(process, {srv, N}), receive {'DOWN', R, process, Obj, Why} -> {Obj, Why} after 5000 -> none end.`,
		map[string]etf.Term{"N": gn.Name()})
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Tuple{etf.Atom("srv"), gn.Name()}, etf.Atom("noproc")}, v)
}

func TestExitSignalsFromErlFollowErlangRules(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})

	// A linked BEAM process exits normal: a Go process that does not trap exits keeps running.
	pid, events := spawnProbe(t, gn, "", false)
	p.MustCall("gobeam_proc", "exit_after", pid, etf.Tuple{50, etf.Atom("normal")})
	time.Sleep(500 * time.Millisecond)
	state, err := gn.ProcessState(pid)
	require.NoError(t, err)
	require.Equal(t, gen.ProcessStateSleep, state)

	// ... and any other reason ends it, with that reason.
	p.MustCall("gobeam_proc", "exit_after", pid, etf.Tuple{50, etf.Tuple{etf.Atom("boom"), 1}})
	ev := receive(t, events, 5*time.Second).(terminated)
	require.ErrorContains(t, ev.reason, "boom")

	// A trapping Go process receives both as messages.
	pid, events = spawnProbe(t, gn, "", true)
	erlPid := p.MustCall("gobeam_proc", "exit_after", pid, etf.Tuple{50, etf.Atom("normal")}).(etf.PID)
	require.Equal(t, gen.MessageExitPID{PID: erlPid, Reason: gen.TerminateReasonNormal}, receive(t, events, 5*time.Second))
	erlPid = p.MustCall("gobeam_proc", "exit_after", pid, etf.Tuple{50, etf.Atom("oops")}).(etf.PID)
	exit := receive(t, events, 5*time.Second).(gen.MessageExitPID)
	require.Equal(t, erlPid, exit.PID)
	require.Equal(t, etf.Atom("oops"), exitTerm(t, exit.Reason))

	// exit(Pid, kill) kills even a trapping process.
	_, err = p.EvalWith(`exit(Pid, kill), ok.`, map[string]etf.Term{"Pid": pid})
	require.NoError(t, err)
	ev = receive(t, events, 5*time.Second).(terminated)
	require.ErrorIs(t, ev.reason, gen.TerminateReasonKill)
	require.True(t, connected(gn, p.Node()))
}

// A BEAM process sends two messages and then exits: a trapping Go process linked to it, and
// one monitoring it with node.Monitor, take the two messages first and then the EXIT or DOWN, as
// a BEAM process would, even when all three wait in the mailbox together.
func TestSignalsComeBehindTheMessagesSentBeforeThem(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})

	for _, how := range []string{"link", "monitor"} {
		t.Run(how, func(t *testing.T) {
			pid, events := spawnProbe(t, gn, "", true)
			sender := p.MustEval(`spawn(fun() -> receive {go, G} -> G ! m1, G ! m2, exit(boom) end end)`).(etf.PID)
			refs := make(chan gen.Ref, 1)
			run(t, gn, pid, func(pr *probe) error {
				if how == "link" {
					return node.Link(pr, sender)
				}
				ref, err := node.Monitor(pr, sender)
				refs <- ref
				return err
			})
			time.Sleep(200 * time.Millisecond) // the LINK or MONITOR_P reaches erl
			// The probe is kept busy until the two messages and the signal are all in its mailbox.
			release := make(chan struct{})
			run(t, gn, pid, func(*probe) error { <-release; return nil })
			_, err := p.EvalWith(`S ! {go, G}, ok.`, map[string]etf.Term{"S": sender, "G": pid})
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				info, err := gn.ProcessInfo(pid)
				q := info.MailboxQueues
				return err == nil && q.Main+q.System+q.Urgent >= 3
			}, 10*time.Second, 10*time.Millisecond, "m1, m2 and the signal did not all reach the mailbox")
			close(release)

			require.Equal(t, etf.Atom("m1"), receive(t, events, 5*time.Second))
			require.Equal(t, etf.Atom("m2"), receive(t, events, 5*time.Second))
			switch m := receive(t, events, 5*time.Second).(type) {
			case gen.MessageExitPID:
				require.Equal(t, "link", how)
				require.Equal(t, sender, m.PID)
				require.Equal(t, etf.Atom("boom"), exitTerm(t, m.Reason))
			case dist.MessageDown:
				require.Equal(t, "monitor", how)
				require.Equal(t, <-refs, m.Ref)
				require.Equal(t, sender, m.PID)
				require.Equal(t, etf.Atom("boom"), exitTerm(t, m.Reason))
			default:
				t.Fatalf("third: %#v, want the %s signal", m, how)
			}
		})
	}
}

// A Go process's exit signal kill (Ergo's SendExit with gen.TerminateReasonKill) kills a BEAM
// process that traps exits, as exit(Pid, kill) does on BEAM; any other reason is a message to it.
func TestGoKillsATrappingErlProcess(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	_, err := p.Mailbox("report")
	require.NoError(t, err)
	pid, _ := spawnProbe(t, gn, "", false)

	for _, reason := range []error{gen.TerminateReasonShutdown, gen.TerminateReasonKill} {
		target := p.MustEval(`Self = self(), T = spawn(fun() -> process_flag(trap_exit, true), receive M -> exit({got, M}) end end), ` +
			`spawn(fun() -> Ref = monitor(process, T), Self ! monitoring, receive {'DOWN', Ref, _, _, R} -> report ! {down, R} end end), ` +
			`receive monitoring -> T end.`).(etf.PID)
		run(t, gn, pid, func(pr *probe) error { return pr.SendExit(target, reason) })
		m, err := p.Recv(5 * time.Second)
		require.NoError(t, err)
		var want etf.Term = etf.Tuple{etf.Atom("got"), etf.Tuple{etf.Atom("EXIT"), pid, etf.Atom("shutdown")}}
		if reason == gen.TerminateReasonKill {
			want = etf.Atom("killed")
		}
		require.Equal(t, etf.Tuple{etf.Atom("report"), etf.Tuple{etf.Atom("down"), want}}, m, "exit signal %v", reason)
	}
}

// A Go process's monitors of BEAM processes (node.Monitor) end with it: the monitored process
// no longer lists it in monitored_by, as when a BEAM process that monitors it exits.
func TestGoMonitorsEndWithTheirHolder(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	target := p.MustEval(`spawn(fun() -> receive stop -> ok end end)`).(etf.PID)
	monitoredBy := func() etf.Term {
		v, err := p.EvalWith(`{monitored_by, M} = process_info(T, monitored_by), M.`, map[string]etf.Term{"T": target})
		require.NoError(t, err)
		return v
	}

	pid, events := spawnProbe(t, gn, "", false)
	run(t, gn, pid, func(pr *probe) error {
		for range 2 { // two monitors of one holder
			if _, err := node.Monitor(pr, target); err != nil {
				return err
			}
		}
		return nil
	})
	require.Eventually(t, func() bool { l, _ := monitoredBy().(etf.List); return len(l) == 2 }, 5*time.Second, 10*time.Millisecond)
	for _, m := range monitoredBy().(etf.List) {
		require.Equal(t, pid, m)
	}

	run(t, gn, pid, func(*probe) error { return gen.TerminateReasonNormal })
	receive(t, events, 5*time.Second)
	require.Eventually(t, func() bool { l, _ := monitoredBy().(etf.List); return len(l) == 0 }, 5*time.Second, 10*time.Millisecond,
		"the ended Go process still monitors %v: %v", target, monitoredBy())
}

func TestGoLinksAndMonitorsErlProcess(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	report, err := p.Mailbox("report")
	require.NoError(t, err)

	// The Go process links to and monitors a BEAM process that then exits.
	target := p.MustEval(`spawn(fun() -> receive {exit, R} -> exit(R) end end)`).(etf.PID)
	pid, events := spawnProbe(t, gn, "", true)
	ref := linkAndMonitor(t, gn, pid, target)
	reason := etf.Tuple{etf.Atom("custom"), int64(1)}
	_, err = p.EvalWith(`T ! {exit, R}, ok.`, map[string]etf.Term{"T": target, "R": reason})
	require.NoError(t, err)
	receiveExitAndDown(t, events, target, ref, reason)

	// A Go process linked to a trapping BEAM process exits: the BEAM process gets the EXIT.
	watcher := p.MustEval(`Report = report, spawn(fun() -> process_flag(trap_exit, true), receive M -> Report ! {got, M} end end)`).(etf.PID)
	_ = report
	pid2, events2 := spawnProbe(t, gn, "", false)
	run(t, gn, pid2, func(pr *probe) error { return node.Link(pr, watcher) })
	time.Sleep(200 * time.Millisecond)
	run(t, gn, pid2, func(*probe) error { return &dist.ExitReason{Term: etf.Atom("done_here")} })
	receive(t, events2, 5*time.Second)
	m, err := p.Recv(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("report"), etf.Tuple{etf.Atom("got"), etf.Tuple{etf.Atom("EXIT"), pid2, etf.Atom("done_here")}}}, m)
}

// A BEAM process that ends with a reason nested deeper than the Go node decodes (here an iolist
// built as [Acc, Bin] 10,001 times, the kind a stacktrace's arguments hold) still takes its
// links and monitors on the Go node with it: the EXIT and the DOWN arrive with the reason
// {too_deep_to_decode, 10000}, and the connection, with everything else on it, stays.
func TestExitWithAReasonTooDeepToDecodeStillArrives(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})

	target := p.MustEval(`spawn(fun() -> receive {exit, R} -> exit(R) end end)`).(etf.PID)
	pid, events := spawnProbe(t, gn, "", true)
	ref := linkAndMonitor(t, gn, pid, target)
	before := distController(t, p, gn.Name())
	_, err := p.EvalWith(`T ! {exit, lists:foldl(fun(_, Acc) -> [Acc, <<"x">>] end, [], lists:seq(1, 10001))}, ok.`,
		map[string]etf.Term{"T": target})
	require.NoError(t, err)
	receiveExitAndDown(t, events, target, ref, etf.Tuple{etf.Atom("too_deep_to_decode"), int64(etf.DefaultMaxDepth)})

	// The connection is the one from before, and carries on.
	_, err = p.EvalWith(`P ! after_the_exit, ok.`, map[string]etf.Term{"P": pid})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("after_the_exit"), receive(t, events, 5*time.Second))
	require.Equal(t, before, distController(t, p, gn.Name()))
}

func TestUnlinkedProcessesNoLongerExchangeExits(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	_, err := p.Mailbox("report")
	require.NoError(t, err)
	pid, events := spawnProbe(t, gn, "", false)
	// erl links and unlinks (UNLINK_ID on OTP 26+), then the Go process exits: nothing arrives.
	_, err = p.EvalWith(`spawn(fun() -> process_flag(trap_exit, true), link(G), unlink(G), G ! {unlinked, self()},
	                         receive M -> report ! {got, M} after 1500 -> report ! nothing end end), ok.`,
		map[string]etf.Term{"G": pid})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("unlinked"), receive(t, events, 5*time.Second).(etf.Tuple)[0])
	run(t, gn, pid, func(*probe) error { return &dist.ExitReason{Term: etf.Atom("bye")} })
	m, err := p.Recv(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("report"), etf.Atom("nothing")}, m)
}

func TestLostNodeGivesNoconnection(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	target := p.MustEval(`spawn(fun() -> receive _ -> ok end end)`).(etf.PID)
	pid, events := spawnProbe(t, gn, "", true)
	ref := linkAndMonitor(t, gn, pid, target)
	require.NoError(t, p.Kill())
	for i := 0; i < 2; i++ {
		switch m := receive(t, events, 10*time.Second).(type) {
		case gen.MessageExitPID:
			require.Equal(t, target, m.PID)
			require.ErrorIs(t, m.Reason, gen.ErrNoConnection)
		case dist.MessageDown:
			require.Equal(t, ref, m.Ref)
			require.ErrorIs(t, m.Reason, gen.ErrNoConnection)
		default:
			t.Fatalf("unexpected %#v", m)
		}
	}
}

// Go processes watch BEAM nodes with Ergo's node monitors and links, as BEAM processes do with
// erlang:monitor_node/2: a killed erl node gives the monitor a down message and the link an
// exit (a message to a process that traps exits), each naming the node; a second node's
// monitor and link stay until it goes too.
func TestGoProcessesMonitorAndLinkErlNodes(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	doomed := c.erlNode("doomed", erlpeer.Options{})
	other := c.erlNode("other", erlpeer.Options{})
	for _, p := range []*erlpeer.Peer{doomed, other} {
		require.Equal(t, etf.Atom("pong"), pingGo(p, gn))
	}
	pid, events := spawnProbe(t, gn, "", true)
	done := make(chan error, 1)
	run(t, gn, pid, func(pr *probe) error {
		for _, p := range []*erlpeer.Peer{doomed, other} {
			if err := pr.MonitorNode(p.Node()); err != nil {
				done <- err
				return nil
			}
			if err := pr.LinkNode(p.Node()); err != nil {
				done <- err
				return nil
			}
		}
		done <- nil
		return nil
	})
	require.NoError(t, <-done)

	require.NoError(t, doomed.Kill())
	nodeGoes(t, events, doomed.Node())
	// The other node's monitor and link are still there: nothing more arrives for it until it
	// goes too.
	select {
	case m := <-events:
		t.Fatalf("unexpected %#v", m)
	case <-time.After(500 * time.Millisecond):
	}
	require.NoError(t, other.Kill())
	nodeGoes(t, events, other.Node())
}

// nodeGoes waits for what a node monitor and a node link give when node goes: one down message
// and one exit, both naming it.
func nodeGoes(t *testing.T, events chan any, node gen.Atom) {
	t.Helper()
	var downs, exits int
	for downs+exits < 2 {
		switch m := receive(t, events, 10*time.Second).(type) {
		case gen.MessageDownNode:
			require.Equal(t, node, m.Name)
			downs++
		case gen.MessageExitNode:
			require.Equal(t, node, m.Name)
			exits++
		default:
			t.Fatalf("unexpected %#v", m)
		}
	}
	require.Equal(t, [2]int{1, 1}, [2]int{downs, exits}, "down messages and exits")
}

// erlang:monitor_node/2 on a Go node: nodedown when the Go node stops.
func TestErlMonitorsGoNode(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})
	vars := map[string]etf.Term{"Go": gn.Name()}
	_, err := p.EvalWith(`Self = self(),
	    spawn(fun() ->
	        true = erlang:monitor_node(Go, true),
	        Self ! watching,
	        receive Down -> persistent_term:put(go_down, Down) end
	    end),
	    receive watching -> ok end`, vars)
	require.NoError(t, err)
	// monitor_node connects to the node, as erl does.
	waitFor(t, 5*time.Second, "the connection", func() bool { return connected(gn, p.Node()) })
	require.Equal(t, etf.Atom("none"), p.MustEval(`persistent_term:get(go_down, none).`))
	gn.Stop()
	var got etf.Term
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = p.MustEval(`persistent_term:get(go_down, none).`); got != etf.Atom("none") {
			break
		}
	}
	require.Equal(t, etf.Tuple{etf.Atom("nodedown"), gn.Name()}, got)
}

// Process aliases both ways: erl sends to an alias a Go process made, and Go sends to an alias
// an erl process made (ALIAS_SEND).
func TestAliasesBothWays(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	p := c.erlNode("erl", erlpeer.Options{})

	pid, events := spawnProbe(t, gn, "", false)
	aliases := make(chan gen.Alias, 1)
	run(t, gn, pid, func(pr *probe) error {
		a, err := pr.CreateAlias()
		aliases <- a
		return err
	})
	alias := <-aliases
	_, err := p.EvalWith(`erlang:send(A, {via_alias, self()}), ok.`, map[string]etf.Term{"A": gen.Ref(alias)})
	require.NoError(t, err)
	got := receive(t, events, 5*time.Second).(etf.Tuple)
	require.Equal(t, etf.Atom("via_alias"), got[0])

	// An erl process makes an alias, hands it to Go, and waits for a message through it.
	_, err = p.Mailbox("alias_report")
	require.NoError(t, err)
	_, err = p.EvalWith(`Parent = self(),
	    spawn(fun() -> A = alias(), Parent ! {alias, A},
	                   receive M -> alias_report ! {got, M} after 5000 -> alias_report ! timeout end end),
	    receive {alias, A} -> G ! {erl_alias, A} end, ok.`, map[string]etf.Term{"G": pid})
	require.NoError(t, err)
	erlAlias := receive(t, events, 5*time.Second).(etf.Tuple)[1].(gen.Ref)
	require.NoError(t, gn.Send(gen.Alias(erlAlias), etf.Atom("through_alias")))
	m, err := p.Recv(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("alias_report"), etf.Tuple{etf.Atom("got"), etf.Atom("through_alias")}}, m)
}

// A Go process's call to an erl process ends with gen.ErrNoConnection when erl's node goes,
// not at its timeout, as gen:call on BEAM ends with {nodedown, Node}.
func TestGoCallEndsWhenTheErlNodeGoes(t *testing.T) {
	c := newCluster(t)
	gn := c.goNode("go", node.Options{})
	erl := c.erlNode("erl", erlpeer.Options{})
	erl.MustEval(`register(silent, spawn(fun() -> receive never -> ok end end)), ok`)
	pid, _ := spawnProbe(t, gn, "", false)
	result := make(chan error, 1)
	run(t, gn, pid, func(pr *probe) error {
		_, err := pr.CallWithTimeout(gen.ProcessID{Name: "silent", Node: erl.Node()}, etf.Atom("hello"), 60)
		result <- err
		return nil
	})
	waitFor(t, 10*time.Second, "the call to reach silent", func() bool {
		return erl.MustEval(`element(2, erlang:process_info(whereis(silent), message_queue_len))`) == int64(1)
	})
	require.NoError(t, erl.Kill())
	select {
	case err := <-result:
		require.ErrorIs(t, err, gen.ErrNoConnection)
	case <-time.After(30 * time.Second):
		t.Fatal("the call is still waiting after its callee's node went")
	}
}
