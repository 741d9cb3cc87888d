package node

import (
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

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

// startNode starts a node for a test, stopped when the test ends.
func startNode(t testing.TB, name string, opts Options) gen.Node {
	t.Helper()
	n, err := Start(name, opts)
	require.NoError(t, err, "starting %s", name)
	t.Cleanup(n.Stop)
	return n
}

// registerInbox registers a recorder as "inbox" on n and returns the channel it hands
// messages to and the inbox's address.
func registerInbox(t testing.TB, n gen.Node, capacity int) (chan any, gen.ProcessID) {
	t.Helper()
	ch := make(chan any, capacity)
	_, err := n.SpawnRegister("inbox", func() gen.ProcessBehavior { return &recorder{out: ch} }, gen.ProcessOptions{})
	require.NoError(t, err)
	return ch, gen.ProcessID{Name: "inbox", Node: n.Name()}
}
