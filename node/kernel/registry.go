package kernel

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"sync"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// MFA names an Erlang function: Module:Function/Arity.
type MFA struct {
	Module   gen.Atom
	Function gen.Atom
	Arity    int
}

func (m MFA) String() string {
	return fmt.Sprintf("%s:%s/%d", string(m.Module), string(m.Function), m.Arity)
}

// frame is the stack frame BEAM shows for a call of m: {Module, Function, Arity, Location}.
func (m MFA) frame(location etf.List) etf.Tuple {
	if location == nil {
		location = etf.List{}
	}
	return etf.Tuple{m.Module, m.Function, int64(m.Arity), location}
}

// maxArity is the largest arity of an Erlang function.
const maxArity = 255

func (m MFA) check() error {
	if m.Module == "" || m.Function == "" {
		return fmt.Errorf("%w: %s: empty module or function name", ErrBadMFA, m)
	}
	if len(m.Module) > 255 || len(m.Function) > 255 {
		return fmt.Errorf("%w: %s: an atom holds at most 255 characters", ErrBadMFA, m)
	}
	if m.Arity < 0 || m.Arity > maxArity {
		return fmt.Errorf("%w: %s: arity must be 0..%d", ErrBadMFA, m, maxArity)
	}
	return nil
}

// Func is a Go function that BEAM nodes call as an Erlang function: with rpc:call, erpc:call,
// rpc:cast, or as the initial function of a process they spawn on this node (Node.spawn/4,
// spawn_link, spawn_monitor, erlang:spawn_request).
//
// It runs inside a Go process of its own, which call embeds, and receives the arguments of the
// call, as many as the registered arity. What it returns is the call's result; a Func that
// fails returns an *Error, *Exit or *Throw (or any other error, which raises an error), and
// BEAM sees that exception exactly as if an Erlang function had raised it. A panic is an error
// too. As the initial function of a spawned process, its result is dropped and the process
// exits normal, or with the exit reason its exception gives (see Error, Exit, Throw).
//
// A Func runs to its end: its process handles no messages and no exit signals meanwhile. Work
// that must receive messages or react to links belongs in a process (Registry.RegisterProcess).
type Func func(call *Call, args etf.List) (etf.Term, error)

// Call is what a Func is given about the call it serves.
type Call struct {
	// Process is the Go process the function runs in: Send, Log, PID and the rest of the
	// process API are there for the function to use.
	gen.Process
	// MFA is the function called.
	MFA MFA
	// Caller is the BEAM process that asked: the parent of a spawn, the caller of rpc:call
	// and erpc:call. Caller.Node is the node it runs on.
	Caller gen.PID
	// GroupLeader is the caller's group leader, where io:format output of the call would go
	// on BEAM; the zero PID when the request named none.
	GroupLeader gen.PID
}

// Registry maps Erlang functions to the Go code that implements them. Its zero value is an
// empty registry ready to use; it is safe for concurrent use, and functions may be registered
// and unregistered while the node runs.
type Registry struct {
	mu      sync.RWMutex
	entries map[MFA]*entry
}

// entry is one registered function: a Func, or a process factory.
type entry struct {
	mfa MFA
	fn  Func
	// location is the Func's source position as a BEAM stack location, [{file, F}, {line, L}].
	location etf.List

	factory gen.ProcessFactory
	options gen.ProcessOptions
}

// Errors of Registry.
var (
	// ErrRegistered is returned for an MFA that already has an implementation.
	ErrRegistered = errors.New("kernel: function already registered")
	// ErrReserved is returned for an MFA the node implements itself (the erpc module,
	// erlang:apply/2,3, erlang:node/0, global:resolve_it/4).
	ErrReserved = errors.New("kernel: function reserved by the node")
	// ErrBadMFA is returned for an MFA that cannot name an Erlang function.
	ErrBadMFA = errors.New("kernel: invalid MFA")
)

// RegisterFunc makes fn the implementation of mfa.
func (r *Registry) RegisterFunc(mfa MFA, fn Func) error {
	if fn == nil {
		return fmt.Errorf("%w: %s: nil Func", ErrBadMFA, mfa)
	}
	return r.add(&entry{mfa: mfa, fn: fn, location: funcLocation(fn)})
}

// RegisterProcess makes mfa start a Go process: spawning mfa on this node from BEAM
// (Node.spawn/4, spawn_link, spawn_monitor, erlang:spawn_request) spawns the process factory
// returns, with options, and passes the call's arguments to its ProcessInit (so an act.Actor's
// Init gets them as args, one per Erlang argument). The process starts once the spawning node
// has its pid, so nothing it sends, and no exit of it, reaches BEAM before the spawn returns.
// CallerOf tells the process which BEAM process spawned it.
//
// rpc:call and erpc:call of mfa start the process the same way and return its pid, as a
// start function does.
func (r *Registry) RegisterProcess(mfa MFA, factory gen.ProcessFactory, options gen.ProcessOptions) error {
	if factory == nil {
		return fmt.Errorf("%w: %s: nil process factory", ErrBadMFA, mfa)
	}
	return r.add(&entry{mfa: mfa, factory: factory, options: options})
}

func (r *Registry) add(e *entry) error {
	if err := e.mfa.check(); err != nil {
		return err
	}
	if reserved(e.mfa) {
		return fmt.Errorf("%w: %s", ErrReserved, e.mfa)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.entries[e.mfa]; taken {
		return fmt.Errorf("%w: %s", ErrRegistered, e.mfa)
	}
	if r.entries == nil {
		r.entries = make(map[MFA]*entry)
	}
	r.entries[e.mfa] = e
	return nil
}

// Unregister removes the implementation of mfa and reports whether there was one. Calls that
// already started run to their end; later ones find the function undefined, as after a module
// is purged on BEAM.
func (r *Registry) Unregister(mfa MFA) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.entries[mfa]
	delete(r.entries, mfa)
	return ok
}

// Registered lists the registered functions, sorted.
func (r *Registry) Registered() []MFA {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	out := make([]MFA, 0, len(r.entries))
	for m := range r.entries {
		out = append(out, m)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Module != b.Module {
			return a.Module < b.Module
		}
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		return a.Arity < b.Arity
	})
	return out
}

func (r *Registry) lookup(mfa MFA) *entry {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	e := r.entries[mfa]
	r.mu.RUnlock()
	return e
}

// funcLocation is where fn is defined, as a BEAM stack frame location, so a stack trace on BEAM
// points at the Go source.
func funcLocation(fn Func) etf.List {
	f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if f == nil {
		return etf.List{}
	}
	file, line := f.FileLine(f.Entry())
	if file == "" {
		return etf.List{}
	}
	return etf.List{
		etf.Tuple{atomFile, charlist(file)},
		etf.Tuple{atomLine, int64(line)},
	}
}

// charlist is s as an Erlang string, a list of character codes.
func charlist(s string) etf.Term {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return etf.ByteList(s)
	}
	out := make(etf.List, 0, len(s))
	for _, r := range s {
		out = append(out, int64(r))
	}
	return out
}
