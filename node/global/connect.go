package global

import (
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// global keeps the cluster fully connected: after a sync it connects to every node the peer
// knows (sync_others/1) and tells each it is in sync. Ergo dials synchronously, so the dial
// runs in a goroutine and its result comes back to the server as a message; one dial per
// node at a time, since Ergo leaks the socket of the loser when two race.

type connectJob struct {
	// syncOther: send in_sync once connected, and report a failure (global's sync_other/2).
	syncOther bool
	retries   int
	// waitUntil: a failed dial may have lost a simultaneous connect, which the handshake
	// settles in favour of the peer's attempt; until then the connection may still come up
	// from the other side (global's allow_passive_connect).
	waitUntil time.Time
}

// passiveConnectWait bounds the wait for a connection from the other side after a dial
// failed, and passiveConnectPoll is how often it is checked.
const (
	passiveConnectWait = 2 * time.Second
	passiveConnectPoll = 100 * time.Millisecond
)

// connectRecheck looks again whether a node whose dial failed is connected now.
type connectRecheck struct{ Node gen.Atom }

// syncOthers is global's sync_others/1.
func (s *server) syncOthers(nodes []gen.Atom) {
	for _, n := range nodes {
		if n != s.Node().Name() {
			s.connect(n, true)
		}
	}
}

// connect makes sure n is connected; the outcome arrives as a connectResult.
func (s *server) connect(n gen.Atom, syncOther bool) {
	job := s.connecting[n]
	if job == nil {
		job = &connectJob{}
		s.connecting[n] = job
		s.dial(n)
	}
	if syncOther && !job.syncOther {
		job.syncOther = true
		job.retries = s.g.opts.ConnectRetries
	}
}

func (s *server) dial(n gen.Atom) {
	if _, err := s.Node().Network().Node(n); err == nil {
		s.Send(s.PID(), connectResult{Node: n})
		return
	}
	node, self := s.Node(), s.PID()
	go func() {
		_, err := node.Network().GetNode(n)
		node.Send(self, connectResult{Node: n, Err: err})
	}()
}

// connected handles the end of a dial.
func (s *server) connected(m connectResult) {
	n := m.Node
	job := s.connecting[n]
	if m.Err == nil {
		s.connectionUp(n, job)
		return
	}
	if job == nil {
		return
	}
	job.waitUntil = time.Now().Add(passiveConnectWait)
	s.Log().Debug("global: dialling %s failed (%s); waiting for its own attempt", n, m.Err)
	s.SendAfter(s.PID(), connectRecheck{Node: n}, passiveConnectPoll)
}

func (s *server) recheck(m connectRecheck) {
	n := m.Node
	job := s.connecting[n]
	if job == nil {
		return
	}
	if _, err := s.Node().Network().Node(n); err == nil {
		s.connectionUp(n, job)
		return
	}
	if time.Now().Before(job.waitUntil) {
		s.SendAfter(s.PID(), connectRecheck{Node: n}, passiveConnectPoll)
		return
	}
	if job.syncOther && job.retries > 0 {
		job.retries--
		s.dial(n)
		return
	}
	delete(s.connecting, n)
	// A pid on a node that cannot be reached is as good as gone (DOWN noconnection).
	for _, pid := range s.takeDeferred(n) {
		s.pidDown(pid)
	}
	if job.syncOther {
		s.Log().Warning("'global' at %s failed to connect to %s", s.Node().Name(), n)
		// extra_nodedown
		s.syncDone(n)
		s.handleNodedown(n, nodedownDisconnected)
	}
}

func (s *server) connectionUp(n gen.Atom, job *connectJob) {
	delete(s.connecting, n)
	if !s.visible(n) {
		// A hidden node (dialled for the pid of a name) takes no part in global, as BEAM's
		// global syncs with the nodes of nodes() alone: its pids are monitored, no more.
		s.monitorDeferred(n)
		return
	}
	s.nodeUp(n)
	if job != nil && job.syncOther {
		s.castServer(n, etf.Tuple{etf.Atom("in_sync"), s.Node().Name(), true})
	}
}
