package node

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// recorder hands messages to a channel and answers calls with {pong, Request}.
type recorder struct {
	act.Actor
	out chan any
}

func (r *recorder) HandleMessage(from gen.PID, message any) error {
	r.out <- message
	return nil
}

func (r *recorder) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	return etf.Tuple{etf.Atom("pong"), request}, nil
}
