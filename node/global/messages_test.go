package global

import (
	"errors"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// wire returns t as a peer's decoder sees it: encoded and decoded, so lists of bytes become
// ByteLists, true becomes a bool, integers int64, as they arrive from BEAM.
func wire(t *testing.T, term etf.Term) etf.Term {
	t.Helper()
	b, err := etf.Encode(term)
	require.NoError(t, err)
	out, err := etf.Decode(b)
	require.NoError(t, err)
	return out
}

var (
	nodeA   = etf.Atom("a@127.0.0.1")
	nodeB   = etf.Atom("b@127.0.0.1")
	pidA    = etf.PID{Node: nodeA, ID: 56, Creation: 1700000000}
	pidB    = etf.PID{Node: nodeB, ID: 61, Creation: 1700000001}
	tagA    = int64(-576460752303423486)
	localFn = etf.ExportFun{Module: "global", Function: "random_exit_name", Arity: 3}
)

func A(s string) etf.Atom { return etf.Atom(s) }

func TestDecodeCastInitConnect(t *testing.T) {
	// As OTP 25, 27 and 29 send it (the Known map is ignored by every release).
	known := etf.Map{{Key: etf.Tuple{A("connection_id"), nodeB}, Value: int64(14555136)}}
	msg := wire(t, etf.Tuple{A("init_connect"), etf.Tuple{8, tagA}, nodeA,
		etf.Tuple{A("locker"), A("no_longer_a_pid"), known, pidA}})
	m, err := decodeCast(msg)
	require.NoError(t, err)
	ic := m.(initConnect)
	require.Equal(t, 8, ic.Vsn)
	require.Equal(t, 8, ic.HisVsn)
	require.Equal(t, tagA, ic.HisTag)
	require.Equal(t, nodeA, ic.Node)
	require.Equal(t, pidA, ic.Locker)

	// A newer release speaks this node's version; so does one that adds fields.
	m, err = decodeCast(wire(t, etf.Tuple{A("init_connect"), etf.Tuple{9, 1}, nodeA, etf.Tuple{A("locker"), 0, 0, pidA}}))
	require.NoError(t, err)
	require.Equal(t, 8, m.(initConnect).Vsn)
	require.Equal(t, 9, m.(initConnect).HisVsn)
	m, err = decodeCast(wire(t, etf.Tuple{A("init_connect"), etf.Tuple{7, 1, A("extra")}, nodeA, etf.Tuple{A("locker"), 0, 0, pidA}}))
	require.NoError(t, err)
	require.Equal(t, 8, m.(initConnect).Vsn)
	m, err = decodeCast(wire(t, etf.Tuple{A("init_connect"), etf.Tuple{7, 1}, nodeA, etf.Tuple{A("locker"), 0, 0, pidA}}))
	require.NoError(t, err)
	require.Equal(t, 7, m.(initConnect).Vsn)
}

func TestDecodeCastSyncMessages(t *testing.T) {
	m, err := decodeCast(wire(t, etf.Tuple{A("lock_set"), pidA, true, etf.List{nodeB}, tagA}))
	require.NoError(t, err)
	ls := m.(lockSet)
	require.Equal(t, pidA, ls.Locker)
	require.True(t, ls.Set)
	require.True(t, ls.Tagged)
	require.Equal(t, tagA, ls.Tag)
	require.Len(t, ls.Raw, 5)

	m, err = decodeCast(wire(t, etf.Tuple{A("lock_set"), pidA, false, etf.List{}}))
	require.NoError(t, err)
	require.False(t, m.(lockSet).Set)
	require.False(t, m.(lockSet).Tagged)

	names := etf.List{etf.Tuple{A("n1"), pidA, localFn}, etf.Tuple{etf.Tuple{A("x"), 1}, pidB, A("m")}}
	m, err = decodeCast(wire(t, etf.Tuple{A("exchange"), nodeA, names, etf.List{}, tagA}))
	require.NoError(t, err)
	ex := m.(exchangeMsg)
	require.Equal(t, nodeA, ex.Node)
	require.Equal(t, []nameInfo{{Name: A("n1"), Pid: pidA, Method: localFn}, {Name: etf.Tuple{A("x"), int64(1)}, Pid: pidB, Method: A("m")}}, ex.Names)

	ops := etf.List{etf.Tuple{A("insert"), etf.Tuple{A("n1"), pidA, localFn}}, etf.Tuple{A("delete"), "bin"}}
	known := etf.List{etf.Tuple{nodeB, 8}, A("c@h")}
	ext := etf.List{etf.Tuple{A("x"), pidB, nodeB}}
	m, err = decodeCast(wire(t, etf.Tuple{A("resolved"), nodeA, ops, known, A("unused"), ext, tagA}))
	require.NoError(t, err)
	rm := m.(resolvedMsg)
	require.Equal(t, []op{{Insert: true, Name: nameInfo{Name: A("n1"), Pid: pidA, Method: localFn}}, {Name: nameInfo{Name: []byte("bin")}}}, rm.Resolved)
	require.Equal(t, []nodeVsn{{Node: nodeB, Vsn: 8}, {Node: "c@h"}}, rm.Known)
	require.Equal(t, []extName{{Name: A("x"), Pid: pidB, RegNode: nodeB}}, rm.NamesExt)
	require.Equal(t, tagA, rm.Tag)

	extra := etf.List{etf.Tuple{A("vsn"), 8}, etf.Tuple{A("lock"), etf.Tuple{A("global"), etf.List{pidA, pidB}}}}
	m, err = decodeCast(wire(t, etf.Tuple{A("new_nodes"), nodeA, ops, etf.List{}, etf.List{etf.Tuple{nodeB, 8}}, extra}))
	require.NoError(t, err)
	nn := m.(newNodesMsg)
	require.Equal(t, []nodeVsn{{Node: nodeB, Vsn: 8}}, nn.Nodes)
	id, ok := extraLockID(nn.Extra)
	require.True(t, ok)
	require.True(t, etf.Equal(etf.List{pidA, pidB}, id))

	m, err = decodeCast(wire(t, etf.Tuple{A("in_sync"), nodeA, true}))
	require.NoError(t, err)
	require.Equal(t, inSync{Node: nodeA}, m)
	m, err = decodeCast(wire(t, etf.Tuple{A("async_del_lock"), A("r"), pidA}))
	require.NoError(t, err)
	require.Equal(t, ignoredCast{}, m)
}

func TestDecodeMalformed(t *testing.T) {
	for _, c := range []struct {
		decode func(etf.Term) (any, error)
		term   etf.Term
		what   string
	}{
		{decodeCast, A("init_connect"), "cast"},
		{decodeCast, etf.Tuple{}, "cast"},
		{decodeCast, etf.Tuple{A("nonsense"), 1}, "cast"},
		{decodeCast, etf.Tuple{A("init_connect"), 8, nodeA, 0}, "init_connect"},
		{decodeCast, etf.Tuple{A("init_connect"), etf.Tuple{A("eight"), 1}, nodeA, etf.Tuple{A("locker"), 0, 0, pidA}}, "init_connect"},
		{decodeCast, etf.Tuple{A("init_connect"), etf.Tuple{8, 1}, "a@h", etf.Tuple{A("locker"), 0, 0, pidA}}, "init_connect"},
		{decodeCast, etf.Tuple{A("init_connect"), etf.Tuple{8, 1}, nodeA, etf.Tuple{A("locker"), 0, 0, A("nopid")}}, "init_connect"},
		{decodeCast, etf.Tuple{A("lock_set"), pidA, A("maybe"), etf.List{}}, "lock_set"},
		{decodeCast, etf.Tuple{A("lock_set"), nodeA, true, etf.List{}}, "lock_set"},
		{decodeCast, etf.Tuple{A("exchange"), nodeA, A("notalist"), etf.List{}, 1}, "name list"},
		{decodeCast, etf.Tuple{A("exchange"), nodeA, etf.List{etf.Tuple{A("n"), A("nopid"), 0}}, etf.List{}, 1}, "name"},
		{decodeCast, etf.Tuple{A("exchange"), nodeA}, "exchange"},
		{decodeCast, etf.Tuple{A("resolved"), nodeA, etf.List{etf.Tuple{A("upsert"), 1}}, etf.List{}, 0, etf.List{}, 1}, "operation"},
		{decodeCast, etf.Tuple{A("resolved"), nodeA, etf.List{}, etf.List{etf.Tuple{nodeB, A("v")}}, 0, etf.List{}, 1}, "known list"},
		{decodeCast, etf.Tuple{A("new_nodes"), nodeA, etf.List{}, etf.List{etf.Tuple{A("x"), pidA}}, etf.List{}, etf.List{}}, "external name"},
		{decodeCast, etf.Tuple{A("in_sync"), 1, true}, "in_sync"},
		{decodeInfo, etf.Tuple{A("init_connect_ack"), nodeA, 1}, "init_connect_ack"},
		{decodeInfo, etf.Tuple{A("lost_connection"), nodeA, 1, 2, 3}, "lost_connection"},
		{decodeInfo, etf.Tuple{A("remove_connection")}, "remove_connection"},
		{decodeInfo, etf.List{}, "message"},
		{decodeInfo, etf.Tuple{A("what")}, "message"},
		{decodeCall, A("get_everything"), "call"},
		{decodeCall, etf.Tuple{A("register"), A("n"), A("nopid"), 0}, "register"},
		{decodeCall, etf.Tuple{A("register_ext"), A("n"), pidA, 0, 1}, "register_ext"},
		{decodeCall, etf.Tuple{A("set_lock"), A("id")}, "set_lock"},
		{decodeCall, etf.Tuple{A("del_lock"), etf.Tuple{1, 2}, 3}, "del_lock"},
		{decodeCall, etf.Tuple{}, "call"},
		{decodeCall, 42, "call"},
	} {
		_, err := c.decode(wire(t, c.term))
		var pe *ProtocolError
		require.True(t, errors.As(err, &pe), "%v: %v", c.term, err)
		require.Equal(t, c.what, pe.What, "%v", c.term)
		require.Contains(t, err.Error(), "global: malformed "+c.what)
	}
}

func TestDecodeInfo(t *testing.T) {
	m, err := decodeInfo(wire(t, etf.Tuple{A("init_connect_ack"), nodeA, 1, 2}))
	require.NoError(t, err)
	require.Equal(t, initConnectAck{Node: nodeA, HisMyTag: int64(1), HisHisTag: int64(2)}, m)
	m, err = decodeInfo(wire(t, etf.Tuple{A("cancel_connect"), nodeA, A("undefined")}))
	require.NoError(t, err)
	require.Equal(t, cancelConnect{Node: nodeA, Tag: A("undefined")}, m)
	raw := etf.Tuple{A("lost_connection"), nodeA, int64(1) << 60, int64(7), nodeB}
	m, err = decodeInfo(wire(t, raw))
	require.NoError(t, err)
	lc := m.(lostConnection)
	require.Equal(t, nodeA, lc.NodeA)
	require.Equal(t, nodeB, lc.NodeB)
	require.Equal(t, int64(1)<<60, lc.XCreation)
	require.Equal(t, int64(7), lc.OpID)
	m, err = decodeInfo(wire(t, etf.Tuple{A("remove_connection"), nodeB}))
	require.NoError(t, err)
	require.Equal(t, removeConnection{Node: nodeB}, m)
	m, err = decodeInfo(wire(t, etf.Tuple{A("whereis"), A("n"), etf.Tuple{pidA, 5}}))
	require.NoError(t, err)
	require.Equal(t, A("n"), m.(whereisMsg).Name)
}

func TestDecodeCall(t *testing.T) {
	for _, a := range []string{"get_known", "get_synced", "get_protocol_version", "get_names_ext"} {
		m, err := decodeCall(A(a))
		require.NoError(t, err)
		require.Equal(t, simpleReq{Name: A(a)}, m)
	}
	m, err := decodeCall(wire(t, etf.Tuple{A("register"), "name", pidA, localFn}))
	require.NoError(t, err)
	require.Equal(t, registerReq{Name: []byte("name"), Pid: pidA, Method: localFn}, m)
	m, err = decodeCall(wire(t, etf.Tuple{A("register_ext"), A("n"), pidA, localFn, nodeB}))
	require.NoError(t, err)
	require.Equal(t, registerExtReq{Name: A("n"), Pid: pidA, Method: localFn, RegNode: nodeB}, m)
	m, err = decodeCall(wire(t, etf.Tuple{A("unregister"), A("n")}))
	require.NoError(t, err)
	require.Equal(t, unregisterReq{Name: A("n")}, m)
	m, err = decodeCall(wire(t, etf.Tuple{A("set_lock"), etf.Tuple{A("global"), etf.List{pidA, pidB}}}))
	require.NoError(t, err)
	require.Equal(t, A("global"), m.(setLockReq).ID.Resource)
	require.True(t, etf.Equal(etf.List{pidA, pidB}, m.(setLockReq).ID.Requester))
	m, err = decodeCall(wire(t, etf.Tuple{A("del_lock"), etf.Tuple{A("res"), pidA}}))
	require.NoError(t, err)
	require.Equal(t, delLockReq{ID: lockID{A("res"), pidA}}, m)
}

// What this node sends decodes back to what it meant, as a peer's global reads it.
func TestBuiltTermsRoundTrip(t *testing.T) {
	ops := []op{{Insert: true, Name: nameInfo{Name: A("n"), Pid: pidA, Method: localFn}}, {Name: nameInfo{Name: A("gone")}}}
	got, err := decodeOps(wire(t, opsTerm(ops)))
	require.NoError(t, err)
	require.Equal(t, ops, got)

	names := []nameInfo{{Name: etf.Tuple{A("t"), int64(1)}, Pid: pidB, Method: localFn}}
	gotNames, err := nameInfos(wire(t, namesTerm(names)))
	require.NoError(t, err)
	require.Equal(t, names, gotNames)

	nodes := []nodeVsn{{Node: nodeA, Vsn: 8}, {Node: nodeB, Vsn: 7}}
	gotNodes, err := nodeVsns(wire(t, nodeVsnsTerm(nodes)))
	require.NoError(t, err)
	require.Equal(t, nodes, gotNodes)

	ext := []extName{{Name: A("x"), Pid: pidA, RegNode: nodeB}}
	gotExt, err := extNames(wire(t, extNamesTerm(ext)))
	require.NoError(t, err)
	require.Equal(t, ext, gotExt)

	require.Equal(t, etf.List{nodeA, nodeB}, nodesTerm([]gen.Atom{nodeA, nodeB}))
	require.Equal(t, etf.Tuple{A("$gen_cast"), A("x")}, cast(A("x")))
}
