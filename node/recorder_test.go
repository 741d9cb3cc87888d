package node

import (
	"testing"
	"time"

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

// received returns the next message a recorder hands to ch, failing the test when none comes
// within 10 s.
func received(t *testing.T, ch chan any) any {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("message did not arrive")
		return nil
	}
}
