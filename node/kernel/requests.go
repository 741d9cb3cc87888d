package kernel

import (
	"fmt"

	"github.com/gobeam/gobeam/etf"
)

// The requests BEAM nodes send to the net_kernel and rex processes of another node, as OTP 25,
// 27 and 29 send them (net_kernel.erl, rpc.erl and net_adm.erl are the same in this respect in
// all three). Decoding is pure so it can be tested and fuzzed without a node.

// netKernelCall is a gen_server call to net_kernel.
type netKernelCall struct {
	kind netKernelCallKind
	// spawn: the legacy remote spawn of nodes older than OTP 23, {spawn, M, F, A, GL},
	// {spawn_link, M, F, A, GL} or {spawn_opt, M, F, A, Opts, LinkOrNoLink, GL}.
	module, function etf.Term
	args             etf.Term
	link             bool
	groupLeader      etf.Term
}

type netKernelCallKind uint8

const (
	nkUnknown netKernelCallKind = iota
	// {is_auth, Node}: net_adm:ping/1. The answer yes makes the ping pong.
	nkIsAuth
	// ticktime, nodename, longnames: queries of net_kernel's state.
	nkTicktime
	nkNodename
	nkLongnames
	// a legacy spawn
	nkSpawn
)

var (
	atomIsAuth    = etf.Atom("is_auth")
	atomTicktime  = etf.Atom("ticktime")
	atomNodename  = etf.Atom("nodename")
	atomLongnames = etf.Atom("longnames")
	atomSpawn     = etf.Atom("spawn")
	atomSpawnLink = etf.Atom("spawn_link")
	atomSpawnOpt  = etf.Atom("spawn_opt")
	atomLink      = etf.Atom("link")
)

func parseNetKernelCall(req etf.Term) netKernelCall {
	switch v := req.(type) {
	case etf.Atom:
		switch v {
		case atomTicktime:
			return netKernelCall{kind: nkTicktime}
		case atomNodename:
			return netKernelCall{kind: nkNodename}
		case atomLongnames:
			return netKernelCall{kind: nkLongnames}
		}
	case etf.Tuple:
		if len(v) == 0 {
			break
		}
		switch v[0] {
		case atomIsAuth:
			if len(v) == 2 {
				return netKernelCall{kind: nkIsAuth}
			}
		case atomSpawn, atomSpawnLink:
			if len(v) == 5 {
				return netKernelCall{kind: nkSpawn, module: v[1], function: v[2], args: v[3],
					link: v[0] == atomSpawnLink, groupLeader: v[4]}
			}
		case atomSpawnOpt:
			if len(v) == 7 {
				return netKernelCall{kind: nkSpawn, module: v[1], function: v[2], args: v[3],
					link: v[5] == atomLink, groupLeader: v[6]}
			}
		}
	}
	return netKernelCall{kind: nkUnknown}
}

// registeredSend is net_kernel's {From, registered_send, To, Message}: a message for a
// registered process, relayed by nodes older than the REG_SEND era.
type registeredSend struct {
	from    etf.PID
	to      etf.Atom
	message etf.Term
}

var atomRegisteredSend = etf.Atom("registered_send")

func parseRegisteredSend(msg etf.Term) (registeredSend, bool) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 4 || t[1] != atomRegisteredSend {
		return registeredSend{}, false
	}
	from, ok1 := t[0].(etf.PID)
	to, ok2 := t[2].(etf.Atom)
	if !ok1 || !ok2 {
		return registeredSend{}, false
	}
	return registeredSend{from: from, to: to, message: t[3]}, true
}

// rexCall is {call, M, F, A, GroupLeader} or {block_call, M, F, A, GroupLeader}, made as a
// gen_server call (rpc:block_call, and rpc:call of OTP 22 and older) or sent as
// {From, {call, M, F, A, GroupLeader}} (C nodes: erl_interface's ei_rpc).
type rexCall struct {
	module, function, args etf.Term
	groupLeader            etf.Term
}

var (
	atomCall      = etf.Atom("call")
	atomBlockCall = etf.Atom("block_call")
	atomCast      = etf.Atom("cast")
	atomGenCast   = etf.Atom("$gen_cast")
)

func parseRexCall(req etf.Term) (rexCall, bool) {
	t, ok := req.(etf.Tuple)
	if !ok || len(t) != 5 || (t[0] != atomCall && t[0] != atomBlockCall) {
		return rexCall{}, false
	}
	return rexCall{module: t[1], function: t[2], args: t[3], groupLeader: t[4]}, true
}

// rexMessage is a message (not a call) to rex.
type rexMessage struct {
	kind rexMessageKind
	from etf.PID
	// call: {From, {call, M, F, A, GL}} and the cast {'$gen_cast', {cast, M, F, A, GL}}
	call rexCall
	// sbcast and send: {From, {sbcast, Name, Msg}} and {From, {send, Name, Msg}}
	name    etf.Atom
	message etf.Term
}

type rexMessageKind uint8

const (
	rexUnknown rexMessageKind = iota
	rexCallMsg
	rexCastMsg
	// {From, features_request}: every OTP 23+ node asks each node that comes up which rpc
	// features it has; the answer [erpc] says spawn-based rpc works.
	rexFeatures
	rexSbcast
	rexSend
)

var (
	atomFeaturesRequest = etf.Atom("features_request")
	atomFeaturesReply   = etf.Atom("features_reply")
	atomSbcast          = etf.Atom("sbcast")
	atomSend            = etf.Atom("send")
	atomRex             = etf.Atom("rex")
	atomNonexistingName = etf.Atom("nonexisting_name")
)

func parseRexMessage(msg etf.Term) rexMessage {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 2 {
		return rexMessage{}
	}
	if t[0] == atomGenCast {
		c, ok := t[1].(etf.Tuple)
		if ok && len(c) == 5 && c[0] == atomCast {
			return rexMessage{kind: rexCastMsg, call: rexCall{module: c[1], function: c[2], args: c[3], groupLeader: c[4]}}
		}
		return rexMessage{}
	}
	from, ok := t[0].(etf.PID)
	if !ok {
		return rexMessage{}
	}
	if t[1] == atomFeaturesRequest {
		return rexMessage{kind: rexFeatures, from: from}
	}
	if call, ok := parseRexCall(t[1]); ok && t[1].(etf.Tuple)[0] == atomCall {
		return rexMessage{kind: rexCallMsg, from: from, call: call}
	}
	if r, ok := t[1].(etf.Tuple); ok && len(r) == 3 && (r[0] == atomSbcast || r[0] == atomSend) {
		name, ok := r[1].(etf.Atom)
		if !ok {
			return rexMessage{}
		}
		kind := rexSbcast
		if r[0] == atomSend {
			kind = rexSend
		}
		return rexMessage{kind: kind, from: from, name: name, message: r[2]}
	}
	return rexMessage{}
}

// groupLeader reads the group leader of a request: a pid, or anything else (user,
// send_stdout_to_caller), which has no Go meaning and reads as none.
func groupLeader(t etf.Term) etf.PID {
	if p, ok := t.(etf.PID); ok {
		return p
	}
	return etf.PID{}
}

// describe is a short form of a term for the log: a remote node controls it, so it is cut.
func describe(t etf.Term) string {
	s := fmt.Sprintf("%v", t)
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
