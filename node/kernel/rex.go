package kernel

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// rex is the rpc server every BEAM node registers as rex.
//
// rpc:call, erpc:call, rpc:cast and erpc:cast of OTP 23 and later do not use it: they spawn
// erpc:execute_call/4 or erpc:execute_cast/3 on the target node (see Kernel.Spawn). What reaches
// rex from OTP 25, 27 and 29 is rpc:block_call ({block_call, M, F, A, GL} as a gen_server
// call), rpc:sbcast and rpc:multi_server_call ({From, {sbcast | send, Name, Msg}}), and the
// {From, features_request} each node sends to each node that comes up. C nodes (erl_interface's
// ei_rpc) send {From, {call, M, F, A, GL}}, and nodes of OTP 22 and older make rpc:call a
// gen_server call of {call, M, F, A, GL}. Every call runs in a worker process, as on BEAM, so a
// slow function holds up no other call.
type rex struct {
	act.Actor
	k *Kernel
}

func (r *rex) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	req, ok := parseRexCall(request)
	if !ok {
		r.Log().Warning("rex: unknown call from %s left unanswered: %s", from, describe(request))
		return nil, nil
	}
	r.work(from, req, func(w gen.Process, reply etf.Term) error {
		return w.SendResponse(from, ref, reply)
	})
	return nil, nil
}

func (r *rex) HandleMessage(from gen.PID, message any) error {
	msg := parseRexMessage(message)
	switch msg.kind {
	case rexCallMsg:
		r.work(msg.from, msg.call, func(w gen.Process, reply etf.Term) error {
			return w.Send(msg.from, etf.Tuple{atomRex, reply})
		})
	case rexCastMsg:
		r.work(from, msg.call, nil)
	case rexFeatures:
		r.send(msg.from, etf.Tuple{atomFeaturesReply, r.Node().Name(), etf.List{atomErpc}})
	case rexSbcast:
		if err := r.Send(msg.name, msg.message); err != nil {
			r.send(msg.from, etf.Tuple{atomRex, r.Node().Name(), etf.Tuple{atomNonexistingName, msg.name}})
			return nil
		}
		r.send(msg.from, etf.Tuple{atomRex, r.Node().Name(), r.Node().Name()})
	case rexSend:
		if err := r.Send(msg.name, etf.Tuple{msg.from, msg.message}); err != nil {
			r.send(msg.from, etf.Tuple{atomRex, r.Node().Name(), etf.Tuple{atomNonexistingName, msg.name}})
		}
	default:
		r.Log().Warning("rex: unknown message from %s dropped: %s", from, describe(message))
	}
	return nil
}

func (r *rex) send(to gen.PID, msg etf.Term) {
	if err := r.Send(to, msg); err != nil {
		r.Log().Debug("rex: reply to %s not sent: %s", to, err)
	}
}

// work runs the call in a worker process and hands its rpc reply to reply (nil for a cast).
func (r *rex) work(caller gen.PID, req rexCall, reply func(w gen.Process, reply etf.Term) error) {
	k := r.k
	body := func(w gen.Process) outcome {
		call := &Call{Process: w, Caller: caller, GroupLeader: groupLeader(req.groupLeader)}
		o := k.invoke(call, req.module, req.function, req.args)
		if reply != nil {
			if err := reply(w, o.rpcReply()); err != nil {
				w.Log().Debug("rex: reply to %s not sent: %s", caller, err)
			}
		} else if o.crashed() {
			w.Log().Error("rex: cast from %s of %s:%s failed: %s", caller, describe(req.module), describe(req.function), describe(o.exitReason()))
		}
		return returned(nil)
	}
	g := &gate{}
	pid, err := r.Spawn(funcFactory(g, body), gen.ProcessOptions{})
	if err != nil {
		r.Log().Error("rex: cannot start a worker for %s: %s", caller, err)
		if reply != nil {
			reply(r, etf.Tuple{atomBadrpc, etf.Tuple{atomEXIT, etf.Atom("system_limit")}})
		}
		return
	}
	if err := release(g, r, pid); err != nil {
		r.Log().Debug("rex: starting worker %s: %s", pid, err)
	}
}
