package kernel

import (
	"testing"

	"github.com/gobeam/gobeam/etf"
)

// FuzzRequests feeds whatever a peer could send, decoded, to every decoder of requests, spawn
// options and calls: none may panic, whatever the term.
func FuzzRequests(f *testing.F) {
	pid := etf.PID{Node: "n@h", ID: 1, Creation: 1}
	a := func(s string) etf.Atom { return etf.Atom(s) }
	for _, seed := range []etf.Term{
		etf.Tuple{a("is_auth"), a("n@h")},
		etf.Tuple{a("spawn_opt"), a("m"), a("f"), etf.List{}, etf.List{}, a("link"), pid},
		etf.Tuple{pid, a("registered_send"), a("x"), int64(1)},
		etf.Tuple{pid, etf.Tuple{a("call"), a("m"), a("f"), etf.List{int64(1)}, a("user")}},
		etf.Tuple{a("$gen_cast"), etf.Tuple{a("cast"), a("m"), a("f"), etf.List{}, a("user")}},
		etf.Tuple{pid, etf.Tuple{a("sbcast"), a("x"), int64(1)}},
		etf.List{a("link"), etf.Tuple{a("priority"), a("high")}, etf.Tuple{a("max_heap_size"), etf.Map{}}},
		etf.Tuple{a("erlang"), a("apply"), etf.List{etf.ExportFun{Module: "m", Function: "f", Arity: 1}, etf.List{int64(1)}}},
		etf.Tuple{a("erlang"), a("apply"), etf.List{a("erlang"), a("apply"), etf.List{a("m"), a("f"), etf.ByteList{1}}}},
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
		parseNetKernelCall(term)
		parseRegisteredSend(term)
		parseRexCall(term)
		parseRexMessage(term)
		groupLeader(term)
		describe(term)
		if l, ok := etf.ProperList(term); ok {
			parseSpawnOptions(l)
		}
		if tup, ok := term.(etf.Tuple); ok && len(tup) == 3 {
			r := resolve(tup[0], tup[1], tup[2])
			if r.failed != nil {
				r.failed.exitReason()
				r.failed.erpcResult(etf.Atom("ref"))
				r.failed.rpcReply()
			}
		}
	})
}
