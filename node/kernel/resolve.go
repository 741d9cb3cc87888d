package kernel

import (
	"github.com/gobeam/gobeam/etf"
)

// apply2 and apply3 are erlang:apply/2 and erlang:apply/3, which BEAM nodes spawn to run a fun
// (Node.spawn/2, erpc:call/2) or an MFA given as arguments.
var (
	mfaApply2 = MFA{Module: "erlang", Function: "apply", Arity: 2}
	mfaApply3 = MFA{Module: "erlang", Function: "apply", Arity: 3}
)

// The frames erlang:apply/2 and /3 leave under the function they applied when the call is not
// the initial call of a process: erpc and rpc call apply(erlang, apply, [Fun, Args]), and an
// error in Fun shows both frames; the initial call of a spawned process shows neither.
var (
	apply2Frame = etf.Tuple{atomErlang, atomApply, int64(2), etf.List{}}
	apply3Frame = etf.Tuple{atomErlang, atomApply, int64(3), etf.List{}}
)

var atomBadfun = etf.Atom("badfun")
var atomBadarity = etf.Atom("badarity")

// resolved is the function a call ends up in once erlang:apply/2 and /3 are followed: its MFA
// and arguments, or the outcome of a call that fails before reaching any function.
type resolved struct {
	mfa  MFA
	args etf.List
	// via are the frames of the erlang:apply calls the call went through, outermost first.
	via []etf.Tuple
	// failed is the outcome when no function is reached: badarg, badfun, badarity, or undef
	// for a closure (a Go node has no Erlang code to run it).
	failed *outcome
}

// resolve follows module:function(args...) through erlang:apply/2 and erlang:apply/3 to the
// function that is to run, as apply does on BEAM. It needs no registry: which functions exist
// is decided afterwards.
func resolve(module, function etf.Term, args etf.Term) resolved {
	var r resolved
	for {
		m, okM := module.(etf.Atom)
		f, okF := function.(etf.Atom)
		list, okA := etf.ProperList(args)
		if !okM || !okF || !okA {
			o := badarg(etf.List{module, function, args})
			r.failed = &o
			return r
		}
		mfa := MFA{Module: m, Function: f, Arity: len(list)}
		switch mfa {
		case mfaApply3:
			r.via = append(r.via, apply3Frame)
			module, function, args = list[0], list[1], list[2]
			continue
		case mfaApply2:
			r.via = append(r.via, apply2Frame)
			funArgs, ok := etf.ProperList(list[1])
			if !ok {
				o := badarg(list)
				r.failed = &o
				return r
			}
			switch fun := list[0].(type) {
			case etf.ExportFun:
				if int(fun.Arity) != len(funArgs) {
					o := outcome{class: classError,
						value: etf.Tuple{atomBadarity, etf.Tuple{fun, list[1]}},
						stack: etf.List{}}
					r.failed = &o
					return r
				}
				module, function, args = fun.Module, fun.Function, funArgs
				continue
			case etf.LocalFun:
				// A closure runs only where its module is loaded; on BEAM a node without it
				// fails the call with undef and the fun as the top frame.
				o := outcome{class: classError, value: atomUndef,
					stack: etf.List{etf.Tuple{fun, funArgs, etf.List{}}}}
				r.failed = &o
				return r
			default:
				o := outcome{class: classError, value: etf.Tuple{atomBadfun, list[0]}, stack: etf.List{}}
				r.failed = &o
				return r
			}
		}
		r.mfa, r.args = mfa, list
		return r
	}
}
