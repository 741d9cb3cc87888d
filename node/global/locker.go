package global

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// locker is global's "the locker" process. For every node a sync is under way with, one of
// the two nodes' lockers sets the lock {global, [LockerA, LockerB]} on both nodes and on all
// the nodes each knows, the greatest node name (the boss) first, so that two syncs that
// involve the same nodes never run at once and names move between nodes only under the lock.
//
// The locker of global.erl waits in selective receives: for the answers of a multi_call, for
// the other locker's lock_set, for the name server's cancel. This one keeps the same states
// and puts the messages no state takes aside (saved) until a state takes them, in the order
// they came, as the BEAM's mailbox scan would.
type locker struct {
	act.Actor

	t      *tables
	server gen.PID
	host   string

	local, remote []him // nodes to sync with, on this host and elsewhere
	known         []gen.Atom
	boss          gen.Atom
	justSynced    bool

	wait        *waiter
	saved       []any
	timer       uint64
	cancelTimer gen.CancelFunc
}

// him is a node the locker may sync with.
type him struct {
	Node          gen.Atom
	Locker        gen.PID
	Vsn           int
	MyTag, HisTag etf.Term
}

// same reports whether h and x are the same entry.
func (h him) same(x him) bool {
	return h.Node == x.Node && h.Locker == x.Locker && h.Vsn == x.Vsn &&
		etf.Equal(h.MyTag, x.MyTag) && etf.Equal(h.HisTag, x.HisTag)
}

// waiter is a selective receive: match chooses the messages it takes, handle takes them.
type waiter struct {
	match  func(any) bool
	handle func(any)
}

// Messages from the name server to the locker.
type (
	hisTheLocker struct {
		Locker        gen.PID
		Vsn           int
		HisTag, MyTag etf.Term
	}
	// cancelMsg ends the locker's work for a sync attempt. Announce holds the new_nodes
	// casts to send before the lock is released (global's cancel with a fun).
	cancelMsg struct {
		Node     gen.Atom
		Tag      etf.Term
		Announce []announcement
	}
	announcement struct {
		Node gen.Atom
		Msg  etf.Term
	}
	addToKnownMsg      struct{ Nodes []gen.Atom }
	removeFromKnownMsg struct{ Node gen.Atom }
	lockerTimeout      struct{ gen uint64 }
)

func factoryLocker(t *tables) gen.ProcessFactory {
	return func() gen.ProcessBehavior { return &locker{t: t} }
}

func (l *locker) Init(args ...any) error {
	l.server = args[0].(gen.PID)
	l.host, _ = os.Hostname()
	l.boss = l.Node().Name()
	return nil
}

func (l *locker) HandleMessage(from gen.PID, message any) error {
	if t, ok := message.(lockerTimeout); ok {
		if l.wait == nil && t.gen == l.timer {
			l.timeout()
		}
	} else if l.wait != nil {
		if l.wait.match(message) {
			w := l.wait
			l.wait = nil
			w.handle(message)
		} else {
			l.saved = append(l.saved, message)
		}
	} else {
		l.main(message)
	}
	l.drain()
	if l.wait == nil {
		l.arm()
	}
	return nil
}

// drain hands saved messages to the current state, oldest first: all of them in the main
// loop, only those it matches in a waiting state.
func (l *locker) drain() {
	for {
		if l.wait == nil {
			if len(l.saved) == 0 {
				return
			}
			m := l.saved[0]
			l.saved = l.saved[1:]
			l.main(m)
			continue
		}
		i := slices.IndexFunc(l.saved, l.wait.match)
		if i < 0 {
			return
		}
		m := l.saved[i]
		l.saved = slices.Delete(l.saved, i, i+1)
		w := l.wait
		l.wait = nil
		w.handle(m)
	}
}

// await makes the locker wait for what match accepts.
func (l *locker) await(match func(any) bool, handle func(any)) {
	l.wait = &waiter{match: match, handle: handle}
}

// arm restarts the main loop's timer (loop_the_locker): while there are nodes to sync with,
// the locker tries one after a pause without messages, at once after a sync, else after
// 200 ms with no known nodes and 1 s plus 100 ms a known node (at most 3 s) otherwise.
func (l *locker) arm() {
	l.timer++
	if l.cancelTimer != nil {
		l.cancelTimer()
		l.cancelTimer = nil
	}
	if len(l.local) == 0 && len(l.remote) == 0 {
		return
	}
	var d time.Duration
	switch {
	case l.justSynced:
		d = 0
	case len(l.known) == 0:
		d = 200 * time.Millisecond
	default:
		d = min(time.Second+time.Duration(len(l.known))*100*time.Millisecond, 3*time.Second)
	}
	l.justSynced = false
	if d == 0 {
		l.Send(l.PID(), lockerTimeout{l.timer})
		return
	}
	l.cancelTimer, _ = l.SendAfter(l.PID(), lockerTimeout{l.timer}, d)
}

func (l *locker) timeout() {
	if l.t.isLockSet(atomGlobal) {
		return
	}
	l.selectNode()
}

// main is global's the_locker_message/2.
func (l *locker) main(message any) {
	switch m := message.(type) {
	case hisTheLocker:
		h := him{Node: m.Locker.Node, Locker: m.Locker, Vsn: m.Vsn, MyTag: m.MyTag, HisTag: m.HisTag}
		if l.isLocal(h.Node) {
			l.local = append([]him{h}, l.local...)
		} else {
			l.remote = append([]him{h}, l.remote...)
		}
	case cancelMsg:
		if len(m.Announce) > 0 {
			l.Log().Warning("global locker: unexpected cancel for %s with announcements", m.Node)
			return
		}
		if m.Tag != nil {
			l.removeNode(m.Node, m.Tag)
		}
	case addToKnownMsg:
		l.addKnown(m.Nodes)
	case removeFromKnownMsg:
		l.removeKnown(m.Node)
	case etf.Tuple:
		if v, err := decodeLockSet(m); err == nil {
			l.lockSetMain(v.(lockSet))
			return
		}
		l.Log().Warning("global locker: unexpected message %v", m)
	case gen.MessageDownProcessID, gen.MessageExitPID:
		// A late DOWN of a finished multi_call, or a link's exit: nothing to do.
	default:
		l.Log().Warning("global locker: unexpected message %v", message)
	}
}

// lockSetMain is the other locker setting the lock for a sync with this node: set it here
// and on the nodes this node knows, and answer.
func (l *locker) lockSetMain(m lockSet) {
	if !m.Set {
		return
	}
	node := m.Locker.Node
	h, found := l.findNodeTag(node)
	if !found || (m.Tagged && !sameTag(h.MyTag, m.Tag)) {
		// Not (or no longer) syncing with that node: an untagged refusal, straight to its
		// locker, as global does for an unknown node.
		l.sendLockSet(false, m.Locker, 5, nil)
		return
	}
	myTag := h.MyTag
	id := lockerLockID(l.PID(), m.Locker)
	l.lockNodesSafely(id, nil, func(set bool) {
		l.sendLockSet(set, m.Locker, h.Vsn, h.HisTag)
		if !set {
			l.justSynced = false
			return
		}
		known := append([]gen.Atom{l.Node().Name()}, l.known...)
		l.Send(l.server, lockIsSet{Node: node, Tag: myTag, LockID: id})
		l.waitCancelLock(node, id, myTag, known, func() {
			l.justSynced = true
			l.removeNode(node, myTag)
		})
	})
}

// selectNode is global's select_node/1: pick a node to sync with, lock, and tell its locker.
func (l *locker) selectNode() {
	list := &l.local
	if len(l.local) == 0 {
		list = &l.remote
	}
	*list = slices.DeleteFunc(*list, func(h him) bool { return slices.Contains(l.known, h.Node) })
	if len(*list) == 0 {
		return
	}
	h := (*list)[rand.IntN(len(*list))]
	id := lockerLockID(l.PID(), h.Locker)
	l.lockNodesSafely(id, []gen.Atom{h.Node}, func(set bool) {
		if !set {
			return
		}
		known := append([]gen.Atom{l.Node().Name(), h.Node}, l.known...)
		l.sendLockSet(true, h.Locker, h.Vsn, h.HisTag)
		l.awaitLockSet(h, known, id)
	})
}

// awaitLockSet is global's lock_is_set/5: wait for the other locker's answer.
func (l *locker) awaitLockSet(h him, known []gen.Atom, id lockID) {
	fromHim := func(m any) (lockSet, bool) {
		t, ok := m.(etf.Tuple)
		if !ok {
			return lockSet{}, false
		}
		v, err := decodeLockSet(t)
		if err != nil {
			return lockSet{}, false
		}
		ls := v.(lockSet)
		return ls, ls.Locker.Node == h.Node
	}
	l.await(func(m any) bool {
		if _, ok := fromHim(m); ok {
			return true
		}
		c, ok := m.(cancelMsg)
		return ok && c.Node == h.Node && sameTag(h.MyTag, c.Tag)
	}, func(m any) {
		if c, ok := m.(cancelMsg); ok {
			l.announce(c.Announce)
			l.deleteGlobalLock(id, known, func() { l.removeNode(h.Node, h.MyTag) })
			return
		}
		ls, _ := fromHim(m)
		if ls.Tagged && !sameTag(h.MyTag, ls.Tag) {
			l.awaitLockSet(h, known, id) // an answer to an earlier attempt
			return
		}
		if !ls.Set {
			l.deleteGlobalLock(id, known, func() {})
			return
		}
		l.Send(l.server, lockIsSet{Node: h.Node, Tag: h.MyTag, LockID: id})
		l.waitCancelLock(h.Node, id, h.MyTag, known, func() {
			l.justSynced = true
			// (Not x == h: the tags are whatever terms the peer sent, maybe lists, which
			// == cannot compare.)
			drop := func(x him) bool { return x.same(h) }
			l.local = slices.DeleteFunc(l.local, drop)
			l.remote = slices.DeleteFunc(l.remote, drop)
		})
	})
}

// waitCancelLock is global's wait_cancel_lock/6: hold the lock until the name server says
// the sync is over, then send its announcements and release the lock everywhere.
func (l *locker) waitCancelLock(node gen.Atom, id lockID, myTag etf.Term, known []gen.Atom, then func()) {
	l.await(func(m any) bool {
		c, ok := m.(cancelMsg)
		return ok && c.Node == node && sameTag(myTag, c.Tag)
	}, func(m any) {
		l.announce(m.(cancelMsg).Announce)
		l.deleteGlobalLock(id, known, then)
	})
}

func (l *locker) announce(ann []announcement) {
	for _, a := range ann {
		if a.Node == l.Node().Name() {
			l.Send(l.server, a.Msg)
			continue
		}
		if _, err := l.Node().Network().Node(a.Node); err != nil {
			continue
		}
		l.SendProcessID(gen.ProcessID{Name: ServerName, Node: a.Node}, a.Msg)
	}
}

// lockNodesSafely is global's lock_nodes_safely/3: the lock on the boss first, then on this
// node and extra, then on every known node; undone where set if any refuses.
func (l *locker) lockNodesSafely(id lockID, extra []gen.Atom, k func(bool)) {
	self := l.Node().Name()
	first := []gen.Atom{l.boss}
	if l.boss != self {
		if _, ok := l.t.canSetLock(id); !ok {
			k(false)
			return
		}
	}
	l.setLock(id, first, func(ok bool) {
		if !ok {
			k(false)
			return
		}
		l.updateKnownFromSaved()
		second := without(append([]gen.Atom{self}, extra...), first...)
		l.setLock(id, second, func(ok bool) {
			if !ok {
				l.delLock(id, first, func() { k(false) })
				return
			}
			l.setLock(id, without(l.known, first...), func(ok bool) {
				if ok {
					k(true)
					return
				}
				l.delLock(id, append(slices.Clone(first), second...), func() { k(false) })
			})
		})
	})
}

// setLock is global:set_lock(Id, Nodes, 0): one try.
func (l *locker) setLock(id lockID, nodes []gen.Atom, k func(bool)) {
	setLockOnNodes(l, l.t, id, nodes, l.callThen, k)
}

func (l *locker) delLock(id lockID, nodes []gen.Atom, k func()) {
	l.callThen(nodes, etf.Tuple{etf.Atom("del_lock"), id.term()}, func([]nodeReply, []gen.Atom) { k() })
}

// deleteGlobalLock is global's delete_global_lock/2: off every node, the boss last.
func (l *locker) deleteGlobalLock(id lockID, nodes []gen.Atom, k func()) {
	boss := theBoss(nodes)
	l.delLock(id, without(nodes, boss), func() { l.delLock(id, []gen.Atom{boss}, k) })
}

// callThen makes a multi_call to the name servers of nodes and waits for it, saving
// everything else.
func (l *locker) callThen(nodes []gen.Atom, req etf.Term, k func([]nodeReply, []gen.Atom)) {
	if b := runCall(l, ServerName, nodes, req, k); b != nil {
		l.awaitBatch(b)
	}
}

func (l *locker) awaitBatch(b *callBatch) {
	l.await(b.owns, func(m any) {
		b.take(l, m)
		if !b.finished() {
			l.awaitBatch(b)
		}
	})
}

// setLockOnNodes is global's set_lock_on_nodes/2 with check_replies/3, shared by the locker
// and the registrar: all must say yes; if one says no, those that said yes let go again.
func setLockOnNodes(p gen.Process, t *tables, id lockID, nodes []gen.Atom,
	call func([]gen.Atom, etf.Term, func([]nodeReply, []gen.Atom)), k func(bool)) {
	if len(nodes) == 0 {
		k(true)
		return
	}
	if len(nodes) > 1 && slices.Contains(nodes, p.Node().Name()) {
		if _, ok := t.canSetLock(id); !ok {
			k(false)
			return
		}
	}
	call(nodes, etf.Tuple{etf.Atom("set_lock"), id.term()}, func(replies []nodeReply, _ []gen.Atom) {
		var yes []gen.Atom
		refused := false
		for _, r := range replies {
			if r.Reply == true {
				yes = append(yes, r.Node)
			} else {
				refused = true
			}
		}
		if !refused {
			k(true)
			return
		}
		if len(replies) == 1 {
			k(false)
			return
		}
		call(yes, etf.Tuple{etf.Atom("del_lock"), id.term()}, func([]nodeReply, []gen.Atom) { k(false) })
	})
}

// updateKnownFromSaved is global's update_locker_known/1: take in the node set changes that
// are waiting.
func (l *locker) updateKnownFromSaved() {
	l.saved = slices.DeleteFunc(l.saved, func(m any) bool {
		switch m := m.(type) {
		case addToKnownMsg:
			l.addKnown(m.Nodes)
			return true
		case removeFromKnownMsg:
			l.removeKnown(m.Node)
			return true
		}
		return false
	})
}

func (l *locker) addKnown(nodes []gen.Atom) {
	l.known = append(slices.Clone(nodes), l.known...)
	l.boss = theBoss(append([]gen.Atom{l.Node().Name()}, l.known...))
}

func (l *locker) removeKnown(n gen.Atom) {
	if i := slices.Index(l.known, n); i >= 0 {
		l.known = slices.Delete(l.known, i, i+1)
	}
	l.boss = theBoss(append([]gen.Atom{l.Node().Name()}, l.known...))
}

// sendLockSet is global's send_lock_set/5: since version 6 through the peer's name server,
// tagged since version 8.
func (l *locker) sendLockSet(set bool, to gen.PID, vsn int, hisTag etf.Term) {
	known := nodesTerm(l.known)
	var msg etf.Tuple
	if vsn < 8 {
		msg = etf.Tuple{etf.Atom("lock_set"), l.PID(), set, known}
	} else {
		msg = etf.Tuple{etf.Atom("lock_set"), l.PID(), set, known, tagTerm(hisTag)}
	}
	if _, err := l.Node().Network().Node(to.Node); err != nil {
		return
	}
	if vsn < 6 {
		l.SendPID(to, msg)
		return
	}
	l.SendProcessID(gen.ProcessID{Name: ServerName, Node: to.Node}, cast(msg))
}

func (l *locker) findNodeTag(n gen.Atom) (him, bool) {
	for _, list := range [][]him{l.local, l.remote} {
		for _, h := range list {
			if h.Node == n {
				return h, true
			}
		}
	}
	return him{}, false
}

// removeNode drops the first entry of node n with tag from each list.
func (l *locker) removeNode(n gen.Atom, tag etf.Term) {
	drop := func(list []him) []him {
		for i, h := range list {
			if h.Node == n && sameTag(h.MyTag, tag) {
				return slices.Delete(list, i, i+1)
			}
		}
		return list
	}
	l.local = drop(l.local)
	l.remote = drop(l.remote)
}

// isLocal reports whether a node runs on this host; global prefers to sync with those first.
func (l *locker) isLocal(n gen.Atom) bool {
	_, host, ok := strings.Cut(string(n), "@")
	return ok && host == l.host
}
