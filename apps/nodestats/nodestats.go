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
	return n.SpawnRegister(Name, func() gen.ProcessBehavior { return &server{m: m, started: time.Now(), links: &Links{}} }, gen.ProcessOptions{})
}

type server struct {
	act.Actor
	m       *manifold.Manifold
	started time.Time
	links   *Links
}

// HandleCall answers stats with
//
//	#{casts_in, deliveries, relayed, sends, dropped, undelivered, uptime_s,
//	  peers => [#{node, state => up | down, state_s, messages_in, messages_out, bytes_in, bytes_out,
//	              messages_undelivered}]}
//
// where peers lists the nodes the Go node is connected to and those it lost within the last
// hour (Links.KeepDown), and state_s is how many seconds the link has been in its state.
//
// and anything else with {error, unknown_request}.
func (s *server) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	if request != etf.Atom("stats") {
		return etf.Tuple{etf.Atom("error"), etf.Atom("unknown_request")}, nil
	}
	return Snapshot(s.Node(), s.m, s.links, s.started), nil
}

// Snapshot is the stats map.
func Snapshot(n gen.Node, m *manifold.Manifold, links *Links, since time.Time) etf.Map {
	st := m.Stats()
	peers := etf.List{}
	for _, l := range links.Observe(n) {
		state := etf.Atom("up")
		if !l.Up {
			state = "down"
		}
		peers = append(peers, etf.Map{
			{Key: etf.Atom("node"), Value: l.Node},
			{Key: etf.Atom("state"), Value: state},
			{Key: etf.Atom("state_s"), Value: int64(time.Since(l.Since).Seconds())},
			{Key: etf.Atom("messages_in"), Value: l.MessagesIn},
			{Key: etf.Atom("messages_out"), Value: l.MessagesOut},
			{Key: etf.Atom("bytes_in"), Value: l.BytesIn},
			{Key: etf.Atom("bytes_out"), Value: l.BytesOut},
			{Key: etf.Atom("messages_undelivered"), Value: l.MessagesUndelivered},
		})
	}
	return etf.Map{
		{Key: etf.Atom("casts_in"), Value: st.CastsIn},
		{Key: etf.Atom("deliveries"), Value: st.Deliveries},
		{Key: etf.Atom("relayed"), Value: st.Relayed},
		{Key: etf.Atom("sends"), Value: st.Sends},
		{Key: etf.Atom("dropped"), Value: st.Dropped},
		{Key: etf.Atom("undelivered"), Value: st.Undelivered},
		{Key: etf.Atom("uptime_s"), Value: int64(time.Since(since).Seconds())},
		{Key: etf.Atom("peers"), Value: peers},
	}
}
