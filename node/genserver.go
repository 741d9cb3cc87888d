package node

import (
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// GenServer is an Ergo actor that BEAM code talks to as to a gen_server. Embed it in a struct
// and implement the handlers you need:
//
//	HandleCast(message any) error                                  // GenServer.cast / gen_server:cast
//	HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) // GenServer.call, Ergo's own
//	HandleInfo(from gen.PID, message any) error                     // any other message
//
// {'$gen_cast', Msg} goes to HandleCast, calls (which the distribution layer turns into Ergo
// calls, alias-tagged ones of OTP 24+ included) to HandleCall, whose result is the reply, and
// everything else to HandleInfo. Exit signals a trapping GenServer receives arrive in HandleInfo
// as gen.MessageExitPID, and its monitors' DOWNs as gen.MessageDownPID or dist.MessageDown.
//
// SetTrapExit on a GenServer also tells the distribution layer, so exit signals from BEAM
// processes follow Erlang's rules for it.
type GenServer struct {
	act.Actor
}

// CastHandler is implemented by GenServers that take casts.
type CastHandler interface {
	HandleCast(message any) error
}

// InfoHandler is implemented by GenServers that take plain messages.
type InfoHandler interface {
	HandleInfo(from gen.PID, message any) error
}

var atomGenCast = etf.Atom("$gen_cast")

// HandleMessage sorts messages into casts and infos.
func (s *GenServer) HandleMessage(from gen.PID, message any) error {
	if t, ok := message.(etf.Tuple); ok && len(t) == 2 && t[0] == atomGenCast {
		if h, ok := s.Behavior().(CastHandler); ok {
			return h.HandleCast(t[1])
		}
		s.Log().Warning("cast %v dropped: %T has no HandleCast", t[1], s.Behavior())
		return nil
	}
	if h, ok := s.Behavior().(InfoHandler); ok {
		return h.HandleInfo(from, message)
	}
	s.Log().Warning("message %v from %s dropped: %T has no HandleInfo", message, from, s.Behavior())
	return nil
}

// SetTrapExit sets trap_exit for the actor and for signals from BEAM processes.
func (s *GenServer) SetTrapExit(trap bool) {
	s.Actor.SetTrapExit(trap)
	setTrapping(s.PID(), trap)
}

// Terminate forgets the process's trap flag. A GenServer that defines its own Terminate calls
// this one too (s.GenServer.Terminate(reason)).
func (s *GenServer) Terminate(reason error) {
	setTrapping(s.PID(), false)
}

// Cast sends {'$gen_cast', Message} to to (a BEAM or Go process: gen.PID, gen.ProcessID, a
// local name), as gen_server:cast does.
func Cast(p gen.Process, to any, message any) error {
	return p.Send(to, etf.Tuple{atomGenCast, message})
}
