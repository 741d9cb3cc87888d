package nodestats

import (
	"slices"
	"sync"
	"time"

	"ergo.services/ergo/gen"
)

// Link is the state of the node's link to one peer node.
type Link struct {
	Node gen.Atom
	// Up is false for a peer that was connected and is not any more.
	Up bool
	// Since is when the link came up, or, for a link that is down, when Observe first found it
	// gone.
	Since time.Time
	// Counters of the connection, as last seen while it was up.
	MessagesIn, MessagesOut, BytesIn, BytesOut uint64
}

// Links remembers every peer node the node has been connected to, so that a peer that went
// away shows as down instead of vanishing from the list.
type Links struct {
	mu    sync.Mutex
	known map[gen.Atom]Link
}

// Observe returns the state of every link, connected and lost, sorted by node name.
func (l *Links) Observe(n gen.Node) []Link {
	now := time.Now()
	network := n.Network()
	connected := make(map[gen.Atom]bool)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known == nil {
		l.known = make(map[gen.Atom]Link)
	}
	for _, name := range network.Nodes() {
		remote, err := network.Node(name)
		if err != nil {
			continue
		}
		info := remote.Info()
		connected[name] = true
		since := now.Add(-time.Duration(info.ConnectionUptime) * time.Second)
		// Uptime comes in whole seconds; keep the first estimate while the link stays up,
		// so Since does not wander between observations.
		if old, ok := l.known[name]; ok && old.Up && since.Sub(old.Since).Abs() < 2*time.Second {
			since = old.Since
		}
		l.known[name] = Link{
			Node:        name,
			Up:          true,
			Since:       since,
			MessagesIn:  info.MessagesIn,
			MessagesOut: info.MessagesOut,
			BytesIn:     info.BytesIn,
			BytesOut:    info.BytesOut,
		}
	}
	out := make([]Link, 0, len(l.known))
	for name, link := range l.known {
		if link.Up && !connected[name] {
			link.Up, link.Since = false, now
			l.known[name] = link
		}
		out = append(out, link)
	}
	slices.SortFunc(out, func(a, b Link) int {
		switch {
		case a.Node < b.Node:
			return -1
		case a.Node > b.Node:
			return 1
		}
		return 0
	})
	return out
}
