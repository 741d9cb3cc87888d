package kernel

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

func TestResolve(t *testing.T) {
	a := func(s string) etf.Atom { return etf.Atom(s) }
	args := etf.List{int64(1)}

	r := resolve(a("m"), a("f"), args)
	require.Nil(t, r.failed)
	require.Equal(t, MFA{"m", "f", 1}, r.mfa)
	require.Equal(t, args, r.args)
	require.Empty(t, r.via)

	// A byte list is a list.
	r = resolve(a("m"), a("f"), etf.ByteList{1, 2})
	require.Equal(t, MFA{"m", "f", 2}, r.mfa)
	require.Equal(t, etf.List{int64(1), int64(2)}, r.args)

	r = resolve(a("erlang"), a("apply"), etf.List{a("m"), a("f"), args})
	require.Equal(t, MFA{"m", "f", 1}, r.mfa)
	require.Equal(t, []etf.Tuple{apply3Frame}, r.via)

	fun := etf.ExportFun{Module: "m", Function: "f", Arity: 1}
	r = resolve(a("erlang"), a("apply"), etf.List{fun, args})
	require.Equal(t, MFA{"m", "f", 1}, r.mfa)
	require.Equal(t, []etf.Tuple{apply2Frame}, r.via)

	// Nested applies keep every frame, outermost first.
	r = resolve(a("erlang"), a("apply"), etf.List{a("erlang"), a("apply"), etf.List{fun, args}})
	require.Equal(t, MFA{"m", "f", 1}, r.mfa)
	require.Equal(t, []etf.Tuple{apply3Frame, apply2Frame}, r.via)

	// A closure cannot run here: undef, with the fun as the top frame.
	closure := etf.LocalFun{Module: "shell", Arity: 0}
	r = resolve(a("erlang"), a("apply"), etf.List{closure, etf.List{}})
	require.NotNil(t, r.failed)
	require.Equal(t, etf.Tuple{atomUndef, etf.List{etf.Tuple{closure, etf.List{}, etf.List{}}}}, r.failed.exitReason())

	r = resolve(a("erlang"), a("apply"), etf.List{fun, etf.List{}})
	require.Equal(t, etf.Tuple{atomBadarity, etf.Tuple{fun, etf.List{}}}, r.failed.value)

	r = resolve(a("erlang"), a("apply"), etf.List{int64(3), etf.List{}})
	require.Equal(t, etf.Tuple{atomBadfun, int64(3)}, r.failed.value)

	r = resolve(a("erlang"), a("apply"), etf.List{fun, a("notalist")})
	require.Equal(t, atomBadarg, r.failed.value)

	r = resolve(int64(1), a("f"), etf.List{})
	require.Equal(t, atomBadarg, r.failed.value)
	require.Equal(t, etf.List{etf.Tuple{atomErlang, atomApply, etf.List{int64(1), a("f"), etf.List{}}, etf.List{}}}, r.failed.stack)
	r = resolve(a("m"), a("f"), etf.ImproperList{Elems: []etf.Term{int64(1)}, Tail: int64(2)})
	require.Equal(t, atomBadarg, r.failed.value)
}
