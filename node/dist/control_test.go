package dist

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

var (
	pidA = etf.PID{Node: "a@host", ID: 101, Creation: 7}
	pidB = etf.PID{Node: "b@host", ID: 5<<32 | 202, Creation: 9}
	refR = etf.Ref{Node: "b@host", Creation: 9, ID: [3]uint64{1, 2, 3}}
)

func TestControlRoundTrip(t *testing.T) {
	cases := []Control{
		{Op: OpLink, From: pidA, To: pidB},
		{Op: OpSend, To: pidB},
		{Op: OpSendTT, To: pidB, Token: etf.Atom("tok")},
		{Op: OpExit, From: pidA, To: pidB, Reason: etf.Atom("normal")},
		{Op: OpExitTT, From: pidA, To: pidB, Token: int64(1), Reason: etf.Tuple{etf.Atom("shutdown"), int64(1)}},
		{Op: OpUnlink, From: pidA, To: pidB},
		{Op: OpNodeLink},
		{Op: OpRegSend, From: pidA, ToName: "Elixir.Manifold.Partitioner"},
		{Op: OpRegSendTT, From: pidA, ToName: "x", Token: int64(2)},
		{Op: OpGroupLeader, From: pidA, To: pidB},
		{Op: OpExit2, From: pidA, To: pidB, Reason: etf.Atom("kill")},
		{Op: OpMonitorP, From: pidA, To: pidB, Ref: refR},
		{Op: OpMonitorP, From: pidA, ToName: "named", Ref: refR},
		{Op: OpDemonitorP, From: pidA, ToName: "named", Ref: refR},
		{Op: OpMonitorPExit, From: pidB, To: pidA, Ref: refR, Reason: etf.Atom("noproc")},
		{Op: OpMonitorPExit, FromName: "named", To: pidA, Ref: refR, Reason: etf.Atom("noproc")},
		{Op: OpSendSender, From: pidA, To: pidB},
		{Op: OpSendSenderTT, From: pidA, To: pidB, Token: etf.Atom("t")},
		{Op: OpPayloadExit, From: pidA, To: pidB},
		{Op: OpPayloadExit2TT, From: pidA, To: pidB, Token: etf.Atom("t")},
		{Op: OpPayloadMonitorPExit, From: pidB, To: pidA, Ref: refR},
		{Op: OpSpawnRequest, Ref: refR, From: pidA, GroupLeader: pidA, Module: "Elixir.Echo", Function: "reply", Arity: 0, SpawnOpts: etf.List{etf.Atom("link")}},
		{Op: OpSpawnReply, Ref: refR, To: pidA, Flags: 3, Result: pidB},
		{Op: OpSpawnReplyTT, Ref: refR, To: pidA, Result: etf.Atom("notsup"), Token: int64(0)},
		{Op: OpAliasSend, From: pidA, Ref: refR},
		{Op: OpAliasSendTT, From: pidA, Ref: refR, Token: int64(5)},
		{Op: OpUnlinkID, ID: 1<<63 + 5, From: pidA, To: pidB},
		{Op: OpUnlinkIDAck, ID: 1, From: pidB, To: pidA},
	}
	for _, c := range cases {
		tuple, err := c.Term()
		require.NoError(t, err, c.Op.String())
		// What crosses the wire is the encoded tuple: go through the codec as a peer would.
		b, err := etf.Encode(tuple)
		require.NoError(t, err, c.Op.String())
		decoded, err := etf.Decode(b)
		require.NoError(t, err, c.Op.String())
		got, err := ParseControl(decoded)
		require.NoError(t, err, c.Op.String())
		if c.Op == OpSpawnRequest && c.SpawnOpts == nil {
			c.SpawnOpts = etf.List{}
		}
		require.Equal(t, c, got, c.Op.String())
	}
}

func TestParseControlRejectsMalformed(t *testing.T) {
	bad := []etf.Term{
		nil,
		etf.Tuple{},
		etf.List{int64(2)},
		etf.Tuple{etf.Atom("send")},
		etf.Tuple{int64(-1)},
		etf.Tuple{int64(2), etf.Atom("")}, // SEND missing To
		etf.Tuple{int64(2), etf.Atom(""), etf.Atom("x")},  // To not a pid
		etf.Tuple{int64(6), pidA, etf.Atom(""), int64(1)}, // REG_SEND name not an atom
		etf.Tuple{int64(19), pidA, pidB, etf.Atom("notref")},
		etf.Tuple{int64(35), int64(-4), pidA, pidB},
		etf.Tuple{int64(29), refR, pidA, pidA, etf.Tuple{etf.Atom("m"), etf.Atom("f")}, etf.List{}},
		etf.Tuple{int64(29), refR, pidA, pidA, etf.Tuple{etf.Atom("m"), etf.Atom("f"), int64(0)}, etf.Atom("x")},
	}
	for _, term := range bad {
		_, err := ParseControl(term)
		require.Error(t, err, "%#v", term)
		var ce *ControlError
		require.ErrorAs(t, err, &ce)
	}
	_, err := ParseControl(etf.Tuple{int64(99), int64(1)})
	require.ErrorContains(t, err, "unknown operation")
}

func TestHasPayload(t *testing.T) {
	require.True(t, OpSendSender.HasPayload())
	require.True(t, OpSpawnRequest.HasPayload())
	require.True(t, OpPayloadMonitorPExit.HasPayload())
	require.False(t, OpLink.HasPayload())
	require.False(t, OpExit.HasPayload())
	require.False(t, OpSpawnReply.HasPayload())
}
