package global

import (
	"testing"
	"time"

	"ergo.services/ergo"
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	ergonode "ergo.services/ergo/node"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// agreeingServer stands in for global_name_server: it answers every call with true and
// reports that one came.
type agreeingServer struct {
	act.Actor
	called chan struct{}
}

func (s *agreeingServer) HandleMessage(from gen.PID, m any) error {
	if c, _, ok := parseGenCall(m); ok {
		s.Send(c.Pid, etf.Tuple{c.Tag, true})
		select {
		case s.called <- struct{}{}:
		default:
		}
	}
	return nil
}

// A peer's sync tags are whatever terms it sent (BEAM sends integers): a list among them must
// not bring the locker down, with the name server and every name and lock it holds, when the
// sync ends.
func TestLockerTakesTagsOfAnyTerm(t *testing.T) {
	var opts gen.NodeOptions
	opts.Network.Mode = gen.NetworkModeDisabled
	opts.Log.Level = gen.LogLevelPanic
	n, err := ergonode.Start("a@h", opts, ergo.FrameworkVersion)
	require.NoError(t, err)
	defer n.Stop()
	called := make(chan struct{}, 1)
	srv, err := n.SpawnRegister(ServerName, func() gen.ProcessBehavior { return &agreeingServer{called: called} }, gen.ProcessOptions{})
	require.NoError(t, err)
	lk, err := n.Spawn(factoryLocker(newTables()), gen.ProcessOptions{}, srv)
	require.NoError(t, err)

	peer := gen.PID{Node: "b@h", ID: 42, Creation: 1}
	myTag := int64(7)
	require.NoError(t, n.Send(lk, hisTheLocker{Locker: peer, Vsn: 8, HisTag: etf.List{int64(1)}, MyTag: myTag}))
	select {
	case <-called: // the locker chose b@h and sets the lock
	case <-time.After(10 * time.Second):
		t.Fatal("the locker never set the lock")
	}
	require.NoError(t, n.Send(lk, etf.Tuple{etf.Atom("lock_set"), peer, true, etf.List{}, myTag}))
	require.NoError(t, n.Send(lk, cancelMsg{Node: "b@h", Tag: myTag})) // the sync ends
	require.Never(t, func() bool {
		_, err := n.ProcessState(lk)
		return err != nil
	}, 500*time.Millisecond, 10*time.Millisecond, "the locker is gone")
}
