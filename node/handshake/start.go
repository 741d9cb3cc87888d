package handshake

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"ergo.services/ergo/gen"
)

// Start implements gen.NetworkHandshake: this node dialled conn and introduces itself.
//
//	send_name ──▶  ◀── status (◀── alive ──▶ true|false)  ◀── challenge
//	challenge_reply ──▶  ◀── challenge_ack
func (h *Handshake) Start(node gen.NodeHandshake, conn net.Conn, options gen.HandshakeOptions) (gen.HandshakeResult, error) {
	cookie := h.nodeCookie(options.Cookie)
	if cookie == "" {
		return gen.HandshakeResult{}, ErrNoCookie
	}
	deadline := time.Now().Add(h.timeout)
	conn.SetDeadline(deadline)

	target := h.dials.take(remoteKey(conn))
	var att *attempt
	if target != "" {
		if t := h.dials.claim(target); t != nil {
			defer t.release()
		}
		// Another dial got there first: use its connection, and say nothing on this socket,
		// so the peer never sees a second connection from this node.
		if existing := h.awaitConnection(node, target, deadline); existing != nil {
			conn.Close()
			return existingResult(target, existing), nil
		}
		for att = h.dials.begin(target, conn); att == nil; att = h.dials.begin(target, conn) {
			// The peer is connecting to us right now: wait for that connection.
			if existing := h.awaitAccept(node, target, deadline); existing != nil {
				conn.Close()
				return existingResult(target, existing), nil
			}
			if time.Now().After(deadline) {
				return gen.HandshakeResult{}, fmt.Errorf("handshake with %s: timed out waiting for its connection to us", target)
			}
		}
		defer h.dials.end(target, att)
	}

	d, err := h.start(node, conn, cookie, target)
	if err != nil {
		if att != nil && att.yielded.Load() {
			err = fmt.Errorf("handshake with %s: %w", target, ErrSimultaneous)
		}
		if target != "" && (errors.Is(err, ErrSimultaneous) || errors.Is(err, ErrAlreadyConnected)) {
			// The peer's connection to us won, or came up while we dialled; it is being
			// accepted or is up. The process that dialled wants a connection, not an error:
			// hand it that one, as net_kernel makes a sender wait for it.
			if res, ok := handOver(node, conn, target, deadline); ok {
				return res, nil
			}
		}
		if errors.Is(err, ErrBadCookie) || errors.Is(err, ErrMissingFlags) || errors.Is(err, ErrNotAllowed) {
			// Ergo only traces a failed dial; a refused cookie is a misconfiguration someone
			// must see.
			warn(node, "%s", err)
		}
		return gen.HandshakeResult{}, err
	}
	if att != nil && !h.dials.finish(att) {
		// Yielded at the last moment: the peer's connection to us wins.
		if res, ok := handOver(node, conn, target, deadline); ok {
			return res, nil
		}
		return gen.HandshakeResult{}, fmt.Errorf("handshake with %s: %w", target, ErrSimultaneous)
	}
	conn.SetDeadline(time.Time{})
	if target != "" {
		h.dials.succeeded(target)
		go h.watchRegistration(node, target)
	}
	return h.result(d, gen.HandshakeOptions{Flags: options.Flags, MaxMessageSize: options.MaxMessageSize}), nil
}

func (h *Handshake) start(node gen.NodeHandshake, conn net.Conn, cookie string, target gen.Atom) (Details, error) {
	d := Details{
		Name:      node.Name(),
		Flags:     h.flags,
		Creation:  creationOf(node),
		Initiator: true,
	}
	peer := string(target)
	if peer == "" {
		peer = conn.RemoteAddr().String()
	}
	fail := func(format string, args ...any) (Details, error) {
		return Details{}, fmt.Errorf("handshake with %s: "+format, append([]any{peer}, args...)...)
	}

	err := writeMessage(conn, AppendName(nil, NameMessage{Flags: d.Flags, Creation: d.Creation, Name: string(d.Name)}))
	if err != nil {
		return fail("sending name: %w", err)
	}

	body, err := readMessage(conn)
	if err != nil {
		return fail("reading status: %w", err)
	}
	status, err := DecodeStatus(body)
	if err != nil {
		return fail("%w", err)
	}
	switch status.Status {
	case StatusOK, StatusOKSimultaneous:
	case StatusNOK:
		return fail("%w", ErrSimultaneous)
	case StatusNotAllowed:
		return fail("%w", ErrNotAllowed)
	case StatusAlive:
		// The peer still has a connection to a node of our name. We are dialling because we
		// have none, so that one is stale: say so and the peer drops it ("true"), unless a
		// connection came up meanwhile.
		answer := StatusTrue
		if target != "" && connection(node, target) != nil {
			answer = StatusFalse
		}
		if err := writeMessage(conn, AppendStatus(nil, StatusMessage{Status: answer})); err != nil {
			return fail("answering alive: %w", err)
		}
		if answer == StatusFalse {
			return fail("%w", ErrAlreadyConnected)
		}
	case StatusNamed:
		return fail("%w: the peer assigned a dynamic name, which this node did not ask for", ErrMalformed)
	default:
		return fail("%w: unknown status %q", ErrMalformed, status.Status)
	}

	body, err = readMessage(conn)
	if err != nil {
		return fail("reading challenge: %w", err)
	}
	challenge, err := DecodeChallenge(body)
	if err != nil {
		return fail("%w", err)
	}
	if err := checkNodeName(challenge.Name); err != nil {
		return fail("%w", err)
	}
	if target != "" && gen.Atom(challenge.Name) != target {
		return fail("%w: the node there is %s", ErrBadName, challenge.Name)
	}
	peer = challenge.Name
	d.Peer = gen.Atom(challenge.Name)
	if own, ok := h.PeerCookie(d.Peer); ok {
		if target == "" {
			// The name is only the peer's claim: answering with that node's cookie would hand
			// a digest of it, for a challenge of the peer's choosing, to whoever sits at this
			// address. Only a dial that names its node proves a node's own cookie.
			return fail("%w: %s has a cookie of its own, and this dial did not name the node it "+
				"was for (give the route the cookie, or dial by node name)", ErrBadCookie, peer)
		}
		cookie = own
	}
	d.PeerFlags = challenge.Flags.normalize()
	d.PeerCreation = challenge.Creation
	if missing := d.PeerFlags.Missing(Mandatory); missing != 0 {
		return fail("%w: %s", ErrMissingFlags, missing)
	}

	ours := newChallenge()
	reply := ReplyMessage{Challenge: ours, Digest: Digest(challenge.Challenge, cookie)}
	if err := writeMessage(conn, AppendReply(nil, reply)); err != nil {
		return fail("sending challenge reply: %w", err)
	}

	body, err = readMessage(conn)
	if err != nil {
		if isClosed(err) {
			// An Erlang node closes without a word when the digest is wrong.
			return fail("%w: the peer closed the connection on our challenge reply (it uses another cookie)", ErrBadCookie)
		}
		return fail("reading challenge ack: %w", err)
	}
	ack, err := DecodeAck(body)
	if err != nil {
		return fail("%w", err)
	}
	if !validDigest(ack.Digest, ours, cookie) {
		return fail("%w: the peer's challenge ack does not match our cookie", ErrBadCookie)
	}
	return d, nil
}

// isClosed tells a peer hanging up from other read failures (timeouts, malformed frames).
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET)
}

// Existing is the Custom field of a handshake result that did not make a new connection: the
// node already has one to the peer (another process's dial made it a moment ago), and the
// distribution protocol hands that one back instead of starting another.
type Existing struct {
	Remote gen.RemoteNode
}

// ExistingConnection returns the connection the dial found.
func (e Existing) ExistingConnection() gen.RemoteNode { return e.Remote }

// awaitConnection returns the node's connection to peer if it has one, or will have one in a
// moment because a handshake with peer has just succeeded and Ergo is registering it.
func (h *Handshake) awaitConnection(node gen.NodeHandshake, peer gen.Atom, deadline time.Time) gen.RemoteNode {
	var r gen.RemoteNode
	waitUntil(deadline, func() bool {
		r = connection(node, peer)
		return r != nil || !h.dials.succeededRecently(peer)
	})
	return r
}

// watchRegistration waits until Ergo has registered the connection a dial to peer just made,
// and then lets other dials to peer go ahead at once instead of waiting for it (see
// recentSuccess). Should that connection go down soon after, the next dial must not wait out
// what is left of the window for a connection that is gone.
func (h *Handshake) watchRegistration(node gen.NodeHandshake, peer gen.Atom) {
	if waitForConnection(node, peer, time.Now().Add(recentSuccess)) != nil {
		h.dials.registered(peer)
	}
}

func existingResult(peer gen.Atom, existing gen.RemoteNode) gen.HandshakeResult {
	return gen.HandshakeResult{
		HandshakeVersion: Version,
		Peer:             peer,
		PeerCreation:     existing.Creation(),
		Custom:           Existing{Remote: existing},
	}
}

// handOver gives up this dial for the peer's connection to us: it closes conn and returns that
// connection once the node has it (ok false if it has not by the deadline).
func handOver(node gen.NodeHandshake, conn net.Conn, peer gen.Atom, deadline time.Time) (gen.HandshakeResult, bool) {
	conn.Close()
	if existing := waitForConnection(node, peer, deadline); existing != nil {
		return existingResult(peer, existing), true
	}
	return gen.HandshakeResult{}, false
}

// waitForConnection waits until the node has a connection to peer, or the deadline.
func waitForConnection(node gen.NodeHandshake, peer gen.Atom, deadline time.Time) gen.RemoteNode {
	var r gen.RemoteNode
	waitUntil(deadline, func() bool {
		r = connection(node, peer)
		return r != nil
	})
	return r
}

// awaitAccept waits while an incoming handshake from peer is in progress and returns the
// connection it made, if any.
func (h *Handshake) awaitAccept(node gen.NodeHandshake, peer gen.Atom, deadline time.Time) gen.RemoteNode {
	waitUntil(deadline, func() bool { return !h.dials.acceptingFrom(peer) })
	// Ergo registers an accepted connection just after the handshake returns.
	limit := time.Now().Add(100 * time.Millisecond)
	if deadline.Before(limit) {
		limit = deadline
	}
	return waitForConnection(node, peer, limit)
}

// waitUntil polls done, from every 100 µs backing off to every 10 ms, until it reports true or
// the deadline passes, and returns its last answer. Connections come and go in microseconds on
// a LAN; the backoff keeps a long wait cheap.
func waitUntil(deadline time.Time, done func() bool) bool {
	wait := 100 * time.Microsecond
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(2*wait, 10*time.Millisecond)
	}
	return true
}
