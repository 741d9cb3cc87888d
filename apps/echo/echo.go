// Package echo holds Go test receivers that BEAM code can start on a Go node, so a cluster can
// be smoke-tested from iex: Node.spawn(gonode, Echo, :reply, []) and friends, as the receivers
// in Manifold's own tests behave.
//
//	Echo.reply       on its first message, if it is a tuple whose second element is a pid
//	                 ({:hello, sender}), sends {self(), Msg} to that pid; then exits normally
//	Echo.reply_loop  does the same for every message, forever
//	Echo.noop_loop   swallows every message, forever
package echo

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/kernel"
)

// Module is the module BEAM code names: the Elixir module Echo.
const Module gen.Atom = "Elixir.Echo"

// Register adds Echo.reply/0, Echo.reply_loop/0 and Echo.noop_loop/0 to reg.
func Register(reg *kernel.Registry) error {
	for _, b := range []struct {
		function gen.Atom
		factory  gen.ProcessFactory
	}{
		{"reply", func() gen.ProcessBehavior { return &replier{once: true} }},
		{"reply_loop", func() gen.ProcessBehavior { return &replier{} }},
		{"noop_loop", func() gen.ProcessBehavior { return &noop{} }},
	} {
		if err := reg.RegisterProcess(kernel.MFA{Module: Module, Function: b.function, Arity: 0}, b.factory, gen.ProcessOptions{}); err != nil {
			return err
		}
	}
	return nil
}

type replier struct {
	act.Actor
	once bool
}

func (r *replier) HandleMessage(from gen.PID, message any) error {
	if t, ok := message.(etf.Tuple); ok && len(t) >= 2 {
		if to, ok := t[1].(gen.PID); ok {
			if err := r.Send(to, etf.Tuple{r.PID(), message}); err != nil {
				r.Log().Warning("echo to %s failed: %s", to, err)
			}
		}
	}
	if r.once {
		return gen.TerminateReasonNormal
	}
	return nil
}

type noop struct{ act.Actor }

func (noop) HandleMessage(gen.PID, any) error { return nil }
