package global

import (
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// The three forms of From that reach global_name_server as plain messages, and where
// gen:reply/2 sends the reply for each.
func TestGenCallForms(t *testing.T) {
	caller := gen.PID{Node: "a@h", ID: 60, Creation: 1}
	ref := gen.Ref{Node: "a@h", Creation: 1, ID: [3]uint64{1, 2, 3}}
	mon := gen.Ref{Node: "a@h", Creation: 1, ID: [3]uint64{4, 5, 6}}
	req := etf.Tuple{etf.Atom("set_lock"), etf.Tuple{atomGlobal, caller}}

	// OTP 25 gen_server:multi_call: {Ref, Node}; the reply goes to the pid.
	otp25 := etf.Tuple{ref, etf.Atom("go@h")}
	from, got, ok := parseGenCall(wire(t, etf.Tuple{atomGenCall, etf.Tuple{caller, otp25}, req}))
	require.True(t, ok)
	require.Equal(t, caller, from.Pid)
	require.True(t, etf.Equal(otp25, from.Tag))
	require.True(t, etf.Equal(req, got))
	_, isAlias := replyAlias(from.Tag)
	require.False(t, isAlias)

	// OTP 26+ gen_server:multi_call: [[alias | Alias] | Mon]; the reply goes to Alias.
	otp27 := etf.ImproperList{Elems: []etf.Term{etf.ImproperList{Elems: []etf.Term{atomAlias}, Tail: ref}}, Tail: mon}
	from, _, ok = parseGenCall(wire(t, etf.Tuple{atomGenCall, etf.Tuple{caller, otp27}, req}))
	require.True(t, ok)
	alias, isAlias := replyAlias(from.Tag)
	require.True(t, isAlias)
	require.Equal(t, gen.Alias(ref), alias)

	// gen_server:call since OTP 24: [alias | Ref].
	alias, isAlias = replyAlias(wire(t, etf.ImproperList{Elems: []etf.Term{atomAlias}, Tail: ref}))
	require.True(t, isAlias)
	require.Equal(t, gen.Alias(ref), alias)

	for _, bad := range []etf.Term{
		etf.Tuple{atomGenCall, etf.Tuple{caller, ref}},
		etf.Tuple{atomGenCall, caller, req},
		etf.Tuple{atomGenCall, etf.Tuple{etf.Atom("notapid"), ref}, req},
		etf.Tuple{atomGenCast, etf.Tuple{caller, ref}, req},
		etf.List{atomGenCall},
	} {
		_, _, ok := parseGenCall(bad)
		require.False(t, ok, "%v", bad)
	}
	for _, notAlias := range []etf.Term{
		etf.ImproperList{Elems: []etf.Term{etf.Atom("other")}, Tail: ref},
		etf.ImproperList{Elems: []etf.Term{atomAlias}, Tail: etf.Atom("x")},
		etf.ImproperList{Elems: []etf.Term{atomAlias, atomAlias}, Tail: ref},
		ref,
	} {
		_, ok := replyAlias(notAlias)
		require.False(t, ok, "%v", notAlias)
	}
}
