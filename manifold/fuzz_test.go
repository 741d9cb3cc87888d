package manifold

import (
	"slices"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/gobeam/gobeam/etf"
)

// addCastSeeds adds casts of every shape a partitioner and a sender accept, and near misses of
// each, as term_to_binary bytes.
func addCastSeeds(f *testing.F) {
	pid := gen.PID{Node: "a@h", ID: 90, Creation: 3}
	other := gen.PID{Node: "b@h", ID: 91, Creation: 4}
	pids := etf.List{pid, nil, etf.Atom("nil"), other}
	msg := etf.Map{{Key: []byte("k"), Value: int64(1)}}
	packed, err := pack(msg)
	if err != nil {
		f.Fatal(err)
	}
	opts := etf.List{etf.Tuple{atomPackMode, atomBinary}, etf.Tuple{atomNoconnect, true}}
	part := etf.Atom("Manifold.Partitioner_3")
	cast := func(req ...etf.Term) etf.Tuple { return etf.Tuple{atomGenCast, etf.Tuple(req)} }
	for _, t := range []etf.Term{
		cast(atomSend, pids, msg),
		cast(atomSend, pids, packed),
		cast(atomSend, pids, msg, opts),
		cast(atomSend, pids, msg, etf.List{}),
		cast(atomSend, part, pids, msg),
		cast(atomSend, part, pids, packed, atomBinary),
		cast(atomSend, part, pids, msg, etf.Atom("etf")),
		cast(atomSend, part, pids, msg, atomNil),
		cast(atomSend, part, pids, msg, opts),
		// Near misses: pids that are not a list or hold a non-pid, options that are not a
		// list, a sender name that is no partitioner, a packed message that is no term.
		cast(atomSend, pid, msg),
		cast(atomSend, etf.List{pid, int64(1)}, msg),
		cast(atomSend, pids, msg, int64(7)),
		cast(atomSend, etf.Atom("Manifold.Sender_0"), pids, msg),
		cast(atomSend, part, pids, msg, int64(7)),
		cast(atomSend, pids, etf.Tuple{atomManifoldBinary, []byte{131, 255}}),
	} {
		b, err := etf.Encode(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseCasts: whatever a peer's bytes decode to, the partitioner's and the sender's readers
// and unpack give a result or an error and never panic, and a cast they accept, built again as
// this node relays it, reads back as the same cast.
func FuzzParseCasts(f *testing.F) {
	addCastSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := etf.Decoder{MaxSize: 1 << 20}
		term, err := d.Decode(data)
		if err != nil {
			return
		}

		if c, ok, err := parseCast(term); ok && err == nil {
			if want := pidsIn(term, 1); !slices.Equal(c.pids.asSlice(), want) {
				t.Fatalf("cast pids %v, the list holds %v", c.pids.asSlice(), want)
			}
			again := reparse(t, c.term(c.msg))
			if !slices.Equal(again.pids.asSlice(), c.pids.asSlice()) || again.shape != c.shape ||
				!etf.Equal(again.msg, c.msg) || !etf.Equal(listOrEmpty(again.opts), listOrEmpty(c.opts)) {
				t.Fatalf("cast %#v reads back as %#v", c, again)
			}
			if _, err := unpack(c.msg); err != nil && !isPacked(c.msg) {
				t.Fatalf("unpack fails on a message that is not packed: %v", err)
			}
		}

		if r, ok, err := parseSenderRequest(term); ok && err == nil {
			if want := pidsIn(term, 2); !slices.Equal(r.pids, want) {
				t.Fatalf("sender request pids %v, the list holds %v", r.pids, want)
			}
			if !isPartitionerName(r.partitioner) {
				t.Fatalf("sender request names %q, not a partitioner", r.partitioner)
			}
			if _, err := unpack(r.msg); err != nil && !isPacked(r.msg) {
				t.Fatalf("unpack fails on a message that is not packed: %v", err)
			}
		}
	})
}

// reparse encodes a cast term, decodes it as a peer would and reads it again.
func reparse(t *testing.T, term etf.Tuple) cast {
	b, err := etf.Encode(term)
	if err != nil {
		t.Fatalf("a cast read from the wire does not encode: %v", err)
	}
	back, err := etf.Decode(b)
	if err != nil {
		t.Fatalf("decode of an encoded cast: %v", err)
	}
	c, ok, err := parseCast(back)
	if !ok || err != nil {
		t.Fatalf("rebuilt cast %#v not read back: %v, %v", back, ok, err)
	}
	return c
}

// pidsIn returns the pids of the list at position i of a request {'$gen_cast', {send, ...}},
// in order: what a reader must hand on, the nils left out.
func pidsIn(term etf.Term, i int) []gen.PID {
	var pids []gen.PID
	for _, e := range term.(etf.Tuple)[1].(etf.Tuple)[i].(etf.List) {
		if p, ok := e.(gen.PID); ok {
			pids = append(pids, p)
		}
	}
	return pids
}

func listOrEmpty(l etf.List) etf.List {
	if l == nil {
		return etf.List{}
	}
	return l
}

func isPacked(msg any) bool {
	t, ok := msg.(etf.Tuple)
	return ok && len(t) == 2 && t[0] == atomManifoldBinary
}
