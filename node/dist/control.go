package dist

import (
	"fmt"

	"github.com/gobeam/gobeam/etf"
)

// Op is the operation code of a control message, the first element of its tuple.
type Op uint8

// Control message operations (erl_dist_protocol, "Protocol between Connected Nodes").
const (
	OpLink                Op = 1
	OpSend                Op = 2
	OpExit                Op = 3
	OpUnlink              Op = 4
	OpNodeLink            Op = 5
	OpRegSend             Op = 6
	OpGroupLeader         Op = 7
	OpExit2               Op = 8
	OpSendTT              Op = 12
	OpExitTT              Op = 13
	OpRegSendTT           Op = 16
	OpExit2TT             Op = 18
	OpMonitorP            Op = 19
	OpDemonitorP          Op = 20
	OpMonitorPExit        Op = 21
	OpSendSender          Op = 22
	OpSendSenderTT        Op = 23
	OpPayloadExit         Op = 24
	OpPayloadExitTT       Op = 25
	OpPayloadExit2        Op = 26
	OpPayloadExit2TT      Op = 27
	OpPayloadMonitorPExit Op = 28
	OpSpawnRequest        Op = 29
	OpSpawnRequestTT      Op = 30
	OpSpawnReply          Op = 31
	OpSpawnReplyTT        Op = 32
	OpAliasSend           Op = 33
	OpAliasSendTT         Op = 34
	OpUnlinkID            Op = 35
	OpUnlinkIDAck         Op = 36
)

var opNames = map[Op]string{
	OpLink: "LINK", OpSend: "SEND", OpExit: "EXIT", OpUnlink: "UNLINK", OpNodeLink: "NODE_LINK",
	OpRegSend: "REG_SEND", OpGroupLeader: "GROUP_LEADER", OpExit2: "EXIT2", OpSendTT: "SEND_TT",
	OpExitTT: "EXIT_TT", OpRegSendTT: "REG_SEND_TT", OpExit2TT: "EXIT2_TT", OpMonitorP: "MONITOR_P",
	OpDemonitorP: "DEMONITOR_P", OpMonitorPExit: "MONITOR_P_EXIT", OpSendSender: "SEND_SENDER",
	OpSendSenderTT: "SEND_SENDER_TT", OpPayloadExit: "PAYLOAD_EXIT", OpPayloadExitTT: "PAYLOAD_EXIT_TT",
	OpPayloadExit2: "PAYLOAD_EXIT2", OpPayloadExit2TT: "PAYLOAD_EXIT2_TT",
	OpPayloadMonitorPExit: "PAYLOAD_MONITOR_P_EXIT", OpSpawnRequest: "SPAWN_REQUEST",
	OpSpawnRequestTT: "SPAWN_REQUEST_TT", OpSpawnReply: "SPAWN_REPLY", OpSpawnReplyTT: "SPAWN_REPLY_TT",
	OpAliasSend: "ALIAS_SEND", OpAliasSendTT: "ALIAS_SEND_TT", OpUnlinkID: "UNLINK_ID",
	OpUnlinkIDAck: "UNLINK_ID_ACK",
}

func (op Op) String() string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// HasPayload reports whether a second term (the message, exit reason or spawn arguments)
// follows a control message with this operation.
func (op Op) HasPayload() bool {
	switch op {
	case OpSend, OpRegSend, OpSendTT, OpRegSendTT, OpSendSender, OpSendSenderTT,
		OpPayloadExit, OpPayloadExitTT, OpPayloadExit2, OpPayloadExit2TT, OpPayloadMonitorPExit,
		OpSpawnRequest, OpSpawnRequestTT, OpAliasSend, OpAliasSendTT:
		return true
	}
	return false
}

// Control is a decoded control message. Which fields are set depends on Op; the comment on each
// field names the operations that use it. Trace tokens of the _TT variants are kept in Token so
// a relay can pass them on, but this node does not take part in sequential tracing.
type Control struct {
	Op Op

	// From is the sending process: LINK, EXIT*, UNLINK*, REG_SEND*, GROUP_LEADER, MONITOR_P,
	// DEMONITOR_P, SEND_SENDER*, ALIAS_SEND*, SPAWN_REQUEST* and (when a pid) MONITOR_P_EXIT.
	From etf.PID
	// FromName is the monitored process's registered name in a MONITOR_P_EXIT of a monitor
	// that was set up by name.
	FromName etf.Atom
	// To is the receiving process: SEND*, LINK, EXIT*, UNLINK*, GROUP_LEADER, MONITOR_P* (when a
	// pid), MONITOR_P_EXIT*, SPAWN_REPLY*.
	To etf.PID
	// ToName is the registered name of REG_SEND* and of MONITOR_P / DEMONITOR_P by name.
	ToName etf.Atom
	// Ref is the monitor reference (MONITOR_P*, DEMONITOR_P, MONITOR_P_EXIT*), the alias of
	// ALIAS_SEND*, and the request id of SPAWN_REQUEST* / SPAWN_REPLY*.
	Ref etf.Ref
	// Reason is the exit reason carried inside the control tuple by EXIT, EXIT2, EXIT_TT,
	// EXIT2_TT and MONITOR_P_EXIT (the PAYLOAD_ variants carry it as the payload instead).
	Reason etf.Term
	// ID is the unlink identifier of UNLINK_ID and UNLINK_ID_ACK.
	ID uint64
	// Token is the sequential trace token of the _TT variants.
	Token etf.Term

	// SPAWN_REQUEST fields.
	GroupLeader etf.PID
	Module      etf.Atom
	Function    etf.Atom
	Arity       int
	SpawnOpts   etf.List

	// SPAWN_REPLY fields: Flags (1 = link set up, 2 = monitor set up) and Result, the new pid or
	// an error atom.
	Flags  int
	Result etf.Term
}

// ControlError says why a control message could not be understood.
type ControlError struct {
	Op     Op
	Reason string
}

func (e *ControlError) Error() string {
	if e.Op == 0 {
		return "dist: malformed control message: " + e.Reason
	}
	return fmt.Sprintf("dist: malformed %s control message: %s", e.Op, e.Reason)
}

func badControl(op Op, format string, args ...any) error {
	return &ControlError{Op: op, Reason: fmt.Sprintf(format, args...)}
}

// ParseControl reads a decoded control tuple.
func ParseControl(t etf.Term) (Control, error) {
	tup, ok := t.(etf.Tuple)
	if !ok || len(tup) == 0 {
		return Control{}, badControl(0, "not a non-empty tuple: %T", t)
	}
	code, ok := tup[0].(int64)
	if !ok || code < 0 || code > 255 {
		return Control{}, badControl(0, "first element is not an operation code: %v", tup[0])
	}
	c := Control{Op: Op(code)}
	want := func(n int) error {
		if len(tup) != n {
			return badControl(c.Op, "has %d elements, want %d", len(tup), n)
		}
		return nil
	}
	var err error
	pid := func(i int, dst *etf.PID) {
		if err != nil {
			return
		}
		p, ok := tup[i].(etf.PID)
		if !ok {
			err = badControl(c.Op, "element %d is %T, want a pid", i+1, tup[i])
			return
		}
		*dst = p
	}
	atom := func(i int, dst *etf.Atom) {
		if err != nil {
			return
		}
		a, ok := asAtom(tup[i])
		if !ok {
			err = badControl(c.Op, "element %d is %T, want an atom", i+1, tup[i])
			return
		}
		*dst = a
	}
	ref := func(i int, dst *etf.Ref) {
		if err != nil {
			return
		}
		r, ok := tup[i].(etf.Ref)
		if !ok {
			err = badControl(c.Op, "element %d is %T, want a reference", i+1, tup[i])
			return
		}
		*dst = r
	}
	// pidOrName reads ToProc / FromProc of the monitor messages: a pid or a registered name.
	pidOrName := func(i int, p *etf.PID, name *etf.Atom) {
		if err != nil {
			return
		}
		if a, ok := asAtom(tup[i]); ok {
			*name = a
			return
		}
		pid(i, p)
	}
	uint := func(i int, dst *uint64) {
		if err != nil {
			return
		}
		switch v := tup[i].(type) {
		case uint64: // as Term builds it, before encoding
			*dst = v
			return
		case int64:
			if v >= 0 {
				*dst = uint64(v)
				return
			}
		case interface {
			IsUint64() bool
			Uint64() uint64
		}:
			if v.IsUint64() {
				*dst = v.Uint64()
				return
			}
		}
		err = badControl(c.Op, "element %d is not a non-negative 64-bit integer: %v", i+1, tup[i])
	}

	switch c.Op {
	case OpLink, OpUnlink, OpGroupLeader, OpSendSender, OpPayloadExit, OpPayloadExit2:
		if err = want(3); err == nil {
			pid(1, &c.From)
			pid(2, &c.To)
		}
	case OpSendSenderTT, OpPayloadExitTT, OpPayloadExit2TT:
		if err = want(4); err == nil {
			pid(1, &c.From)
			pid(2, &c.To)
			c.Token = tup[3]
		}
	case OpSend:
		if err = want(3); err == nil {
			pid(2, &c.To)
		}
	case OpSendTT:
		if err = want(4); err == nil {
			pid(2, &c.To)
			c.Token = tup[3]
		}
	case OpExit, OpExit2:
		if err = want(4); err == nil {
			pid(1, &c.From)
			pid(2, &c.To)
			c.Reason = tup[3]
		}
	case OpExitTT, OpExit2TT:
		if err = want(5); err == nil {
			pid(1, &c.From)
			pid(2, &c.To)
			c.Token = tup[3]
			c.Reason = tup[4]
		}
	case OpNodeLink:
		err = want(1)
	case OpRegSend:
		if err = want(4); err == nil {
			pid(1, &c.From)
			atom(3, &c.ToName)
		}
	case OpRegSendTT:
		if err = want(5); err == nil {
			pid(1, &c.From)
			atom(3, &c.ToName)
			c.Token = tup[4]
		}
	case OpMonitorP, OpDemonitorP:
		if err = want(4); err == nil {
			pid(1, &c.From)
			pidOrName(2, &c.To, &c.ToName)
			ref(3, &c.Ref)
		}
	case OpMonitorPExit:
		if err = want(5); err == nil {
			pidOrName(1, &c.From, &c.FromName)
			pid(2, &c.To)
			ref(3, &c.Ref)
			c.Reason = tup[4]
		}
	case OpPayloadMonitorPExit:
		if err = want(4); err == nil {
			pidOrName(1, &c.From, &c.FromName)
			pid(2, &c.To)
			ref(3, &c.Ref)
		}
	case OpSpawnRequest, OpSpawnRequestTT:
		n := 6
		if c.Op == OpSpawnRequestTT {
			n = 7
		}
		if err = want(n); err != nil {
			break
		}
		ref(1, &c.Ref)
		pid(2, &c.From)
		pid(3, &c.GroupLeader)
		if err == nil {
			mfa, ok := tup[4].(etf.Tuple)
			if !ok || len(mfa) != 3 {
				err = badControl(c.Op, "element 5 is not {Module, Function, Arity}: %v", tup[4])
				break
			}
			m, ok1 := asAtom(mfa[0])
			f, ok2 := asAtom(mfa[1])
			a, ok3 := mfa[2].(int64)
			if !ok1 || !ok2 || !ok3 || a < 0 || a > 255 {
				err = badControl(c.Op, "element 5 is not {Module, Function, Arity}: %v", tup[4])
				break
			}
			c.Module, c.Function, c.Arity = m, f, int(a)
		}
		if err == nil {
			opts, ok := etf.ProperList(tup[5])
			if !ok {
				err = badControl(c.Op, "spawn options are not a proper list: %v", tup[5])
				break
			}
			c.SpawnOpts = opts
		}
		if c.Op == OpSpawnRequestTT {
			c.Token = tup[6]
		}
	case OpSpawnReply, OpSpawnReplyTT:
		n := 5
		if c.Op == OpSpawnReplyTT {
			n = 6
		}
		if err = want(n); err != nil {
			break
		}
		ref(1, &c.Ref)
		pid(2, &c.To)
		if err == nil {
			f, ok := tup[3].(int64)
			if !ok || f < 0 {
				err = badControl(c.Op, "flags are not a non-negative integer: %v", tup[3])
				break
			}
			c.Flags = int(f)
		}
		c.Result = tup[4]
		if c.Op == OpSpawnReplyTT {
			c.Token = tup[5]
		}
	case OpAliasSend:
		if err = want(3); err == nil {
			pid(1, &c.From)
			ref(2, &c.Ref)
		}
	case OpAliasSendTT:
		if err = want(4); err == nil {
			pid(1, &c.From)
			ref(2, &c.Ref)
			c.Token = tup[3]
		}
	case OpUnlinkID, OpUnlinkIDAck:
		if err = want(4); err == nil {
			uint(1, &c.ID)
			pid(2, &c.From)
			pid(3, &c.To)
		}
	default:
		return c, badControl(c.Op, "unknown operation")
	}
	return c, err
}

// Term builds the control tuple for c, the inverse of ParseControl.
func (c Control) Term() (etf.Tuple, error) {
	op := int64(c.Op)
	switch c.Op {
	case OpLink, OpUnlink, OpGroupLeader, OpSendSender, OpPayloadExit, OpPayloadExit2:
		return etf.Tuple{op, c.From, c.To}, nil
	case OpSendSenderTT, OpPayloadExitTT, OpPayloadExit2TT:
		return etf.Tuple{op, c.From, c.To, c.Token}, nil
	case OpSend:
		return etf.Tuple{op, etf.Atom(""), c.To}, nil
	case OpSendTT:
		return etf.Tuple{op, etf.Atom(""), c.To, c.Token}, nil
	case OpExit, OpExit2:
		return etf.Tuple{op, c.From, c.To, c.Reason}, nil
	case OpExitTT, OpExit2TT:
		return etf.Tuple{op, c.From, c.To, c.Token, c.Reason}, nil
	case OpNodeLink:
		return etf.Tuple{op}, nil
	case OpRegSend:
		return etf.Tuple{op, c.From, etf.Atom(""), c.ToName}, nil
	case OpRegSendTT:
		return etf.Tuple{op, c.From, etf.Atom(""), c.ToName, c.Token}, nil
	case OpMonitorP, OpDemonitorP:
		return etf.Tuple{op, c.From, pidOrNameTerm(c.To, c.ToName), c.Ref}, nil
	case OpMonitorPExit:
		return etf.Tuple{op, pidOrNameTerm(c.From, c.FromName), c.To, c.Ref, c.Reason}, nil
	case OpPayloadMonitorPExit:
		return etf.Tuple{op, pidOrNameTerm(c.From, c.FromName), c.To, c.Ref}, nil
	case OpSpawnRequest:
		return etf.Tuple{op, c.Ref, c.From, c.GroupLeader, etf.Tuple{c.Module, c.Function, int64(c.Arity)}, nonNil(c.SpawnOpts)}, nil
	case OpSpawnRequestTT:
		return etf.Tuple{op, c.Ref, c.From, c.GroupLeader, etf.Tuple{c.Module, c.Function, int64(c.Arity)}, nonNil(c.SpawnOpts), c.Token}, nil
	case OpSpawnReply:
		return etf.Tuple{op, c.Ref, c.To, int64(c.Flags), c.Result}, nil
	case OpSpawnReplyTT:
		return etf.Tuple{op, c.Ref, c.To, int64(c.Flags), c.Result, c.Token}, nil
	case OpAliasSend:
		return etf.Tuple{op, c.From, c.Ref}, nil
	case OpAliasSendTT:
		return etf.Tuple{op, c.From, c.Ref, c.Token}, nil
	case OpUnlinkID, OpUnlinkIDAck:
		return etf.Tuple{op, c.ID, c.From, c.To}, nil
	}
	return nil, badControl(c.Op, "unknown operation")
}

func pidOrNameTerm(p etf.PID, name etf.Atom) etf.Term {
	if name != "" {
		return name
	}
	return p
}

func nonNil(l etf.List) etf.List {
	if l == nil {
		return etf.List{}
	}
	return l
}

// asAtom accepts an atom; true and false decode as Go bools, which are atoms too.
func asAtom(t etf.Term) (etf.Atom, bool) {
	switch v := t.(type) {
	case etf.Atom:
		return v, true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
