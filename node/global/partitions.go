package global

import (
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Overlapping partitions (kernel's prevent_overlapping_partitions, on by default since
// OTP 25). global assumes a fully connected cluster. When a node loses its connection to
// another, it tells every node it knows (lost_connection); each of them that is still
// connected to the lost node asks it to disconnect (remove_connection), so the cluster splits
// into partitions that do not overlap instead of nodes that see different sets of nodes.
// A Go node that takes part in global must play by the same rule, or BEAM nodes would keep
// a view of the cluster that global cannot keep consistent.

// lostInfo is what global_lost_connections keeps for a pair of nodes, for an hour.
type lostInfo struct {
	xcreation, opID etf.Term
	expires         time.Time
}

const lostConnectionTTL = time.Hour

// informConnectionLoss is global's inform_connection_loss/2.
func (s *server) informConnectionLoss(n gen.Atom) {
	if s.noPartitions {
		return
	}
	msg := etf.Tuple{etf.Atom("lost_connection"), s.Node().Name(), s.xcreation, newOpID(), n}
	s.volatileMulticast(msg, n, 7, true)
}

// volatileMulticast is global's gns_volatile_multicast/5: to the name servers of the known
// nodes (and, with alsoPending, the nodes a sync is under way with) of at least minVsn,
// without connecting to any.
func (s *server) volatileMulticast(msg etf.Term, ignore gen.Atom, minVsn int, alsoPending bool) {
	sent := make(map[gen.Atom]bool)
	for n, v := range s.known {
		if n != ignore && v >= minVsn {
			sent[n] = true
			s.sendServer(n, msg)
		}
	}
	if !alsoPending {
		return
	}
	for n, v := range s.pending {
		if n != ignore && v >= minVsn && !sent[n] {
			s.sendServer(n, msg)
		}
	}
}

// lostConnection is a node's report that NodeA lost NodeB.
func (s *server) lostConnection(m lostConnection) {
	if s.noPartitions {
		return
	}
	key := [2]gen.Atom{m.NodeA, m.NodeB}
	now := time.Now()
	if info, ok := s.lost[key]; ok && now.Before(info.expires) {
		if etf.Equal(info.xcreation, m.XCreation) && etf.Compare(m.OpID, info.opID) <= 0 {
			return // seen already
		}
	}
	s.volatileMulticast(m.Raw, m.NodeA, 7, true)
	s.lost[key] = lostInfo{xcreation: m.XCreation, opID: m.OpID, expires: now.Add(lostConnectionTTL)}
	for k, info := range s.lost {
		if now.After(info.expires) {
			delete(s.lost, k)
		}
	}

	rm := m.NodeB
	if rm == s.Node().Name() {
		rm = m.NodeA
	}
	_, known := s.known[rm]
	_, pending := s.pending[rm]
	if !known && !pending {
		return
	}
	what := "requested disconnect from"
	if s.nodeVsn(rm) < 7 {
		s.disconnect(rm)
		what = "disconnected old"
	} else {
		s.sendServer(rm, etf.Tuple{etf.Atom("remove_connection"), s.Node().Name()})
	}
	s.Log().Warning("'global' at node %s %s node %s in order to prevent overlapping partitions",
		s.Node().Name(), what, rm)
	s.handleNodedown(rm, nodedownRemoveConnection)
}

// removeConnection is a node asking this one to disconnect from it.
func (s *server) removeConnection(m removeConnection) {
	_, known := s.known[m.Node]
	_, pending := s.pending[m.Node]
	if !known && !pending {
		return
	}
	s.disconnect(m.Node)
	s.handleNodedown(m.Node, nodedownRemoveConnection)
	s.Log().Warning("'global' at node %s disconnected node %s in order to prevent overlapping partitions",
		s.Node().Name(), m.Node)
}

// disconnect is net_kernel:async_disconnect/1.
func (s *server) disconnect(n gen.Atom) {
	network := s.Node().Network()
	go func() {
		if rn, err := network.Node(n); err == nil {
			rn.Disconnect()
		}
	}()
}
