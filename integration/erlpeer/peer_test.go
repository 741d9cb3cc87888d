package erlpeer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/integration/erlpeer"
)

func TestCallEval(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})

	v, err := p.Call("erlang", "+", 40, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(42), v)

	v, err = p.Call("erlang", "node")
	require.NoError(t, err)
	assert.Equal(t, etf.Atom("nonode@nohost"), v)
	assert.Equal(t, etf.Atom("nonode@nohost"), p.Node())

	v, err = p.Call("erlang", "system_info", etf.Atom("otp_release"))
	require.NoError(t, err)
	assert.Equal(t, etf.ByteList(p.OTP()), v)

	v, err = p.Eval("X = lists:seq(1, 10), lists:sum(X)")
	require.NoError(t, err)
	assert.Equal(t, int64(55), v)

	v, err = p.EvalWith("{A + 1, B}.", map[string]etf.Term{"A": 1, "B": "bin"})
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{int64(2), []byte("bin")}, v)
}

func TestCallRaises(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})

	_, err := p.Call("erlang", "+", 1, etf.Atom("a"))
	var ee *erlpeer.ErlangError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, etf.Atom("error"), ee.Class)
	assert.Equal(t, etf.Atom("badarith"), ee.Reason)
	assert.Contains(t, ee.Text, "arithmetic")

	_, err = p.Eval("throw({oops, 1})")
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, etf.Atom("throw"), ee.Class)
	assert.Equal(t, etf.Tuple{etf.Atom("oops"), int64(1)}, ee.Reason)

	_, err = p.Eval("1 +")
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, ee.Text, "parse")

	// The peer keeps serving after exceptions.
	v, err := p.Eval("ok")
	require.NoError(t, err)
	assert.Equal(t, etf.Atom("ok"), v)
}

const greeterErl = `-module(erlpeer_greeter).
-export([greet/1, tell/1]).
-define(GREETING, <<"hello, ">>).

greet(Name) -> {?MODULE, <<?GREETING/binary, Name/binary>>}.

tell(Term) -> gobeam_peer:notify({told, Term}).
`

func TestLoadAndRecv(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})

	mods, err := p.Load("erlpeer_greeter.erl", []byte(greeterErl))
	require.NoError(t, err)
	assert.Equal(t, []etf.Atom{"erlpeer_greeter"}, mods)

	v, err := p.Call("erlpeer_greeter", "greet", "joe")
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{etf.Atom("erlpeer_greeter"), []byte("hello, joe")}, v)

	_, err = p.Call("erlpeer_greeter", "tell", 7)
	require.NoError(t, err)
	got, err := p.Recv(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{etf.Atom("told"), int64(7)}, got)

	_, err = p.Recv(100 * time.Millisecond)
	assert.ErrorContains(t, err, "nothing received")

	_, err = p.Load("broken.erl", []byte("-module(broken).\n-export([f/0]).\nf() -> undefined_var.\ng( -> 1.\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "broken.erl:4")
}

func TestMailbox(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})

	pid, err := p.Mailbox("inbox")
	require.NoError(t, err)
	assert.Equal(t, p.Node(), pid.Node)

	require.NoError(t, p.Send(etf.Atom("inbox"), etf.Tuple{etf.Atom("hi"), 1}))
	got, err := p.Recv(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{etf.Atom("inbox"), etf.Tuple{etf.Atom("hi"), int64(1)}}, got)
}

func TestCallTimeout(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := p.CallContext(ctx, "timer", "sleep", 10_000)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "timer:sleep/1 did not return")

	v, err := p.Call("erlang", "abs", -3)
	require.NoError(t, err)
	assert.Equal(t, int64(3), v)
}

func TestKill(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})
	require.NoError(t, p.Kill())

	select {
	case <-p.Done():
	default:
		t.Fatal("Done is not closed after Kill returned")
	}
	assert.ErrorContains(t, p.ExitErr(), "killed")

	_, err := p.Call("erlang", "node")
	require.ErrorIs(t, err, erlpeer.ErrPeerDown)
	assert.Contains(t, err.Error(), "was killed")
}

func TestPeerExits(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{})

	_, err := p.Eval(`io:format(standard_error, "going down~n", []), erlang:halt(7)`)
	require.ErrorIs(t, err, erlpeer.ErrPeerDown)
	assert.Contains(t, err.Error(), "exit status 7")
	assert.Contains(t, err.Error(), "going down")
	<-p.Done()
}

func TestConcurrentPeers(t *testing.T) {
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			p := erlpeer.Start(t, erlpeer.Options{})
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for j := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := p.Call("erlang", "*", j, i)
					if err == nil && v != int64(i*j) {
						err = fmt.Errorf("%d*%d: got %v", i, j, v)
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestDistributedPeers(t *testing.T) {
	cookie := "erlpeer_test_cookie"
	a := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("a"), Cookie: cookie, NetTickTime: 10})
	b := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("b"), Cookie: cookie, ProtoDist: "inet_tcp"})

	assert.True(t, strings.HasSuffix(string(a.Node()), "@127.0.0.1"), a.Node())
	assert.Equal(t, cookie, a.Cookie())
	v, err := a.Call("net_kernel", "get_net_ticktime")
	require.NoError(t, err)
	assert.Equal(t, int64(10), v)

	v, err = a.Call("net_adm", "ping", b.Node())
	require.NoError(t, err)
	assert.Equal(t, etf.Atom("pong"), v)

	v, err = a.Call("rpc", "call", b.Node(), etf.Atom("erlang"), etf.Atom("node"), etf.List{})
	require.NoError(t, err)
	assert.Equal(t, b.Node(), v)

	// A message from one peer to a mailbox on the other.
	_, err = b.Mailbox("box")
	require.NoError(t, err)
	require.NoError(t, a.Send(etf.ProcessID{Name: "box", Node: b.Node()}, "across"))
	got, err := b.Recv(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{etf.Atom("box"), []byte("across")}, got)

	// kill -9 of b: a sees the node go down.
	_, err = a.Eval("erlang:monitor_node('" + string(b.Node()) + "', true)")
	require.NoError(t, err)
	_, err = a.Mailbox("watcher")
	require.NoError(t, err)
	_, err = a.Eval(`spawn(fun() -> erlang:monitor_node('` + string(b.Node()) + `', true),
		receive M -> watcher ! M end end)`)
	require.NoError(t, err)
	require.NoError(t, b.Kill())
	got, err = a.Recv(30 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{etf.Atom("watcher"), etf.Tuple{etf.Atom("nodedown"), b.Node()}}, got)
}

const elixirGreeter = `defmodule ErlpeerGreeter do
  def greet(name), do: {:greeted, "hello, " <> name, System.version() |> is_binary()}
end
`

func TestElixirPeer(t *testing.T) {
	p := erlpeer.Start(t, erlpeer.Options{Elixir: true})

	mods, err := p.Load("greeter.ex", []byte(elixirGreeter))
	require.NoError(t, err)
	assert.Equal(t, []etf.Atom{"Elixir.ErlpeerGreeter"}, mods)

	v, err := p.Call("Elixir.ErlpeerGreeter", "greet", "jose")
	require.NoError(t, err)
	assert.Equal(t, etf.Tuple{etf.Atom("greeted"), []byte("hello, jose"), true}, v)
}

func TestReleaseMatchesEnvironment(t *testing.T) {
	r := erlpeer.RequireRelease(t)
	p := erlpeer.Start(t, erlpeer.Options{Release: r})
	if r.Required() {
		assert.Equal(t, r.OTP, p.OTP())
	}
	assert.Positive(t, p.OSPid())
	assert.False(t, errors.Is(p.ExitErr(), erlpeer.ErrPeerDown))
}

func TestShortNames(t *testing.T) {
	a := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("sa"), ShortNames: true})
	b := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("sb"), ShortNames: true})
	assert.NotContains(t, string(a.Node()), ".", "a short name has no dots in its host")
	assert.Equal(t, erlpeer.DefaultCookie, a.Cookie())
	v, err := a.Call("net_adm", "ping", b.Node())
	require.NoError(t, err)
	assert.Equal(t, etf.Atom("pong"), v)
}
