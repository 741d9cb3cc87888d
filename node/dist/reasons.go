package dist

import (
	"errors"
	"fmt"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// ExitReason is an exit reason that came from a BEAM node (or is to go to one) as an Erlang
// term. Ergo carries exit reasons as Go errors; wrapping the term keeps it whole, so a reason
// such as {shutdown, {timeout, 5000}} reaches Go code, and goes back to BEAM, intact.
type ExitReason struct {
	Term etf.Term
}

func (e *ExitReason) Error() string { return fmt.Sprintf("exit: %v", e.Term) }

// Well-known reasons map to Ergo's own values, so Ergo's supervisors and actors understand them.
var (
	atomNormal       = etf.Atom("normal")
	atomKill         = etf.Atom("kill")
	atomKilled       = etf.Atom("killed")
	atomShutdown     = etf.Atom("shutdown")
	atomNoproc       = etf.Atom("noproc")
	atomNoconnection = etf.Atom("noconnection")
)

// ReasonFromTerm turns an Erlang exit reason into the Go error Ergo expects.
func ReasonFromTerm(t etf.Term) error {
	if a, ok := t.(etf.Atom); ok {
		switch a {
		case atomNormal:
			return gen.TerminateReasonNormal
		case atomKill:
			return gen.TerminateReasonKill
		case atomShutdown:
			return gen.TerminateReasonShutdown
		case atomNoproc:
			return gen.ErrProcessUnknown
		case atomNoconnection:
			return gen.ErrNoConnection
		}
	}
	return &ExitReason{Term: t}
}

// ReasonTerm turns a Go error into the Erlang exit reason sent on the wire. Errors that carry no
// term of their own travel as their text in a binary, the form Elixir code expects of messages.
func ReasonTerm(err error) etf.Term {
	var er *ExitReason
	switch {
	case err == nil, errors.Is(err, gen.TerminateReasonNormal):
		return atomNormal
	case errors.As(err, &er):
		return er.Term
	case errors.Is(err, gen.TerminateReasonKill):
		return atomKilled
	case errors.Is(err, gen.TerminateReasonShutdown):
		return atomShutdown
	case errors.Is(err, gen.ErrProcessUnknown), errors.Is(err, gen.ErrProcessTerminated):
		return atomNoproc
	case errors.Is(err, gen.ErrNoConnection):
		return atomNoconnection
	}
	return []byte(err.Error())
}
