package kernel

import (
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node/dist"
)

// global:resolve_it/4 is how global settles a name two nodes registered for different pids:
// the resolving node calls it, through rpc, on the node of the pid it holds, so a BEAM node
// calls it here for a name held by a Go process. It is catch Method(Name, Pid1, Pid2).
var mfaResolveIt = MFA{Module: "global", Function: "resolve_it", Arity: 4}

func (k *Kernel) globalResolveIt(call *Call, args etf.List) (etf.Term, error) {
	method, name := args[0], args[1]
	pid1, ok1 := args[2].(gen.PID)
	pid2, ok2 := args[3].(gen.PID)
	if isGlobalMethod(method) && (!ok1 || !ok2) {
		// node(Pid) of something that is no pid, in global's functions.
		return caught(etf.Atom("badarg")), nil
	}
	if result, known := GlobalResolve(call, method, name, pid1, pid2); known {
		return result, nil
	}
	if f, ok := method.(etf.ExportFun); ok {
		// The module is not on this node: undef, as the call would fail on BEAM.
		return caught(etf.Atom("undef"), etf.Tuple{f.Module, f.Function, etf.List{name, args[2], args[3]}, etf.List{}}), nil
	}
	return caught(etf.Tuple{etf.Atom("badfun"), method}), nil
}

// caught is what catch returns for an error with reason and stacktrace.
func caught(reason etf.Term, stack ...etf.Term) etf.Tuple {
	return etf.Tuple{etf.Atom("EXIT"), etf.Tuple{reason, etf.List(stack)}}
}

// GlobalResolve runs global's own resolve functions (global:random_exit_name/3,
// random_notify_name/3 and notify_all_name/3, given as export funs, as names are registered
// with) in process p, as global:resolve_it/4 does, and reports whether method was one of
// them. random_exit_name kills the pid of the node whose name sorts last and returns the
// other; random_notify_name sends that one {global_name_conflict, Name} instead;
// notify_all_name tells both and returns none.
func GlobalResolve(p gen.Process, method, name etf.Term, pid1, pid2 gen.PID) (result etf.Term, known bool) {
	if !isGlobalMethod(method) {
		return nil, false
	}
	lo, hi := pid1, pid2
	if pid1.Node >= pid2.Node {
		lo, hi = pid2, pid1
	}
	switch method.(etf.ExportFun).Function {
	case "random_exit_name":
		p.Log().Info("global: Name conflict terminating %v", etf.Tuple{name, hi})
		if hi.Node == p.Node().Name() {
			p.Node().Kill(hi)
		} else {
			p.SendExit(hi, &dist.ExitReason{Term: etf.Atom("kill")})
		}
		return lo, true
	case "random_notify_name":
		p.Send(hi, etf.Tuple{etf.Atom("global_name_conflict"), name})
		return lo, true
	case "notify_all_name":
		p.Send(pid1, etf.Tuple{etf.Atom("global_name_conflict"), name, pid2})
		p.Send(pid2, etf.Tuple{etf.Atom("global_name_conflict"), name, pid1})
		return etf.Atom("none"), true
	}
	return nil, false
}

// isGlobalMethod reports whether method is one of GlobalResolve's.
func isGlobalMethod(method etf.Term) bool {
	f, ok := method.(etf.ExportFun)
	if !ok || f.Module != "global" || f.Arity != 3 {
		return false
	}
	switch f.Function {
	case "random_exit_name", "random_notify_name", "notify_all_name":
		return true
	}
	return false
}
