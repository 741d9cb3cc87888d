package kernel

import (
	"errors"
	"fmt"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
)

var testMFA = MFA{"m", "f", 1}

var testFrame = etf.Tuple{etf.Atom("m"), etf.Atom("f"), int64(1), etf.List{}}

func TestRaisedClasses(t *testing.T) {
	for _, c := range []struct {
		err   error
		class class
		value etf.Term
		stack bool
	}{
		{&Error{Reason: etf.Atom("boom")}, classError, etf.Atom("boom"), true},
		{fmt.Errorf("wrapped: %w", &Error{Reason: int64(1)}), classError, int64(1), true},
		{&Exit{Reason: etf.Atom("bye")}, classExit, etf.Atom("bye"), false},
		{&Throw{Value: etf.Atom("ball")}, classThrow, etf.Atom("ball"), true},
		{&dist.ExitReason{Term: etf.Tuple{etf.Atom("shutdown"), int64(2)}}, classExit, etf.Tuple{etf.Atom("shutdown"), int64(2)}, false},
		{gen.TerminateReasonShutdown, classExit, etf.Atom("shutdown"), false},
		{gen.TerminateReasonNormal, classExit, etf.Atom("normal"), false},
		{errors.New("disk full"), classError, []byte("disk full"), true},
		{gen.ErrProcessUnknown, classError, etf.Atom("noproc"), true},
	} {
		o := raised(c.err, testFrame)
		require.Equal(t, c.class, o.class, "%v", c.err)
		require.Equal(t, c.value, o.value, "%v", c.err)
		if c.stack {
			require.Equal(t, etf.List{testFrame}, o.stack)
		} else {
			require.Nil(t, o.stack)
		}
	}
	full := outcome{class: classThrow, value: etf.Atom("v"), stack: etf.List{int64(1), int64(2)}}
	require.Equal(t, full, raised(&outcomeError{full}, testFrame))
}

func TestOutcomeForms(t *testing.T) {
	ref := etf.Atom("ref")
	stack := etf.List{testFrame}
	ret := returned(etf.Atom("v"))
	thr := outcome{class: classThrow, value: etf.Atom("ball"), stack: stack}
	ext := outcome{class: classExit, value: etf.Atom("bye")}
	err := outcome{class: classError, value: etf.Atom("boom"), stack: stack}

	// erpc:execute_call's exit reasons (erpc.erl, OTP 25/27/29).
	require.Equal(t, etf.Tuple{ref, atomReturn, etf.Atom("v")}, ret.erpcResult(ref))
	require.Equal(t, etf.Tuple{ref, atomThrow, etf.Atom("ball")}, thr.erpcResult(ref))
	require.Equal(t, etf.Tuple{ref, atomExit, etf.Atom("bye")}, ext.erpcResult(ref))
	require.Equal(t, etf.Tuple{ref, atomError, etf.Atom("boom"), stack}, err.erpcResult(ref))

	// rex's replies (rpc.erl execute_call/3).
	require.Equal(t, etf.Atom("v"), ret.rpcReply())
	require.Equal(t, etf.Atom("ball"), thr.rpcReply())
	require.Equal(t, etf.Tuple{atomBadrpc, etf.Tuple{atomEXIT, etf.Atom("bye")}}, ext.rpcReply())
	require.Equal(t, etf.Tuple{atomBadrpc, etf.Tuple{atomEXIT, etf.Tuple{etf.Atom("boom"), stack}}}, err.rpcReply())

	// The exit reasons of a process whose initial call ended so.
	require.Equal(t, atomNormal, ret.exitReason())
	require.Equal(t, etf.Tuple{etf.Tuple{atomNocatch, etf.Atom("ball")}, stack}, thr.exitReason())
	require.Equal(t, etf.Atom("bye"), ext.exitReason())
	require.Equal(t, etf.Tuple{etf.Atom("boom"), stack}, err.exitReason())

	require.True(t, err.crashed())
	require.True(t, thr.crashed())
	require.False(t, ext.crashed())
	require.False(t, ret.crashed())

	// under adds a frame to errors and throws only, and leaves the original alone.
	under := err.under(apply2Frame)
	require.Equal(t, etf.List{testFrame, apply2Frame}, under.stack)
	require.Equal(t, etf.List{testFrame}, err.stack)
	require.Equal(t, ext, ext.under(apply2Frame))
}

func TestUndefAndBadarg(t *testing.T) {
	o := undef(etf.Atom("m"), etf.Atom("f"), etf.List{int64(1)})
	require.Equal(t, etf.Tuple{etf.Atom("undef"), etf.List{etf.Tuple{etf.Atom("m"), etf.Atom("f"), etf.List{int64(1)}, etf.List{}}}}, o.exitReason())
	b := badarg(etf.List{int64(1), etf.Atom("f"), etf.List{}})
	require.Equal(t, etf.List{etf.Tuple{atomErlang, atomApply, etf.List{int64(1), etf.Atom("f"), etf.List{}}, etf.List{}}}, b.stack)
}

func TestSendable(t *testing.T) {
	ok := returned(etf.List{int64(1)})
	checked := sendable(ok, testMFA, testFrame)
	require.True(t, checked.sendable)
	checked.sendable = false
	require.Equal(t, ok, checked)
	bad := sendable(returned(make(chan int)), testMFA, testFrame)
	require.Equal(t, classError, bad.class)
	require.Contains(t, string(bad.value.([]byte)), "m:f/1 result has no Erlang form")
	require.Equal(t, etf.List{testFrame}, bad.stack)
	badErr := sendable(outcome{class: classError, value: etf.Atom("x"), stack: etf.List{func() {}}}, testMFA, testFrame)
	require.Equal(t, etf.List{testFrame}, badErr.stack)
}
