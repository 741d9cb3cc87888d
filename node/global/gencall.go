package global

import (
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// gen_server's call protocol, both ways, for the calls the distribution layer does not turn
// into Ergo calls: gen_server:multi_call tags its requests {Ref, Node} on OTP 25 and
// [[alias | Alias] | MonitorRef] on OTP 26 and later, so they reach global_name_server as
// plain {'$gen_call', {From, Tag}, Request} messages, and the reply must go where gen:reply/2
// would send it.

// caller is the From of a gen_server call: {Pid, Tag}.
type caller struct {
	Pid gen.PID
	Tag etf.Term
}

// parseGenCall recognises {'$gen_call', {Pid, Tag}, Request}.
func parseGenCall(msg any) (caller, etf.Term, bool) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 3 || t[0] != atomGenCall {
		return caller{}, nil, false
	}
	from, ok := parseFrom(t[1])
	if !ok {
		return caller{}, nil, false
	}
	return from, t[2], true
}

func parseFrom(t etf.Term) (caller, bool) {
	ft, ok := t.(etf.Tuple)
	if !ok || len(ft) != 2 {
		return caller{}, false
	}
	pid, ok := ft[0].(etf.PID)
	if !ok {
		return caller{}, false
	}
	return caller{Pid: pid, Tag: ft[1]}, true
}

// replyAlias returns the alias a reply to Tag goes to, as gen:reply/2 decides: the Alias of
// [alias | Alias] and of [[alias | Alias] | _].
func replyAlias(tag etf.Term) (gen.Alias, bool) {
	l, ok := tag.(etf.ImproperList)
	if !ok || len(l.Elems) != 1 {
		return gen.Alias{}, false
	}
	if l.Elems[0] == atomAlias {
		if r, ok := l.Tail.(etf.Ref); ok {
			return gen.Alias(r), true
		}
		return gen.Alias{}, false
	}
	return replyAlias(l.Elems[0])
}

// replyTo sends {Tag, Reply} where gen:reply/2 would. A reply that cannot be sent (the
// caller's node is gone) is dropped, as on BEAM.
func replyTo(p gen.Process, from caller, reply etf.Term) {
	msg := etf.Tuple{from.Tag, reply}
	if alias, ok := replyAlias(from.Tag); ok {
		p.SendAlias(alias, msg)
		return
	}
	p.SendPID(from.Pid, msg)
}

// callBatch is a gen_server:multi_call/3 in flight from a Go process: the request went to a
// registered server on each node, each monitored, and the batch completes when every node has
// answered or is known to be down. Like multi_call with an infinite timeout it waits for as
// long as a node is up and its server alive.
type callBatch struct {
	ref     gen.Ref
	server  gen.Atom
	waiting map[gen.Atom]struct{}
	replies []nodeReply
	bad     []gen.Atom
	done    func(replies []nodeReply, bad []gen.Atom)
}

type nodeReply struct {
	Node  gen.Atom
	Reply etf.Term
}

// startCall sends request to server on every node and returns the batch; done runs from
// take once every node has answered or is down. When nothing is outstanding from the start,
// the caller runs done itself (see runCall).
func startCall(p gen.Process, server gen.Atom, nodes []gen.Atom, request etf.Term,
	done func([]nodeReply, []gen.Atom)) *callBatch {
	b := &callBatch{ref: p.Node().MakeRef(), server: server, waiting: make(map[gen.Atom]struct{}), done: done}
	for _, n := range nodes {
		if _, dup := b.waiting[n]; dup {
			continue
		}
		target := gen.ProcessID{Name: server, Node: n}
		if err := p.MonitorProcessID(target); err != nil && err != gen.ErrTargetExist {
			b.bad = append(b.bad, n)
			continue
		}
		// The tag {Ref, Node} is OTP 25's multi_call tag: not a bare reference, so the
		// distribution layer hands the reply over as a plain message.
		tag := etf.Tuple{b.ref, n}
		msg := etf.Tuple{atomGenCall, etf.Tuple{p.PID(), tag}, request}
		if err := p.SendProcessID(target, msg); err != nil {
			p.DemonitorProcessID(target)
			b.bad = append(b.bad, n)
			continue
		}
		b.waiting[n] = struct{}{}
	}
	return b
}

// finished reports whether no answer is outstanding.
func (b *callBatch) finished() bool { return len(b.waiting) == 0 }

// owns reports whether a message belongs to the batch: a reply to it, or the DOWN of a
// server it waits for.
func (b *callBatch) owns(msg any) bool {
	switch m := msg.(type) {
	case etf.Tuple:
		_, ok := b.replyNode(m)
		return ok
	case gen.MessageDownProcessID:
		_, waiting := b.waiting[m.ProcessID.Node]
		return m.ProcessID.Name == b.server && waiting
	}
	return false
}

func (b *callBatch) replyNode(m etf.Tuple) (gen.Atom, bool) {
	if len(m) != 2 {
		return "", false
	}
	tag, ok := m[0].(etf.Tuple)
	if !ok || len(tag) != 2 {
		return "", false
	}
	ref, ok := tag[0].(etf.Ref)
	if !ok || !etf.Equal(ref, b.ref) {
		return "", false
	}
	node, ok := tag[1].(etf.Atom)
	return node, ok
}

// take consumes a message that owns accepted; done runs once nothing is outstanding.
func (b *callBatch) take(p gen.Process, msg any) {
	switch m := msg.(type) {
	case etf.Tuple:
		node, _ := b.replyNode(m)
		if _, ok := b.waiting[node]; !ok {
			return // a second reply from the same node
		}
		delete(b.waiting, node)
		p.DemonitorProcessID(gen.ProcessID{Name: b.server, Node: node})
		b.replies = append(b.replies, nodeReply{Node: node, Reply: m[1]})
	case gen.MessageDownProcessID:
		delete(b.waiting, m.ProcessID.Node)
		b.bad = append(b.bad, m.ProcessID.Node)
	}
	if b.finished() {
		b.done(b.replies, b.bad)
	}
}

// runCall starts a batch and, when there is nothing to wait for, completes it at once,
// returning nil.
func runCall(p gen.Process, server gen.Atom, nodes []gen.Atom, request etf.Term,
	done func([]nodeReply, []gen.Atom)) *callBatch {
	b := startCall(p, server, nodes, request, done)
	if b.finished() {
		done(b.replies, b.bad)
		return nil
	}
	return b
}
