package dist

import (
	"sync"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// gen_server's call protocol on the wire: the caller sends {'$gen_call', {FromPid, Tag}, Request}
// and the server answers with {Tag, Reply} sent to FromPid, or, when Tag is [alias | Ref]
// (OTP 24+), to the alias Ref.
var (
	atomGenCall = etf.Atom("$gen_call")
	atomAlias   = etf.Atom("alias")
)

// pendingCalls are the gen_server calls Go processes made to the peer, by their tag. A reply
// {Tag, Reply} whose tag is here goes to Ergo as the call's response. Like gen:call, each call
// to a pid or a name monitors its target with the tag as the monitor reference, so a target
// that does not exist or dies before answering ends the call with that reason instead of a
// timeout. A call through an alias monitors nothing: Erlang has no monitors of aliases.
type pendingCalls struct {
	mu    sync.Mutex
	calls map[gen.Ref]pendingCall
	// sweepAt is the size at which the table is next swept: twice its size after the last
	// sweep, so that calls that all wait still cost a sweep per doubling, not one per call.
	sweepAt int
	swept   int // entries the sweeps looked at
}

// minSweep is the least size at which the table of calls is swept.
const minSweep = 4096

type pendingCall struct {
	caller gen.PID
	// target or name is the monitored callee; both are empty for a call through an alias.
	target gen.PID
	name   gen.Atom
}

// monitored reports whether the call set up a monitor, which its reply must remove. A
// DEMONITOR_P that names no process is a malformed message to BEAM, which closes the
// connection over it.
func (p pendingCall) monitored() bool {
	return p.target != (gen.PID{}) || p.name != ""
}

func (p *pendingCalls) add(ref gen.Ref, call pendingCall) {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = make(map[gen.Ref]pendingCall)
	}
	if len(p.calls) >= max(p.sweepAt, minSweep) {
		p.sweep()
		p.sweepAt = 2 * len(p.calls)
	}
	p.calls[ref] = call
	p.mu.Unlock()
}

// sweep forgets calls whose deadline passed: their caller stopped waiting long ago.
func (p *pendingCalls) sweep() {
	for ref := range p.calls {
		p.swept++
		if !ref.IsAlive() {
			delete(p.calls, ref)
		}
	}
}

// takeAll empties the table, returning what was in it.
func (p *pendingCalls) takeAll() map[gen.Ref]pendingCall {
	p.mu.Lock()
	calls := p.calls
	p.calls = nil
	p.mu.Unlock()
	return calls
}

// takeReply takes the call a reply {Tag, Reply} sent to the local process to answers: only
// the caller's own tag does, so a peer that sends another process's tag to the wrong pid
// neither answers that call for the wrong process nor ends it.
func (p *pendingCalls) takeReply(ref gen.Ref, to gen.PID) (pendingCall, bool) {
	p.mu.Lock()
	call, ok := p.calls[ref]
	if ok && call.caller == to {
		delete(p.calls, ref)
	} else {
		ok = false
	}
	p.mu.Unlock()
	return call, ok
}

func (p *pendingCalls) take(ref gen.Ref) (pendingCall, bool) {
	p.mu.Lock()
	call, ok := p.calls[ref]
	if ok {
		delete(p.calls, ref)
	}
	p.mu.Unlock()
	return call, ok
}

// peerCalls are the gen_server calls the peer made to Go processes that wait for a reply, with
// the tag in the form the caller sent it, so the reply goes back in that form. A call leaves
// the table when it is answered, when its caller demonitors the callee (gen:call does, after
// the reply or its timeout), or when the callee ends: a Go process that never answers, or
// answers late, costs nothing once its caller has given up.
type peerCalls struct {
	mu    sync.Mutex
	calls map[gen.Ref]receivedCall
}

// receivedCall is one call the peer made: the caller named in its {'$gen_call', {Caller, Tag}, _}
// and the tag.
type receivedCall struct {
	caller gen.PID
	tag    etf.Term
}

func (p *peerCalls) add(ref gen.Ref, caller gen.PID, tag etf.Term) {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = make(map[gen.Ref]receivedCall)
	}
	p.calls[ref] = receivedCall{caller: caller, tag: tag}
	p.mu.Unlock()
}

// take removes the call ref and returns its tag.
func (p *peerCalls) take(ref gen.Ref) (etf.Term, bool) {
	p.mu.Lock()
	call, ok := p.calls[ref]
	if ok {
		delete(p.calls, ref)
	}
	p.mu.Unlock()
	return call.tag, ok
}

// giveUp removes the call ref when caller made it: a DEMONITOR_P with another process's
// reference ends no call.
func (p *peerCalls) giveUp(ref gen.Ref, caller gen.PID) {
	p.mu.Lock()
	if call, ok := p.calls[ref]; ok && call.caller == caller {
		delete(p.calls, ref)
	}
	p.mu.Unlock()
}

// parseGenCall recognises {'$gen_call', {From, Tag}, Request} and returns the reference that
// identifies the call: Tag itself, or the Ref of an [alias | Ref] tag.
func parseGenCall(msg etf.Term) (from etf.PID, ref gen.Ref, tag, request etf.Term, ok bool) {
	t, isTuple := msg.(etf.Tuple)
	if !isTuple || len(t) != 3 || t[0] != atomGenCall {
		return
	}
	ft, isTuple := t[1].(etf.Tuple)
	if !isTuple || len(ft) != 2 {
		return
	}
	if from, ok = ft[0].(etf.PID); !ok {
		return
	}
	switch tg := ft[1].(type) {
	case etf.Ref:
		ref = tg
	case etf.ImproperList:
		// [alias | Ref]
		if len(tg.Elems) != 1 || tg.Elems[0] != atomAlias {
			ok = false
			return
		}
		if ref, ok = tg.Tail.(etf.Ref); !ok {
			return
		}
	default:
		ok = false
		return
	}
	return from, ref, ft[1], t[2], true
}

// replyTarget says where the reply to a call with this tag goes: the alias for an [alias | Ref]
// tag, otherwise the caller's pid.
func replyAlias(tag etf.Term) (gen.Alias, bool) {
	if l, ok := tag.(etf.ImproperList); ok {
		if r, ok := l.Tail.(etf.Ref); ok {
			return gen.Alias(r), true
		}
	}
	return gen.Alias{}, false
}
