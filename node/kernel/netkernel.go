package kernel

import (
	"strings"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// netKernel answers what BEAM nodes ask the net_kernel process of another node.
//
// net_adm:ping(Node) is gen:call({net_kernel, Node}, '$gen_call', {is_auth, node()}, infinity)
// on OTP 25, 27 and 29 alike, and pong is its reading of the reply yes; the DIST layer turns the
// call into an Ergo call, answered here. Calls net_kernel does not know go unanswered, as on
// BEAM (its handle_call ignores them), but are logged.
type netKernel struct {
	act.Actor
	k *Kernel
}

var atomYes = etf.Atom("yes")

func (nk *netKernel) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	req := parseNetKernelCall(request)
	switch req.kind {
	case nkIsAuth:
		return atomYes, nil
	case nkTicktime:
		return int64(nk.k.tickTime.Seconds()), nil
	case nkNodename:
		return nk.Node().Name(), nil
	case nkLongnames:
		return longNames(nk.Node().Name()), nil
	case nkSpawn:
		nk.legacySpawn(from, ref, req)
		return nil, nil
	}
	nk.Log().Warning("net_kernel: unknown call from %s left unanswered: %s", from, describe(request))
	return nil, nil
}

// legacySpawn serves the remote spawn of nodes without DFLAG_SPAWN (before OTP 23): the reply is
// the new pid, or {'EXIT', {Reason, []}}. A link asked for this way would have to be made by the
// new process to the caller, which Ergo can only make one-way; it is refused with notsup.
func (nk *netKernel) legacySpawn(from gen.PID, ref gen.Ref, req netKernelCall) {
	fail := func(reason etf.Atom) {
		nk.SendResponse(from, ref, etf.Tuple{atomEXIT, etf.Tuple{reason, etf.List{}}})
	}
	if req.link {
		nk.Log().Warning("net_kernel: legacy spawn_link from %s refused: links made from Go are one-way", from)
		fail("notsup")
		return
	}
	m, okM := req.module.(etf.Atom)
	f, okF := req.function.(etf.Atom)
	args, okA := etf.ProperList(req.args)
	if !okM || !okF || !okA {
		fail("badarg")
		return
	}
	g := &gate{}
	pid, err := nk.k.spawn(nk.Node(), g, m, f, args, from, groupLeader(req.groupLeader))
	if err != nil {
		fail("system_limit")
		return
	}
	nk.SendResponse(from, ref, pid)
	if err := release(g, nk, pid); err != nil {
		nk.Log().Debug("net_kernel: starting %s: %s", pid, err)
	}
}

func (nk *netKernel) HandleMessage(from gen.PID, message any) error {
	if rs, ok := parseRegisteredSend(message); ok {
		if err := nk.Send(rs.to, rs.message); err != nil {
			nk.Log().Debug("net_kernel: registered_send from %s to %s not delivered: %s", rs.from, rs.to, err)
		}
		return nil
	}
	// BEAM's net_kernel logs what it does not understand as an error; so does this one.
	nk.Log().Error("net_kernel got %s from %s", describe(message), from)
	return nil
}

// longNames reports whether the node name is a long one (its host has a dot), as net_kernel's
// longnames answers.
func longNames(node gen.Atom) bool {
	_, host, _ := strings.Cut(string(node), "@")
	return strings.Contains(host, ".")
}
