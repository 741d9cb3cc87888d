// Package nodestats lets BEAM code read a Go node's Manifold counters and the state of its
// links: a registered process answers gen_server calls, so from iex
//
//	GenServer.call({:manifold_node_stats, :"go@10.0.0.5"}, :stats)
//
// returns a map of the counters and one entry per connected node.
package nodestats

import (
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/manifold"
)

// Name is the registered name of the process.
const Name gen.Atom = "manifold_node_stats"

// Start registers the process on n, reporting m's counters.
func Start(n gen.Node, m *manifold.Manifold) (gen.PID, error) {
	return n.SpawnRegister(Name, func() gen.ProcessBehavior { return &server{m: m, started: time.Now()} }, gen.ProcessOptions{})
}

type server struct {
	act.Actor
	m       *manifold.Manifold
	started time.Time
}

// HandleCall answers stats with
//
//	#{casts_in, deliveries, relayed, sends, dropped, uptime_s,
//	  peers => [#{node, connected_s, messages_in, messages_out, bytes_in, bytes_out}]}
//
// and anything else with {error, unknown_request}.
func (s *server) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	if request != etf.Atom("stats") {
		return etf.Tuple{etf.Atom("error"), etf.Atom("unknown_request")}, nil
	}
	return Snapshot(s.Node(), s.m, s.started), nil
}

// Snapshot is the stats map.
func Snapshot(n gen.Node, m *manifold.Manifold, since time.Time) etf.Map {
	st := m.Stats()
	peers := etf.List{}
	for _, name := range n.Network().Nodes() {
		remote, err := n.Network().Node(name)
		if err != nil {
			continue
		}
		info := remote.Info()
		peers = append(peers, etf.Map{
			{Key: etf.Atom("node"), Value: name},
			{Key: etf.Atom("connected_s"), Value: info.ConnectionUptime},
			{Key: etf.Atom("messages_in"), Value: info.MessagesIn},
			{Key: etf.Atom("messages_out"), Value: info.MessagesOut},
			{Key: etf.Atom("bytes_in"), Value: info.BytesIn},
			{Key: etf.Atom("bytes_out"), Value: info.BytesOut},
		})
	}
	return etf.Map{
		{Key: etf.Atom("casts_in"), Value: st.CastsIn},
		{Key: etf.Atom("deliveries"), Value: st.Deliveries},
		{Key: etf.Atom("relayed"), Value: st.Relayed},
		{Key: etf.Atom("sends"), Value: st.Sends},
		{Key: etf.Atom("dropped"), Value: st.Dropped},
		{Key: etf.Atom("uptime_s"), Value: int64(time.Since(since).Seconds())},
		{Key: etf.Atom("peers"), Value: peers},
	}
}
