package node

import (
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/node/nodetest"
)

// trapsAndEnds sets the trap_exit flag, then ends.
type trapsAndEnds struct{ act.Actor }

func (a *trapsAndEnds) Init(args ...any) error {
	SetTrapExit(a, true)
	return nil
}

func (a *trapsAndEnds) HandleMessage(from gen.PID, msg any) error { return gen.TerminateReasonNormal }

// Processes that set the trap_exit flag and end without taking it back (plain act.Actors; a
// GenServer takes it back) are forgotten as new ones come: the table stays near the number of
// processes alive that trap exits, instead of growing with every one that ever did.
func TestEndedTrappersAreForgotten(t *testing.T) {
	n := startNode(t, "trap@127.0.0.1", Options{Cookie: "c", EPMDPort: nodetest.Port(t)})
	start := trappers.Load()
	for i := 0; i < 3000; i++ {
		pid, err := n.Spawn(func() gen.ProcessBehavior { return &trapsAndEnds{} }, gen.ProcessOptions{})
		require.NoError(t, err)
		require.True(t, trapsExits(pid))
		require.NoError(t, n.Send(pid, "end"))
		require.Eventually(t, func() bool {
			_, err := n.ProcessState(pid)
			return err != nil
		}, 5*time.Second, 50*time.Microsecond)
	}
	require.Less(t, trappers.Load()-start, int64(2*firstSweep+1))
}
