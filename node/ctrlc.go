package node

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Ergo's StartNode ends by turning on a SIGINT/SIGTERM handler of its own: a goroutine that, on
// the first signal, resets every signal handler of the program and stops the node at once. A
// program that embeds a node owns its signals and its shutdown order (drain, flush, stop), so
// that handler must stay off.
//
// Turning it off with Ergo's SetCTRLC(false) right after the start races with that goroutine.
// When the goroutine has already registered its channel with os/signal, SetCTRLC(false) closes
// the channel without unregistering it, and the next SIGTERM panics the program inside os/signal
// (send on closed channel); when the goroutine is between its check of the flag and its
// registration, the handler is set up after all and stays on.
//
// So the handler is never started: while Ergo starts the network, before it turns the handler
// on, the node's registrar sets the flag SetCTRLC compares and swaps, so that StartNode's
// SetCTRLC(true) finds it set and starts nothing (Ergo logs "handling SIGTERM is already set:
// true"). Once StartNode has returned, Start clears the flag again, so that a program that wants
// Ergo's handler can still turn it on with n.SetCTRLC(true).

// ergoSignalFlag returns the flag of Ergo's node n (its enableCTRLC) that SetCTRLC compares and
// swaps, or nil when n has no such field (another Ergo release).
func ergoSignalFlag(n any) *atomic.Bool {
	v := reflect.ValueOf(n)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("enableCTRLC")
	if !f.IsValid() || f.Type() != reflect.TypeFor[atomic.Bool]() {
		return nil
	}
	return (*atomic.Bool)(unsafe.Pointer(f.UnsafeAddr()))
}
