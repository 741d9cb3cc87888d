package global

import (
	"errors"
	"testing"

	"github.com/gobeam/gobeam/etf"
)

// FuzzDecodeMessages feeds arbitrary external-format terms to every reader of the global
// protocol: none may panic, and each failure is a *ProtocolError.
func FuzzDecodeMessages(f *testing.F) {
	pid := etf.PID{Node: "a@h", ID: 56, Creation: 1}
	for _, seed := range []etf.Term{
		etf.Tuple{etf.Atom("init_connect"), etf.Tuple{8, -576460752303423486}, etf.Atom("a@h"),
			etf.Tuple{etf.Atom("locker"), etf.Atom("no_longer_a_pid"), etf.Map{}, pid}},
		etf.Tuple{etf.Atom("lock_set"), pid, true, etf.List{etf.Atom("b@h")}, 7},
		etf.Tuple{etf.Atom("exchange"), etf.Atom("a@h"), etf.List{etf.Tuple{etf.Atom("n"), pid, etf.Atom("m")}}, etf.List{}, 7},
		etf.Tuple{etf.Atom("resolved"), etf.Atom("a@h"), etf.List{etf.Tuple{etf.Atom("delete"), etf.Atom("n")}},
			etf.List{etf.Tuple{etf.Atom("b@h"), 8}}, etf.Atom("unused"), etf.List{}, 7},
		etf.Tuple{etf.Atom("new_nodes"), etf.Atom("a@h"), etf.List{}, etf.List{}, etf.List{etf.Atom("c@h")},
			etf.List{etf.Tuple{etf.Atom("lock"), etf.Tuple{etf.Atom("global"), etf.List{pid}}}}},
		etf.Tuple{etf.Atom("lost_connection"), etf.Atom("a@h"), 1, 2, etf.Atom("b@h")},
		etf.Tuple{etf.Atom("$gen_call"), etf.Tuple{pid, etf.ImproperList{Elems: []etf.Term{etf.Atom("alias")}, Tail: etf.Ref{Node: "a@h"}}},
			etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("global"), pid}}},
		etf.Tuple{etf.Atom("register"), etf.Atom("n"), pid, etf.ExportFun{Module: "global", Function: "random_exit_name", Arity: 3}},
	} {
		b, err := etf.Encode(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		term, err := etf.Decode(data)
		if err != nil {
			return
		}
		check := func(_ any, err error) {
			var pe *ProtocolError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
		check(decodeCast(term))
		check(decodeInfo(term))
		check(decodeCall(term))
		check(nodeVsns(term))
		check(decodeOps(term))
		check(nameInfos(term))
		check(extNames(term))
		extraLockID(term)
		if from, req, ok := parseGenCall(term); ok {
			replyAlias(from.Tag)
			check(decodeCall(req))
		}
	})
}
