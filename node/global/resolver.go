package global

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/kernel"
)

// resolver is global's resolver process for one sync attempt: it compares the peer's names
// with this node's (exchange_names/4) and decides what each side must do. A name both nodes
// have with different pids is a conflict; the node with the smaller name resolves it by
// calling the name's resolve function (global:resolve_it/4) on the node of the pid this node
// holds, through that node's rex, as global does with rpc:call/4.
type resolver struct {
	act.Actor

	t      *tables
	g      *Global
	node   gen.Atom
	tag    etf.Term
	server gen.PID

	started bool
	names   []nameInfo
	next    int
	ops     []op // for this node
	res     []op // for the peer
	call    *callBatch
}

// resolveMsg gives the resolver the peer's names once both nodes hold the lock.
type resolveMsg struct {
	Names []nameInfo
	Node  gen.Atom
}

func factoryResolver(t *tables, g *Global) gen.ProcessFactory {
	return func() gen.ProcessBehavior { return &resolver{t: t, g: g} }
}

func (r *resolver) Init(args ...any) error {
	r.node = args[0].(gen.Atom)
	r.tag = args[1]
	r.server = args[2].(gen.PID)
	return nil
}

func (r *resolver) HandleMessage(from gen.PID, message any) error {
	if m, ok := message.(resolveMsg); ok && m.Node == r.node && !r.started {
		r.started = true
		r.names = m.Names
		return r.resume()
	}
	if r.call != nil && r.call.owns(message) {
		r.call.take(r, message)
		if r.call == nil || r.call.finished() {
			r.call = nil
			return r.resume()
		}
	}
	// Anything else is ignored, as by global's resolver loop.
	return nil
}

// resume walks the names from where it stopped; it returns TerminateReasonNormal when done.
func (r *resolver) resume() error {
	self := r.Node().Name()
	for r.call == nil && r.next < len(r.names) {
		n := r.names[r.next]
		r.next++
		e, ok := r.t.lookup(n.Name)
		switch {
		case !ok:
			r.ops = append([]op{{Insert: true, Name: n}}, r.ops...)
		case e.Pid == n.Pid:
		case self < r.node:
			r.conflict(n, e)
		}
	}
	if r.call != nil {
		return nil
	}
	r.Send(r.server, exchangeOps{Node: r.node, Tag: r.tag, Ops: r.ops, Resolved: r.res})
	return gen.TerminateReasonNormal
}

// conflict resolves a name the peer has as n and this node as e.
func (r *resolver) conflict(n nameInfo, e nameEntry) {
	mine := nameInfo{Name: e.Name, Pid: e.Pid, Method: e.Method}
	at := e.Pid.Node
	if at == r.Node().Name() {
		// The function runs where the pid lives; this node cannot run Erlang functions, but
		// it knows global's own three, and a BEAM peer can run the others.
		if result, ok := kernel.GlobalResolve(r, e.Method, n.Name, n.Pid, e.Pid); ok {
			r.decide(n, mine, result)
			return
		}
		at = r.node
	}
	req := etf.Tuple{atomCall, atomGlobal, atomResolveIt, etf.List{e.Method, n.Name, n.Pid, e.Pid}, atomUser}
	var b *callBatch //lint:ignore S1021 the callback below refers to b
	b = startCall(r, rexName, []gen.Atom{at}, req, func(replies []nodeReply, bad []gen.Atom) {
		var result etf.Term = etf.Tuple{atomBadrpc, atomNodedown}
		if len(replies) == 1 {
			result = replies[0].Reply
		}
		r.decide(n, mine, result)
	})
	if b.finished() {
		b.done(b.replies, b.bad)
		return
	}
	r.call = b
}

// decide records the outcome of a conflict: the peer's pid wins, this node's wins, or the
// name goes on both.
func (r *resolver) decide(his, mine nameInfo, result etf.Term) {
	del := op{Name: nameInfo{Name: his.Name}}
	switch {
	case result == his.Pid:
		r.ops = append([]op{{Insert: true, Name: his}}, r.ops...)
	case result == mine.Pid:
		r.res = append([]op{{Insert: true, Name: mine}}, r.res...)
	case result == atomNone:
		r.ops = append([]op{del}, r.ops...)
		r.res = append([]op{del}, r.res...)
	default:
		if t, ok := result.(etf.Tuple); ok && len(t) == 2 && t[0] == atomBadrpc {
			r.Log().Info("global: badrpc %v received when conflicting name %v was found", t[1], his.Name)
			r.ops = append([]op{{Insert: true, Name: his}}, r.ops...)
			return
		}
		r.Log().Info("global: Resolve method %v for conflicting name %v returned %v", his.Method, his.Name, result)
		r.ops = append([]op{del}, r.ops...)
		r.res = append([]op{del}, r.res...)
	}
}
