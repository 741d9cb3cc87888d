package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/dist"
	"github.com/gobeam/gobeam/node/kernel"
)

// The kernel services against real erl: ping, spawn of Go code in every form BEAM has, rpc and
// erpc, each compared with what a BEAM node answers to the same request.

// kernelNode starts a visible Go node whose kernel serves reg: visible, because BEAM asks
// only visible nodes for their rpc features, and the tests check nodes().
func (c *cluster) kernelNode(prefix string, reg *kernel.Registry) gen.Node {
	c.t.Helper()
	return c.goNode(prefix, node.Options{Registry: reg, Visible: true})
}

const goModule = "go_kernel"

func goMFA(function string, arity int) kernel.MFA {
	return kernel.MFA{Module: goModule, Function: gen.Atom(function), Arity: arity}
}

// kernelRegistry holds the Go functions the tests call from erl.
func kernelRegistry(t *testing.T) *kernel.Registry {
	var reg kernel.Registry
	must := func(err error) { require.NoError(t, err) }
	must(reg.RegisterFunc(goMFA("echo", 1), func(_ *kernel.Call, args etf.List) (etf.Term, error) {
		return args[0], nil
	}))
	must(reg.RegisterFunc(goMFA("add", 2), func(_ *kernel.Call, args etf.List) (etf.Term, error) {
		a, ok1 := args[0].(int64)
		b, ok2 := args[1].(int64)
		if !ok1 || !ok2 {
			return nil, &kernel.Error{Reason: etf.Atom("badarith")}
		}
		return a + b, nil
	}))
	// fail raises what its argument says, like gobeam_kernel:fail/1, and more: a Go error, a
	// panic, a result with no Erlang form.
	must(reg.RegisterFunc(goMFA("fail", 1), func(_ *kernel.Call, args etf.List) (etf.Term, error) {
		if t, ok := args[0].(etf.Tuple); ok && len(t) == 2 {
			switch t[0] {
			case etf.Atom("error"):
				return nil, &kernel.Error{Reason: t[1]}
			case etf.Atom("exit"):
				return nil, &kernel.Exit{Reason: t[1]}
			case etf.Atom("throw"):
				return nil, &kernel.Throw{Value: t[1]}
			case etf.Atom("return"):
				return t[1], nil
			}
		}
		switch args[0] {
		case etf.Atom("go_error"):
			return nil, errors.New("disk full")
		case etf.Atom("panic"):
			var m map[string]int
			//lint:ignore SA5000 a Go panic is what this function is for
			m["x"] = 1
		case etf.Atom("no_form"):
			return make(chan int), nil
		}
		return nil, &kernel.Error{Reason: etf.Atom("function_clause")}
	}))
	must(reg.RegisterFunc(goMFA("hello", 1), func(call *kernel.Call, args etf.List) (etf.Term, error) {
		return etf.Atom("ok"), call.Send(call.Caller, etf.Tuple{etf.Atom("hello"), args[0], call.PID()})
	}))
	must(reg.RegisterFunc(goMFA("tell", 2), func(call *kernel.Call, args etf.List) (etf.Term, error) {
		pid, ok := args[1].(gen.PID)
		if !ok {
			return nil, &kernel.Error{Reason: etf.Atom("badarg")}
		}
		return etf.Atom("ok"), call.Send(pid, args[0])
	}))
	must(reg.RegisterProcess(goMFA("worker", 1), func() gen.ProcessBehavior { return &kernelWorker{} }, gen.ProcessOptions{}))
	must(reg.RegisterProcess(goMFA("quitter", 1), func() gen.ProcessBehavior { return &kernelQuitter{} }, gen.ProcessOptions{}))
	return &reg
}

// kernelQuitter sends its caller {started, self()} and fails its Init with its argument as the
// exit reason: the earliest a process can say something and end.
type kernelQuitter struct{ act.Actor }

func (q *kernelQuitter) Init(args ...any) error {
	caller, _ := kernel.CallerOf(q)
	if err := q.Send(caller, etf.Tuple{etf.Atom("started"), q.PID()}); err != nil {
		return err
	}
	return &dist.ExitReason{Term: args[0]}
}

// kernelWorker is a Go process BEAM spawns: {ping, From} -> From ! {pong, Tag, self()};
// {caller, From} -> From ! {caller, Caller}; {stop, Reason} ends it with Reason.
type kernelWorker struct {
	act.Actor
	tag etf.Term
}

func (w *kernelWorker) Init(args ...any) error {
	w.tag = args[0]
	return nil
}

func (w *kernelWorker) HandleMessage(from gen.PID, message any) error {
	t, ok := message.(etf.Tuple)
	if !ok || len(t) != 2 {
		return nil
	}
	switch t[0] {
	case etf.Atom("ping"):
		return w.Send(t[1], etf.Tuple{etf.Atom("pong"), w.tag, w.PID()})
	case etf.Atom("caller"):
		caller, _ := kernel.CallerOf(w)
		return w.Send(t[1], etf.Tuple{etf.Atom("caller"), caller})
	case etf.Atom("stop"):
		if t[1] == etf.Atom("normal") {
			return gen.TerminateReasonNormal
		}
		return &dist.ExitReason{Term: t[1]}
	}
	return nil
}

func TestKernel(t *testing.T) {
	c := newCluster(t)
	gn := c.kernelNode("go", kernelRegistry(t))
	_, inbox := spawnInbox(t, gn, "inbox", 16)
	p := c.erlNode("erl", erlpeer.Options{})
	ref := c.erlNode("ref", erlpeer.Options{})
	logRelease(t, p)
	goNode, refNode := gn.Name(), ref.Node()
	require.Equal(t, true, p.MustCall("net_kernel", "connect_node", refNode))

	// call runs gobeam_kernel:function(args...) on the erl peer; a failure ends the (sub)test
	// that is running.
	var current *testing.T = t
	call := func(function string, args ...etf.Term) etf.Term {
		current.Helper()
		v, err := p.Call("gobeam_kernel", etf.Atom(function), args...)
		require.NoError(current, err)
		return v
	}
	a := func(s string) etf.Atom { return etf.Atom(s) }
	tup := func(elems ...etf.Term) etf.Tuple { return etf.Tuple(elems) }
	// same runs function against the Go node and against the BEAM node and wants one answer.
	same := func(function string, args ...etf.Term) etf.Term {
		t.Helper()
		onGo := call(function, append([]etf.Term{goNode}, args...)...)
		onRef := call(function, append([]etf.Term{refNode}, args...)...)
		require.True(current, etf.Equal(onRef, onGo), "%s%v:\n Go node:   %#v\n BEAM node: %#v", function, args, onGo, onRef)
		return onGo
	}
	// goFrame checks a stack of one frame for the Go function fail/1, with its source location.
	goFrame := func(stack etf.Term) {
		t := current
		t.Helper()
		frames, ok := stack.(etf.List)
		require.True(t, ok && len(frames) == 1, "stack %#v", stack)
		f := frames[0].(etf.Tuple)
		require.Equal(t, tup(a(goModule), a("fail"), int64(1)), f[:3])
		loc := f[3].(etf.List)
		require.Len(t, loc, 2)
		file := loc[0].(etf.Tuple)
		require.Equal(t, a("file"), file[0])
		require.True(t, strings.HasSuffix(string(file[1].(etf.ByteList)), "kernel_test.go"), "file %v", file[1])
		require.Equal(t, a("line"), loc[1].(etf.Tuple)[0])
	}

	t.Run("ping", func(t *testing.T) {
		current = t
		require.Equal(t, a("pong"), p.MustCall("net_adm", "ping", goNode))
		require.Equal(t, goNode, p.MustEval(`gen_server:call({net_kernel, '`+string(goNode)+`'}, nodename).`))
		require.Equal(t, int64(60), p.MustEval(`gen_server:call({net_kernel, '`+string(goNode)+`'}, ticktime).`))
		require.Equal(t, etf.List{tup(goNode, true)}, call("features", goNode), "rex answered features_request")
	})

	t.Run("spawn_link", func(t *testing.T) {
		current = t
		got := call("link_ping_stop", goNode, a(goModule), a("worker"), etf.List{a("t1")}, tup(a("shutdown"), a("bye"))).(etf.Tuple)
		require.Equal(t, true, got[0])
		require.Equal(t, tup(a("pong"), a("t1")), got[1].(etf.Tuple)[:2])
		require.Equal(t, tup(a("shutdown"), a("bye")), got[2])

		// The process knows who spawned it.
		v, err := p.EvalWith(`Pid = spawn_link(G, go_kernel, worker, [t]), Pid ! {caller, self()},
			R = receive {caller, C} -> C =:= self() after 5000 -> timeout end, unlink(Pid), exit(Pid, kill), R.`,
			map[string]etf.Term{"G": goNode})
		require.NoError(t, err)
		require.Equal(t, true, v)
	})

	t.Run("spawn_monitor", func(t *testing.T) {
		current = t
		got := call("monitor_ping_stop", goNode, a(goModule), a("worker"), etf.List{a("t2")}, a("normal")).(etf.Tuple)
		require.Equal(t, true, got[0])
		require.Equal(t, tup(a("pong"), a("t2")), got[1].(etf.Tuple)[:2])
		require.Equal(t, a("normal"), got[2])
	})

	t.Run("spawn", func(t *testing.T) {
		current = t
		reason := tup(a("custom"), etf.List{int64(1), int64(2), int64(3)}, []byte("bin"))
		got := call("spawn_ping_stop", goNode, a(goModule), a("worker"), etf.List{a("t3")}, reason).(etf.Tuple)
		require.Equal(t, true, got[0])
		require.Equal(t, tup(a("pong"), a("t3")), got[1].(etf.Tuple)[:2])
		require.True(t, etf.Equal(reason, got[2]), "exit reason %#v", got[2])
	})

	t.Run("spawn_request", func(t *testing.T) {
		current = t
		opts := etf.List{a("link"), a("monitor"), tup(a("reply_tag"), a("tag4")), tup(a("priority"), a("high")),
			tup(a("message_queue_data"), a("off_heap")), tup(a("fullsweep_after"), int64(10))}
		got := call("request_ping_stop", goNode, a(goModule), a("worker"), etf.List{a("t4")}, opts, tup(a("done"), int64(4))).(etf.Tuple)
		require.Len(t, got, 5, "%#v", got)
		require.Equal(t, a("tag4"), got[0])
		require.Equal(t, true, got[1])
		require.Equal(t, tup(a("pong"), a("t4")), got[2].(etf.Tuple)[:2])
		require.Equal(t, tup(a("done"), int64(4)), got[3])
		require.Equal(t, tup(a("done"), int64(4)), got[4])

		// Options BEAM refuses are refused the same way.
		for _, bad := range []etf.List{{tup(a("link"), true)}, {a("bogus")}, {tup(a("priority"), a("bogus"))}} {
			require.Equal(t, tup(a("error"), a("badopt")), call("request_reply", goNode, a(goModule), a("worker"), etf.List{a("x")}, bad))
			require.Equal(t, tup(a("error"), a("badopt")), call("request_reply", refNode, a("erlang"), a("self"), etf.List{}, bad))
		}
		require.Equal(t, tup(a("ok"), true), call("request_reply", goNode, a(goModule), a("echo"), etf.List{a("x")}, etf.List{}))
	})

	t.Run("spawn_func", func(t *testing.T) {
		current = t
		got := call("messages_then_exit", goNode, a(goModule), a("hello"), etf.List{a("h")}).(etf.List)
		require.Len(t, got, 2, "%#v", got)
		msg := got[0].(etf.Tuple)[1].(etf.Tuple)
		require.Equal(t, tup(a("hello"), a("h")), msg[:2])
		require.Equal(t, tup(a("down"), a("normal")), got[1])

		require.Equal(t, tup(a("my"), a("reason")), call("monitor_down", goNode, a(goModule), a("fail"), etf.List{tup(a("exit"), tup(a("my"), a("reason")))}))
		crash := call("monitor_down", goNode, a(goModule), a("fail"), etf.List{tup(a("error"), a("boom"))}).(etf.Tuple)
		require.Equal(t, a("boom"), crash[0])
		goFrame(crash[1])
		thrown := call("link_exit", goNode, a(goModule), a("fail"), etf.List{tup(a("throw"), a("ball"))}).(etf.Tuple)
		require.Equal(t, tup(a("nocatch"), a("ball")), thrown[0])
		goFrame(thrown[1])
	})

	t.Run("nothing_before_the_reply", func(t *testing.T) {
		current = t
		// A process that sends and exits the moment it runs is still seen in BEAM's order:
		// the spawn reply (pid and monitor), then its message, then its DOWN; never noproc.
		reason := tup(a("bye"), int64(1))
		want := etf.List{tup(a("message"), a("started")), tup(a("down"), reason)}
		requireTerm(t, etf.List{want}, call("repeat_messages_then_exit", int64(200), goNode, a(goModule), a("quitter"), etf.List{reason}))
		undef := tup(a("undef"), etf.List{tup(a("nomod"), a("nofun"), etf.List{}, etf.List{})})
		requireTerm(t, etf.List{etf.List{tup(a("down"), undef)}},
			call("repeat_messages_then_exit", int64(200), goNode, a("nomod"), a("nofun"), etf.List{}))
	})

	t.Run("spawn_undefined", func(t *testing.T) {
		current = t
		undef := tup(a("undef"), etf.List{tup(a("nomod"), a("nofun"), etf.List{int64(1), int64(2)}, etf.List{})})
		requireTerm(t, undef, same("link_exit", a("nomod"), a("nofun"), etf.List{int64(1), int64(2)}))
		same("monitor_down", a("nomod"), a("nofun"), etf.List{})
		same("monitor_down", a("lists"), a("nofun"), etf.List{a("x")})
		require.Equal(t, a("undef_fun"), call("spawn_fun", goNode))
		// A registered module with an arity that is not registered is undefined too.
		requireTerm(t, tup(a("undef"), etf.List{tup(a(goModule), a("echo"), etf.List{}, etf.List{})}),
			call("link_exit", goNode, a(goModule), a("echo"), etf.List{}))
	})

	t.Run("rpc", func(t *testing.T) {
		current = t
		v, err := p.EvalWith(`T = {a, [1, 2.5, <<"bin">>, "str"], #{k => {v, self()}}, -12345678901234567890, make_ref()},
			{gobeam_kernel:rpc(G, go_kernel, echo, [T]) =:= T, gobeam_kernel:erpc(G, go_kernel, echo, [T]) =:= {return, T}}.`,
			map[string]etf.Term{"G": goNode})
		require.NoError(t, err)
		require.Equal(t, tup(true, true), v)
		require.Equal(t, int64(5), call("rpc", goNode, a(goModule), a("add"), etf.List{int64(2), int64(3)}))
		require.Equal(t, tup(a("return"), int64(5)), call("erpc", goNode, a(goModule), a("add"), etf.List{int64(2), int64(3)}))
		require.Equal(t, a("x"), call("block_call", goNode, a(goModule), a("echo"), etf.List{a("x")}))
		require.Equal(t, etf.List{tup(a("ok"), a("m"))}, call("multicall", etf.List{goNode}, a(goModule), a("echo"), etf.List{a("m")}))
		require.Equal(t, a("hello_cast"), call("cast_and_wait", goNode, a(goModule), a("tell"), etf.List{a("hello_cast")}))
		require.Equal(t, goNode, call("rpc", goNode, a("erlang"), a("node"), etf.List{}))
		// apply/3 and an external fun reach the registered function.
		require.Equal(t, a("y"), call("rpc", goNode, a("erlang"), a("apply"), etf.List{a(goModule), a("echo"), etf.List{a("y")}}))
		require.Equal(t, a("z"), call("rpc", goNode, a("erlang"), a("apply"),
			etf.List{etf.ExportFun{Module: goModule, Function: "echo", Arity: 1}, etf.List{a("z")}}))
		// A process started by rpc: its pid is the result.
		pid, ok := call("rpc", goNode, a(goModule), a("worker"), etf.List{a("r")}).(gen.PID)
		require.True(t, ok)
		require.Equal(t, goNode, pid.Node)
	})

	t.Run("rpc_undefined", func(t *testing.T) {
		current = t
		undef := tup(a("badrpc"), tup(a("EXIT"), tup(a("undef"), etf.List{tup(a("nomod"), a("nofun"), etf.List{int64(1), int64(2)}, etf.List{})})))
		requireTerm(t, undef, same("rpc", a("nomod"), a("nofun"), etf.List{int64(1), int64(2)}))
		same("rpc", a("lists"), a("nofun"), etf.List{a("x")})
		same("erpc", a("nomod"), a("nofun"), etf.List{int64(1), int64(2)})
		same("erpc", a("lists"), a("nofun"), etf.List{})
		same("block_call", a("nomod"), a("nofun"), etf.List{int64(1)})
		same("rpc", a("erlang"), a("apply"), etf.List{etf.ExportFun{Module: "nomod", Function: "nofun", Arity: 0}, etf.List{}})
		same("erpc", a("erlang"), a("apply"), etf.List{a("nomod"), a("nofun"), etf.List{a("q")}})
		require.Equal(t, a("undef_fun"), call("erpc_fun", goNode))
		onGo := call("multicall", etf.List{goNode}, a("nomod"), a("nofun"), etf.List{})
		onRef := call("multicall", etf.List{refNode}, a("nomod"), a("nofun"), etf.List{})
		requireTerm(t, onRef, onGo)
	})

	t.Run("rpc_failing", func(t *testing.T) {
		current = t
		// What the Go function raises, rpc and erpc report as for the same Erlang function.
		for _, kind := range []etf.Tuple{
			tup(a("exit"), a("bye")),
			tup(a("exit"), tup(a("shutdown"), int64(5))),
			tup(a("throw"), a("ball")),
			tup(a("throw"), tup(a("EXIT"), a("x"))),
			tup(a("return"), tup(a("EXIT"), a("y"))),
		} {
			goRPC := call("rpc", goNode, a(goModule), a("fail"), etf.List{kind})
			refRPC := call("rpc", refNode, a("gobeam_kernel"), a("fail"), etf.List{kind})
			require.True(t, etf.Equal(refRPC, goRPC), "rpc %v: Go %#v, BEAM %#v", kind, goRPC, refRPC)
			goERPC := call("erpc", goNode, a(goModule), a("fail"), etf.List{kind})
			refERPC := call("erpc", refNode, a("gobeam_kernel"), a("fail"), etf.List{kind})
			require.True(t, etf.Equal(refERPC, goERPC), "erpc %v: Go %#v, BEAM %#v", kind, goERPC, refERPC)
		}
		// An error carries the stack: one frame, of the Go function.
		got := call("rpc", goNode, a(goModule), a("fail"), etf.List{tup(a("error"), a("boom"))}).(etf.Tuple)
		exit := got[1].(etf.Tuple)
		require.Equal(t, tup(a("badrpc"), a("EXIT")), tup(got[0], exit[0]))
		require.Equal(t, a("boom"), exit[1].(etf.Tuple)[0])
		goFrame(exit[1].(etf.Tuple)[1])
		e := call("erpc", goNode, a(goModule), a("fail"), etf.List{tup(a("error"), a("boom"))}).(etf.Tuple)
		require.Equal(t, a("error"), e[0])
		exc := e[1].(etf.Tuple)
		require.Equal(t, tup(a("exception"), a("boom")), exc[:2])
		goFrame(exc[2])

		// Go errors and panics are errors whose reason says what happened.
		for arg, text := range map[string]string{"go_error": "disk full", "panic": "panic: assignment to entry in nil map", "no_form": "has no Erlang form"} {
			got := call("rpc", goNode, a(goModule), a("fail"), etf.List{a(arg)}).(etf.Tuple)
			reason := got[1].(etf.Tuple)[1].(etf.Tuple)
			require.Contains(t, string(reason[0].([]byte)), text, arg)
			goFrame(reason[1])
		}
	})

	t.Run("link_survives", func(t *testing.T) {
		current = t
		require.Equal(t, true, p.MustEval(`lists:member('`+string(goNode)+`', nodes()).`))
		_, err := p.EvalWith(`{inbox, G} ! still_here, ok.`, map[string]etf.Term{"G": goNode})
		require.NoError(t, err)
		require.Equal(t, a("still_here"), receive(t, inbox, 10*time.Second))
		require.True(t, connected(gn, p.Node()))
		require.Equal(t, a("pong"), p.MustCall("net_adm", "ping", goNode))
	})
}

// requireTerm wants two equal terms, whatever Go form each was decoded in.
func requireTerm(t *testing.T, want, got etf.Term) {
	t.Helper()
	require.True(t, etf.Equal(want, got), "want %#v\n got %#v", want, got)
}
