package dist

import (
	"errors"
	"fmt"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// This file is the gen.Connection half that Ergo calls when a local process sends to, calls,
// links or monitors a process on the peer, or when a local process the peer watches ends.

func unsupported(what string) error {
	return fmt.Errorf("%w: %s over Erlang distribution", gen.ErrUnsupported, what)
}

// sendOp is SEND_SENDER where the peer understands it (it tells the receiver who sent), else SEND.
func (c *Connection) sendOp() Op {
	if c.peer.has(flagSendSender) {
		return OpSendSender
	}
	return OpSend
}

// SendPID sends message to a process on the peer.
func (c *Connection) SendPID(from gen.PID, to gen.PID, options gen.MessageOptions, message any) error {
	return c.send(Control{Op: c.sendOp(), From: from, To: to}, message)
}

// SendProcessID sends message to a process registered under a name on the peer.
func (c *Connection) SendProcessID(from gen.PID, to gen.ProcessID, options gen.MessageOptions, message any) error {
	return c.send(Control{Op: OpRegSend, From: from, ToName: to.Name}, message)
}

// SendAlias sends message to a process alias on the peer.
func (c *Connection) SendAlias(from gen.PID, to gen.Alias, options gen.MessageOptions, message any) error {
	if !c.peer.has(flagAlias) {
		return unsupported("sending to an alias of a node without DFLAG_ALIAS")
	}
	return c.send(Control{Op: OpAliasSend, From: from, Ref: gen.Ref(to)}, message)
}

// SendEvent: Ergo events have no Erlang counterpart.
func (c *Connection) SendEvent(from gen.PID, options gen.MessageOptions, message gen.MessageEvent) error {
	return unsupported("Ergo events")
}

// SendExit sends an exit signal (erlang:exit/2) to a peer process.
func (c *Connection) SendExit(from gen.PID, to gen.PID, reason error) error {
	term := ReasonTerm(reason)
	if errors.Is(reason, gen.TerminateReasonKill) {
		// exit(Pid, kill): the untrappable kill. ReasonTerm gives killed, the reason a killed
		// process ends with, which a trapping process would take as a message.
		term = atomKill
	}
	if c.peer.has(flagExitPayload) {
		return c.send(Control{Op: OpPayloadExit2, From: from, To: to}, term)
	}
	return c.send(Control{Op: OpExit2, From: from, To: to, Reason: term}, nil)
}

// SendResponse answers a gen_server call the peer made: {Tag, Reply} to the caller, or to the
// caller's alias when the call came with an alias tag.
//
// A call the connection no longer knows was given up by its caller (the caller demonitored
// the callee, see demonitorIn). Since OTP 24 such a caller waited on an alias, which it has
// deactivated: the reply goes to that alias, and the peer drops it, as it drops a late reply
// between BEAM nodes, instead of leaving a stray {Ref, Reply} in the caller's mailbox.
func (c *Connection) SendResponse(from gen.PID, to gen.PID, options gen.MessageOptions, response any) error {
	tag, ok := c.peerCalls.take(options.Ref)
	if !ok {
		tag = options.Ref
		if c.peer.has(flagAlias) {
			tag = etf.ImproperList{Elems: []etf.Term{atomAlias}, Tail: options.Ref}
		}
	}
	reply := etf.Tuple{tag, response}
	if alias, ok := replyAlias(tag); ok && c.peer.has(flagAlias) {
		return c.send(Control{Op: OpAliasSend, From: from, Ref: gen.Ref(alias)}, reply)
	}
	return c.send(Control{Op: c.sendOp(), From: from, To: to}, reply)
}

// SendResponseError answers a call with an error. gen_server has no error replies, so the
// caller receives {error, Reason} as the reply.
func (c *Connection) SendResponseError(from gen.PID, to gen.PID, options gen.MessageOptions, err error) error {
	return c.SendResponse(from, to, options, etf.Tuple{etf.Atom("error"), ReasonTerm(err)})
}

// SendTerminatePID tells the peer that a local process ended: EXIT along its links, DOWN to its
// monitors.
func (c *Connection) SendTerminatePID(target gen.PID, reason error) error {
	c.terminated(target, reason)
	return nil
}

// SendTerminateProcessID: the peer's monitors by name watch the process the name stood for
// (see monitorIn), not the name, so a name's end tells them nothing.
func (c *Connection) SendTerminateProcessID(target gen.ProcessID, reason error) error {
	return nil
}

// SendTerminateAlias: Erlang does not monitor aliases.
func (c *Connection) SendTerminateAlias(target gen.Alias, reason error) error { return nil }

// SendTerminateEvent: Ergo events have no Erlang counterpart.
func (c *Connection) SendTerminateEvent(target gen.Event, reason error) error { return nil }

// CallPID makes a gen_server call to a peer process; its reply comes back as the response.
func (c *Connection) CallPID(from gen.PID, to gen.PID, options gen.MessageOptions, message any) error {
	c.calls.add(options.Ref, pendingCall{caller: from, target: to})
	if err := c.send(Control{Op: OpMonitorP, From: from, To: to, Ref: options.Ref}, nil); err != nil {
		return err
	}
	return c.send(Control{Op: c.sendOp(), From: from, To: to}, genCall(from, options.Ref, message))
}

// CallProcessID makes a gen_server call to a registered process on the peer.
func (c *Connection) CallProcessID(from gen.PID, to gen.ProcessID, options gen.MessageOptions, message any) error {
	c.calls.add(options.Ref, pendingCall{caller: from, name: to.Name})
	if err := c.send(Control{Op: OpMonitorP, From: from, ToName: to.Name, Ref: options.Ref}, nil); err != nil {
		return err
	}
	return c.send(Control{Op: OpRegSend, From: from, ToName: to.Name}, genCall(from, options.Ref, message))
}

// CallAlias makes a gen_server call through an alias on the peer.
func (c *Connection) CallAlias(from gen.PID, to gen.Alias, options gen.MessageOptions, message any) error {
	if !c.peer.has(flagAlias) {
		return unsupported("calling an alias of a node without DFLAG_ALIAS")
	}
	c.calls.add(options.Ref, pendingCall{caller: from})
	return c.send(Control{Op: OpAliasSend, From: from, Ref: gen.Ref(to)}, genCall(from, options.Ref, message))
}

func genCall(from gen.PID, ref gen.Ref, request any) etf.Tuple {
	return etf.Tuple{atomGenCall, etf.Tuple{from, ref}, request}
}

// Ergo calls LinkPID, UnlinkPID, MonitorPID, DemonitorPID, MonitorProcessID and
// DemonitorProcessID while it holds the lock of its link and monitor tables, so their signals
// go out with sendNow: waiting there for room in a full queue would stop every link, monitor
// and process end of the node until this peer reads again.

// LinkPID links a local process (Ergo sends its core pid) to a peer process.
func (c *Connection) LinkPID(pid gen.PID, target gen.PID) error {
	c.rememberLink(pid, target)
	return c.sendNow(Control{Op: OpLink, From: pid, To: target}, nil)
}

// UnlinkPID removes a link, with the UNLINK_ID protocol that OTP 26+ require.
func (c *Connection) UnlinkPID(pid gen.PID, target gen.PID) error {
	if ctrl, ok := c.startUnlink(pid, target); ok {
		return c.sendNow(ctrl, nil)
	}
	return nil
}

func (c *Connection) LinkProcessID(pid gen.PID, target gen.ProcessID) error {
	return unsupported("links to registered names")
}
func (c *Connection) UnlinkProcessID(pid gen.PID, target gen.ProcessID) error {
	return unsupported("links to registered names")
}
func (c *Connection) LinkAlias(pid gen.PID, target gen.Alias) error {
	return unsupported("links to aliases")
}
func (c *Connection) UnlinkAlias(pid gen.PID, target gen.Alias) error {
	return unsupported("links to aliases")
}
func (c *Connection) LinkEvent(pid gen.PID, target gen.Event) ([]gen.MessageEvent, error) {
	return nil, unsupported("Ergo events")
}
func (c *Connection) UnlinkEvent(pid gen.PID, target gen.Event) error {
	return unsupported("Ergo events")
}

// MonitorPID monitors a peer process (Ergo sends its core pid, once per target).
func (c *Connection) MonitorPID(pid gen.PID, target gen.PID) error {
	ref := c.core.MakeRef()
	c.sig.mu.Lock()
	if c.sig.outMonitors == nil {
		c.sig.outMonitors = make(map[gen.PID]gen.Ref)
		c.sig.outRefs = make(map[gen.Ref]outMonitor)
	}
	c.sig.outMonitors[target] = ref
	c.sig.outRefs[ref] = outMonitor{pid: target}
	c.sig.mu.Unlock()
	return c.sendNow(Control{Op: OpMonitorP, From: pid, To: target, Ref: ref}, nil)
}

// DemonitorPID removes the monitor MonitorPID made.
func (c *Connection) DemonitorPID(pid gen.PID, target gen.PID) error {
	c.sig.mu.Lock()
	ref, ok := c.sig.outMonitors[target]
	delete(c.sig.outMonitors, target)
	delete(c.sig.outRefs, ref)
	c.sig.mu.Unlock()
	if !ok {
		return nil
	}
	return c.sendNow(Control{Op: OpDemonitorP, From: pid, To: target, Ref: ref}, nil)
}

// MonitorProcessID monitors a registered name on the peer.
func (c *Connection) MonitorProcessID(pid gen.PID, target gen.ProcessID) error {
	ref := c.core.MakeRef()
	c.sig.mu.Lock()
	if c.sig.outNameMonitors == nil {
		c.sig.outNameMonitors = make(map[gen.Atom]gen.Ref)
	}
	if c.sig.outRefs == nil {
		c.sig.outRefs = make(map[gen.Ref]outMonitor)
	}
	c.sig.outNameMonitors[target.Name] = ref
	c.sig.outRefs[ref] = outMonitor{name: target.Name}
	c.sig.mu.Unlock()
	return c.sendNow(Control{Op: OpMonitorP, From: pid, ToName: target.Name, Ref: ref}, nil)
}

// DemonitorProcessID removes the monitor MonitorProcessID made.
func (c *Connection) DemonitorProcessID(pid gen.PID, target gen.ProcessID) error {
	c.sig.mu.Lock()
	ref, ok := c.sig.outNameMonitors[target.Name]
	delete(c.sig.outNameMonitors, target.Name)
	delete(c.sig.outRefs, ref)
	c.sig.mu.Unlock()
	if !ok {
		return nil
	}
	return c.sendNow(Control{Op: OpDemonitorP, From: pid, ToName: target.Name, Ref: ref}, nil)
}

func (c *Connection) MonitorAlias(pid gen.PID, target gen.Alias) error {
	return unsupported("monitoring aliases")
}
func (c *Connection) DemonitorAlias(pid gen.PID, target gen.Alias) error {
	return unsupported("monitoring aliases")
}
func (c *Connection) MonitorEvent(pid gen.PID, target gen.Event) ([]gen.MessageEvent, error) {
	return nil, unsupported("Ergo events")
}
func (c *Connection) DemonitorEvent(pid gen.PID, target gen.Event) error {
	return unsupported("Ergo events")
}

// RemoteSpawn: Ergo's remote spawn names a process factory, which BEAM nodes do not have.
func (c *Connection) RemoteSpawn(name gen.Atom, options gen.ProcessOptionsExtra) (gen.PID, error) {
	return gen.PID{}, unsupported("Ergo remote spawn")
}
