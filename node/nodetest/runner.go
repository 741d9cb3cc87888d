package nodetest

import (
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
)

// Runner is a process that runs test code inside a node: the functions Run gives it run in the
// process, with its gen.Process, and every other message it gets goes to Out, for the test to
// read.
type Runner struct {
	act.Actor
	Out chan any
}

// runFunc is a function Run has a Runner run.
type runFunc func(p gen.Process)

func (r *Runner) HandleMessage(from gen.PID, message any) error {
	if f, ok := message.(runFunc); ok {
		f(r)
		return nil
	}
	r.Out <- message
	return nil
}

// StartRunner spawns a Runner on n and returns its pid and the channel of the messages it
// gets, which holds 64.
func StartRunner(t testing.TB, n gen.Node) (gen.PID, chan any) {
	t.Helper()
	out := make(chan any, 64)
	pid, err := n.Spawn(func() gen.ProcessBehavior { return &Runner{Out: out} }, gen.ProcessOptions{})
	if err != nil {
		t.Fatalf("nodetest: spawning a Runner: %v", err)
	}
	return pid, out
}

// Run runs f inside the Runner pid of node n and waits for it to return, failing the test when
// it has not within 10 s.
func Run(t testing.TB, n gen.Node, pid gen.PID, f func(p gen.Process)) {
	t.Helper()
	done := make(chan struct{})
	if err := n.Send(pid, runFunc(func(p gen.Process) { defer close(done); f(p) })); err != nil {
		t.Fatalf("nodetest: sending to the Runner %s: %v", pid, err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("nodetest: the Runner %s did not run the function within 10s", pid)
	}
}
