package global

import (
	"slices"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// The sync of two name servers, as global.erl runs it when two visible nodes connect:
//
//  1. Each side sends {init_connect, {Vsn, MyTag}, Node, {locker, _, Known, Locker}} and
//     answers the other's with init_connect_ack; its locker learns the peer's locker.
//  2. One of the two lockers sets the lock {global, [LockerA, LockerB]} on both nodes and on
//     every node either knows (boss first), then tells the other locker (lock_set), which
//     sets it too and answers. Each locker reports lock_is_set to its name server.
//  3. Each name server sends its names (exchange); its resolver compares them with its own,
//     resolving conflicts where this node is the smaller, and both send what they decided
//     (resolved).
//  4. With both halves in hand each side applies the operations, connects to the nodes the
//     other knows, tells the nodes it knew about the new ones (new_nodes, sent by the locker
//     before it releases the lock), and counts the peer as synced: global:sync/0 returns.
//
// Tags tie every message to one attempt; a message of an abandoned attempt cancels it.

func (s *server) myTag(n gen.Atom) etf.Term {
	if ns := s.nodes[n]; ns != nil {
		return ns.myTag
	}
	return nil
}

func (s *server) hisTag(n gen.Atom) etf.Term {
	if ns := s.nodes[n]; ns != nil {
		return ns.hisTag
	}
	return nil
}

func (s *server) ns(n gen.Atom) *nodeSync {
	ns := s.nodes[n]
	if ns == nil {
		ns = &nodeSync{}
		s.nodes[n] = ns
	}
	return ns
}

// resetNodeState is global's reset_node_state/1.
func (s *server) resetNodeState(n gen.Atom) { delete(s.nodes, n) }

// handleNodeup is global's handle_nodeup/2: start a sync with a node not known yet.
func (s *server) handleNodeup(n gen.Atom) {
	if _, ok := s.known[n]; ok {
		return
	}
	if _, ok := s.resolvers[n]; ok {
		return
	}
	s.resendPreConnect(n)
	tag := newTag()
	s.ns(n).myTag = tag
	knownMap := make(etf.Map, 0, len(s.known))
	for _, k := range s.knownList() {
		knownMap = append(knownMap, etf.MapPair{Key: k, Value: s.known[k]})
	}
	locker := etf.Tuple{atomLocker, atomNoLongerAPid, knownMap, s.locker}
	s.castServer(n, etf.Tuple{etf.Atom("init_connect"), etf.Tuple{Version, tag}, s.Node().Name(), locker})
	pid, err := s.Spawn(factoryResolver(s.t, s.g), gen.ProcessOptions{LinkParent: true}, n, etf.Term(tag), s.PID())
	if err != nil {
		s.Log().Error("global_name_server: cannot start a resolver for %s: %s", n, err)
		return
	}
	s.resolvers[n] = resolverRef{tag: tag, pid: pid}
}

// resendPreConnect replays an init_connect that came before this node saw the peer up.
func (s *server) resendPreConnect(n gen.Atom) {
	ns := s.nodes[n]
	if ns == nil || ns.preConnect == nil {
		return
	}
	m := *ns.preConnect
	ns.preConnect = nil
	m.HisVsn = m.Vsn // global casts {init_connect, {Vsn, HisTag}, ...} to itself
	s.Send(s.PID(), replayInitConnect{m})
}

type replayInitConnect struct{ m initConnect }

// initConnect is global's init_connect/6.
func (s *server) initConnect(m initConnect) {
	n := m.Node
	if _, ok := s.pending[n]; ok {
		if m.HisVsn < 8 {
			s.disconnect(n)
			s.Log().Error("'global' at node %s got an out of sync connection attempt from old version %d node %s. Disconnecting from it.",
				s.Node().Name(), m.HisVsn, n)
			return
		}
		// Both sides were already syncing: start over, and tell the peer to.
		s.sendCancelConnectMessage(n, m.HisTag)
		s.restartConnect(n, s.myTag(n))
		return
	}
	ns := s.ns(n)
	ns.protVsn, ns.hasVsn = m.Vsn, true
	ns.hisTag = m.HisTag
	r, ok := s.resolvers[n]
	if !ok {
		// Not seen up yet here: keep it for handleNodeup.
		ns.preConnect = &m
		return
	}
	s.Send(s.locker, hisTheLocker{Locker: m.Locker, Vsn: m.Vsn, HisTag: m.HisTag, MyTag: r.tag})
	if m.HisVsn >= 8 {
		s.sendServer(n, etf.Tuple{etf.Atom("init_connect_ack"), s.Node().Name(), m.HisTag, r.tag})
	}
	s.pending[n] = m.HisVsn
}

// restartConnect is global's restart_connect/3.
func (s *server) restartConnect(n gen.Atom, myTag etf.Term) {
	s.cancelLocker(n, myTag, nil)
	s.resetNodeState(n)
	delete(s.pending, n)
	s.deleteNodeResources(n)
	if _, isInt := myTag.(int64); isInt {
		s.handleNodeup(n)
	}
}

// initConnectAck checks that the peer holds the same pair of tags as this node; if not, both
// start over.
func (s *server) initConnectAck(m initConnectAck) {
	myMy, myHis := s.myTag(m.Node), s.hisTag(m.Node)
	if sameTag(myMy, m.HisMyTag) && sameTag(myHis, m.HisHisTag) {
		return
	}
	s.sendCancelConnectMessage(m.Node, m.HisHisTag)
	s.restartConnect(m.Node, myMy)
}

func (s *server) cancelConnect(m cancelConnect) {
	if s.nodes[m.Node] == nil || !sameTag(s.myTag(m.Node), m.Tag) {
		return
	}
	s.cancelLocker(m.Node, m.Tag, nil)
	s.resetNodeState(m.Node)
	delete(s.pending, m.Node)
	s.restartConnect(m.Node, m.Tag)
}

// lockSetCast passes a peer locker's lock_set on to the locker, if it belongs to the sync
// under way with that node.
func (s *server) lockSetCast(m lockSet) {
	if m.Tagged && !sameTag(s.myTag(m.Locker.Node), m.Tag) {
		return
	}
	s.Send(s.locker, m.Raw)
}

// lockIsSet is global's lock_is_set/3: the lock is set; send this node's names.
func (s *server) lockIsSet(m lockIsSet) {
	n := m.Node
	if !sameTag(s.myTag(n), m.Tag) {
		s.cancelLocker(n, m.Tag, nil)
		return
	}
	s.castServer(n, etf.Tuple{etf.Atom("exchange"), s.Node().Name(), namesTerm(s.t.nameList()), etf.List{}, tagTerm(s.hisTag(n))})
	ns := s.ns(n)
	ns.lockID = etf.Tuple{m.LockID.Resource, m.LockID.Requester}
	if ns.hasExchange {
		names := ns.exchangeNames
		ns.exchangeNames, ns.hasExchange = nil, false
		ns.lockSet = true
		s.doExchange(n, names)
		return
	}
	ns.lockSet = true
}

func (s *server) exchange(m exchangeMsg) {
	if !sameTag(s.myTag(m.Node), m.Tag) {
		s.cancelLocker(m.Node, m.Tag, nil)
		return
	}
	s.doExchange(m.Node, m.Names)
}

// doExchange is global's exchange/3: once both the lock and the peer's names are here, the
// resolver compares the names.
func (s *server) doExchange(n gen.Atom, names []nameInfo) {
	ns := s.ns(n)
	if !ns.lockSet {
		ns.exchangeNames, ns.hasExchange = names, true
		return
	}
	ns.lockSet = false
	r, ok := s.resolvers[n]
	if !ok {
		s.Log().Error("global_name_server: names from %s but no resolver", n)
		return
	}
	s.Send(r.pid, resolveMsg{Names: names, Node: n})
}

// exchangeOps takes the resolver's result: send the peer what this node decided, and finish
// if the peer's half is here.
func (s *server) exchangeOps(m exchangeOps) {
	n := m.Node
	if !sameTag(s.myTag(n), m.Tag) {
		s.cancelLocker(n, m.Tag, nil)
		return
	}
	known := s.knownTerm(s.nodeVsn(n))
	s.castServer(n, etf.Tuple{etf.Atom("resolved"), s.Node().Name(), opsTerm(m.Resolved), known, atomUnused,
		extNamesTerm(s.t.extList()), tagTerm(s.hisTag(n))})
	ns := s.ns(n)
	ns.ops, ns.hasOps = m.Ops, true
	if his := ns.hisResolved; his != nil {
		ns.hisResolved = nil
		s.resolved(n, his.Resolved, his.Known, his.NamesExt)
	}
}

func (s *server) resolvedCast(m resolvedMsg) {
	n := m.Node
	if !sameTag(s.myTag(n), m.Tag) {
		s.cancelLocker(n, m.Tag, nil)
		return
	}
	ns := s.ns(n)
	if ns.hasOps {
		s.resolved(n, m.Resolved, m.Known, m.NamesExt)
		return
	}
	if ns.hisResolved == nil {
		ns.hisResolved = &m
	}
}

// resolved is global's resolved/5: the sync with n is done.
func (s *server) resolved(n gen.Atom, hisResolved []op, hisKnown []nodeVsn, namesExt []extName) {
	ns := s.ns(n)
	ops := append(ns.ops, hisResolved...)
	ns.ops, ns.hasOps = nil, false
	knownBefore := make(map[gen.Atom]int, len(s.known))
	for k, v := range s.known {
		knownBefore[k] = v
	}
	newNodes := s.nodeVsnList(append([]nodeVsn{{Node: n}}, hisKnown...))
	hisKnownNodes := make([]gen.Atom, len(hisKnown))
	for i, nv := range hisKnown {
		hisKnownNodes[i] = nv.Node
	}
	s.syncOthers(hisKnownNodes)
	var vsn etf.Term = atomUndefined
	if ns.hasVsn {
		vsn = ns.protVsn
	}
	lockTerm := ns.lockID
	if lockTerm == nil {
		lockTerm = atomUndefined
	}
	extra := etf.List{etf.Tuple{atomVsn, vsn}, etf.Tuple{atomLock, lockTerm}}
	s.doOps(ops, lockHolder{node: s.Node().Name()}, namesExt, extra)
	s.syncDone(n)
	for _, c := range hisKnownNodes {
		s.cancelResolvedLocker(c, nil)
	}
	// The nodes known before learn of the new ones from the locker, before it lets go of
	// the lock.
	newNodesReq := etf.Tuple{etf.Atom("new_nodes"), s.Node().Name(), opsTerm(ops), extNamesTerm(namesExt),
		nodeVsnsTerm(newNodes), extra}
	oldNodesReq := etf.Tuple{etf.Atom("new_nodes"), s.Node().Name(), opsTerm(ops), extNamesTerm(namesExt),
		nodesTerm(nodesOf(newNodes)), extra}
	var ann []announcement
	for k, v := range knownBefore {
		req := newNodesReq
		if v < 7 {
			req = oldNodesReq
		}
		ann = append(ann, announcement{Node: k, Msg: cast(req)})
	}
	s.cancelResolvedLocker(n, ann)
	added := s.addToKnown(newNodes)
	s.Send(s.locker, addToKnownMsg{Nodes: added})
	if !slices.Contains(s.synced, n) {
		s.synced = append(s.synced, n)
	}
}

// nodeVsnList is global's make_node_vsn_list/2: a version for every node, ours where the
// peer did not say.
func (s *server) nodeVsnList(nodes []nodeVsn) []nodeVsn {
	out := make([]nodeVsn, len(nodes))
	for i, nv := range nodes {
		if nv.Vsn == 0 {
			nv.Vsn = s.nodeVsn(nv.Node)
		}
		out[i] = nv
	}
	return out
}

func nodesOf(nodes []nodeVsn) []gen.Atom {
	out := make([]gen.Atom, len(nodes))
	for i, nv := range nodes {
		out[i] = nv.Node
	}
	return out
}

// cancelResolvedLocker is global's cancel_resolved_locker/3.
func (s *server) cancelResolvedLocker(n gen.Atom, ann []announcement) {
	tag := s.myTag(n)
	delete(s.pending, n)
	s.cancelLocker(n, tag, ann)
	s.resetNodeState(n)
}

// doOps is global's do_ops/5.
func (s *server) doOps(ops []op, from lockHolder, namesExt []extName, extra etf.Term) {
	var xNames []etf.Term
	for _, x := range namesExt {
		for _, o := range ops {
			if o.Insert && etf.Equal(o.Name.Name, x.Name) && o.Name.Pid == x.Pid {
				s.insName(nameEntry{Name: o.Name.Name, Pid: o.Name.Pid, Method: o.Name.Method, RegNode: x.RegNode}, from, extra)
				xNames = append(xNames, o.Name.Name)
			}
		}
	}
	for _, o := range ops {
		if !o.Insert || slices.ContainsFunc(xNames, func(x etf.Term) bool { return etf.Equal(x, o.Name.Name) }) {
			continue
		}
		s.insName(nameEntry{Name: o.Name.Name, Pid: o.Name.Pid, Method: o.Name.Method}, from, extra)
	}
	for _, o := range ops {
		if !o.Insert {
			s.deleteName(o.Name.Name)
		}
	}
}

// newNodes is a peer's news of the nodes it synced with: know them, connect to them, and
// take in the names its sync decided.
func (s *server) newNodes(m newNodesMsg) {
	added := s.addToKnown(m.Nodes)
	s.syncOthers(added)
	s.doOps(m.Ops, lockHolder{node: m.Node}, m.NamesExt, m.Extra)
	s.Send(s.locker, addToKnownMsg{Nodes: added})
}

// inSync is a node telling that it synced with this node through a third one.
func (s *server) inSync(m inSync) {
	n := m.Node
	s.syncDone(n)
	if !slices.Contains(s.synced, n) {
		s.synced = append(s.synced, n)
	}
	delete(s.pending, n)
	s.cancelLocker(n, s.myTag(n), nil)
	s.resetNodeState(n)
}

// cancelLocker is global's cancel_locker/4: stop the locker's work for a sync attempt (after
// it sends the announcements, if any), tell the peer, and end the attempt's resolver.
func (s *server) cancelLocker(n gen.Atom, tag etf.Term, ann []announcement) {
	s.Send(s.locker, cancelMsg{Node: n, Tag: tag, Announce: ann})
	s.sendCancelConnect(n, tag)
	if r, ok := s.resolvers[n]; ok && sameTag(r.tag, tag) {
		s.Node().Kill(r.pid)
		delete(s.resolvers, n)
	}
}

func (s *server) sendCancelConnect(n gen.Atom, myTag etf.Term) {
	vsn, ok := s.pending[n]
	if !ok || vsn < 8 || !sameTag(s.myTag(n), myTag) {
		return
	}
	s.sendCancelConnectMessage(n, s.hisTag(n))
}

func (s *server) sendCancelConnectMessage(n gen.Atom, hisTag etf.Term) {
	s.sendServer(n, etf.Tuple{etf.Atom("cancel_connect"), s.Node().Name(), tagTerm(hisTag)})
}

// nodedownKind is how handleNodedown treats the loss of a node.
type nodedownKind int

const (
	// nodedownDisconnected: the connection went down by itself; others are told.
	nodedownDisconnected nodedownKind = iota
	// nodedownRemoveConnection: this node asked for the disconnect.
	nodedownRemoveConnection
)

// handleNodedown is global's handle_nodedown/3.
func (s *server) handleNodedown(n gen.Atom, kind nodedownKind) {
	s.cancelLocker(n, s.myTag(n), nil)
	s.Send(s.locker, removeFromKnownMsg{Node: n})
	s.resetNodeState(n)
	switch kind {
	case nodedownRemoveConnection:
		s.removing[n] = true
	case nodedownDisconnected:
		if s.removing[n] {
			delete(s.removing, n)
		} else {
			s.informConnectionLoss(n)
		}
	}
	delete(s.pending, n)
	delete(s.known, n)
	s.synced = slices.DeleteFunc(s.synced, func(x gen.Atom) bool { return x == n })
}
