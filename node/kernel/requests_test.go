package kernel

import (
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

func TestParseNetKernelCall(t *testing.T) {
	a := func(s string) etf.Atom { return etf.Atom(s) }
	// net_adm:ping/1 of OTP 25, 27 and 29.
	require.Equal(t, nkIsAuth, parseNetKernelCall(etf.Tuple{a("is_auth"), a("n@h")}).kind)
	require.Equal(t, nkTicktime, parseNetKernelCall(a("ticktime")).kind)
	require.Equal(t, nkNodename, parseNetKernelCall(a("nodename")).kind)
	require.Equal(t, nkLongnames, parseNetKernelCall(a("longnames")).kind)
	c := parseNetKernelCall(etf.Tuple{a("spawn"), a("m"), a("f"), etf.List{}, a("user")})
	require.Equal(t, netKernelCall{kind: nkSpawn, module: a("m"), function: a("f"), args: etf.List{}, groupLeader: a("user")}, c)
	require.True(t, parseNetKernelCall(etf.Tuple{a("spawn_link"), a("m"), a("f"), etf.List{}, a("user")}).link)
	require.True(t, parseNetKernelCall(etf.Tuple{a("spawn_opt"), a("m"), a("f"), etf.List{}, etf.List{}, a("link"), a("user")}).link)
	require.False(t, parseNetKernelCall(etf.Tuple{a("spawn_opt"), a("m"), a("f"), etf.List{}, etf.List{}, a("no_link"), a("user")}).link)
	for _, u := range []etf.Term{a("x"), etf.Tuple{}, etf.Tuple{a("is_auth")}, etf.Tuple{a("spawn"), a("m")}, int64(1), nil} {
		require.Equal(t, nkUnknown, parseNetKernelCall(u).kind, "%v", u)
	}
}

func TestParseRegisteredSend(t *testing.T) {
	from := gen.PID{Node: "n@h", ID: 1}
	rs, ok := parseRegisteredSend(etf.Tuple{from, etf.Atom("registered_send"), etf.Atom("name"), etf.Atom("m")})
	require.True(t, ok)
	require.Equal(t, registeredSend{from: from, to: "name", message: etf.Atom("m")}, rs)
	_, ok = parseRegisteredSend(etf.Tuple{from, etf.Atom("registered_send"), int64(1), etf.Atom("m")})
	require.False(t, ok)
	_, ok = parseRegisteredSend(etf.Tuple{from, etf.Atom("other"), etf.Atom("n"), etf.Atom("m")})
	require.False(t, ok)
}

func TestParseRex(t *testing.T) {
	a := func(s string) etf.Atom { return etf.Atom(s) }
	from := gen.PID{Node: "n@h", ID: 1}
	gl := gen.PID{Node: "n@h", ID: 2}
	c, ok := parseRexCall(etf.Tuple{a("block_call"), a("m"), a("f"), etf.List{int64(1)}, gl})
	require.True(t, ok)
	require.Equal(t, rexCall{module: a("m"), function: a("f"), args: etf.List{int64(1)}, groupLeader: gl}, c)
	_, ok = parseRexCall(etf.Tuple{a("call"), a("m"), a("f"), etf.List{}})
	require.False(t, ok)

	m := parseRexMessage(etf.Tuple{from, etf.Tuple{a("call"), a("m"), a("f"), etf.List{}, a("user")}})
	require.Equal(t, rexCallMsg, m.kind)
	require.Equal(t, from, m.from)
	require.Equal(t, a("m"), m.call.module)
	// block_call is a call only, not a message.
	require.Equal(t, rexUnknown, parseRexMessage(etf.Tuple{from, etf.Tuple{a("block_call"), a("m"), a("f"), etf.List{}, a("user")}}).kind)
	require.Equal(t, rexMessage{kind: rexFeatures, from: from}, parseRexMessage(etf.Tuple{from, a("features_request")}))
	require.Equal(t, rexMessage{kind: rexSbcast, from: from, name: "x", message: int64(1)},
		parseRexMessage(etf.Tuple{from, etf.Tuple{a("sbcast"), a("x"), int64(1)}}))
	require.Equal(t, rexMessage{kind: rexSend, from: from, name: "x", message: int64(1)},
		parseRexMessage(etf.Tuple{from, etf.Tuple{a("send"), a("x"), int64(1)}}))
	cast := parseRexMessage(etf.Tuple{a("$gen_cast"), etf.Tuple{a("cast"), a("m"), a("f"), etf.List{}, a("user")}})
	require.Equal(t, rexCastMsg, cast.kind)
	for _, u := range []etf.Term{
		a("x"), etf.Tuple{from}, etf.Tuple{a("notapid"), a("features_request")},
		etf.Tuple{from, etf.Tuple{a("sbcast"), int64(1), int64(1)}}, etf.Tuple{a("$gen_cast"), a("x")},
	} {
		require.Equal(t, rexUnknown, parseRexMessage(u).kind, "%v", u)
	}
	require.Equal(t, gl, groupLeader(gl))
	require.Equal(t, gen.PID{}, groupLeader(a("user")))
}

func TestDescribeCuts(t *testing.T) {
	long := make(etf.List, 500)
	for i := range long {
		long[i] = int64(i)
	}
	require.LessOrEqual(t, len(describe(long)), 203)
	require.Equal(t, "'x'", describe(etf.Atom("x")))
}
