package node

import (
	"fmt"
	"sync"
	"sync/atomic"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/node/dist"
)

// Erlang links and monitors between a Go process and a process on a BEAM node.
//
// Ergo's own process.Link and process.Monitor work on BEAM pids too, with Ergo's meaning: the
// Go process learns when the BEAM process ends, but the BEAM side is linked to the Go node, not
// to the Go process, so the Go process's exit does not reach it. Link and Monitor below give
// Erlang's meaning: both processes are linked, either exit reaches the other, and each monitor
// has its own reference.

// Link links process p with the BEAM process target, as erlang:link/1 does.
func Link(p gen.Process, target gen.PID) error {
	c, err := connectionTo(p, target.Node)
	if err != nil {
		return err
	}
	return c.Link(p.PID(), target)
}

// Unlink removes a link between p and the BEAM process target, as erlang:unlink/1 does.
func Unlink(p gen.Process, target gen.PID) error {
	c, err := connectionTo(p, target.Node)
	if err != nil {
		return err
	}
	return c.Unlink(p.PID(), target)
}

// Monitor makes p monitor target, a BEAM process given by pid (gen.PID) or registered name
// (gen.ProcessID), as erlang:monitor(process, Target) does. When the target ends, or the
// connection to its node is lost, p receives a dist.MessageDown with the returned reference.
func Monitor(p gen.Process, target any) (gen.Ref, error) {
	var node gen.Atom
	switch t := target.(type) {
	case gen.PID:
		node = t.Node
	case gen.ProcessID:
		node = t.Node
	default:
		return gen.Ref{}, fmt.Errorf("node: cannot monitor a %T: want gen.PID or gen.ProcessID", target)
	}
	c, err := connectionTo(p, node)
	if err != nil {
		return gen.Ref{}, err
	}
	return c.Monitor(p.PID(), target)
}

// Demonitor removes the monitor ref made by Monitor on a process of node.
func Demonitor(p gen.Process, node gen.Atom, ref gen.Ref) error {
	c, err := connectionTo(p, node)
	if err != nil {
		return err
	}
	return c.Demonitor(ref)
}

func connectionTo(p gen.Process, node gen.Atom) (*dist.Connection, error) {
	if node == p.Node().Name() {
		return nil, fmt.Errorf("node: %s is this node; use Ergo's Link and Monitor for local processes", node)
	}
	remote, err := p.Node().Network().GetNode(node)
	if err != nil {
		return nil, err
	}
	c, ok := dist.ConnectionOf(remote)
	if !ok {
		return nil, fmt.Errorf("node: %s is not connected by Erlang distribution", node)
	}
	return c, nil
}

// trapping holds the processes that trap exits. Ergo keeps that flag inside each actor, out of
// the connection's sight; SetTrapExit publishes it, so that an exit signal with reason normal
// from a BEAM process reaches a trapping Go process as a message and is ignored by the others,
// and so that a trapping process takes exit signals in order with the messages before them, as
// in Erlang. An actor that sets Ergo's flag alone still traps, but its exit signals from BEAM
// processes overtake those messages.
var trapping sync.Map // gen.PID -> struct{}

// trapper is what act.Actor and GenServer have.
type trapper interface{ SetTrapExit(bool) }

// SetTrapExit sets whether process p traps exits (process_flag(trap_exit, Trap)): on the actor
// itself when it is an act.Actor or GenServer, and for the signals that come from BEAM nodes.
func SetTrapExit(p gen.Process, trap bool) {
	if t, ok := p.Behavior().(trapper); ok {
		t.SetTrapExit(trap)
	}
	setTrapping(p.PID(), trap)
	if trap {
		forgetEndedTrappers(p.Node())
	}
}

// trappers counts the entries of trapping. A GenServer takes itself out when it ends; any
// other process that set the flag stays until a sweep finds it gone. A sweep comes when the
// count reaches sweepAt, which it then sets to twice what is left, so the table holds at most
// about twice the processes that trap exits.
var (
	trappers atomic.Int64
	sweepAt  atomic.Int64
	sweeping sync.Mutex
)

const firstSweep = 1024

// forgetEndedTrappers sweeps the processes of n that ended out of trapping, when one is due.
func forgetEndedTrappers(n gen.Node) {
	if trappers.Load() < max(sweepAt.Load(), firstSweep) || !sweeping.TryLock() {
		return
	}
	defer sweeping.Unlock()
	trapping.Range(func(k, _ any) bool {
		if pid := k.(gen.PID); pid.Node == n.Name() {
			if _, err := n.ProcessState(pid); err != nil {
				setTrapping(pid, false)
			}
		}
		return true
	})
	sweepAt.Store(2 * trappers.Load())
}

func setTrapping(pid gen.PID, trap bool) {
	if trap {
		if _, had := trapping.LoadOrStore(pid, struct{}{}); !had {
			trappers.Add(1)
		}
	} else if _, had := trapping.LoadAndDelete(pid); had {
		trappers.Add(-1)
	}
}

func trapsExits(pid gen.PID) bool {
	_, ok := trapping.Load(pid)
	return ok
}
