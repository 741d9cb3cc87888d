package global

import (
	"context"
	"slices"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// registrar is global's "the registrar" process: it registers and unregisters names for Go
// code, one request at a time, as global:register_name/2 does through trans_all_known/1 —
// the lock {global, Registrar} on every known node (boss first), the change made on all of
// them with a multi_call to their name servers, the lock released.
type registrar struct {
	act.Actor

	g      *Global
	t      *tables
	server gen.PID

	queue   []regRequest
	busy    bool
	call    *callBatch
	retryAt uint64
	retry   func()
}

type regKind int

const (
	regRegister regKind = iota
	regReRegister
	regUnregister
)

// regRequest comes from the Go API; the outcome goes back on done.
type regRequest struct {
	kind   regKind
	name   etf.Term
	pid    gen.PID
	method etf.Term
	done   chan regResult
	// cancelled reports that the caller stopped waiting; such a request still queued is
	// dropped.
	cancelled func() bool
}

type regResult struct {
	ok  bool
	err error
}

type regRetry struct{ n uint64 }

func factoryRegistrar(g *Global, t *tables) gen.ProcessFactory {
	return func() gen.ProcessBehavior { return &registrar{g: g, t: t} }
}

func (r *registrar) Init(args ...any) error {
	r.server = args[0].(gen.PID)
	return nil
}

func (r *registrar) Terminate(reason error) {
	for _, q := range r.queue {
		q.done <- regResult{err: ErrNotRunning}
	}
}

func (r *registrar) HandleMessage(from gen.PID, message any) error {
	switch m := message.(type) {
	case regRequest:
		r.queue = append(r.queue, m)
		r.next()
	case regRetry:
		if m.n == r.retryAt && r.retry != nil {
			f := r.retry
			r.retry = nil
			f()
		}
	default:
		if r.call != nil && r.call.owns(message) {
			b := r.call
			b.take(r, message)
			if b.finished() && r.call == b {
				r.call = nil
			}
		}
	}
	return nil
}

func (r *registrar) next() {
	if r.busy || len(r.queue) == 0 {
		return
	}
	req := r.queue[0]
	if req.cancelled != nil && req.cancelled() {
		// The caller has been told of its context's end: carrying it out now would register
		// (or remove) a name after the caller learnt that it did not.
		req.done <- regResult{err: context.Canceled}
		r.queue = r.queue[1:]
		r.next()
		return
	}
	r.busy = true
	r.transAllKnown(func(nodes []gen.Atom, k func(bool)) {
		r.apply(req, nodes, k)
	}, func(ok bool) {
		req.done <- regResult{ok: ok}
		r.queue = r.queue[1:]
		r.busy = false
		r.next()
	})
}

// apply is the function run under the lock, on the nodes locked.
func (r *registrar) apply(req regRequest, nodes []gen.Atom, k func(bool)) {
	switch req.kind {
	case regRegister:
		if _, taken := r.g.where(r.t, req.name); taken || !r.checkDupname(req.name, req.pid) {
			k(false)
			return
		}
		r.callThen(nodes, etf.Tuple{etf.Atom("register"), req.name, req.pid, req.method}, func([]nodeReply, []gen.Atom) { k(true) })
	case regReRegister:
		r.callThen(nodes, etf.Tuple{etf.Atom("register"), req.name, req.pid, req.method}, func([]nodeReply, []gen.Atom) { k(true) })
	case regUnregister:
		r.callThen(nodes, etf.Tuple{etf.Atom("unregister"), req.name}, func([]nodeReply, []gen.Atom) { k(true) })
	}
}

// checkDupname refuses a second name for a pid unless the options allow it (kernel's
// global_multi_name_action).
func (r *registrar) checkDupname(name etf.Term, pid gen.PID) bool {
	if r.g.opts.AllowMultipleNames || !r.t.hasNames(pid) {
		return true
	}
	r.Log().Error("global: %s registered under several names: %v", pid, append([]etf.Term{name}, r.t.namesOf(pid)...))
	return false
}

// transAllKnown is global's trans_all_known/1.
func (r *registrar) transAllKnown(f func([]gen.Atom, func(bool)), k func(bool)) {
	id := lockID{Resource: atomGlobal, Requester: r.PID()}
	r.setLockKnown(id, 0, func(nodes []gen.Atom) {
		f(nodes, func(ok bool) {
			r.deleteGlobalLock(id, nodes, func() { k(ok) })
		})
	})
}

// setLockKnown is global's set_lock_known/2: the lock on the boss, then on every known node,
// and again after a random pause if either fails or the known nodes changed meanwhile.
func (r *registrar) setLockKnown(id lockID, times int, k func([]gen.Atom)) {
	known := r.t.knownNodes()
	nodes := append([]gen.Atom{r.Node().Name()}, known...)
	boss := theBoss(nodes)
	again := func() {
		r.sleep(times, func() { r.setLockKnown(id, times+1, k) })
	}
	setLockOnNodes(r, r.t, id, []gen.Atom{boss}, r.callThen, func(ok bool) {
		if !ok {
			again()
			return
		}
		setLockOnNodes(r, r.t, id, nodes, r.callThen, func(ok bool) {
			if ok && len(without(r.t.knownNodes(), known...)) == 0 {
				k(nodes)
				return
			}
			r.callThen([]gen.Atom{boss}, etf.Tuple{etf.Atom("del_lock"), id.term()}, func([]nodeReply, []gen.Atom) { again() })
		})
	})
}

func (r *registrar) deleteGlobalLock(id lockID, nodes []gen.Atom, k func()) {
	boss := theBoss(nodes)
	del := etf.Tuple{etf.Atom("del_lock"), id.term()}
	r.callThen(without(nodes, boss), del, func([]nodeReply, []gen.Atom) {
		r.callThen([]gen.Atom{boss}, del, func([]nodeReply, []gen.Atom) { k() })
	})
}

func (r *registrar) sleep(times int, f func()) {
	r.retryAt++
	r.retry = f
	r.SendAfter(r.PID(), regRetry{r.retryAt}, randomSleep(times))
}

// callThen makes a multi_call to the name servers of nodes; k runs with the answers.
func (r *registrar) callThen(nodes []gen.Atom, req etf.Term, k func([]nodeReply, []gen.Atom)) {
	b := startCall(r, ServerName, slices.Clone(nodes), req, k)
	if b.finished() {
		r.call = nil
		k(b.replies, b.bad) // which may start the next call
		return
	}
	r.call = b
}
