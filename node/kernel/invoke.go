package kernel

import (
	"fmt"
	"runtime/debug"

	"github.com/gobeam/gobeam/etf"
)

// lookup finds the implementation of mfa: a Func (the node's own, or a registered one) and its
// source location, or a registered process.
func (k *Kernel) lookup(mfa MFA) (Func, etf.List, *entry) {
	if fn, ok := k.builtins[mfa]; ok {
		return fn, nil, nil
	}
	e := k.registry.lookup(mfa)
	if e == nil {
		return nil, nil, nil
	}
	if e.fn != nil {
		return e.fn, e.location, nil
	}
	return nil, nil, e
}

// invoke calls module:function(args...) in the calling process, as apply/3 does inside erpc's
// and rpc's worker processes, and returns how it ended. A registered process is spawned (and
// started) and its pid returned.
func (k *Kernel) invoke(call *Call, module, function, args etf.Term) outcome {
	r := resolve(module, function, args)
	o := k.invokeResolved(call, r)
	for i := len(r.via) - 1; i >= 0; i-- {
		o = o.under(r.via[i])
	}
	return o
}

func (k *Kernel) invokeResolved(call *Call, r resolved) outcome {
	if r.failed != nil {
		return *r.failed
	}
	fn, location, e := k.lookup(r.mfa)
	frame := r.mfa.frame(location)
	switch {
	case fn != nil:
		c := *call
		c.MFA = r.mfa
		return sendable(runFunc(&c, fn, r.args, frame), r.mfa, frame)
	case e != nil:
		g := &gate{}
		pid, err := spawnEntry(call, g, e, r.mfa, r.args, call.Caller)
		if err != nil {
			call.Log().Warning("kernel: spawning %s for %s: %s", r.mfa, call.Caller, err)
			return outcome{class: classError, value: etf.Atom("system_limit"), stack: etf.List{frame}}
		}
		if err := release(g, call, pid); err != nil {
			call.Log().Debug("kernel: starting %s: %s", pid, err)
		}
		return returned(pid)
	}
	o := undef(r.mfa.Module, r.mfa.Function, r.args)
	o.sendable = true // made of the request's own terms
	return o
}

// runFunc calls fn; a panic is an error exception, as a crash is on BEAM.
func runFunc(call *Call, fn Func, args etf.List, frame etf.Tuple) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			call.Log().Error("kernel: %s panicked: %v\n%s", call.MFA, r, debug.Stack())
			o = outcome{class: classError, value: []byte(fmt.Sprintf("panic: %v", r)), stack: etf.List{frame}}
		}
	}()
	v, err := fn(call, args)
	if err != nil {
		return raised(err, frame)
	}
	return returned(v)
}

// sendable turns an outcome whose value has no Erlang form (a Go value etf cannot encode) into
// an error exception that says so, rather than leave the caller without an answer.
func sendable(o outcome, mfa MFA, frame etf.Tuple) outcome {
	if err := encodable(o.value); err != nil {
		return outcome{class: classError,
			value: []byte(fmt.Sprintf("%s result has no Erlang form: %s", mfa, err)),
			stack: etf.List{frame}, sendable: true}
	}
	if o.stack != nil {
		if err := encodable(o.stack); err != nil {
			o.stack = etf.List{frame}
		}
	}
	o.sendable = true
	return o
}
