package erlpeer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobeam/gobeam/etf"
)

// maxPacket bounds one packet from the peer, so that a corrupted length cannot make the test
// allocate without limit.
const maxPacket = 1 << 30

// ErlangError is an exception that the Erlang code a call ran raised and did not catch.
type ErlangError struct {
	// Class is error, exit or throw.
	Class etf.Atom
	// Reason is the exception's reason term.
	Reason etf.Term
	// Text is the exception as erl formats it, stack trace included.
	Text string
}

func (e *ErlangError) Error() string {
	return "erlang " + string(e.Class) + ": " + strings.TrimSpace(e.Text)
}

type callResult struct {
	value etf.Term
	err   error
}

// Call runs apply(Module, Function, Args) in a new process on the peer and returns its value,
// or an *ErlangError for an exception, within Options.CallTimeout. Go values in args are
// converted as etf.Encode does: a string is an Erlang binary, an etf.Atom an atom.
func (p *Peer) Call(module, function etf.Atom, args ...etf.Term) (etf.Term, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.CallTimeout)
	defer cancel()
	return p.CallContext(ctx, module, function, args...)
}

// CallContext is Call bounded by ctx instead of Options.CallTimeout.
func (p *Peer) CallContext(ctx context.Context, module, function etf.Atom, args ...etf.Term) (etf.Term, error) {
	if args == nil {
		args = []etf.Term{}
	}
	id := p.nextID.Add(1)
	req, err := etf.Encode(etf.Tuple{etf.Atom("call"), id, module, function, etf.List(args)})
	if err != nil {
		return nil, fmt.Errorf("erlpeer: %s: encoding the call of %s: %w", p.label, mfa(module, function, len(args)), err)
	}
	ch := make(chan callResult, 1)
	p.mu.Lock()
	select {
	case <-p.lost:
		p.mu.Unlock()
		return nil, p.downErr()
	default:
	}
	p.pending[id] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
	}()

	if err := p.writePacket(req); err != nil {
		select {
		case <-p.lost:
			return nil, p.downErr()
		default:
			return nil, fmt.Errorf("erlpeer: %s: sending the call of %s: %w", p.label, mfa(module, function, len(args)), err)
		}
	}
	select {
	case r := <-ch:
		return r.value, r.err
	case <-p.lost:
		return nil, p.downErr()
	case <-ctx.Done():
		return nil, fmt.Errorf("erlpeer: %s: %s did not return: %w", p.label, mfa(module, function, len(args)), ctx.Err())
	}
}

// mfa is Module:Function/Arity as Erlang writes it (etf.Atom's String adds quotes).
func mfa(module, function etf.Atom, arity int) string {
	return string(module) + ":" + string(function) + "/" + strconv.Itoa(arity)
}

// Eval evaluates Erlang expressions on the peer (erl_eval, as the shell does) and returns the
// value of the last one. The final dot may be left out.
func (p *Peer) Eval(expr string) (etf.Term, error) {
	return p.EvalWith(expr, nil)
}

// EvalWith is Eval with variables bound beforehand: vars maps Erlang variable names
// (capitalised) to their values.
func (p *Peer) EvalWith(expr string, vars map[string]etf.Term) (etf.Term, error) {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	bindings := make(etf.List, 0, len(names))
	for _, name := range names {
		bindings = append(bindings, etf.Tuple{etf.Atom(name), vars[name]})
	}
	return p.Call("gobeam_peer", "eval", expr, bindings)
}

// Load compiles and loads one module from source on the peer: Erlang when name ends in .erl,
// Elixir when it ends in .ex or .exs (which starts Elixir on the peer). It returns the modules
// loaded; compiler warnings go to the test log.
func (p *Peer) Load(name string, source []byte) ([]etf.Atom, error) {
	v, err := p.Call("gobeam_peer", "load", path.Base(name), source)
	if err != nil {
		return nil, fmt.Errorf("erlpeer: %s: loading %s: %w", p.label, name, err)
	}
	tup, ok := v.(etf.Tuple)
	if !ok || len(tup) != 2 {
		return nil, fmt.Errorf("erlpeer: %s: loading %s returned %#v", p.label, name, v)
	}
	var mods []etf.Atom
	if list, ok := tup[0].(etf.List); ok {
		for _, m := range list {
			if a, ok := m.(etf.Atom); ok {
				mods = append(mods, a)
			}
		}
	}
	if w, _ := tup[1].([]byte); len(w) > 0 {
		p.t.Logf("erlpeer: %s: warnings compiling %s:\n%s", p.label, name, w)
	}
	return mods, nil
}

// LoadFS loads the sources in fsys that match the patterns (path.Match syntax), in name order.
// A pattern that matches nothing is an error.
func (p *Peer) LoadFS(fsys fs.FS, patterns ...string) error {
	for _, pattern := range patterns {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return fmt.Errorf("erlpeer: %w", err)
		}
		if len(names) == 0 {
			return fmt.Errorf("erlpeer: no source matches %q", pattern)
		}
		for _, name := range names {
			src, err := fs.ReadFile(fsys, name)
			if err != nil {
				return fmt.Errorf("erlpeer: %w", err)
			}
			if _, err := p.Load(name, src); err != nil {
				return err
			}
		}
	}
	return nil
}

// Send sends msg from a process on the peer to dest: a pid, a registered name (an etf.Atom),
// or {Name, Node} as an etf.Tuple or etf.ProcessID, exactly as erlang:send/2 takes it.
func (p *Peer) Send(dest, msg etf.Term) error {
	_, err := p.Call("erlang", "send", dest, msg)
	return err
}

// Mailbox registers a process named name on the peer that hands every message it receives to
// the test: Recv returns each as the tuple {name, Message}. It returns the process's pid.
func (p *Peer) Mailbox(name etf.Atom) (etf.PID, error) {
	v, err := p.Call("gobeam_peer", "mailbox", name)
	if err != nil {
		return etf.PID{}, err
	}
	pid, ok := v.(etf.PID)
	if !ok {
		return etf.PID{}, fmt.Errorf("erlpeer: %s: mailbox returned %#v", p.label, v)
	}
	return pid, nil
}

// Recv returns the next term the peer sent with gobeam_peer:notify/1 (or a Mailbox received),
// waiting up to timeout for one.
func (p *Peer) Recv(timeout time.Duration) (etf.Term, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		if t, ok := p.events.pop(); ok {
			return t, nil
		}
		select {
		case <-p.events.signal:
		case <-p.lost:
			if t, ok := p.events.pop(); ok {
				return t, nil
			}
			return nil, p.downErr()
		case <-timer.C:
			return nil, fmt.Errorf("erlpeer: %s: nothing received within %s", p.label, timeout)
		}
	}
}

// MustCall is Call that ends the test on error.
func (p *Peer) MustCall(module, function etf.Atom, args ...etf.Term) etf.Term {
	p.t.Helper()
	v, err := p.Call(module, function, args...)
	if err != nil {
		p.t.Fatalf("erlpeer: %s: %s: %v", p.label, mfa(module, function, len(args)), err)
	}
	return v
}

// MustEval is Eval that ends the test on error.
func (p *Peer) MustEval(expr string) etf.Term {
	p.t.Helper()
	v, err := p.Eval(expr)
	if err != nil {
		p.t.Fatalf("erlpeer: %s: evaluating %s: %v", p.label, expr, err)
	}
	return v
}

// MustLoadFS is LoadFS that ends the test on error.
func (p *Peer) MustLoadFS(fsys fs.FS, patterns ...string) {
	p.t.Helper()
	if err := p.LoadFS(fsys, patterns...); err != nil {
		p.t.Fatal(err)
	}
}

func (p *Peer) writePacket(b []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	bufs := net.Buffers{hdr[:], b}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	_, err := bufs.WriteTo(p.conn)
	return err
}

func readPacket(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxPacket {
		return nil, fmt.Errorf("packet of %d bytes announced, more than the limit of %d", n, maxPacket)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readLoop reads the peer's replies and events until the connection ends.
func (p *Peer) readLoop() {
	var err error
	for {
		var packet []byte
		packet, err = readPacket(p.reader)
		if err != nil {
			break
		}
		var t etf.Term
		t, err = etf.Decode(packet)
		if err != nil {
			err = fmt.Errorf("the peer sent a packet that etf.Decode refuses: %w", err)
			break
		}
		if err = p.dispatch(t); err != nil {
			break
		}
	}
	p.connectionLost(err)
}

func (p *Peer) dispatch(t etf.Term) error {
	tup, _ := t.(etf.Tuple)
	switch {
	case len(tup) == 4 && tup[0] == etf.Atom("reply"):
		id, _ := tup[1].(int64)
		var r callResult
		switch tup[2] {
		case etf.Atom("ok"):
			r.value = tup[3]
		case etf.Atom("error"):
			r.err = erlangError(tup[3])
		default:
			return fmt.Errorf("the peer sent a malformed reply: %#v", t)
		}
		p.mu.Lock()
		ch := p.pending[id]
		p.mu.Unlock()
		if ch != nil {
			ch <- r // buffered; each id gets one reply
		}
		return nil
	case len(tup) == 2 && tup[0] == etf.Atom("event"):
		p.events.push(tup[1])
		return nil
	default:
		return fmt.Errorf("the peer sent an unknown packet: %#v", t)
	}
}

func erlangError(t etf.Term) error {
	e := &ErlangError{Class: "error", Reason: t}
	if tup, ok := t.(etf.Tuple); ok && len(tup) == 3 {
		e.Class, _ = tup[0].(etf.Atom)
		e.Reason = tup[1]
		text, _ := tup[2].([]byte)
		e.Text = string(text)
	}
	if e.Text == "" {
		e.Text = fmt.Sprintf("%v", e.Reason)
	}
	return e
}

// connectionLost fails every pending and later call with the reason the connection ended. Only
// readLoop calls it, once.
func (p *Peer) connectionLost(err error) {
	var lostErr error
	if reason := p.stopReason.Load(); reason != nil {
		lostErr = fmt.Errorf("%w: %s was %s", ErrPeerDown, p.label, *reason)
	} else {
		// Wait a moment for the exit status: "signal: killed" says more than "EOF".
		select {
		case <-p.exited:
		case <-time.After(outputGrace):
		}
		status := "is still running"
		select {
		case <-p.exited:
			status = "has exited"
			if p.exitErr != nil {
				status += " (" + p.exitErr.Error() + ")"
			}
		default:
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("connection closed")
		}
		p.output.drain(outputGrace)
		lostErr = fmt.Errorf("%w: %s lost its connection to the test (%v); its process %s%s",
			ErrPeerDown, p.label, err, status, p.output.lastLines())
	}
	p.mu.Lock()
	p.lostErr = lostErr
	close(p.lost)
	p.mu.Unlock()
}

func (p *Peer) downErr() error {
	<-p.lost
	return p.lostErr
}

// eventQueue holds the terms the peer sent until Recv takes them; it never blocks the reader.
type eventQueue struct {
	mu     sync.Mutex
	items  []etf.Term
	signal chan struct{}
}

func (q *eventQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *eventQueue) push(t etf.Term) {
	q.mu.Lock()
	q.items = append(q.items, t)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) pop() (etf.Term, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil, false
	}
	t := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return t, true
}
