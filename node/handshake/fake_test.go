package handshake

import (
	"fmt"
	"strings"
	"sync"

	"ergo.services/ergo/gen"
)

// fakeNode stands in for the Ergo node: the handshake only needs its name, creation, log and
// connection table.
type fakeNode struct {
	name     gen.Atom
	creation int64
	log      *fakeLog
	network  *fakeNetwork
}

func newFakeNode(name gen.Atom, creation int64) *fakeNode {
	return &fakeNode{name: name, creation: creation, log: &fakeLog{}, network: &fakeNetwork{}}
}

func (n *fakeNode) Name() gen.Atom       { return n.name }
func (n *fakeNode) Creation() int64      { return n.creation }
func (n *fakeNode) Version() gen.Version { return gen.Version{Name: "test"} }
func (n *fakeNode) Log() gen.Log         { return n.log }
func (n *fakeNode) Network() gen.Network { return n.network }

type fakeLog struct {
	gen.Log
	mu    sync.Mutex
	lines []string
}

func (l *fakeLog) Warning(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, "warning: "+fmt.Sprintf(format, args...))
}

func (l *fakeLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type fakeNetwork struct {
	gen.Network
	mu    sync.Mutex
	nodes map[gen.Atom]*fakeRemote
}

func (n *fakeNetwork) Node(name gen.Atom) (gen.RemoteNode, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r, ok := n.nodes[name]; ok {
		return r, nil
	}
	return nil, gen.ErrNoConnection
}

func (n *fakeNetwork) connect(name gen.Atom) *fakeRemote {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nodes == nil {
		n.nodes = make(map[gen.Atom]*fakeRemote)
	}
	r := &fakeRemote{network: n, name: name}
	n.nodes[name] = r
	return r
}

type fakeRemote struct {
	gen.RemoteNode
	network      *fakeNetwork
	name         gen.Atom
	disconnected bool
}

func (r *fakeRemote) Creation() int64 { return 7 }

func (r *fakeRemote) Disconnect() {
	r.network.mu.Lock()
	defer r.network.mu.Unlock()
	r.disconnected = true
	delete(r.network.nodes, r.name)
}
