package dist

import (
	"errors"
	"fmt"
	"sync"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Erlang's links are two-way and its monitors are identified by references; Ergo's links are
// one-way and its monitors carry no reference. The connection therefore remembers, per local
// target, which peer processes linked or monitored it and with which reference, and answers
// with the exact Erlang signals when Ergo reports that the target terminated.
type signalTables struct {
	mu sync.Mutex
	// links[local][remote] is the state of the link between a local process and a peer
	// process, whichever side made it, as the link protocol keeps it per process: linkActive,
	// or the id of the UNLINK_ID this side sent and the peer has not acknowledged yet. An
	// unlinking link is no link: exit signals along it are ignored, and a LINK from the peer,
	// sent before the peer saw the UNLINK_ID, does not bring it back. The links Ergo makes for
	// its local processes are those of the node's core pid.
	links map[gen.PID]map[gen.PID]uint64
	// monitors of local processes; those made by registered name are filed under the pid the
	// name stood for when the monitor was set, as on BEAM, with the name for their DOWN
	monitors      map[gen.PID]*monitorSet
	namedMonitors map[gen.Ref]namedMonitor
	// outgoing monitors made by Ergo (from its core pid): target -> our reference
	outMonitors     map[gen.PID]gen.Ref
	outNameMonitors map[gen.Atom]gen.Ref
	// references of outgoing monitors -> the monitored target
	outRefs map[gen.Ref]outMonitor
	// monitors local processes hold on peer processes (Monitor), by reference, and their
	// references by the local process that holds them, so that its end removes them
	localMonitors map[gen.Ref]localMonitor
	monitorsHeld  map[gen.PID]map[gen.Ref]struct{}
	unlinkID      uint64
}

// linkActive is the state of a link that is not being unlinked; unlink ids start at 1.
const linkActive uint64 = 0

// namedMonitor is a peer's monitor set by name: the name, and the process it stood for.
type namedMonitor struct {
	name gen.Atom
	pid  gen.PID
}

type outMonitor struct {
	pid  gen.PID
	name gen.Atom
}

func addTo[K comparable, V comparable, W any](m *map[K]map[V]W, k K, v V, w W) {
	if *m == nil {
		*m = make(map[K]map[V]W)
	}
	inner := (*m)[k]
	if inner == nil {
		inner = make(map[V]W)
		(*m)[k] = inner
	}
	inner[v] = w
}

// removeFrom removes v from the set of k, and reports whether it was there.
func removeFrom[K comparable, V comparable, W any](m map[K]map[V]W, k K, v V) bool {
	inner := m[k]
	if _, ok := inner[v]; !ok {
		return false
	}
	delete(inner, v)
	if len(inner) == 0 {
		delete(m, k)
	}
	return true
}

// monitorSet is the monitors peer processes hold on one local process or name: the peer
// process of each reference, and how many references each peer process holds. Ergo keeps one
// monitor per pair of processes, so only the pair's last reference may remove it; the count
// answers that at once, where looking through the references would make the demonitors of N
// callers of one busy process cost N squared.
type monitorSet struct {
	byRef   map[gen.Ref]gen.PID
	holders map[gen.PID]int
}

func (s *monitorSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.byRef)
}

// addMonitor records that from monitors key under ref.
func addMonitor[K comparable](m *map[K]*monitorSet, key K, ref gen.Ref, from gen.PID) {
	if *m == nil {
		*m = make(map[K]*monitorSet)
	}
	s := (*m)[key]
	if s == nil {
		s = &monitorSet{byRef: make(map[gen.Ref]gen.PID), holders: make(map[gen.PID]int)}
		(*m)[key] = s
	}
	if old, ok := s.byRef[ref]; ok {
		s.release(old) // a reference used twice: the later monitor stands
	}
	s.byRef[ref] = from
	s.holders[from]++
}

// removeMonitor removes the monitor from holds on key under ref. removed is false when there
// is none: only the process that made a monitor removes it, so a peer naming another
// process's reference cannot take that process's Ergo monitor away. last is true when from
// holds no other reference on key.
func removeMonitor[K comparable](m map[K]*monitorSet, key K, ref gen.Ref, from gen.PID) (removed, last bool) {
	s := m[key]
	if s == nil {
		return false, false
	}
	if holder, ok := s.byRef[ref]; !ok || holder != from {
		return false, false
	}
	delete(s.byRef, ref)
	last = s.release(from)
	if len(s.byRef) == 0 {
		delete(m, key)
	}
	return true, last
}

// release drops one reference of from and reports whether it was from's last.
func (s *monitorSet) release(from gen.PID) bool {
	if s.holders[from] <= 1 {
		delete(s.holders, from)
		return true
	}
	s.holders[from]--
	return false
}

// dispatch routes one signal from the peer into Ergo. Errors from Ergo (an unknown target, say)
// are Erlang semantics, not faults: a message to a dead process is dropped as BEAM drops it.
// The error it returns is the peer's: a signal BEAM would refuse, which ends the connection.
func (c *Connection) dispatch(ctrl Control, payload etf.Term) error {
	if err := c.checkProcesses(ctrl); err != nil {
		return err
	}
	local := c.core.Name()
	switch ctrl.Op {
	case OpSend, OpSendTT, OpSendSender, OpSendSenderTT:
		if ctrl.To.Node != local {
			// Ergo would pass it on to that node: BEAM drops it.
			c.log.Debug("message from %s to %s, not a process of this node, dropped", c.peer.Name, ctrl.To)
			return nil
		}
		c.deliver(ctrl.From, payload, func(opts gen.MessageOptions, msg any) error {
			return c.core.RouteSendPID(ctrl.From, ctrl.To, opts, msg)
		}, func(opts gen.MessageOptions, req any) error {
			return c.core.RouteCallPID(ctrl.From, ctrl.To, opts, req)
		}, ctrl.To, ctrl.To)

	case OpRegSend, OpRegSendTT:
		to := gen.ProcessID{Name: ctrl.ToName, Node: local}
		c.deliver(ctrl.From, payload, func(opts gen.MessageOptions, msg any) error {
			return c.core.RouteSendProcessID(ctrl.From, to, opts, msg)
		}, func(opts gen.MessageOptions, req any) error {
			return c.core.RouteCallProcessID(ctrl.From, to, opts, req)
		}, gen.PID{}, ctrl.ToName)

	case OpAliasSend, OpAliasSendTT:
		if ctrl.Ref.Node != local {
			c.log.Debug("message from %s to alias %s, not one of this node, dropped", c.peer.Name, ctrl.Ref)
			return nil
		}
		alias := gen.Alias(ctrl.Ref)
		c.deliver(ctrl.From, payload, func(opts gen.MessageOptions, msg any) error {
			return c.core.RouteSendAlias(ctrl.From, alias, opts, msg)
		}, func(opts gen.MessageOptions, req any) error {
			return c.core.RouteCallAlias(ctrl.From, alias, opts, req)
		}, gen.PID{}, alias)

	case OpLink:
		c.linkIn(ctrl.From, ctrl.To)

	case OpUnlink:
		c.unlinkIn(ctrl.From, ctrl.To, false)

	case OpUnlinkID:
		c.unlinkIn(ctrl.From, ctrl.To, true)
		c.sendLogged(Control{Op: OpUnlinkIDAck, ID: ctrl.ID, From: ctrl.To, To: ctrl.From}, nil)

	case OpUnlinkIDAck:
		c.unlinkAcked(ctrl.From, ctrl.To, ctrl.ID)

	case OpNodeLink, OpGroupLeader:
		// Nothing to do: the group leader and node links have no Ergo counterpart.

	case OpExit, OpExitTT, OpPayloadExit, OpPayloadExitTT:
		reason := ctrl.Reason
		if ctrl.Op == OpPayloadExit || ctrl.Op == OpPayloadExitTT {
			reason = payload
		}
		c.exitIn(ctrl.From, ctrl.To, ReasonFromTerm(reason))

	case OpExit2, OpExit2TT, OpPayloadExit2, OpPayloadExit2TT:
		reason := ctrl.Reason
		if ctrl.Op == OpPayloadExit2 || ctrl.Op == OpPayloadExit2TT {
			reason = payload
		}
		c.exitSignal(ctrl.From, ctrl.To, ReasonFromTerm(reason), true)

	case OpMonitorP:
		c.monitorIn(ctrl)

	case OpDemonitorP:
		c.demonitorIn(ctrl)

	case OpMonitorPExit, OpPayloadMonitorPExit:
		reason := ctrl.Reason
		if ctrl.Op == OpPayloadMonitorPExit {
			reason = payload
		}
		c.downIn(ctrl.Ref, ReasonFromTerm(reason))

	case OpSpawnRequest, OpSpawnRequestTT:
		c.spawnIn(ctrl, payload)

	case OpSpawnReply, OpSpawnReplyTT:
		// This node sends no spawn requests of its own yet.
		c.log.Debug("unexpected SPAWN_REPLY from %s ignored", c.peer.Name)
	}
	return nil
}

// checkProcesses refuses, as BEAM does, a link, unlink, monitor, exit or spawn signal whose
// sender is not a process of the peer, or whose target is a process of a third node. Ergo
// would take them: it would file another node's process in its link and monitor tables,
// where the end of this connection does not clear it, or pass the signal on to that node.
func (c *Connection) checkProcesses(ctrl Control) error {
	var target bool // ctrl.To is a process of this node
	switch ctrl.Op {
	case OpLink, OpUnlink, OpUnlinkID, OpUnlinkIDAck, OpExit, OpExitTT, OpPayloadExit,
		OpPayloadExitTT, OpExit2, OpExit2TT, OpPayloadExit2, OpPayloadExit2TT:
		target = true
	case OpMonitorP, OpDemonitorP:
		target = ctrl.ToName == ""
	case OpSpawnRequest, OpSpawnRequestTT:
	default:
		return nil
	}
	if ctrl.From.Node != c.peer.Name {
		return badControl(ctrl.Op, "the sender %s is not a process of %s", ctrl.From, c.peer.Name)
	}
	if target && ctrl.To.Node != c.core.Name() {
		return badControl(ctrl.Op, "the target %s is not a process of this node", ctrl.To)
	}
	return nil
}

// deliver hands a message to Ergo: a gen_server call as a call (so any Ergo actor answers
// GenServer.call), a reply to one of our calls as its response, anything else as a message.
// to is the local pid for SEND (gen.PID{} otherwise), target the pid, name or alias for logs.
func (c *Connection) deliver(from gen.PID, msg etf.Term,
	send func(gen.MessageOptions, any) error, call func(gen.MessageOptions, any) error, to gen.PID, target any) {
	if caller, ref, tag, req, ok := parseGenCall(msg); ok {
		c.peerCalls.add(ref, caller, tag)
		if err := call(gen.MessageOptions{Ref: ref}, req); err != nil {
			c.peerCalls.take(ref)
			c.undeliverable("call", caller, target, err)
		}
		return
	}
	if t, ok := msg.(etf.Tuple); ok && len(t) == 2 && to != (gen.PID{}) {
		if ref, ok := t[0].(etf.Ref); ok {
			if call, ok := c.calls.takeReply(ref, to); ok {
				if call.monitored() {
					c.sendLogged(Control{Op: OpDemonitorP, From: call.caller, To: call.target, ToName: call.name, Ref: ref}, nil)
				}
				c.core.RouteSendResponse(from, to, gen.MessageOptions{Ref: ref}, t[1])
				return
			}
		}
	}
	if err := send(gen.MessageOptions{}, msg); err != nil {
		c.undeliverable("message", from, target, err)
	}
}

// linkIn records a link the peer made to a local process; if that process does not exist,
// the peer gets the exit signal noproc at once, as BEAM would send it. A LINK for a link this
// side already has, active or being unlinked, is ignored, as the link protocol says: when this
// side's UNLINK_ID crossed the peer's LINK, the peer removes the link when the UNLINK_ID
// reaches it, and both sides end up unlinked.
//
// The link is recorded before Ergo learns of it: from then on the process's end reaches the
// connection (SendTerminatePID), which finds the peer process to send the EXIT to only in the
// record. An end that came first already sent the EXIT and took the record with it.
func (c *Connection) linkIn(from, to gen.PID) {
	c.sig.mu.Lock()
	_, known := c.sig.links[to][from]
	if !known {
		addTo(&c.sig.links, to, from, linkActive)
	}
	c.sig.mu.Unlock()
	if known {
		return
	}
	if err := c.core.RouteLinkPID(from, to); err != nil && c.forgetLink(to, from) {
		c.sendExit(to, from, ReasonTerm(gen.ErrProcessUnknown))
	}
}

// unlinkIn is the peer's UNLINK_ID (withID) or old-style UNLINK. An UNLINK_ID removes an active
// link only: a link this side is unlinking waits for the ack of its own UNLINK_ID.
func (c *Connection) unlinkIn(from, to gen.PID, withID bool) {
	c.sig.mu.Lock()
	state, known := c.sig.links[to][from]
	removed := known && (state == linkActive || !withID)
	if removed {
		removeFrom(c.sig.links, to, from)
	}
	c.sig.mu.Unlock()
	if removed {
		c.core.RouteUnlinkPID(from, to)
	}
}

// unlinkAcked is the peer's UNLINK_ID_ACK: the unlink with that id is over, unless the link was
// made again since.
func (c *Connection) unlinkAcked(from, to gen.PID, id uint64) {
	c.sig.mu.Lock()
	if state, known := c.sig.links[to][from]; known && state != linkActive && state == id {
		removeFrom(c.sig.links, to, from)
	}
	c.sig.mu.Unlock()
}

// exitIn is an exit signal along a link. Links Ergo made to the peer are owned by the node's
// core pid, so the core learns the target terminated; a link the peer made to a local process
// ends with the exit signal to that process.
//
// An exit signal for a link this side does not have, or is unlinking, is dropped, as BEAM drops
// it. It is how an unlink stays final although the peer may have sent its EXIT before the
// UNLINK_ID reached it: such an EXIT arrives while the unlink waits for its UNLINK_ID_ACK. A
// new link made before the ack is a link again, as on BEAM, where linking again ends the
// unlinking state.
func (c *Connection) exitIn(from, to gen.PID, reason error) {
	c.sig.mu.Lock()
	state, known := c.sig.links[to][from]
	if known {
		removeFrom(c.sig.links, to, from)
	}
	c.sig.mu.Unlock()
	if !known || state != linkActive {
		c.log.Debug("EXIT from %s to %s dropped: they are not linked", from, to)
		return
	}
	if to == c.core.PID() {
		c.core.RouteTerminatePID(from, reason)
		return
	}
	c.core.RouteUnlinkPID(from, to)
	c.exitSignal(from, to, reason, false)
}

// monitorIn records a monitor the peer set on a local process, by pid or by name, before Ergo
// learns of it, for the reason linkIn records a link first: the DOWN of an end that follows at
// once needs the record.
//
// A monitor by name watches the process the name stands for when the monitor is set, as on
// BEAM: the DOWN comes when that process ends, naming {Name, Node}, and not when the name is
// unregistered or given to another process. A name that stands for nothing gets DOWN noproc at
// once.
func (c *Connection) monitorIn(ctrl Control) {
	to := ctrl.To
	if ctrl.ToName != "" {
		pid, ok := c.registered(ctrl.ToName)
		if !ok {
			c.sendDown(gen.PID{}, ctrl.ToName, ctrl.From, ctrl.Ref, ReasonTerm(gen.ErrProcessUnknown))
			return
		}
		to = pid
	}
	c.sig.mu.Lock()
	addMonitor(&c.sig.monitors, to, ctrl.Ref, ctrl.From)
	if ctrl.ToName != "" {
		if c.sig.namedMonitors == nil {
			c.sig.namedMonitors = make(map[gen.Ref]namedMonitor)
		}
		c.sig.namedMonitors[ctrl.Ref] = namedMonitor{name: ctrl.ToName, pid: to}
	}
	c.sig.mu.Unlock()
	if err := c.core.RouteMonitorPID(ctrl.From, to); err == nil {
		return
	}
	// The target does not exist: BEAM answers at once with DOWN noproc, unless an end
	// already sent the DOWN.
	c.sig.mu.Lock()
	recorded, _ := removeMonitor(c.sig.monitors, to, ctrl.Ref, ctrl.From)
	if recorded {
		delete(c.sig.namedMonitors, ctrl.Ref)
	}
	c.sig.mu.Unlock()
	if recorded {
		c.sendDown(ctrl.To, ctrl.ToName, ctrl.From, ctrl.Ref, ReasonTerm(gen.ErrProcessUnknown))
	}
}

// registered returns the local process registered under name.
func (c *Connection) registered(name gen.Atom) (gen.PID, bool) {
	r, ok := c.core.(interface {
		ProcessPID(gen.Atom) (gen.PID, error)
	})
	if !ok {
		return gen.PID{}, false
	}
	pid, err := r.ProcessPID(name)
	return pid, err == nil
}

func (c *Connection) demonitorIn(ctrl Control) {
	// gen:call demonitors the callee when the reply has come or the caller stopped waiting,
	// with the call's own reference: the call is over (see peerCalls).
	c.peerCalls.giveUp(ctrl.Ref, ctrl.From)
	to := ctrl.To
	c.sig.mu.Lock()
	if ctrl.ToName != "" {
		named, ok := c.sig.namedMonitors[ctrl.Ref]
		if !ok || named.name != ctrl.ToName {
			c.sig.mu.Unlock()
			return
		}
		to = named.pid
	}
	removed, last := removeMonitor(c.sig.monitors, to, ctrl.Ref, ctrl.From)
	if removed {
		delete(c.sig.namedMonitors, ctrl.Ref)
	}
	c.sig.mu.Unlock()
	if !removed || !last {
		// No such monitor (the target ended, or the reference is not the sender's), or the
		// same process monitors the target under another reference too.
		return
	}
	c.core.RouteDemonitorPID(ctrl.From, to)
}

// downIn is the DOWN of a monitor Ergo made on a peer process.
func (c *Connection) downIn(ref gen.Ref, reason error) {
	c.sig.mu.Lock()
	if m, ok := c.sig.localMonitors[ref]; ok {
		last := c.dropLocalMonitor(ref, m)
		c.sig.mu.Unlock()
		c.heldNoMore(m.local, last)
		c.deliverDown(ref, m, reason)
		return
	}
	if call, ok := c.calls.take(ref); ok {
		// The called process is gone (or never existed): the call fails with its reason.
		c.sig.mu.Unlock()
		c.core.RouteSendResponseError(call.target, call.caller, gen.MessageOptions{Ref: ref}, reason)
		return
	}
	target, ok := c.sig.outRefs[ref]
	if ok {
		delete(c.sig.outRefs, ref)
		if target.name != "" {
			delete(c.sig.outNameMonitors, target.name)
		} else {
			delete(c.sig.outMonitors, target.pid)
		}
	}
	c.sig.mu.Unlock()
	if !ok {
		return
	}
	if target.name != "" {
		c.core.RouteTerminateProcessID(gen.ProcessID{Name: target.name, Node: c.peer.Name}, reason)
		return
	}
	c.core.RouteTerminatePID(target.pid, reason)
}

// SpawnRequest is a peer's request to start a process on this node.
type SpawnRequest struct {
	// Peer is the node that asked.
	Peer gen.Atom
	// Ref identifies the request; it becomes the monitor reference if Monitor is set.
	Ref gen.Ref
	// From is the requesting process, the parent to be; GroupLeader its group leader.
	From, GroupLeader gen.PID
	// Module, Function and Args are the entry point: apply(Module, Function, Args).
	Module, Function gen.Atom
	Args             etf.List
	// Link and Monitor say whether the parent asked to be linked to, or to monitor, the new
	// process; Options holds every spawn option as sent, these two included.
	Link, Monitor bool
	Options       etf.List
}

// SpawnError is the reason a spawn request failed, sent back as the atom Erlang expects
// (badarg, system_limit, notsup, ...).
type SpawnError struct{ Reason etf.Atom }

func (e *SpawnError) Error() string { return "spawn request refused: " + string(e.Reason) }

// spawnIn answers a spawn request: the new pid, or the atom saying why not.
func (c *Connection) spawnIn(ctrl Control, args etf.Term) {
	reply := Control{Op: OpSpawnReply, Ref: ctrl.Ref, To: ctrl.From}
	argList, ok := etf.ProperList(args)
	if !ok {
		reply.Result = etf.Atom("badarg")
		c.sendLogged(reply, nil)
		return
	}
	req := SpawnRequest{
		Peer: c.peer.Name, Ref: ctrl.Ref, From: ctrl.From, GroupLeader: ctrl.GroupLeader,
		Module: ctrl.Module, Function: ctrl.Function, Args: argList, Options: ctrl.SpawnOpts,
	}
	for _, o := range ctrl.SpawnOpts {
		switch o {
		case etf.Atom("link"):
			req.Link = true
		case etf.Atom("monitor"):
			req.Monitor = true
		}
	}
	if c.opts.Spawn == nil {
		reply.Result = etf.Atom("notsup")
		c.sendLogged(reply, nil)
		return
	}
	pid, run, err := c.opts.Spawn(req)
	if err != nil {
		reason := etf.Atom("badarg")
		var se *SpawnError
		if errors.As(err, &se) {
			reason = se.Reason
		}
		reply.Result = reason
		c.sendLogged(reply, nil)
		return
	}
	// The link and the monitor exist before the reply leaves, as on BEAM, so an early exit of
	// the new process still reaches the parent.
	if req.Link {
		reply.Flags |= 1
		c.linkIn(ctrl.From, pid)
	}
	if req.Monitor {
		reply.Flags |= 2
		c.monitorIn(Control{Op: OpMonitorP, From: ctrl.From, To: pid, Ref: ctrl.Ref})
	}
	reply.Result = pid
	c.sendLogged(reply, nil)
	if run != nil {
		run()
	}
}

// terminated sends the Erlang signals for a local process that ended: EXIT to the peer
// processes linked to it and DOWN to those monitoring it.
func (c *Connection) terminated(pid gen.PID, reason error) {
	term := ReasonTerm(reason)
	c.sig.mu.Lock()
	links := c.sig.links[pid]
	delete(c.sig.links, pid)
	mons := c.sig.monitors[pid]
	delete(c.sig.monitors, pid)
	var names map[gen.Ref]gen.Atom // of the monitors set by name, for their DOWN
	if mons != nil && len(c.sig.namedMonitors) > 0 {
		for ref := range mons.byRef {
			if named, ok := c.sig.namedMonitors[ref]; ok {
				if names == nil {
					names = make(map[gen.Ref]gen.Atom)
				}
				names[ref] = named.name
				delete(c.sig.namedMonitors, ref)
			}
		}
	}
	var held []Control
	for ref := range c.sig.monitorsHeld[pid] {
		m := c.sig.localMonitors[ref]
		delete(c.sig.localMonitors, ref)
		held = append(held, Control{Op: OpDemonitorP, From: pid, To: m.pid, ToName: m.name.Name, Ref: ref})
	}
	delete(c.sig.monitorsHeld, pid)
	c.sig.mu.Unlock()
	// The monitors the process held on peer processes end with it, as on BEAM, where the
	// monitored process forgets a monitor whose holder is gone.
	for _, ctrl := range held {
		c.sendLogged(ctrl, nil)
	}
	for peerPid, state := range links {
		if state == linkActive { // one being unlinked is no link
			c.sendExit(pid, peerPid, term)
		}
	}
	if mons == nil {
		return
	}
	for ref, peerPid := range mons.byRef {
		// A call the process had not answered ends with this DOWN.
		c.peerCalls.take(ref)
		c.sendDown(pid, names[ref], peerPid, ref, term)
	}
}

func (c *Connection) sendExit(from, to gen.PID, reason etf.Term) {
	if c.peer.has(flagExitPayload) {
		c.sendReason(Control{Op: OpPayloadExit, From: from, To: to}, reason)
		return
	}
	c.sendReason(Control{Op: OpExit, From: from, To: to}, reason)
}

func (c *Connection) sendDown(from gen.PID, fromName gen.Atom, to gen.PID, ref gen.Ref, reason etf.Term) {
	if c.peer.has(flagExitPayload) {
		c.sendReason(Control{Op: OpPayloadMonitorPExit, From: from, FromName: fromName, To: to, Ref: ref}, reason)
		return
	}
	c.sendReason(Control{Op: OpMonitorPExit, From: from, FromName: fromName, To: to, Ref: ref}, reason)
}

// sendReason sends an exit or DOWN signal, a signal the node originates itself (see sendNow),
// with its reason, in the payload or in the control message as the operation wants. A reason
// that has no Erlang form goes as its text in a binary: the link or monitor on the other side
// must fire whatever the reason was.
func (c *Connection) sendReason(ctrl Control, reason etf.Term) {
	err := c.sendWithReason(ctrl, reason)
	if err == nil || errors.Is(err, errClosed) {
		return
	}
	c.log.Warning("%s to %s: the exit reason %v cannot be encoded (%s); sent as text", ctrl.Op, c.peer.Name, reason, err)
	if err := c.sendWithReason(ctrl, []byte(fmt.Sprint(reason))); err != nil {
		c.log.Debug("%s to %s not sent: %s", ctrl.Op, c.peer.Name, err)
	}
}

func (c *Connection) sendWithReason(ctrl Control, reason etf.Term) error {
	if ctrl.Op.HasPayload() {
		return c.sendNow(ctrl, reason)
	}
	ctrl.Reason = reason
	return c.sendNow(ctrl, nil)
}

// sendLogged sends a signal the node originates itself (see sendNow); a failure can only mean
// the connection is going away, which the reader reports.
func (c *Connection) sendLogged(ctrl Control, payload etf.Term) {
	if err := c.sendNow(ctrl, payload); err != nil {
		c.log.Debug("%s to %s not sent: %s", ctrl.Op, c.peer.Name, err)
	}
}
