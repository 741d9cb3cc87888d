package global

import (
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// Names are Erlang terms and compare as Erlang compares them, whatever Go type holds them.
func TestTermMapKeysCompareAsErlangTerms(t *testing.T) {
	var m termMap[int]
	m.put(etf.List{int64(104), int64(105)}, 1)
	v, ok := m.get(etf.ByteList("hi"))
	require.True(t, ok, "[104, 105] and \"hi\" are the same list")
	require.Equal(t, 1, v)

	m.put("abc", 2)
	v, ok = m.get([]byte("abc"))
	require.True(t, ok, "a string and a []byte are the same binary")
	require.Equal(t, 2, v)

	m.put(int64(1), 3)
	_, ok = m.get(1.0)
	require.False(t, ok, "1 and 1.0 are different keys")
	m.put(etf.Tuple{etf.Atom("a"), int64(1)}, 4)
	m.put(etf.Tuple{etf.Atom("a"), int64(1)}, 5)
	require.Equal(t, 4, m.len())
	v, _ = m.get(etf.Tuple{etf.Atom("a"), 1})
	require.Equal(t, 5, v)

	v, ok = m.delete(etf.ByteList("hi"))
	require.True(t, ok)
	require.Equal(t, 1, v)
	_, ok = m.delete(etf.ByteList("hi"))
	require.False(t, ok)
	require.Equal(t, 3, m.len())
	seen := 0
	m.each(func(etf.Term, int) { seen++ })
	require.Equal(t, 3, seen)
}

func TestNameTable(t *testing.T) {
	tb := newTables()
	p1 := gen.PID{Node: "a@h", ID: 1, Creation: 1}
	p2 := gen.PID{Node: "b@h", ID: 2, Creation: 1}
	_, had := tb.insertName(nameEntry{Name: etf.Atom("x"), Pid: p1, Method: etf.Atom("m")})
	require.False(t, had)
	tb.insertName(nameEntry{Name: "y", Pid: p1})
	tb.insertName(nameEntry{Name: etf.Atom("z"), Pid: p2, RegNode: "b@h"})
	require.True(t, tb.hasNames(p1))
	require.ElementsMatch(t, []etf.Term{etf.Atom("x"), "y"}, tb.namesOf(p1))
	require.Equal(t, []extName{{Name: etf.Atom("z"), Pid: p2, RegNode: "b@h"}}, tb.extList())
	require.Len(t, tb.nameList(), 3)

	old, had := tb.insertName(nameEntry{Name: etf.Atom("x"), Pid: p2})
	require.True(t, had)
	require.Equal(t, p1, old.Pid)
	require.Equal(t, []etf.Term{"y"}, tb.namesOf(p1))
	e, ok := tb.lookup(etf.Atom("x"))
	require.True(t, ok)
	require.Equal(t, p2, e.Pid)

	_, ok = tb.deleteName([]byte("y"))
	require.True(t, ok)
	require.False(t, tb.hasNames(p1))
	require.ElementsMatch(t, []gen.PID{p2}, tb.pidsOn("b@h"))
	require.Empty(t, tb.pidsOn("a@h"))
}

func TestLockTable(t *testing.T) {
	tb := newTables()
	p1 := gen.PID{Node: "a@h", ID: 1}
	p2 := gen.PID{Node: "b@h", ID: 2}
	id := lockID{Resource: atomGlobal, Requester: etf.List{p1, p2}}
	holders, ok := tb.canSetLock(id)
	require.True(t, ok)
	require.Empty(t, holders)
	tb.addHolder(id, p1)
	tb.addHolder(id, p1)
	// The same requester sets it from another process; another requester may not.
	holders, ok = tb.canSetLock(lockID{Resource: atomGlobal, Requester: etf.List{p1, p2}})
	require.True(t, ok)
	require.Equal(t, []gen.PID{p1}, holders)
	_, ok = tb.canSetLock(lockID{Resource: atomGlobal, Requester: p1})
	require.False(t, ok)
	tb.addHolder(id, p2)
	require.True(t, tb.isLockSet(atomGlobal))
	require.Equal(t, []lockEntry{{Resource: atomGlobal, Requester: id.Requester}}, tb.locksHeldBy(p2))
	require.ElementsMatch(t, []gen.PID{p2}, tb.pidsOn("b@h"))

	held, gone := tb.removeHolder(atomGlobal, gen.PID{Node: "c@h", ID: 3})
	require.False(t, held)
	require.False(t, gone)
	held, gone = tb.removeHolder(atomGlobal, p1)
	require.True(t, held)
	require.False(t, gone)
	held, gone = tb.removeHolder(atomGlobal, p2)
	require.True(t, held)
	require.True(t, gone)
	require.False(t, tb.isLockSet(atomGlobal))
	_, ok = tb.lock(atomGlobal)
	require.False(t, ok)
}

func TestNodeSets(t *testing.T) {
	tb := newTables()
	tb.setNodes([]gen.Atom{"a@h", "b@h"}, []gen.Atom{"a@h"})
	require.Equal(t, []gen.Atom{"a@h", "b@h"}, tb.knownNodes())
	require.Equal(t, []gen.Atom{"a@h"}, tb.syncedNodes())
}
