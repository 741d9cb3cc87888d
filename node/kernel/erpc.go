package kernel

import (
	"github.com/gobeam/gobeam/etf"
)

// The node's own functions.
var (
	mfaExecuteCall = MFA{Module: "erpc", Function: "execute_call", Arity: 4}
	mfaExecuteCast = MFA{Module: "erpc", Function: "execute_cast", Arity: 3}
	mfaNode        = MFA{Module: "erlang", Function: "node", Arity: 0}
)

// reserved reports whether the node implements mfa itself: everything in module erpc (whose
// functions are the protocol of erpc and rpc), erlang:apply/2,3, erlang:node/0 and
// global:resolve_it/4.
func reserved(mfa MFA) bool {
	return mfa.Module == "erpc" || mfa == mfaApply2 || mfa == mfaApply3 || mfa == mfaNode || mfa == mfaResolveIt
}

// erpcExecuteCall is erpc:execute_call(Ref, M, F, A), which erpc:call and rpc:call of OTP 23
// and later spawn on the target node with a monitor: the call's outcome is the exit reason,
// {Ref, return, Value}, {Ref, throw, Value}, {Ref, exit, Reason} or {Ref, error, Reason, Stack},
// which the caller reads from its DOWN message.
func (k *Kernel) erpcExecuteCall(call *Call, args etf.List) (etf.Term, error) {
	o := k.invoke(call, args[1], args[2], args[3])
	return nil, &outcomeError{outcome{class: classExit, value: o.erpcResult(args[0]), sendable: o.sendable}}
}

var executeCastFrame = etf.Tuple{atomErpc, etf.Atom("execute_cast"), int64(3), etf.List{}}

// erpcExecuteCast is erpc:execute_cast(M, F, A), spawned by erpc:cast and rpc:cast with no
// reply: an error of the call becomes error({exception, {Reason, Stack}}), which only the log
// sees.
func (k *Kernel) erpcExecuteCast(call *Call, args etf.List) (etf.Term, error) {
	o := k.invoke(call, args[0], args[1], args[2])
	switch o.class {
	case classReturn:
		return o.value, nil
	case classError:
		o = outcome{class: classError,
			value: etf.Tuple{etf.Atom("exception"), etf.Tuple{o.value, o.stack}},
			stack: etf.List{executeCastFrame}}
	}
	return nil, &outcomeError{o}
}
