package kernel_test

import (
	"fmt"
	"math"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/kernel"
)

// A Go function BEAM nodes call as geo:distance/2, with rpc:call, erpc:call or spawn.
func ExampleRegistry_RegisterFunc() {
	var reg kernel.Registry
	err := reg.RegisterFunc(kernel.MFA{Module: "geo", Function: "distance", Arity: 2},
		func(call *kernel.Call, args etf.List) (etf.Term, error) {
			a, ok1 := args[0].(etf.Tuple)
			b, ok2 := args[1].(etf.Tuple)
			if !ok1 || !ok2 || len(a) != 2 || len(b) != 2 {
				// erpc:call raises error:{exception, badarg, Stack} on the caller's side.
				return nil, &kernel.Error{Reason: etf.Atom("badarg")}
			}
			dx := a[0].(float64) - b[0].(float64)
			dy := a[1].(float64) - b[1].(float64)
			return math.Hypot(dx, dy), nil
		})
	fmt.Println(err, reg.Registered())
	// Output: <nil> [geo:distance/2]
}

// tracker is a Go process BEAM nodes start with spawn_link(GoNode, geo, tracker, [Id]).
type tracker struct {
	act.Actor
	id etf.Term
}

// Init gets the arguments of the Erlang call.
func (t *tracker) Init(args ...any) error {
	t.id = args[0]
	return nil
}

func (t *tracker) HandleMessage(from gen.PID, message any) error {
	if caller, ok := kernel.CallerOf(t); ok {
		return t.Send(caller, etf.Tuple{etf.Atom("seen"), t.id, message})
	}
	return nil
}

func ExampleRegistry_RegisterProcess() {
	var reg kernel.Registry
	err := reg.RegisterProcess(kernel.MFA{Module: "geo", Function: "tracker", Arity: 1},
		func() gen.ProcessBehavior { return &tracker{} }, gen.ProcessOptions{})
	fmt.Println(err)
	// Output: <nil>
}
