package node

import (
	"fmt"
	"sync"
	"sync/atomic"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/node/epmd"
	"github.com/gobeam/gobeam/node/handshake"
)

// handshakes holds the handshake of every node Start started and has not seen stopped, so that
// the functions below reach it from the gen.Node a program holds.
var handshakes sync.Map // gen.Node -> *handshake.Handshake

// nodeRegistrar is the node's registrar, with two things Ergo's start and stop need of it.
//
// Ergo says nothing else to its plug-ins when a node stops, but terminates the registrar: the
// node's handshake is forgotten then.
//
// When the registrar's Register fails (EPMD refused the name), Ergo's start returns the error
// but leaves its acceptor listening, a node that answers handshakes under a name it does not
// hold, on a port a second try cannot have. So a failed registration is kept here and reported
// as a success; Start stops the node, which closes the acceptor and the registrar (and an
// embedded EPMD it started), and then returns the error.
//
// Register is also where the node's own signal handler is kept from starting (see ctrlc.go):
// it is the one call Ergo makes to a plug-in, with the node, before it starts that handler.
type nodeRegistrar struct {
	*epmd.Registrar
	node        atomic.Value // gen.Node, once started
	registerErr error        // written and read in Start's goroutine
	ctrlc       *atomic.Bool // Ergo's signal handler flag, found by Register in Start's goroutine
}

func (r *nodeRegistrar) Register(node gen.NodeRegistrar, routes gen.RegisterRoutes) (gen.StaticRoutes, error) {
	if r.ctrlc == nil {
		if r.ctrlc = ergoSignalFlag(node); r.ctrlc != nil {
			r.ctrlc.Store(true)
		}
	}
	static, err := r.Registrar.Register(node, routes)
	if err != nil {
		r.registerErr = err
		return gen.StaticRoutes{}, nil
	}
	return static, nil
}

func (r *nodeRegistrar) Terminate() {
	r.Registrar.Terminate()
	if n, ok := r.node.Load().(gen.Node); ok {
		handshakes.Delete(n)
	}
}

// trackHandshake records h as the handshake of n, until r learns that n stopped.
func trackHandshake(n gen.Node, h *handshake.Handshake, r *nodeRegistrar) {
	handshakes.Store(n, h)
	r.node.Store(n)
	if !n.IsAlive() { // stopped before r knew which node it served
		handshakes.Delete(n)
	}
}

func handshakeOf(n gen.Node) (*handshake.Handshake, error) {
	if n == nil {
		return nil, fmt.Errorf("node: no node")
	}
	if !n.IsAlive() {
		return nil, fmt.Errorf("node: %s: %w", string(n.Name()), gen.ErrNodeTerminated)
	}
	h, ok := handshakes.Load(n)
	if !ok {
		return nil, fmt.Errorf("node: %s was not started by node.Start", string(n.Name()))
	}
	return h.(*handshake.Handshake), nil
}

// SetCookie sets the cookie of n, a node Start started, as erlang:set_cookie/1 does on a running
// node: the connections made from then on, dialled or accepted, use it with every peer that has
// no cookie of its own. The connections already up stay up. n.Network().Cookie() returns it.
//
// Ergo's own n.Network().SetCookie does not change the cookie of such a node: the node's
// handshake keeps the cookie, so that the connections it dials and those it accepts use the same
// one (Ergo's setter alone would change the dialled ones only).
func SetCookie(n gen.Node, cookie string) error {
	h, err := handshakeOf(n)
	if err != nil {
		return err
	}
	if cookie == "" {
		return fmt.Errorf("node: SetCookie: empty cookie")
	}
	h.SetCookie(cookie)
	// Ergo's copies only answer n.Network().Cookie() and the acceptors' Cookie(). Ergo writes
	// them unguarded while dials and accepts read them, but those reads are passed to the
	// handshake, which uses its own cookie instead.
	if err := n.Network().SetCookie(cookie); err != nil {
		return fmt.Errorf("node: SetCookie: %w", err)
	}
	acceptors, err := n.Network().Acceptors()
	if err != nil {
		return fmt.Errorf("node: SetCookie: %w", err)
	}
	for _, a := range acceptors {
		a.SetCookie(cookie)
	}
	return nil
}

// SetPeerCookie gives peer (name@host) a cookie of its own on n, as erlang:set_cookie(Node,
// Cookie) does on a running node, or with "" takes it away, so that peer uses n's cookie again.
// It is Options.Cookies after the start: the connections with peer made from then on, whichever
// side dials, must use that cookie. A connection already up stays up.
func SetPeerCookie(n gen.Node, peer string, cookie string) error {
	h, err := handshakeOf(n)
	if err != nil {
		return err
	}
	if _, _, err := checkName(peer); err != nil {
		return fmt.Errorf("node: SetPeerCookie: %q is not a node name (name@host)", peer)
	}
	h.SetPeerCookie(gen.Atom(peer), cookie)
	return nil
}

// PeerCookie returns the cookie n uses with peer, as erlang:get_cookie(Node): the peer's own
// (Options.Cookies, SetPeerCookie), else n's.
func PeerCookie(n gen.Node, peer string) (string, error) {
	h, err := handshakeOf(n)
	if err != nil {
		return "", err
	}
	if c, ok := h.PeerCookie(gen.Atom(peer)); ok {
		return c, nil
	}
	return h.Cookie(), nil
}
