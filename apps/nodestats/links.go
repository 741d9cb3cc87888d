package nodestats

import (
	"slices"
	"strings"
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
	// Counters of the connection, as last seen while it was up. MessagesUndelivered counts the
	// messages from the peer lost because their local receiver's mailbox was full.
	MessagesIn, MessagesOut, BytesIn, BytesOut, MessagesUndelivered uint64
}

// undeliveredCounter is what every remote node of the Erlang distribution has (node/dist).
type undeliveredCounter interface{ MessagesUndelivered() uint64 }

// Links remembers the peer nodes the node has been connected to, so that a peer that went
// away shows as down instead of vanishing from the list, for KeepDown.
type Links struct {
	// KeepDown is how long a link that went down stays listed; 0 means DefaultKeepDown. In a
	// cluster whose nodes get new names when they restart (addresses in names, generated
	// names), the list would otherwise grow with every node that ever came by.
	KeepDown time.Duration

	mu    sync.Mutex
	known map[gen.Atom]Link
}

// DefaultKeepDown is how long a lost link stays listed by default.
const DefaultKeepDown = time.Hour

// Observe returns the state of every link, connected or lost within KeepDown, sorted by node
// name.
func (l *Links) Observe(n gen.Node) []Link {
	now := time.Now()
	network := n.Network()
	var up []Link
	for _, name := range network.Nodes() {
		remote, err := network.Node(name)
		if err != nil {
			continue
		}
		info := remote.Info()
		var undelivered uint64
		if u, ok := remote.(undeliveredCounter); ok {
			undelivered = u.MessagesUndelivered()
		}
		up = append(up, Link{
			Node:        name,
			Up:          true,
			Since:       now.Add(-time.Duration(info.ConnectionUptime) * time.Second),
			MessagesIn:  info.MessagesIn,
			MessagesOut: info.MessagesOut,
			BytesIn:     info.BytesIn,
			BytesOut:    info.BytesOut,

			MessagesUndelivered: undelivered,
		})
	}
	return l.observe(now, up)
}

// observe merges the links up at now into what is known, and returns the list.
func (l *Links) observe(now time.Time, up []Link) []Link {
	keep := l.KeepDown
	if keep <= 0 {
		keep = DefaultKeepDown
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known == nil {
		l.known = make(map[gen.Atom]Link)
	}
	connected := make(map[gen.Atom]bool, len(up))
	for _, link := range up {
		connected[link.Node] = true
		// Uptime comes in whole seconds; keep the first estimate while the link stays up,
		// so Since does not wander between observations.
		if old, ok := l.known[link.Node]; ok && old.Up && link.Since.Sub(old.Since).Abs() < 2*time.Second {
			link.Since = old.Since
		}
		l.known[link.Node] = link
	}
	out := make([]Link, 0, len(l.known))
	for name, link := range l.known {
		switch {
		case link.Up && !connected[name]:
			link.Up, link.Since = false, now
			l.known[name] = link
		case !link.Up && now.Sub(link.Since) > keep:
			delete(l.known, name)
			continue
		}
		out = append(out, link)
	}
	slices.SortFunc(out, func(a, b Link) int { return strings.Compare(string(a.Node), string(b.Node)) })
	return out
}
