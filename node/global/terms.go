package global

import (
	"slices"
	"sync/atomic"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// Atoms of the protocol.
const (
	atomGenCast        = etf.Atom("$gen_cast")
	atomGenCall        = etf.Atom("$gen_call")
	atomAlias          = etf.Atom("alias")
	atomUndefined      = etf.Atom("undefined")
	atomYes            = etf.Atom("yes")
	atomNo             = etf.Atom("no")
	atomOK             = etf.Atom("ok")
	atomNone           = etf.Atom("none")
	atomGlobal         = etf.Atom("global")
	atomLocker         = etf.Atom("locker")
	atomNoLongerAPid   = etf.Atom("no_longer_a_pid")
	atomUnused         = etf.Atom("unused")
	atomInsert         = etf.Atom("insert")
	atomDelete         = etf.Atom("delete")
	atomVsn            = etf.Atom("vsn")
	atomLock           = etf.Atom("lock")
	atomBadrpc         = etf.Atom("badrpc")
	atomNodedown       = etf.Atom("nodedown")
	atomUser           = etf.Atom("user")
	atomCall           = etf.Atom("call")
	atomResolveIt      = etf.Atom("resolve_it")
	atomRandomExitName = etf.Atom("random_exit_name")
)

// Registered names of the processes this package talks to.
const (
	// ServerName is the name BEAM nodes send to: {global_name_server, Node}.
	ServerName = gen.Atom("global_name_server")
	// rexName is the RPC server of BEAM nodes, used to run a name's conflict resolution
	// function where the function can run.
	rexName = gen.Atom("rex")
)

// Version is the protocol version of global_name_server that this package speaks: the one of
// OTP 25, 27 and 29 alike (global:get_protocol_version/0 answers 8 on all three).
const Version = 8

// termKey is the bucket of a term in a termMap: phash2 is the same for terms Erlang holds
// equal (=:=), whatever Go type they were decoded or built as.
func termKey(t etf.Term) uint32 { return etf.Phash2(t, 0) }

// termMap is a map keyed by Erlang terms (global names and lock resource ids can be any term,
// most of which cannot be Go map keys). Keys compare with etf.Equal.
type termMap[V any] struct {
	buckets map[uint32][]termEntry[V]
	n       int
}

type termEntry[V any] struct {
	key   etf.Term
	value V
}

func (m *termMap[V]) get(key etf.Term) (V, bool) {
	for _, e := range m.buckets[termKey(key)] {
		if etf.Equal(e.key, key) {
			return e.value, true
		}
	}
	var zero V
	return zero, false
}

func (m *termMap[V]) put(key etf.Term, value V) {
	if m.buckets == nil {
		m.buckets = make(map[uint32][]termEntry[V])
	}
	h := termKey(key)
	b := m.buckets[h]
	for i := range b {
		if etf.Equal(b[i].key, key) {
			b[i].value = value
			return
		}
	}
	m.buckets[h] = append(b, termEntry[V]{key, value})
	m.n++
}

func (m *termMap[V]) delete(key etf.Term) (V, bool) {
	h := termKey(key)
	b := m.buckets[h]
	for i := range b {
		if etf.Equal(b[i].key, key) {
			v := b[i].value
			if len(b) == 1 {
				delete(m.buckets, h)
			} else {
				m.buckets[h] = slices.Delete(b, i, i+1)
			}
			m.n--
			return v, true
		}
	}
	var zero V
	return zero, false
}

func (m *termMap[V]) len() int { return m.n }

func (m *termMap[V]) each(f func(key etf.Term, value V)) {
	for _, b := range m.buckets {
		for _, e := range b {
			f(e.key, e.value)
		}
	}
}

// theBoss is global's the_boss/1: the greatest node name, which every lock is set on first so
// that two lockers racing for overlapping node sets meet on one node.
func theBoss(nodes []gen.Atom) gen.Atom {
	var boss gen.Atom
	for i, n := range nodes {
		if i == 0 || n > boss {
			boss = n
		}
	}
	return boss
}

// without returns nodes minus every node in drop, in order (Erlang's -- for sets of nodes).
func without(nodes []gen.Atom, drop ...gen.Atom) []gen.Atom {
	out := make([]gen.Atom, 0, len(nodes))
	for _, n := range nodes {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

// lockerLockID is the lock two lockers set while their nodes exchange names:
// {global, lists:sort([LockerA, LockerB])}.
func lockerLockID(a, b gen.PID) lockID {
	pids := etf.List{a, b}
	if etf.Compare(a, b) > 0 {
		pids = etf.List{b, a}
	}
	return lockID{Resource: atomGlobal, Requester: pids}
}

// tags are the sync tags (erlang:unique_integer([monotonic]) on BEAM): one per attempt to
// sync with a node, so that messages of an abandoned attempt are recognised and dropped.
var tagSeq atomic.Int64

func init() { tagSeq.Store(-(1 << 59)) }

func newTag() int64 { return tagSeq.Add(1) }

// opSeq numbers this node's lost_connection reports (erlang:unique_integer([monotonic])).
var opSeq atomic.Int64

func newOpID() int64 { return opSeq.Add(1) }

// tagTerm is how an absent tag travels: as the atom undefined, the value of get/1 on BEAM.
func tagTerm(t etf.Term) etf.Term {
	if t == nil {
		return atomUndefined
	}
	return t
}

// sameTag reports whether a tag from a message is the one held (absent held tags match
// nothing, as undefined matches no integer on BEAM).
func sameTag(held, got etf.Term) bool {
	if held == nil {
		return got == nil || got == atomUndefined
	}
	return etf.Equal(held, got)
}
