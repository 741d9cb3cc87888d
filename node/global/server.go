package global

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// server is global_name_server: it keeps the global names and locks of this node, answers
// the name servers, lockers and registrars of other nodes, and syncs with every visible node
// that connects. Its state and handlers follow kernel's global.erl message for message; the
// comments name the Erlang function each Go method stands for.
type server struct {
	act.Actor

	g *Global
	t *tables

	locker    gen.PID
	registrar gen.PID

	// known: the nodes this node has synced with, by protocol version (Known's atom keys).
	known map[gen.Atom]int
	// pending: the nodes a sync is under way with, by their announced version.
	pending map[gen.Atom]int
	// removing: nodes this node disconnected to prevent overlapping partitions, whose
	// nodedown must not be reported as a lost connection.
	removing map[gen.Atom]bool
	// up: the connections this node has seen (BEAM's {connection_id, Node} keys). Ergo has no
	// nodeup event; a node counts as up from its first message, a finished connect, or the
	// Visible poll, and down from the node monitor set then.
	up map[gen.Atom]bool
	// participants: nodes whose global processes have sent something; Sync waits for them.
	participants map[gen.Atom]bool
	synced       []gen.Atom
	resolvers    map[gen.Atom]resolverRef
	// nodes holds what global keeps in its process dictionary per node.
	nodes map[gen.Atom]*nodeSync

	globalLockDown bool
	// monitored counts the names and locks held by each pid; one Ergo monitor covers them.
	monitored map[gen.PID]int
	// deferredMonitors are pids on nodes not connected yet, to monitor once they are.
	deferredMonitors map[gen.Atom][]gen.PID
	connecting       map[gen.Atom]*connectJob

	lost      map[[2]gen.Atom]lostInfo
	xcreation int64
	// noPartitions is prevent_overlapping_partitions turned off.
	noPartitions bool

	syncers []*syncWaiter
}

type resolverRef struct {
	tag etf.Term
	pid gen.PID
}

// nodeSync is the per-node state global keeps in its process dictionary during a sync.
type nodeSync struct {
	myTag, hisTag etf.Term // nil: undefined
	protVsn       int
	hasVsn        bool
	// wait_lock: whether our locker has set the lock, or the peer's names arrived first.
	lockSet       bool
	exchangeNames []nameInfo
	hasExchange   bool
	// save_ops: our resolver's operations, or the peer's resolved message, whichever first.
	ops         []op
	hasOps      bool
	hisResolved *resolvedMsg
	preConnect  *initConnect
	lockID      etf.Term
}

// Messages between the processes of this package.
type (
	// connectResult ends a connect attempt started by the server.
	connectResult struct {
		Node gen.Atom
		Err  error
	}
	// exchangeOps is a resolver's result (global's exchange_ops cast).
	exchangeOps struct {
		Node          gen.Atom
		Tag           etf.Term
		Ops, Resolved []op
	}
	// lockIsSet comes from the locker when the lock for a sync is set on all nodes.
	lockIsSet struct {
		Node   gen.Atom
		Tag    etf.Term
		LockID lockID
	}
	syncRequest struct {
		done chan error
	}
	whereisRetry struct {
		m whereisMsg
	}
	pollTick struct{}
)

type syncWaiter struct {
	remaining map[gen.Atom]struct{}
	done      chan error
}

func factoryServer(g *Global) gen.ProcessFactory {
	return func() gen.ProcessBehavior { return &server{g: g} }
}

// Init is global's init/1.
func (s *server) Init(args ...any) error {
	s.SetTrapExit(true)
	s.t = newTables()
	s.known = make(map[gen.Atom]int)
	s.pending = make(map[gen.Atom]int)
	s.removing = make(map[gen.Atom]bool)
	s.up = make(map[gen.Atom]bool)
	s.participants = make(map[gen.Atom]bool)
	s.resolvers = make(map[gen.Atom]resolverRef)
	s.nodes = make(map[gen.Atom]*nodeSync)
	s.monitored = make(map[gen.PID]int)
	s.deferredMonitors = make(map[gen.Atom][]gen.PID)
	s.connecting = make(map[gen.Atom]*connectJob)
	s.lost = make(map[[2]gen.Atom]lostInfo)
	s.noPartitions = s.g.opts.AllowOverlappingPartitions
	// creation_extension: a random multiple of 2^32 that, with the creation, tells this
	// incarnation's lost_connection reports from those of an earlier one of the same name.
	s.xcreation = int64(rand.Uint64N(1<<28))<<32 + s.Node().Creation()&0xffffffff + 1<<59

	var err error
	s.locker, err = s.Spawn(factoryLocker(s.t), gen.ProcessOptions{LinkParent: true, LinkChild: true}, s.PID())
	if err != nil {
		return fmt.Errorf("global: starting the locker: %w", err)
	}
	s.registrar, err = s.Spawn(factoryRegistrar(s.g, s.t), gen.ProcessOptions{LinkParent: true, LinkChild: true}, s.PID())
	if err != nil {
		return fmt.Errorf("global: starting the registrar: %w", err)
	}
	restarted := s.g.attach(s.t, s.PID(), s.registrar)

	for _, n := range s.Node().Network().Nodes() {
		switch {
		case !s.visible(n):
		case restarted:
			s.resync(n)
		default:
			// Connections made before this server ran missed their nodeup: sync with them
			// now. A peer whose own init_connect was lost meanwhile is caught up by the
			// handshake's cancel and restart.
			s.Send(s.PID(), connectResult{Node: n})
		}
	}
	if s.g.opts.Visible != nil {
		s.SendAfter(s.PID(), pollTick{}, s.g.opts.PollInterval)
	}
	return nil
}

// resync makes a restarted name server, which has lost every name and sync, known to peer n
// as new: the peer still counts this node as synced and would never sync with it again. On
// BEAM a failing global_name_server takes its node down (kernel_sup restarts nothing); here
// the node stays up and only its connection to n is closed, so that n drops this node's
// names, and then made again, so that both sync as after any nodeup.
func (s *server) resync(n gen.Atom) {
	remote, err := s.Node().Network().Node(n)
	if err != nil {
		return
	}
	s.Log().Warning("global_name_server restarted: reconnecting to %s to sync with it anew", n)
	remote.Disconnect()
	network := s.Node().Network()
	go func() {
		for range 500 { // until the old connection is gone, 5 s at most
			if _, err := network.Node(n); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		network.GetNode(n)
	}()
}

// visible reports whether a connection to n takes part in global, as far as this node can
// tell: with Options.Visible the hook decides, without it every connection is assumed
// visible and a hidden peer simply never answers.
func (s *server) visible(n gen.Atom) bool {
	if s.g.opts.Visible == nil {
		return true
	}
	return s.g.opts.Visible(n)
}

func (s *server) Terminate(reason error) {
	s.g.detach(s.t)
	for _, w := range s.syncers {
		w.done <- ErrNotRunning
	}
}

// HandleMessage sorts casts, calls made with gen_server:multi_call, plain messages and the
// messages of this package's own processes.
func (s *server) HandleMessage(from gen.PID, message any) error {
	defer s.updateNodes()
	switch m := message.(type) {
	case etf.Tuple:
		s.fromPeer(from)
		if len(m) == 2 && m[0] == atomGenCast {
			return s.handleCast(from, m[1])
		}
		if c, req, ok := parseGenCall(m); ok {
			s.handleCall(c, req, func(reply etf.Term) { replyTo(s, c, reply) })
			return nil
		}
		return s.handleInfo(from, m)
	case gen.MessageDownNode:
		s.nodeDown(m.Name)
	case gen.MessageDownPID:
		s.pidDown(m.PID)
	case gen.MessageExitPID:
		if m.PID == s.locker {
			return fmt.Errorf("global: locker died: %w", m.Reason)
		}
		if m.PID == s.registrar {
			return fmt.Errorf("global: registrar died: %w", m.Reason)
		}
		// Other processes linked to the server: their exits are ignored, as by global,
		// which traps exits.
	case connectResult:
		s.connected(m)
	case connectRecheck:
		s.recheck(m)
	case replayInitConnect:
		s.initConnect(m.m)
	case exchangeOps:
		s.exchangeOps(m)
	case lockIsSet:
		s.lockIsSet(m)
	case syncRequest:
		s.startSync(m)
	case whereisRetry:
		s.whereis(m.m)
	case pollTick:
		s.poll()
	default:
		s.Log().Warning("global_name_server: unexpected message %v from %s", message, from)
	}
	return nil
}

// HandleCall takes the calls the distribution layer turned into Ergo calls (plain
// gen_server:call from BEAM); the reply goes back with SendResponse.
func (s *server) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	defer s.updateNodes()
	s.fromPeer(from)
	s.handleCall(caller{Pid: from}, request, func(reply etf.Term) { s.SendResponse(from, ref, reply) })
	return nil, nil
}

// fromPeer notes that a remote node's global processes talk to this node: global counts a
// node as up from its nodeup, and this is the earliest sign of one that Ergo gives.
func (s *server) fromPeer(from gen.PID) {
	n := from.Node
	// A hidden node may call global (get_known, whereis_name) without taking part in it, as
	// with BEAM's global, which syncs with the nodes of nodes() alone.
	if n == "" || n == s.Node().Name() || !s.visible(n) {
		return
	}
	s.participants[n] = true
	s.nodeUp(n)
}

// nodeUp handles a connection seen for the first time (global's handle_info nodeup).
func (s *server) nodeUp(n gen.Atom) {
	if s.up[n] || n == s.Node().Name() {
		return
	}
	// A message from a node whose nodedown was already handled must not connect again.
	if _, err := s.Node().Network().Node(n); err != nil {
		return
	}
	s.up[n] = true
	if err := s.MonitorNode(n); err != nil && !errors.Is(err, gen.ErrTargetExist) {
		s.Log().Debug("global_name_server: cannot monitor %s: %s", n, err)
	}
	s.monitorDeferred(n)
	s.handleNodeup(n)
}

// nodeDown is global's handle_info nodedown.
func (s *server) nodeDown(n gen.Atom) {
	if !s.up[n] {
		return
	}
	delete(s.up, n)
	delete(s.participants, n)
	s.syncDone(n)
	s.handleNodedown(n, nodedownDisconnected)
}

func (s *server) poll() {
	for _, n := range s.Node().Network().Nodes() {
		if !s.up[n] && s.visible(n) {
			s.nodeUp(n)
		}
	}
	s.SendAfter(s.PID(), pollTick{}, s.g.opts.PollInterval)
}

func (s *server) handleCast(from gen.PID, req etf.Term) error {
	m, err := decodeCast(req)
	if err != nil {
		// global logs and ignores requests it does not know.
		s.Log().Warning("global_name_server: %s (from %s)", err, from)
		return nil
	}
	switch m := m.(type) {
	case initConnect:
		s.initConnect(m)
	case lockSet:
		s.lockSetCast(m)
	case exchangeMsg:
		s.exchange(m)
	case resolvedMsg:
		s.resolvedCast(m)
	case newNodesMsg:
		s.newNodes(m)
	case inSync:
		s.inSync(m)
	case ignoredCast:
	}
	return nil
}

func (s *server) handleInfo(from gen.PID, msg etf.Tuple) error {
	m, err := decodeInfo(msg)
	if err != nil {
		s.Log().Warning("global_name_server: %s (from %s)", err, from)
		return nil
	}
	switch m := m.(type) {
	case initConnectAck:
		s.initConnectAck(m)
	case cancelConnect:
		s.cancelConnect(m)
	case lostConnection:
		s.lostConnection(m)
	case removeConnection:
		s.removeConnection(m)
	case whereisMsg:
		s.whereis(m)
	}
	return nil
}

// handleCall is global's handle_call/3 for the requests other nodes make.
func (s *server) handleCall(from caller, req etf.Term, reply func(etf.Term)) {
	m, err := decodeCall(req)
	if err != nil {
		// global logs unknown calls and does not answer them.
		s.Log().Warning("global_name_server: %s (from %s)", err, from.Pid)
		return
	}
	switch m := m.(type) {
	case registerReq:
		s.insName(nameEntry{Name: m.Name, Pid: m.Pid, Method: m.Method}, lockHolder{pid: from.Pid, isPid: true}, nil)
		reply(atomYes)
	case registerExtReq:
		s.insName(nameEntry(m), lockHolder{pid: from.Pid, isPid: true}, nil)
		reply(atomYes)
	case unregisterReq:
		s.deleteName(m.Name)
		reply(atomOK)
	case setLockReq:
		reply(s.setLock(m.ID, from.Pid))
	case delLockReq:
		s.delLock(m.ID, from.Pid)
		reply(true)
	case simpleReq:
		switch m.Name {
		case "get_known":
			reply(nodesTerm(s.knownList()))
		case "get_synced":
			reply(nodesTerm(s.synced))
		case "get_protocol_version":
			reply(Version)
		case "get_names_ext":
			reply(extNamesTerm(s.t.extList()))
		}
	}
}

// Names.

// lockHolder is who a name operation comes from, for lock_still_set/3: the registrar pid
// that set the global lock, or the node whose sync carried the operation.
type lockHolder struct {
	pid   gen.PID
	node  gen.Atom
	isPid bool
	extra etf.Term
}

// insName is global's ins_name/6 and ins_name_ext/7.
func (s *server) insName(e nameEntry, from lockHolder, extra etf.Term) {
	from.extra = extra
	s.watch(e.Pid)
	if old, had := s.t.insertName(e); had {
		s.unwatch(old.Pid)
	}
	if !s.lockStillSet(from) {
		s.deleteName(e.Name)
	}
}

// lockStillSet is global's lock_still_set/3: a name is only taken in while the lock that
// protects its registration is held, so a registration that raced a lock's release is
// dropped rather than left on some nodes only.
func (s *server) lockStillSet(from lockHolder) bool {
	l, ok := s.t.lock(atomGlobal)
	if !ok {
		return !s.globalLockDown
	}
	if from.isPid {
		return slices.Contains(l.Holders, from.pid)
	}
	id, ok := extraLockID(from.extra)
	return ok && etf.Equal(l.Requester, id)
}

// deleteName is global's delete_global_name2/2.
func (s *server) deleteName(name etf.Term) {
	if e, ok := s.t.deleteName(name); ok {
		s.unwatch(e.Pid)
	}
}

// where is global's where/1: the pid of a name, if its process lives.
func (s *server) where(name etf.Term) (gen.PID, bool) {
	return s.g.where(s.t, name)
}

// whereis answers {whereis, Name, From}, waiting while the global lock is set.
func (s *server) whereis(m whereisMsg) {
	if s.t.isLockSet(atomGlobal) {
		s.SendAfter(s.PID(), whereisRetry{m}, randomSleep(5))
		return
	}
	from, ok := parseFrom(m.From)
	if !ok {
		return
	}
	var reply etf.Term = atomUndefined
	if pid, ok := s.where(m.Name); ok {
		reply = pid
	}
	replyTo(s, from, reply)
}

// Locks.

// setLock is global's handle_set_lock/3.
func (s *server) setLock(id lockID, pid gen.PID) bool {
	holders, ok := s.t.canSetLock(id)
	if !ok {
		return false
	}
	if !slices.Contains(holders, pid) {
		s.t.addHolder(id, pid)
		s.watch(pid)
	}
	return true
}

// delLock is global's handle_del_lock/3.
func (s *server) delLock(id lockID, pid gen.PID) {
	l, ok := s.t.lock(id.Resource)
	if !ok || !etf.Equal(l.Requester, id.Requester) {
		return
	}
	s.removeLock(id.Resource, pid, false)
}

// removeLock is global's remove_lock/6: down says whether the holder died, which global
// remembers for its own lock (global_lock_down) so that names inserted under a lock that
// vanished with its holder are not kept.
func (s *server) removeLock(resource etf.Term, pid gen.PID, down bool) {
	held, gone := s.t.removeHolder(resource, pid)
	if !held {
		return
	}
	s.unwatch(pid)
	if gone && etf.Equal(resource, atomGlobal) {
		s.globalLockDown = down
	}
}

// Monitors of the pids behind names and locks.

func (s *server) watch(pid gen.PID) {
	s.monitored[pid]++
	if s.monitored[pid] == 1 {
		s.monitorNow(pid)
	}
}

func (s *server) unwatch(pid gen.PID) {
	switch s.monitored[pid] {
	case 0:
		return
	case 1:
		delete(s.monitored, pid)
		if pids, ok := s.deferredMonitors[pid.Node]; ok {
			s.deferredMonitors[pid.Node] = slices.DeleteFunc(pids, func(p gen.PID) bool { return p == pid })
		}
		s.DemonitorPID(pid)
	default:
		s.monitored[pid]--
	}
}

// takeDeferred returns the pids of node n waiting for a monitor and forgets them. The list is
// taken out before anything is done with its pids: monitorNow puts a pid back on a new list if
// the connection has gone again meanwhile, and pidDown removes each pid from the list as its
// names go, which would shorten the list being walked.
func (s *server) takeDeferred(n gen.Atom) []gen.PID {
	pids := s.deferredMonitors[n]
	delete(s.deferredMonitors, n)
	return pids
}

// monitorDeferred monitors the pids of node n that waited for its connection.
func (s *server) monitorDeferred(n gen.Atom) {
	for _, pid := range s.takeDeferred(n) {
		s.monitorNow(pid)
	}
}

// monitorNow monitors pid, or, when its node is not connected, connects first: Ergo would
// dial inside MonitorPID while holding the node's monitor table, so the server never lets it.
func (s *server) monitorNow(pid gen.PID) {
	if s.monitored[pid] == 0 {
		return
	}
	if pid.Node != s.Node().Name() {
		if _, err := s.Node().Network().Node(pid.Node); err != nil {
			s.deferredMonitors[pid.Node] = append(s.deferredMonitors[pid.Node], pid)
			s.connect(pid.Node, false)
			return
		}
	}
	if err := s.MonitorPID(pid); err != nil && !errors.Is(err, gen.ErrTargetExist) {
		s.Send(s.PID(), gen.MessageDownPID{PID: pid, Reason: err})
	}
}

// pidDown is global's 'DOWN' handling: the names and locks of a process that ended go.
func (s *server) pidDown(pid gen.PID) {
	if s.monitored[pid] == 0 {
		return
	}
	for _, l := range s.t.locksHeldBy(pid) {
		s.removeLock(l.Resource, pid, true)
	}
	for _, name := range s.t.namesOf(pid) {
		s.deleteName(name)
	}
	if s.monitored[pid] > 0 {
		delete(s.monitored, pid)
	}
}

// deleteNodeResources is global's delete_node_resources/2 (OTP 27 and later): when a sync
// with a node starts over, what its processes held here from before goes.
func (s *server) deleteNodeResources(n gen.Atom) {
	for _, pid := range s.t.pidsOn(n) {
		s.pidDown(pid)
	}
}

// Node sets.

func (s *server) knownList() []gen.Atom {
	out := make([]gen.Atom, 0, len(s.known))
	for n := range s.known {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// updateNodes publishes the node sets to the tables the registrar and the API read.
func (s *server) updateNodes() {
	synced := slices.Clone(s.synced)
	slices.Sort(synced)
	s.t.setNodes(s.knownList(), synced)
}

// nodeVsn is global's node_vsn/2.
func (s *server) nodeVsn(n gen.Atom) int {
	if n == s.Node().Name() {
		return Version
	}
	if v, ok := s.known[n]; ok {
		return v
	}
	if v, ok := s.pending[n]; ok {
		return v
	}
	return 0
}

// knownTerm is global's mk_known_list/2: {Node, Vsn} pairs for peers of version 7 and later,
// bare names for older ones.
func (s *server) knownTerm(vsn int) etf.List {
	out := make(etf.List, 0, len(s.known))
	for _, n := range s.knownList() {
		if vsn < 7 {
			out = append(out, n)
		} else {
			out = append(out, etf.Tuple{n, s.known[n]})
		}
	}
	return out
}

// addToKnown is global's add_to_known/2; it returns the nodes it added.
func (s *server) addToKnown(nodes []nodeVsn) []gen.Atom {
	var added []gen.Atom
	for _, nv := range nodes {
		if nv.Node == s.Node().Name() {
			continue
		}
		if _, ok := s.known[nv.Node]; ok {
			continue
		}
		s.known[nv.Node] = nv.Vsn
		added = append([]gen.Atom{nv.Node}, added...)
	}
	return added
}

// Sends to other name servers. None of them connects: global's casts go to nodes that are
// connected, and a node that is not has its nodedown handled already.

func (s *server) sendServer(n gen.Atom, msg etf.Term) {
	if n == s.Node().Name() {
		s.Send(s.PID(), msg)
		return
	}
	if _, err := s.Node().Network().Node(n); err != nil {
		return
	}
	s.SendProcessID(gen.ProcessID{Name: ServerName, Node: n}, msg)
}

func (s *server) castServer(n gen.Atom, req etf.Term) { s.sendServer(n, cast(req)) }

// Sync waiters (global:sync/0).

func (s *server) startSync(r syncRequest) {
	w := &syncWaiter{remaining: make(map[gen.Atom]struct{}), done: r.done}
	for n := range s.up {
		if slices.Contains(s.synced, n) {
			continue
		}
		if s.participants[n] || (s.g.opts.Visible != nil && s.g.opts.Visible(n)) {
			w.remaining[n] = struct{}{}
		}
	}
	if len(w.remaining) == 0 {
		r.done <- nil
		return
	}
	s.syncers = append(s.syncers, w)
}

// syncDone tells the waiters that node n is synced or gone.
func (s *server) syncDone(n gen.Atom) {
	s.syncers = slices.DeleteFunc(s.syncers, func(w *syncWaiter) bool {
		delete(w.remaining, n)
		if len(w.remaining) == 0 {
			w.done <- nil
			return true
		}
		return false
	})
}

// randomSleep is global's random_sleep/1: up to 2^Times/8 s, at most 8 s.
func randomSleep(times int) time.Duration {
	maxMs := 8000
	if times <= 5 {
		maxMs = (1 << times) * 1000 / 8
	}
	return time.Duration(1+rand.IntN(maxMs)) * time.Millisecond
}
