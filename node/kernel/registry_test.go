package kernel

import (
	"strings"
	"testing"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

func echo(_ *Call, args etf.List) (etf.Term, error) { return args[0], nil }

func TestRegistry(t *testing.T) {
	var r Registry
	m := MFA{"geo", "distance", 2}
	require.NoError(t, r.RegisterFunc(m, echo))
	require.ErrorIs(t, r.RegisterFunc(m, echo), ErrRegistered)
	require.ErrorIs(t, r.RegisterProcess(m, func() gen.ProcessBehavior { return &act.Actor{} }, gen.ProcessOptions{}), ErrRegistered)
	require.NoError(t, r.RegisterProcess(MFA{"geo", "distance", 3}, func() gen.ProcessBehavior { return &act.Actor{} }, gen.ProcessOptions{}))
	require.NoError(t, r.RegisterFunc(MFA{"a", "b", 0}, echo))
	require.Equal(t, []MFA{{"a", "b", 0}, {"geo", "distance", 2}, {"geo", "distance", 3}}, r.Registered())

	e := r.lookup(m)
	require.NotNil(t, e.fn)
	loc := e.location
	require.Len(t, loc, 2)
	require.True(t, strings.HasSuffix(string(loc[0].(etf.Tuple)[1].(etf.ByteList)), "registry_test.go"))

	require.True(t, r.Unregister(m))
	require.False(t, r.Unregister(m))
	require.Nil(t, r.lookup(m))

	for _, bad := range []MFA{{"", "f", 0}, {"m", "", 0}, {"m", "f", -1}, {"m", "f", 256}, {gen.Atom(strings.Repeat("x", 256)), "f", 0}} {
		require.ErrorIs(t, r.RegisterFunc(bad, echo), ErrBadMFA, "%v", bad)
	}
	require.ErrorIs(t, r.RegisterFunc(MFA{"m", "f", 0}, nil), ErrBadMFA)
	require.ErrorIs(t, r.RegisterProcess(MFA{"m", "f", 0}, nil, gen.ProcessOptions{}), ErrBadMFA)
	for _, res := range []MFA{{"erpc", "execute_call", 4}, {"erpc", "anything", 0}, {"erlang", "apply", 2}, {"erlang", "apply", 3}, {"erlang", "node", 0}} {
		require.ErrorIs(t, r.RegisterFunc(res, echo), ErrReserved, "%v", res)
	}
	require.NoError(t, r.RegisterFunc(MFA{"erlang", "apply", 4}, echo))

	var nilReg *Registry
	require.Nil(t, nilReg.lookup(m))
	require.Nil(t, nilReg.Registered())
	require.Equal(t, "geo:distance/2", m.String())
}

func TestCharlist(t *testing.T) {
	require.Equal(t, etf.ByteList("/a/b.go"), charlist("/a/b.go"))
	require.Equal(t, etf.List{int64('/'), int64('é'), int64('.')}, charlist("/é."))
}

func TestLongNames(t *testing.T) {
	require.True(t, longNames("a@127.0.0.1"))
	require.True(t, longNames("a@host.example.com"))
	require.False(t, longNames("a@localhost"))
}
