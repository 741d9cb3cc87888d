package kernel

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"ergo.services/ergo"
	"ergo.services/ergo/act"
	"ergo.services/ergo/app/system"
	"ergo.services/ergo/gen"
	ergonode "ergo.services/ergo/node"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
	"github.com/gobeam/gobeam/node/nodetest"
)

// The kernel on an Ergo node without a network: the Spawn hook called as the DIST layer calls
// it, and net_kernel and rex called by a local process as BEAM callers reach them.

var testNodeCount int

func startTestNode(t *testing.T, opts Options) (gen.Node, *Kernel) {
	t.Helper()
	k := New(opts)
	var nopts gen.NodeOptions
	nopts.Network.Mode = gen.NetworkModeDisabled
	nopts.Env = map[gen.Env]any{system.DISABLE_METRICS: true}
	nopts.Log.DefaultLogger.DisableBanner = true
	nopts.Log.Level = gen.LogLevelPanic
	testNodeCount++
	// Without Ergo's system application, whose supervisor restarts children while the node
	// stops and so races with Stop under the race detector.
	n, err := ergonode.Start(gen.Atom(fmt.Sprintf("kernel%d@example.com", testNodeCount)), nopts, ergo.FrameworkVersion)
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	require.NoError(t, k.Start(n))
	return n, k
}

func next(t *testing.T, ch chan any) any {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived")
	}
	return nil
}

func nothing(t *testing.T, ch chan any, d time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %#v", v)
	case <-time.After(d):
	}
}

// downReason waits for the DOWN of pid at the Runner and returns its reason as a term.
func downReason(t *testing.T, out chan any, pid gen.PID) etf.Term {
	t.Helper()
	for {
		m := next(t, out)
		if d, ok := m.(gen.MessageDownPID); ok && d.PID == pid {
			return dist.ReasonTerm(d.Reason)
		}
	}
}

var remoteCaller = gen.PID{Node: "beam@example.com", ID: 77, Creation: 3}

func spawnReq(m, f gen.Atom, args ...etf.Term) dist.SpawnRequest {
	return dist.SpawnRequest{Peer: remoteCaller.Node, From: remoteCaller, Module: m, Function: f, Args: etf.List(args),
		Options: etf.List{etf.Atom("monitor")}, Monitor: true}
}

func requireTerm(t *testing.T, want, got etf.Term) {
	t.Helper()
	require.True(t, etf.Equal(want, got), "want %#v\n got %#v", want, got)
}

type initRecorder struct {
	act.Actor
	out chan any
}

func (r *initRecorder) Init(args ...any) error {
	caller, _ := CallerOf(r)
	r.out <- etf.Tuple{etf.Atom("init"), etf.List(args), caller}
	if len(args) > 0 && args[0] == etf.Atom("fail") {
		return &dist.ExitReason{Term: etf.Atom("init_failed")}
	}
	return nil
}

func TestSpawnNothingRunsBeforeRun(t *testing.T) {
	var reg Registry
	ran := make(chan any, 4)
	require.NoError(t, reg.RegisterFunc(MFA{"g", "f", 1}, func(call *Call, args etf.List) (etf.Term, error) {
		ran <- etf.Tuple{args[0], call.Caller, call.MFA}
		return nil, nil
	}))
	require.NoError(t, reg.RegisterProcess(MFA{"g", "p", 2}, func() gen.ProcessBehavior { return &initRecorder{out: ran} }, gen.ProcessOptions{}))
	n, k := startTestNode(t, Options{Registry: &reg})
	rpid, out := nodetest.StartRunner(t, n)

	pid, run, err := k.Spawn(spawnReq("g", "f", etf.Atom("x")))
	require.NoError(t, err)
	nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.MonitorPID(pid)) })
	nothing(t, ran, 100*time.Millisecond)
	run()
	require.Equal(t, etf.Tuple{etf.Atom("x"), remoteCaller, MFA{"g", "f", 1}}, next(t, ran))
	require.Equal(t, etf.Atom("normal"), downReason(t, out, pid))

	pid, run, err = k.Spawn(spawnReq("g", "p", etf.Atom("a"), int64(1)))
	require.NoError(t, err)
	nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.MonitorPID(pid)) })
	nothing(t, ran, 100*time.Millisecond)
	run()
	require.Equal(t, etf.Tuple{etf.Atom("init"), etf.List{etf.Atom("a"), int64(1)}, remoteCaller}, next(t, ran))

	// An Init that fails ends the process with its reason, after it was spawned, as a BEAM
	// process that crashes at once.
	pid, run, err = k.Spawn(spawnReq("g", "p", etf.Atom("fail"), int64(2)))
	require.NoError(t, err)
	nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.MonitorPID(pid)) })
	run()
	next(t, ran)
	require.Equal(t, etf.Atom("init_failed"), downReason(t, out, pid))
}

func TestSpawnExitReasons(t *testing.T) {
	var reg Registry
	require.NoError(t, reg.RegisterFunc(MFA{"g", "raise", 1}, func(call *Call, args etf.List) (etf.Term, error) {
		switch args[0] {
		case etf.Atom("exit"):
			return nil, &Exit{Reason: etf.Tuple{etf.Atom("shutdown"), int64(1)}}
		case etf.Atom("throw"):
			return nil, &Throw{Value: etf.Atom("ball")}
		case etf.Atom("error"):
			return nil, &Error{Reason: etf.Atom("boom")}
		case etf.Atom("go"):
			return nil, errors.New("no such file")
		}
		return etf.Atom("fine"), nil
	}))
	n, k := startTestNode(t, Options{Registry: &reg})
	rpid, out := nodetest.StartRunner(t, n)
	exitOf := func(req dist.SpawnRequest) etf.Term {
		t.Helper()
		pid, run, err := k.Spawn(req)
		require.NoError(t, err)
		nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.MonitorPID(pid)) })
		run()
		return downReason(t, out, pid)
	}
	frame := func(t etf.Term) etf.Tuple {
		l := t.(etf.List)
		require.Len(nil, l, 1)
		return l[0].(etf.Tuple)
	}

	requireTerm(t, etf.Tuple{etf.Atom("undef"), etf.List{etf.Tuple{etf.Atom("nomod"), etf.Atom("nofun"), etf.List{int64(1)}, etf.List{}}}},
		exitOf(spawnReq("nomod", "nofun", int64(1))))
	requireTerm(t, etf.Atom("normal"), exitOf(spawnReq("g", "raise", etf.Atom("none"))))
	requireTerm(t, etf.Tuple{etf.Atom("shutdown"), int64(1)}, exitOf(spawnReq("g", "raise", etf.Atom("exit"))))

	thrown := exitOf(spawnReq("g", "raise", etf.Atom("throw"))).(etf.Tuple)
	requireTerm(t, etf.Tuple{etf.Atom("nocatch"), etf.Atom("ball")}, thrown[0])
	require.Equal(t, etf.Tuple{etf.Atom("g"), etf.Atom("raise"), int64(1)}, frame(thrown[1])[:3])

	crashed := exitOf(spawnReq("g", "raise", etf.Atom("error"))).(etf.Tuple)
	require.Equal(t, etf.Atom("boom"), crashed[0])
	loc := frame(crashed[1])[3].(etf.List)
	require.Equal(t, etf.Atom("file"), loc[0].(etf.Tuple)[0])
	require.Contains(t, string(loc[0].(etf.Tuple)[1].(etf.ByteList)), "kernel_test.go")

	goErr := exitOf(spawnReq("g", "raise", etf.Atom("go"))).(etf.Tuple)
	require.Equal(t, []byte("no such file"), goErr[0])

	// erlang:apply/2 of an external fun and apply/3 reach the function; the initial call of
	// a process shows no apply frame.
	fun := etf.ExportFun{Module: "g", Function: "raise", Arity: 1}
	requireTerm(t, etf.Tuple{etf.Atom("shutdown"), int64(1)}, exitOf(spawnReq("erlang", "apply", fun, etf.List{etf.Atom("exit")})))
	requireTerm(t, etf.Tuple{etf.Atom("shutdown"), int64(1)}, exitOf(spawnReq("erlang", "apply", etf.Atom("g"), etf.Atom("raise"), etf.List{etf.Atom("exit")})))
	requireTerm(t, etf.Tuple{etf.Atom("undef"), etf.List{etf.Tuple{etf.Atom("m"), etf.Atom("f"), etf.List{}, etf.List{}}}},
		exitOf(spawnReq("erlang", "apply", etf.ExportFun{Module: "m", Function: "f"}, etf.List{})))
}

// A registered process whose factory panics is spawned all the same and exits at once with the
// panic, as a BEAM process that crashes at its first line; the peer's connection, whose reader
// calls the factory, is not taken down.
func TestSpawnOfAPanickingFactory(t *testing.T) {
	var reg Registry
	require.NoError(t, reg.RegisterProcess(MFA{"g", "bad", 0}, func() gen.ProcessBehavior { panic("factory bug") }, gen.ProcessOptions{}))
	n, k := startTestNode(t, Options{Registry: &reg})
	rpid, out := nodetest.StartRunner(t, n)
	pid, run, err := k.Spawn(spawnReq("g", "bad"))
	require.NoError(t, err)
	nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.MonitorPID(pid)) })
	run()
	requireTerm(t, etf.Tuple{[]byte("panic: factory bug"), etf.List{etf.Tuple{etf.Atom("g"), etf.Atom("bad"), int64(0), etf.List{}}}},
		downReason(t, out, pid))
}

func TestSpawnERPC(t *testing.T) {
	var reg Registry
	require.NoError(t, reg.RegisterFunc(MFA{"g", "add", 2}, func(call *Call, args etf.List) (etf.Term, error) {
		return args[0].(int64) + args[1].(int64), nil
	}))
	require.NoError(t, reg.RegisterFunc(MFA{"g", "bad", 0}, func(call *Call, args etf.List) (etf.Term, error) {
		return func() {}, nil
	}))
	n, k := startTestNode(t, Options{Registry: &reg})
	rpid, out := nodetest.StartRunner(t, n)
	ref := gen.Ref{Node: remoteCaller.Node, Creation: 3, ID: [3]uint64{1, 2, 3}}
	erpc := func(m, f etf.Atom, args etf.List) etf.Tuple {
		t.Helper()
		pid, run, err := k.Spawn(spawnReq("erpc", "execute_call", ref, m, f, args))
		require.NoError(t, err)
		nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.MonitorPID(pid)) })
		run()
		return downReason(t, out, pid).(etf.Tuple)
	}
	require.Equal(t, etf.Tuple{ref, etf.Atom("return"), int64(5)}, erpc("g", "add", etf.List{int64(2), int64(3)}))
	requireTerm(t, etf.Tuple{ref, etf.Atom("error"), etf.Atom("undef"), etf.List{etf.Tuple{etf.Atom("nomod"), etf.Atom("f"), etf.List{}, etf.List{}}}},
		erpc("nomod", "f", etf.List{}))
	bad := erpc("g", "bad", etf.List{})
	require.Equal(t, etf.Atom("error"), bad[1])
	require.Contains(t, string(bad[2].([]byte)), "has no Erlang form")
	require.Equal(t, n.Name(), erpc("erlang", "node", etf.List{})[2])
}

func TestSpawnRefusals(t *testing.T) {
	n, k := startTestNode(t, Options{})
	_ = n
	req := spawnReq("m", "f")
	req.Options = etf.List{etf.Tuple{etf.Atom("link"), true}}
	_, _, err := k.Spawn(req)
	var se *dist.SpawnError
	require.ErrorAs(t, err, &se)
	require.Equal(t, etf.Atom("badopt"), se.Reason)

	// Before Start, a request waits for it, then gives up with notsup.
	early := New(Options{StartTimeout: 50 * time.Millisecond})
	_, _, err = early.Spawn(spawnReq("m", "f"))
	require.ErrorAs(t, err, &se)
	require.Equal(t, etf.Atom("notsup"), se.Reason)

	require.ErrorIs(t, k.Start(n), ErrStarted)
}

func TestStartNamesTaken(t *testing.T) {
	n, _ := startTestNode(t, Options{})
	// A second kernel on the same node finds the names taken and leaves nothing behind.
	k := New(Options{})
	require.ErrorIs(t, k.Start(n), gen.ErrTaken)
	require.ErrorIs(t, k.Start(n), ErrStarted)
}

func TestNetKernel(t *testing.T) {
	n, _ := startTestNode(t, Options{TickTime: 20 * time.Second})
	rpid, out := nodetest.StartRunner(t, n)
	call := func(req etf.Term) (any, error) {
		var v any
		var err error
		nodetest.Run(t, n, rpid, func(p gen.Process) { v, err = p.CallWithTimeout(NetKernelName, req, 1) })
		return v, err
	}
	v, err := call(etf.Tuple{etf.Atom("is_auth"), etf.Atom("beam@example.com")})
	require.NoError(t, err)
	require.Equal(t, etf.Atom("yes"), v)
	v, _ = call(etf.Atom("ticktime"))
	require.Equal(t, int64(20), v)
	v, _ = call(etf.Atom("nodename"))
	require.Equal(t, n.Name(), v)
	v, _ = call(etf.Atom("longnames"))
	require.Equal(t, true, v)
	// What net_kernel does not know goes unanswered, as on BEAM.
	_, err = call(etf.Atom("what"))
	require.ErrorIs(t, err, gen.ErrTimeout)

	// A legacy spawn answers with the pid of a process that then runs.
	v, err = call(etf.Tuple{etf.Atom("spawn"), etf.Atom("erlang"), etf.Atom("node"), etf.List{}, etf.Atom("user")})
	require.NoError(t, err)
	require.IsType(t, gen.PID{}, v)
	v, _ = call(etf.Tuple{etf.Atom("spawn_link"), etf.Atom("erlang"), etf.Atom("node"), etf.List{}, etf.Atom("user")})
	require.Equal(t, etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("notsup"), etf.List{}}}, v)

	// registered_send relays to a local name.
	nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.RegisterName("relay_target")) })
	nodetest.Run(t, n, rpid, func(p gen.Process) {
		require.NoError(t, p.Send(NetKernelName, etf.Tuple{p.PID(), etf.Atom("registered_send"), etf.Atom("relay_target"), etf.Atom("hi")}))
	})
	require.Equal(t, etf.Atom("hi"), next(t, out))
}

func TestRex(t *testing.T) {
	var reg Registry
	require.NoError(t, reg.RegisterFunc(MFA{"g", "echo", 1}, func(call *Call, args etf.List) (etf.Term, error) {
		return args[0], nil
	}))
	n, _ := startTestNode(t, Options{Registry: &reg})
	rpid, out := nodetest.StartRunner(t, n)
	call := func(req etf.Term) any {
		var v any
		var err error
		nodetest.Run(t, n, rpid, func(p gen.Process) { v, err = p.CallWithTimeout(RexName, req, 5) })
		require.NoError(t, err)
		return v
	}
	send := func(msg func(self gen.PID) etf.Term) {
		nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.Send(RexName, msg(p.PID()))) })
	}
	user := etf.Atom("user")
	require.Equal(t, etf.Atom("x"), call(etf.Tuple{etf.Atom("call"), etf.Atom("g"), etf.Atom("echo"), etf.List{etf.Atom("x")}, user}))
	requireTerm(t, etf.Tuple{etf.Atom("badrpc"), etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("undef"),
		etf.List{etf.Tuple{etf.Atom("m"), etf.Atom("f"), etf.List{int64(1)}, etf.List{}}}}}},
		call(etf.Tuple{etf.Atom("block_call"), etf.Atom("m"), etf.Atom("f"), etf.List{int64(1)}, user}))

	send(func(self gen.PID) etf.Term { return etf.Tuple{self, etf.Atom("features_request")} })
	require.Equal(t, etf.Tuple{etf.Atom("features_reply"), n.Name(), etf.List{etf.Atom("erpc")}}, next(t, out))

	send(func(self gen.PID) etf.Term {
		return etf.Tuple{self, etf.Tuple{etf.Atom("call"), etf.Atom("g"), etf.Atom("echo"), etf.List{int64(7)}, user}}
	})
	require.Equal(t, etf.Tuple{etf.Atom("rex"), int64(7)}, next(t, out))

	send(func(self gen.PID) etf.Term {
		return etf.Tuple{self, etf.Tuple{etf.Atom("sbcast"), etf.Atom("nobody"), etf.Atom("m")}}
	})
	require.Equal(t, etf.Tuple{etf.Atom("rex"), n.Name(), etf.Tuple{etf.Atom("nonexisting_name"), etf.Atom("nobody")}}, next(t, out))
	nodetest.Run(t, n, rpid, func(p gen.Process) { require.NoError(t, p.RegisterName("somebody")) })
	send(func(self gen.PID) etf.Term {
		return etf.Tuple{self, etf.Tuple{etf.Atom("sbcast"), etf.Atom("somebody"), etf.Atom("m")}}
	})
	got := []any{next(t, out), next(t, out)}
	require.ElementsMatch(t, []any{etf.Atom("m"), etf.Tuple{etf.Atom("rex"), n.Name(), n.Name()}}, got)

	send(func(self gen.PID) etf.Term {
		return etf.Tuple{self, etf.Tuple{etf.Atom("send"), etf.Atom("somebody"), etf.Atom("m2")}}
	})
	nodetest.Run(t, n, rpid, func(p gen.Process) {}) // the relayed message is ahead of anything sent after
	m := next(t, out).(etf.Tuple)
	require.Equal(t, etf.Atom("m2"), m[1])

	// A cast runs the function and answers nothing.
	send(func(self gen.PID) etf.Term {
		return etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("cast"), etf.Atom("g"), etf.Atom("echo"), etf.List{int64(1)}, user}}
	})
	nothing(t, out, 100*time.Millisecond)
}

// A BEAM node settling a global name two nodes registered calls global:resolve_it/4, through
// rpc, on the node of the pid it holds: here, for a name a Go process holds. global's own
// methods run as on BEAM (the pid of the node whose name sorts first wins); others fail as a
// function missing on the node does, inside resolve_it's catch.
func TestGlobalResolveIt(t *testing.T) {
	n, _ := startTestNode(t, Options{})
	rpid, out := nodetest.StartRunner(t, n)
	resolveIt := func(method, pid1, pid2 etf.Term) any {
		var v any
		var err error
		nodetest.Run(t, n, rpid, func(p gen.Process) {
			v, err = p.CallWithTimeout(RexName, etf.Tuple{etf.Atom("call"), etf.Atom("global"), etf.Atom("resolve_it"),
				etf.List{method, etf.Atom("x"), pid1, pid2}, etf.Atom("user")}, 5)
		})
		require.NoError(t, err)
		return v
	}
	global := func(f etf.Atom) etf.ExportFun { return etf.ExportFun{Module: "global", Function: f, Arity: 3} }
	first := gen.PID{Node: "beam@example.com", ID: 5, Creation: 1} // 'beam@' < 'kernelN@'
	last := gen.PID{Node: "zeta@example.com", ID: 5, Creation: 1}

	victim, err := n.Spawn(func() gen.ProcessBehavior { return &nodetest.Runner{Out: make(chan any, 1)} }, gen.ProcessOptions{})
	require.NoError(t, err)
	require.Equal(t, first, resolveIt(global("random_exit_name"), first, victim))
	require.Eventually(t, func() bool {
		_, err := n.ProcessInfo(victim)
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the loser was not killed")

	require.Equal(t, rpid, resolveIt(global("random_notify_name"), last, rpid))
	nothing(t, out, 50*time.Millisecond) // the loser, on zeta, was told; the winner not
	require.Equal(t, first, resolveIt(global("random_notify_name"), rpid, first))
	require.Equal(t, etf.Tuple{etf.Atom("global_name_conflict"), etf.Atom("x")}, next(t, out))

	require.Equal(t, etf.Atom("none"), resolveIt(global("notify_all_name"), first, rpid))
	require.Equal(t, etf.Tuple{etf.Atom("global_name_conflict"), etf.Atom("x"), first}, next(t, out))

	requireTerm(t, etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("undef"), etf.List{
		etf.Tuple{etf.Atom("mine"), etf.Atom("resolve"), etf.List{etf.Atom("x"), first, rpid}, etf.List{}}}}},
		resolveIt(etf.ExportFun{Module: "mine", Function: "resolve", Arity: 3}, first, rpid))
	requireTerm(t, etf.Tuple{etf.Atom("EXIT"), etf.Tuple{etf.Atom("badarg"), etf.List{}}},
		resolveIt(global("random_exit_name"), int64(1), rpid))
}
