package kernel

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
)

// A process spawned for a BEAM node must not act before the spawning node has its pid: on BEAM
// nothing of the new process (a message, its exit, a DOWN) reaches the parent ahead of the
// spawn reply. Ergo runs a process's ProcessInit inside Spawn, before the pid is even returned,
// and its ProcessRun once right after, mailbox empty or not. So the processes here do nothing
// until their gate opens: the DIST layer opens it (through the run function of the Spawn hook)
// once the reply is queued, and sends a startSignal to have ProcessRun called again. The signal
// is the first message of the new process: nobody else knows its pid yet.

// gate holds a spawned process back until it may start.
type gate struct{ open atomic.Bool }

// startSignal wakes a process whose gate opened.
type startSignal struct{}

// release opens the gate of the process pid and wakes it; s sends the signal (the node, or a
// process).
func release(g *gate, s sender, pid gen.PID) error {
	g.open.Store(true)
	return s.Send(pid, startSignal{})
}

type sender interface {
	Send(to any, message any) error
}

// takeStartSignal removes the start signal from the head of the mailbox, leaving anything else,
// and reports whether it did. The signal is queued before anything a peer can send the new
// process (peers learn its pid from the spawn reply, which leaves first), so it is at the head
// once it is there at all. It may not be there yet: Ergo's first ProcessRun can run while the
// gate opens, see it open, and look before release has queued the signal.
func takeStartSignal(p gen.Process) bool {
	mb := p.Mailbox()
	item := mb.Main.Item()
	if item == nil {
		return false
	}
	if m, ok := item.Value().(*gen.MailboxMessage); ok {
		if _, isStart := m.Message.(startSignal); isStart {
			mb.Main.Pop()
			gen.ReleaseMailboxMessage(m)
			return true
		}
	}
	return false
}

// funcProcess is a process whose whole life is one function call: it runs body once and exits
// with the reason the outcome gives.
type funcProcess struct {
	gate *gate
	proc gen.Process
	body func(p gen.Process) outcome
	done bool
}

func (f *funcProcess) ProcessInit(p gen.Process, args ...any) error {
	f.proc = p
	return nil
}

func (f *funcProcess) ProcessRun() error {
	if !f.gate.open.Load() {
		return nil
	}
	if f.done {
		return gen.TerminateReasonNormal
	}
	f.done = true
	takeStartSignal(f.proc)
	o := f.body(f.proc)
	reason := o.exitReason()
	if reason == atomNormal {
		return gen.TerminateReasonNormal
	}
	if err := encodableUnlessKnown(o, reason); err != nil {
		f.proc.Log().Error("exit reason has no Erlang form (%s); exiting with it as text", err)
		reason = []byte(fmt.Sprint(reason))
		o.class = classError
	}
	if !o.crashed() {
		// An exit (erpc's way of returning a result, or exit/1) is not a crash: BEAM reports
		// nothing, and neither should Ergo's log of abnormal terminations.
		f.proc.Log().SetLevel(gen.LogLevelDisabled)
	}
	return &dist.ExitReason{Term: reason}
}

func (f *funcProcess) ProcessTerminate(reason error) {}

// deferredProcess runs a registered process behavior once the start signal arrives: its
// ProcessInit with the call's arguments, then its ProcessRun for every batch of messages.
type deferredProcess struct {
	gate    *gate
	inner   gen.ProcessBehavior
	proc    gen.Process
	args    []any
	started bool
	// signalTaken: the start signal has been removed; until then every run looks for it, so
	// that the wrapped behavior never receives it as a message.
	signalTaken bool
}

func (d *deferredProcess) ProcessInit(p gen.Process, args ...any) error {
	d.proc, d.args = p, args
	return nil
}

func (d *deferredProcess) ProcessRun() error {
	if !d.gate.open.Load() {
		return nil
	}
	// release queues the signal right after opening the gate: wait for it, so the wrapped
	// behavior never meets it among its messages.
	for deadline := time.Now().Add(5 * time.Second); !d.signalTaken; time.Sleep(20 * time.Microsecond) {
		if d.signalTaken = takeStartSignal(d.proc); !d.signalTaken && time.Now().After(deadline) {
			return errors.New("kernel: the start signal never came")
		}
	}
	if !d.started {
		d.started = true
		// The behavior sees itself as the process's behavior (act.Actor checks that it
		// implements ActorBehavior), not the wrapper.
		if err := d.inner.ProcessInit(innerProcess{Process: d.proc, behavior: d.inner}, d.args...); err != nil {
			return err
		}
	}
	return d.inner.ProcessRun()
}

func (d *deferredProcess) ProcessTerminate(reason error) {
	if d.started {
		d.inner.ProcessTerminate(reason)
	}
}

// innerProcess is the process as the wrapped behavior sees it.
type innerProcess struct {
	gen.Process
	behavior gen.ProcessBehavior
}

func (p innerProcess) Behavior() gen.ProcessBehavior { return p.behavior }

// envCaller holds, in the environment of a process spawned for a BEAM node, the BEAM process
// that asked for it.
const envCaller gen.Env = "gobeam_kernel_caller"

// CallerOf returns the BEAM process that spawned p (with Node.spawn/4, spawn_link,
// spawn_monitor, erlang:spawn_request, rpc or erpc) when p was started from the Registry by
// RegisterProcess. Processes p spawns inherit it with the rest of p's environment.
func CallerOf(p gen.Process) (gen.PID, bool) {
	v, ok := p.Env(envCaller)
	if !ok {
		return gen.PID{}, false
	}
	pid, ok := v.(gen.PID)
	return pid, ok
}

// encodableUnlessKnown checks the exit reason made of o, unless o is known to be sendable.
func encodableUnlessKnown(o outcome, reason etf.Term) error {
	if o.sendable {
		return nil
	}
	return encodable(reason)
}

// encodable reports whether t has an Erlang form; a term that has none cannot be sent, and a
// reply or exit reason that cannot be sent would leave the BEAM caller waiting for ever.
func encodable(t etf.Term) error {
	_, err := etf.Encode(t)
	return err
}
