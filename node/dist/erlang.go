package dist

import (
	"errors"

	"ergo.services/ergo/gen"
)

// This file gives local processes Erlang's links and monitors with processes on the peer.
// Ergo's own Link and Monitor on a remote pid are made by the node's core pid on behalf of all
// local consumers, which makes a one-way link; Erlang needs the two processes themselves to be
// linked, so that either one's exit reaches the other, and needs a reference per monitor.

// MessageDown is what a local process receives when a peer process it monitors with
// (*Connection).Monitor ends, or the connection to its node is lost (Reason noconnection).
// It is Erlang's {'DOWN', Ref, process, Object, Reason}.
type MessageDown struct {
	Ref gen.Ref
	// PID is the monitored process; Name is set instead when it was monitored by name.
	PID    gen.PID
	Name   gen.ProcessID
	Reason error
}

// ConnectionOf returns the distribution connection behind a remote node of this protocol.
func ConnectionOf(n gen.RemoteNode) (*Connection, bool) {
	r, ok := n.(*remoteNode)
	if !ok {
		return nil, false
	}
	return r.c, true
}

// Link links the local process local and the peer process remote, both ways: an exit of either
// is an exit signal to the other, and the loss of the connection is the exit signal
// noconnection to local.
func (c *Connection) Link(local, remote gen.PID) error {
	// Ergo tells the connection when local ends (SendTerminatePID) once the peer process is
	// registered as a consumer of it. By then the link is recorded, so that an end right after
	// finds the peer process to send the EXIT to (see linkIn), and the LINK is queued, so that
	// the EXIT follows it.
	c.rememberLink(local, remote)
	if err := c.send(Control{Op: OpLink, From: local, To: remote}, nil); err != nil {
		c.forgetLink(local, remote)
		return err
	}
	if err := c.core.RouteLinkPID(remote, local); err != nil {
		// local is gone: the peer process has the link, and the exit signal noproc ends it.
		if c.forgetLink(local, remote) {
			c.sendExit(local, remote, ReasonTerm(gen.ErrProcessUnknown))
		}
		return err
	}
	return nil
}

// rememberLink records the link between local and remote as active, also when it was being
// unlinked: the ack of that unlink will then be ignored.
func (c *Connection) rememberLink(local, remote gen.PID) {
	c.sig.mu.Lock()
	addTo(&c.sig.links, local, remote, linkActive)
	c.sig.mu.Unlock()
}

// forgetLink removes the record of a link and reports whether there was one.
func (c *Connection) forgetLink(local, remote gen.PID) bool {
	c.sig.mu.Lock()
	defer c.sig.mu.Unlock()
	return removeFrom(c.sig.links, local, remote)
}

// Unlink removes a link made by Link or by the peer.
func (c *Connection) Unlink(local, remote gen.PID) error {
	c.core.RouteUnlinkPID(remote, local)
	if ctrl, ok := c.startUnlink(local, remote); ok {
		return c.send(ctrl, nil)
	}
	return nil
}

// startUnlink ends the link between local and remote on this side and returns the signal that
// tells the peer: UNLINK_ID, after which the link waits for the peer's ack (unlinkAcked), or
// UNLINK to a peer without DFLAG_UNLINK_ID, after which it is gone. ok is false, and there is
// nothing to send, when the link was not active.
func (c *Connection) startUnlink(local, remote gen.PID) (ctrl Control, ok bool) {
	c.sig.mu.Lock()
	defer c.sig.mu.Unlock()
	if state, known := c.sig.links[local][remote]; !known || state != linkActive {
		return Control{}, false
	}
	if !c.peer.has(flagUnlinkID) {
		removeFrom(c.sig.links, local, remote)
		return Control{Op: OpUnlink, From: local, To: remote}, true
	}
	c.sig.unlinkID++
	c.sig.links[local][remote] = c.sig.unlinkID
	return Control{Op: OpUnlinkID, ID: c.sig.unlinkID, From: local, To: remote}, true
}

// Monitor makes local monitor the peer process target (a gen.PID, or a gen.ProcessID for a
// registered name). When target ends, local receives a MessageDown with the returned reference.
// When local ends first, the monitor ends with it: the peer is told (DEMONITOR_P), as BEAM
// tells it when a monitoring process exits.
func (c *Connection) Monitor(local gen.PID, target any) (gen.Ref, error) {
	ref := c.core.MakeRef()
	m := localMonitor{local: local}
	ctrl := Control{Op: OpMonitorP, From: local, Ref: ref}
	switch t := target.(type) {
	case gen.PID:
		m.pid, ctrl.To = t, t
	case gen.ProcessID:
		m.name, ctrl.ToName = t, t.Name
	default:
		return gen.Ref{}, errors.New("dist: a monitor target is a gen.PID or a gen.ProcessID")
	}
	c.sig.mu.Lock()
	if c.sig.localMonitors == nil {
		c.sig.localMonitors = make(map[gen.Ref]localMonitor)
	}
	c.sig.localMonitors[ref] = m
	_, holds := c.sig.monitorsHeld[local]
	addTo(&c.sig.monitorsHeld, local, ref, struct{}{})
	c.sig.mu.Unlock()
	if !holds {
		// Ergo tells the connection when local ends (SendTerminatePID) once a process of the
		// peer is a consumer of it; the holder stands for the monitors local holds.
		c.core.RouteMonitorPID(c.holder(), local)
	}
	if err := c.send(ctrl, nil); err != nil {
		c.sig.mu.Lock()
		last := c.dropLocalMonitor(ref, m)
		c.sig.mu.Unlock()
		c.heldNoMore(local, last)
		return gen.Ref{}, err
	}
	return ref, nil
}

// Demonitor removes a monitor made by Monitor; no MessageDown arrives for it afterwards.
func (c *Connection) Demonitor(ref gen.Ref) error {
	c.sig.mu.Lock()
	m, ok := c.sig.localMonitors[ref]
	last := ok && c.dropLocalMonitor(ref, m)
	c.sig.mu.Unlock()
	if !ok {
		return nil
	}
	c.heldNoMore(m.local, last)
	return c.send(Control{Op: OpDemonitorP, From: m.local, To: m.pid, ToName: m.name.Name, Ref: ref}, nil)
}

// dropLocalMonitor forgets the monitor ref, held by m.local, and reports whether it was the
// last that process held on this connection. c.sig.mu is held.
func (c *Connection) dropLocalMonitor(ref gen.Ref, m localMonitor) (last bool) {
	delete(c.sig.localMonitors, ref)
	removeFrom(c.sig.monitorsHeld, m.local, ref)
	_, holds := c.sig.monitorsHeld[m.local]
	return !holds
}

// heldNoMore takes the holder off local's consumers in Ergo when local holds no more monitors.
func (c *Connection) heldNoMore(local gen.PID, last bool) {
	if last {
		c.core.RouteDemonitorPID(c.holder(), local)
	}
}

// holder is the peer pid that Ergo keeps among the consumers of a local process for the
// monitors it holds on peer processes: no process of the peer has ID 0, so it is never
// confused with a peer process that links to or monitors the local one.
func (c *Connection) holder() gen.PID {
	return gen.PID{Node: c.peer.Name, ID: 0, Creation: int64(c.peer.Creation)}
}

// localMonitor is a monitor a local process holds on a peer process.
type localMonitor struct {
	local gen.PID
	pid   gen.PID
	name  gen.ProcessID
}

// deliverDown hands a local monitor's DOWN to its process as an ordinary message. On BEAM
// the signals from one process to another arrive in the order they were sent, so the DOWN
// comes after the messages the monitored process sent before it ended (a result, then the
// DOWN of the worker that sent it); Ergo's urgent priority would hand it over first.
func (c *Connection) deliverDown(ref gen.Ref, m localMonitor, reason error) {
	down := MessageDown{Ref: ref, PID: m.pid, Name: m.name, Reason: reason}
	from := m.pid
	err := c.core.RouteSendPID(from, m.local, gen.MessageOptions{}, down)
	c.signalUndeliverable("DOWN", from, m.local, err)
}

// exitSignal delivers an exit signal from a peer process to a local one with Erlang's rules:
// kill sent by exit/2 kills even a process that traps exits; normal is ignored by a process
// that does not trap exits; any other reason ends a process that does not trap exits and is a
// message ({'EXIT', From, Reason}) to one that does.
//
// To a process that traps exits, the signal goes as an ordinary message (the
// gen.MessageExitPID that act.Actor hands a trapping actor), behind the messages its sender
// sent before it, as on BEAM; Ergo's exit signals are urgent and would overtake them. A process
// that does not trap exits ends, as on BEAM, without taking in what was still in its mailbox.
// Whether a process traps exits is known here through node.SetTrapExit (Options.TrapsExits).
func (c *Connection) exitSignal(from, to gen.PID, reason error, untrappable bool) {
	if untrappable && errors.Is(reason, gen.TerminateReasonKill) {
		if k, ok := c.core.(interface{ Kill(gen.PID) error }); ok {
			k.Kill(to)
			return
		}
	}
	if c.trapsExits(to) {
		exit := gen.MessageExitPID{PID: from, Reason: reason}
		c.signalUndeliverable("exit signal", from, to, c.core.RouteSendPID(from, to, gen.MessageOptions{}, exit))
		return
	}
	if errors.Is(reason, gen.TerminateReasonNormal) {
		return
	}
	c.signalUndeliverable("exit signal", from, to, c.core.RouteSendExit(from, to, reason))
}

func (c *Connection) trapsExits(pid gen.PID) bool {
	return c.opts.TrapsExits != nil && c.opts.TrapsExits(pid)
}

// lost tells every local process linked to or monitoring a peer process that the connection is
// gone: exit signal noconnection along each link, a DOWN with noconnection for each monitor.
// A Go process waiting for the reply to a call it made to a peer process gets
// gen.ErrNoConnection at once, as gen:call's monitor makes an Erlang caller give up when the
// callee's node goes; a call through an alias, which monitors nothing, waits for its timeout
// there as here.
func (c *Connection) lost() {
	for ref, call := range c.calls.takeAll() {
		if call.monitored() && ref.IsAlive() {
			c.core.RouteSendResponseError(call.target, call.caller, gen.MessageOptions{Ref: ref}, gen.ErrNoConnection)
		}
	}
	c.sig.mu.Lock()
	links := c.sig.links
	c.sig.links = nil
	monitors := c.sig.localMonitors
	c.sig.localMonitors = nil
	c.sig.monitorsHeld = nil
	c.sig.mu.Unlock()
	for local, remotes := range links {
		if local == c.core.PID() {
			continue // Ergo tells the processes behind its own links that the node is gone
		}
		for remote, state := range remotes {
			if state == linkActive { // one being unlinked is no link
				c.exitSignal(remote, local, gen.ErrNoConnection, false)
			}
		}
	}
	for ref, m := range monitors {
		c.deliverDown(ref, m, gen.ErrNoConnection)
	}
}
