package kernel

import (
	"errors"
	"fmt"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
)

// A Func fails the way an Erlang function does: by raising an exception of one of the three
// classes. It returns *Error, *Exit or *Throw for the class it means; any other error is an
// error-class exception whose reason is the error as an exit reason term (see ErrorReason).

// Error is erlang:error(Reason): rpc:call gives {badrpc, {'EXIT', {Reason, Stack}}}, erpc:call
// raises error:{exception, Reason, Stack}, and a spawned process exits with {Reason, Stack}.
type Error struct{ Reason etf.Term }

func (e *Error) Error() string { return fmt.Sprintf("erlang error: %v", e.Reason) }

// Exit is erlang:exit(Reason): rpc:call gives {badrpc, {'EXIT', Reason}}, erpc:call raises
// exit:{exception, Reason}, and a spawned process exits with Reason.
type Exit struct{ Reason etf.Term }

func (e *Exit) Error() string { return fmt.Sprintf("erlang exit: %v", e.Reason) }

// Throw is erlang:throw(Value): rpc:call returns Value, erpc:call throws Value, and a spawned
// process exits with {{nocatch, Value}, Stack}.
type Throw struct{ Value etf.Term }

func (e *Throw) Error() string { return fmt.Sprintf("erlang throw: %v", e.Value) }

// ErrorReason is the reason of the error exception a Func raises by returning err, when err is
// none of *Error, *Exit and *Throw: the exit reason term that err stands for (dist.ReasonTerm),
// which for an ordinary Go error is its text as a binary, the form Elixir messages take.
func ErrorReason(err error) etf.Term { return dist.ReasonTerm(err) }

// outcomeError carries an outcome, stack included, through a Func's error result.
type outcomeError struct{ o outcome }

func (e *outcomeError) Error() string { return fmt.Sprintf("exception %v", e.o.value) }

// class is the class of an Erlang exception, or classReturn for a function that returned.
type class uint8

const (
	classReturn class = iota
	classThrow
	classExit
	classError
)

var (
	atomReturn  = etf.Atom("return")
	atomThrow   = etf.Atom("throw")
	atomExit    = etf.Atom("exit")
	atomError   = etf.Atom("error")
	atomNormal  = etf.Atom("normal")
	atomNocatch = etf.Atom("nocatch")
	atomBadrpc  = etf.Atom("badrpc")
	atomEXIT    = etf.Atom("EXIT")
	atomUndef   = etf.Atom("undef")
	atomBadarg  = etf.Atom("badarg")
	atomErlang  = etf.Atom("erlang")
	atomApply   = etf.Atom("apply")
	atomFile    = etf.Atom("file")
	atomLine    = etf.Atom("line")
	atomErpc    = etf.Atom("erpc")
)

// outcome is how a call of an Erlang function ended: the value it returned, or the exception
// it raised with the stack the exception carries.
type outcome struct {
	class class
	// value is the returned or thrown value, the exit reason, or the error reason.
	value etf.Term
	// stack is the stack trace of a throw or an error: a list of {M, F, ArityOrArgs, Location}.
	stack etf.List
	// sendable says that value and stack are known to have an Erlang form (see sendable), so
	// they need no second trial encoding before they leave.
	sendable bool
}

func returned(v etf.Term) outcome { return outcome{class: classReturn, value: v} }

// raised is the outcome of err, raised by the function whose stack frame is frame.
func raised(err error, frame etf.Tuple) outcome {
	var (
		ee *Error
		ex *Exit
		th *Throw
		er *dist.ExitReason
		oe *outcomeError
	)
	switch {
	case errors.As(err, &oe):
		return oe.o
	case errors.As(err, &th):
		return outcome{class: classThrow, value: th.Value, stack: etf.List{frame}}
	case errors.As(err, &ex):
		return outcome{class: classExit, value: ex.Reason}
	case errors.As(err, &ee):
		return outcome{class: classError, value: ee.Reason, stack: etf.List{frame}}
	case errors.As(err, &er),
		errors.Is(err, gen.TerminateReasonNormal),
		errors.Is(err, gen.TerminateReasonShutdown),
		errors.Is(err, gen.TerminateReasonKill):
		// An exit reason is what exit/1 takes.
		return outcome{class: classExit, value: dist.ReasonTerm(err)}
	}
	return outcome{class: classError, value: ErrorReason(err), stack: etf.List{frame}}
}

// undef is the outcome of calling a function that does not exist: error undef, with the frame
// BEAM puts on top, {Module, Function, Args, []}.
func undef(module, function, args etf.Term) outcome {
	return outcome{class: classError, value: atomUndef, stack: etf.List{etf.Tuple{module, function, args, etf.List{}}}}
}

// badarg is the outcome of erlang:apply with arguments of the wrong types: for apply/3 a module,
// a function name and an argument list that are not an atom, an atom and a proper list.
func badarg(applyArgs etf.List) outcome {
	return outcome{class: classError, value: atomBadarg,
		stack: etf.List{etf.Tuple{atomErlang, atomApply, applyArgs, etf.List{}}}}
}

// under adds a caller's frame below the top of the stack of an error or a throw, as the BEAM
// stack shows erlang:apply/2 under the fun it applied.
func (o outcome) under(frame etf.Tuple) outcome {
	if o.class == classError || o.class == classThrow {
		o.stack = append(append(etf.List{}, o.stack...), frame)
	}
	return o
}

// erpcResult is the exit reason with which erpc:execute_call/4 ends, and from which erpc:call
// on the calling node takes the result: {Ref, return, Value}, {Ref, throw, Value},
// {Ref, exit, Reason} or {Ref, error, Reason, Stack}.
func (o outcome) erpcResult(ref etf.Term) etf.Term {
	switch o.class {
	case classReturn:
		return etf.Tuple{ref, atomReturn, o.value}
	case classThrow:
		return etf.Tuple{ref, atomThrow, o.value}
	case classExit:
		return etf.Tuple{ref, atomExit, o.value}
	}
	return etf.Tuple{ref, atomError, o.value, o.stack}
}

// rpcReply is the reply of the rex server to {call, M, F, A, GroupLeader}: the value returned
// or thrown, {badrpc, {'EXIT', Reason}} for an exit and {badrpc, {'EXIT', {Reason, Stack}}} for
// an error.
func (o outcome) rpcReply() etf.Term {
	switch o.class {
	case classReturn, classThrow:
		return o.value
	case classExit:
		return etf.Tuple{atomBadrpc, etf.Tuple{atomEXIT, o.value}}
	}
	return etf.Tuple{atomBadrpc, etf.Tuple{atomEXIT, etf.Tuple{o.value, o.stack}}}
}

// exitReason is the reason a process exits with when its initial function ended this way:
// normal, {{nocatch, Value}, Stack}, the exit reason, or {Reason, Stack}.
func (o outcome) exitReason() etf.Term {
	switch o.class {
	case classReturn:
		return atomNormal
	case classThrow:
		return etf.Tuple{etf.Tuple{atomNocatch, o.value}, o.stack}
	case classExit:
		return o.value
	}
	return etf.Tuple{o.value, o.stack}
}

// crashed reports whether the outcome is one BEAM reports as a crash of the process that ran
// it: an uncaught error or throw. exit/1 ends a process quietly.
func (o outcome) crashed() bool { return o.class == classError || o.class == classThrow }
