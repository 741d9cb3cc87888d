package global

import (
	"fmt"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// This file reads the terms that global_name_server processes and lockers send each other into
// Go values, and builds the ones this node sends. Reading is strict about what the protocol
// fixes (tuple sizes, atoms, pids, node names) and lenient about what a peer may extend, so a
// malformed term is a *ProtocolError and never a panic.

// ProtocolError is a term that does not have the form the global protocol gives it.
type ProtocolError struct {
	// What names the message or element being read, e.g. "init_connect".
	What string
	// Term is the term as received.
	Term etf.Term
	// Reason says what is wrong with it.
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("global: malformed %s: %s: %v", e.What, e.Reason, e.Term)
}

func malformed(what string, t etf.Term, reason string) error {
	return &ProtocolError{What: what, Term: t, Reason: reason}
}

// lockID is {ResourceId, LockRequesterId}, the argument of global:set_lock/1.
type lockID struct {
	Resource  etf.Term
	Requester etf.Term
}

func (l lockID) term() etf.Tuple { return etf.Tuple{l.Resource, l.Requester} }

// nameInfo is {Name, Pid, Method}, a name in the lists exchanged during a sync.
type nameInfo struct {
	Name   etf.Term
	Pid    gen.PID
	Method etf.Term
}

func (n nameInfo) term() etf.Tuple { return etf.Tuple{n.Name, n.Pid, n.Method} }

// extName is {Name, Pid, RegNode}: a name registered with register_name_external, whose pid
// the registering node links to.
type extName struct {
	Name    etf.Term
	Pid     gen.PID
	RegNode gen.Atom
}

// op is an operation on the name table that a sync produces: {insert, {Name, Pid, Method}}
// or {delete, Name}.
type op struct {
	Insert bool
	Name   nameInfo // only Name.Name is set for a delete
}

func (o op) term() etf.Tuple {
	if o.Insert {
		return etf.Tuple{atomInsert, o.Name.term()}
	}
	return etf.Tuple{atomDelete, o.Name.Name}
}

// nodeVsn is an element of a known list: a node and its protocol version (0 when unknown).
type nodeVsn struct {
	Node gen.Atom
	Vsn  int
}

// Casts: the Request of {'$gen_cast', Request} sent to global_name_server.

type initConnect struct {
	Vsn    int      // the version both speak: min(HisVsn, Version)
	HisVsn int      // the version the peer announced
	HisTag etf.Term // the peer's tag for this attempt
	Node   gen.Atom
	// Locker is the peer's locker process; Init is the whole {locker, ...} term.
	Locker gen.PID
	Init   etf.Term
}

type lockSet struct {
	Locker gen.PID
	Set    bool
	Known  etf.Term
	// Tag is the receiver's own tag, echoed; absent (Tagged false) from version 7 peers and
	// from lockers that answer a node they do not know.
	Tag    etf.Term
	Tagged bool
	// Raw is the term as received, forwarded to the locker as it is.
	Raw etf.Tuple
}

type exchangeMsg struct {
	Node  gen.Atom
	Names []nameInfo
	Tag   etf.Term
}

type resolvedMsg struct {
	Node     gen.Atom
	Resolved []op
	Known    []nodeVsn
	NamesExt []extName
	Tag      etf.Term
}

type newNodesMsg struct {
	Node     gen.Atom
	Ops      []op
	NamesExt []extName
	Nodes    []nodeVsn
	Extra    etf.Term // [{vsn, V}, {lock, LockId}]
}

type inSync struct {
	Node gen.Atom
}

// ignoredCast is a cast global_name_server accepts and does nothing with (async_del_name and
// async_del_lock, kept by BEAM for old peers).
type ignoredCast struct{}

// Plain messages to global_name_server.

type initConnectAck struct {
	Node      gen.Atom
	HisMyTag  etf.Term // the tag the peer holds as ours
	HisHisTag etf.Term // the tag the peer holds as its own
}

type cancelConnect struct {
	Node gen.Atom
	Tag  etf.Term
}

type lostConnection struct {
	NodeA     gen.Atom
	XCreation etf.Term
	OpID      etf.Term
	NodeB     gen.Atom
	Raw       etf.Tuple
}

type removeConnection struct {
	Node gen.Atom
}

type whereisMsg struct {
	Name etf.Term
	From etf.Term // a gen_server From, {Pid, Tag}
}

// Calls to global_name_server.

type registerReq struct {
	Name   etf.Term
	Pid    gen.PID
	Method etf.Term
}

type registerExtReq struct {
	Name    etf.Term
	Pid     gen.PID
	Method  etf.Term
	RegNode gen.Atom
}

type unregisterReq struct{ Name etf.Term }

type setLockReq struct{ ID lockID }

type delLockReq struct{ ID lockID }

// simpleReq is a call that is one atom: get_known, get_synced, get_protocol_version,
// get_names_ext.
type simpleReq struct{ Name etf.Atom }

// decodeCast reads the Request of a cast to global_name_server.
func decodeCast(req etf.Term) (any, error) {
	t, ok := req.(etf.Tuple)
	if !ok || len(t) == 0 {
		return nil, malformed("cast", req, "not a tagged tuple")
	}
	kind, _ := t[0].(etf.Atom)
	switch kind {
	case "init_connect":
		return decodeInitConnect(t)
	case "lock_set":
		return decodeLockSet(t)
	case "exchange":
		if len(t) != 5 {
			break
		}
		node, err := nodeName("exchange", t[1])
		if err != nil {
			return nil, err
		}
		names, err := nameInfos(t[2])
		if err != nil {
			return nil, err
		}
		return exchangeMsg{Node: node, Names: names, Tag: t[4]}, nil
	case "resolved":
		if len(t) != 7 {
			break
		}
		node, err := nodeName("resolved", t[1])
		if err != nil {
			return nil, err
		}
		ops, err := decodeOps(t[2])
		if err != nil {
			return nil, err
		}
		known, err := nodeVsns(t[3])
		if err != nil {
			return nil, err
		}
		ext, err := extNames(t[5])
		if err != nil {
			return nil, err
		}
		return resolvedMsg{Node: node, Resolved: ops, Known: known, NamesExt: ext, Tag: t[6]}, nil
	case "new_nodes":
		if len(t) != 6 {
			break
		}
		node, err := nodeName("new_nodes", t[1])
		if err != nil {
			return nil, err
		}
		ops, err := decodeOps(t[2])
		if err != nil {
			return nil, err
		}
		ext, err := extNames(t[3])
		if err != nil {
			return nil, err
		}
		nodes, err := nodeVsns(t[4])
		if err != nil {
			return nil, err
		}
		return newNodesMsg{Node: node, Ops: ops, NamesExt: ext, Nodes: nodes, Extra: t[5]}, nil
	case "in_sync":
		if len(t) != 3 {
			break
		}
		node, err := nodeName("in_sync", t[1])
		if err != nil {
			return nil, err
		}
		return inSync{Node: node}, nil
	case "async_del_name", "async_del_lock":
		if len(t) == 3 {
			return ignoredCast{}, nil
		}
	default:
		return nil, malformed("cast", req, "unknown request")
	}
	return nil, malformed(string(kind), req, "wrong size")
}

func decodeInitConnect(t etf.Tuple) (any, error) {
	if len(t) != 4 {
		return nil, malformed("init_connect", t, "wrong size")
	}
	// {HisVsn, HisTag}, or a longer tuple from a future release: [HisVsn, HisTag | _], in
	// which case both sides speak this node's version.
	vt, ok := t[1].(etf.Tuple)
	if !ok || len(vt) < 2 {
		return nil, malformed("init_connect", t, "version is not {Vsn, Tag}")
	}
	hisVsn, ok := smallInt(vt[0])
	if !ok {
		return nil, malformed("init_connect", t, "version is not an integer")
	}
	vsn := min(hisVsn, Version)
	if len(vt) > 2 {
		vsn = Version
	}
	node, err := nodeName("init_connect", t[2])
	if err != nil {
		return nil, err
	}
	// {locker, no_longer_a_pid, HisKnown, HisTheLocker}
	lt, ok := t[3].(etf.Tuple)
	if !ok || len(lt) != 4 || lt[0] != atomLocker {
		return nil, malformed("init_connect", t, "no {locker, _, _, Pid}")
	}
	locker, ok := lt[3].(etf.PID)
	if !ok {
		return nil, malformed("init_connect", t, "locker is not a pid")
	}
	return initConnect{Vsn: vsn, HisVsn: hisVsn, HisTag: vt[1], Node: node, Locker: locker, Init: t[3]}, nil
}

func decodeLockSet(t etf.Tuple) (any, error) {
	if len(t) != 4 && len(t) != 5 {
		return nil, malformed("lock_set", t, "wrong size")
	}
	pid, ok := t[1].(etf.PID)
	if !ok {
		return nil, malformed("lock_set", t, "locker is not a pid")
	}
	set, ok := t[2].(bool)
	if !ok {
		return nil, malformed("lock_set", t, "not true or false")
	}
	ls := lockSet{Locker: pid, Set: set, Known: t[3], Raw: t}
	if len(t) == 5 {
		ls.Tag, ls.Tagged = t[4], true
	}
	return ls, nil
}

// decodeInfo reads a plain message to global_name_server.
func decodeInfo(msg etf.Term) (any, error) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) == 0 {
		return nil, malformed("message", msg, "not a tagged tuple")
	}
	kind, _ := t[0].(etf.Atom)
	switch kind {
	case "init_connect_ack":
		if len(t) != 4 {
			break
		}
		node, err := nodeName("init_connect_ack", t[1])
		if err != nil {
			return nil, err
		}
		return initConnectAck{Node: node, HisMyTag: t[2], HisHisTag: t[3]}, nil
	case "cancel_connect":
		if len(t) != 3 {
			break
		}
		node, err := nodeName("cancel_connect", t[1])
		if err != nil {
			return nil, err
		}
		return cancelConnect{Node: node, Tag: t[2]}, nil
	case "lost_connection":
		if len(t) != 5 {
			break
		}
		a, err := nodeName("lost_connection", t[1])
		if err != nil {
			return nil, err
		}
		b, err := nodeName("lost_connection", t[4])
		if err != nil {
			return nil, err
		}
		return lostConnection{NodeA: a, XCreation: t[2], OpID: t[3], NodeB: b, Raw: t}, nil
	case "remove_connection":
		if len(t) != 2 {
			break
		}
		node, err := nodeName("remove_connection", t[1])
		if err != nil {
			return nil, err
		}
		return removeConnection{Node: node}, nil
	case "whereis":
		if len(t) != 3 {
			break
		}
		return whereisMsg{Name: t[1], From: t[2]}, nil
	default:
		return nil, malformed("message", msg, "unknown message")
	}
	return nil, malformed(string(kind), msg, "wrong size")
}

// decodeCall reads the Request of a gen_server call to global_name_server.
func decodeCall(req etf.Term) (any, error) {
	switch r := req.(type) {
	case etf.Atom:
		switch r {
		case "get_known", "get_synced", "get_protocol_version", "get_names_ext":
			return simpleReq{Name: r}, nil
		}
		return nil, malformed("call", req, "unknown request")
	case etf.Tuple:
		if len(r) == 0 {
			break
		}
		kind, _ := r[0].(etf.Atom)
		switch kind {
		case "register":
			if len(r) != 4 {
				break
			}
			pid, ok := r[2].(etf.PID)
			if !ok {
				return nil, malformed("register", req, "not a pid")
			}
			return registerReq{Name: r[1], Pid: pid, Method: r[3]}, nil
		case "register_ext":
			if len(r) != 5 {
				break
			}
			pid, ok := r[2].(etf.PID)
			if !ok {
				return nil, malformed("register_ext", req, "not a pid")
			}
			node, err := nodeName("register_ext", r[4])
			if err != nil {
				return nil, err
			}
			return registerExtReq{Name: r[1], Pid: pid, Method: r[3], RegNode: node}, nil
		case "unregister":
			if len(r) != 2 {
				break
			}
			return unregisterReq{Name: r[1]}, nil
		case "set_lock", "del_lock":
			if len(r) != 2 {
				break
			}
			id, ok := r[1].(etf.Tuple)
			if !ok || len(id) != 2 {
				return nil, malformed(string(kind), req, "lock id is not {ResourceId, LockRequesterId}")
			}
			if kind == "set_lock" {
				return setLockReq{ID: lockID{id[0], id[1]}}, nil
			}
			return delLockReq{ID: lockID{id[0], id[1]}}, nil
		default:
			return nil, malformed("call", req, "unknown request")
		}
		return nil, malformed(string(kind), req, "wrong size")
	}
	return nil, malformed("call", req, "unknown request")
}

func nodeName(what string, t etf.Term) (gen.Atom, error) {
	a, ok := t.(etf.Atom)
	if !ok || a == "" {
		return "", malformed(what, t, "not a node name")
	}
	return a, nil
}

func smallInt(t etf.Term) (int, bool) {
	i, ok := t.(int64)
	if !ok || i < -1<<31 || i > 1<<31-1 {
		return 0, false
	}
	return int(i), true
}

// listElems returns the elements of a proper list (a decoded List or ByteList; nil is []).
func listElems(what string, t etf.Term) ([]etf.Term, error) {
	if t == nil {
		return nil, nil
	}
	if l, ok := etf.ProperList(t); ok {
		return l, nil
	}
	return nil, malformed(what, t, "not a list")
}

func nameInfos(t etf.Term) ([]nameInfo, error) {
	elems, err := listElems("name list", t)
	if err != nil {
		return nil, err
	}
	out := make([]nameInfo, 0, len(elems))
	for _, e := range elems {
		n, err := decodeNameInfo(e)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func decodeNameInfo(e etf.Term) (nameInfo, error) {
	t, ok := e.(etf.Tuple)
	if !ok || len(t) != 3 {
		return nameInfo{}, malformed("name", e, "not {Name, Pid, Method}")
	}
	pid, ok := t[1].(etf.PID)
	if !ok {
		return nameInfo{}, malformed("name", e, "not a pid")
	}
	return nameInfo{Name: t[0], Pid: pid, Method: t[2]}, nil
}

func decodeOps(t etf.Term) ([]op, error) {
	elems, err := listElems("operations", t)
	if err != nil {
		return nil, err
	}
	out := make([]op, 0, len(elems))
	for _, e := range elems {
		ot, ok := e.(etf.Tuple)
		if !ok || len(ot) != 2 {
			return nil, malformed("operation", e, "not {insert, _} or {delete, _}")
		}
		switch ot[0] {
		case atomInsert:
			n, err := decodeNameInfo(ot[1])
			if err != nil {
				return nil, err
			}
			out = append(out, op{Insert: true, Name: n})
		case atomDelete:
			out = append(out, op{Name: nameInfo{Name: ot[1]}})
		default:
			return nil, malformed("operation", e, "not {insert, _} or {delete, _}")
		}
	}
	return out, nil
}

func extNames(t etf.Term) ([]extName, error) {
	elems, err := listElems("external names", t)
	if err != nil {
		return nil, err
	}
	out := make([]extName, 0, len(elems))
	for _, e := range elems {
		et, ok := e.(etf.Tuple)
		if !ok || len(et) != 3 {
			return nil, malformed("external name", e, "not {Name, Pid, RegNode}")
		}
		pid, ok := et[1].(etf.PID)
		if !ok {
			return nil, malformed("external name", e, "not a pid")
		}
		node, err := nodeName("external name", et[2])
		if err != nil {
			return nil, err
		}
		out = append(out, extName{Name: et[0], Pid: pid, RegNode: node})
	}
	return out, nil
}

// nodeVsns reads a known list: version 7 and later peers send {Node, Vsn} pairs, older ones
// bare node names (version 0, unknown).
func nodeVsns(t etf.Term) ([]nodeVsn, error) {
	elems, err := listElems("known list", t)
	if err != nil {
		return nil, err
	}
	out := make([]nodeVsn, 0, len(elems))
	for _, e := range elems {
		switch v := e.(type) {
		case etf.Atom:
			out = append(out, nodeVsn{Node: v})
		case etf.Tuple:
			if len(v) != 2 {
				return nil, malformed("known list", e, "not {Node, Vsn}")
			}
			node, err := nodeName("known list", v[0])
			if err != nil {
				return nil, err
			}
			vsn, ok := smallInt(v[1])
			if !ok {
				return nil, malformed("known list", e, "version is not an integer")
			}
			out = append(out, nodeVsn{Node: node, Vsn: vsn})
		default:
			return nil, malformed("known list", e, "not a node")
		}
	}
	return out, nil
}

// extraLockID returns the {global, LockRequesterId} lock of a new_nodes ExtraInfo
// ([{vsn, V}, {lock, LockId}]), if it has one.
func extraLockID(extra etf.Term) (etf.Term, bool) {
	elems, err := listElems("extra info", extra)
	if err != nil {
		return nil, false
	}
	for _, e := range elems {
		t, ok := e.(etf.Tuple)
		if !ok || len(t) != 2 || t[0] != atomLock {
			continue
		}
		id, ok := t[1].(etf.Tuple)
		if !ok || len(id) != 2 || id[0] != atomGlobal {
			return nil, false
		}
		return id[1], true
	}
	return nil, false
}

// Terms this node builds.

func namesTerm(names []nameInfo) etf.List {
	out := make(etf.List, len(names))
	for i, n := range names {
		out[i] = n.term()
	}
	return out
}

func opsTerm(ops []op) etf.List {
	out := make(etf.List, len(ops))
	for i, o := range ops {
		out[i] = o.term()
	}
	return out
}

func extNamesTerm(ext []extName) etf.List {
	out := make(etf.List, len(ext))
	for i, e := range ext {
		out[i] = etf.Tuple{e.Name, e.Pid, e.RegNode}
	}
	return out
}

func nodeVsnsTerm(nodes []nodeVsn) etf.List {
	out := make(etf.List, len(nodes))
	for i, n := range nodes {
		out[i] = etf.Tuple{n.Node, n.Vsn}
	}
	return out
}

func nodesTerm(nodes []gen.Atom) etf.List {
	out := make(etf.List, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out
}

func cast(req etf.Term) etf.Tuple { return etf.Tuple{atomGenCast, req} }
