package handshake

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"ergo.services/ergo/gen"
)

// Accept implements gen.NetworkHandshake: a peer dialled this node.
//
//	◀── send_name  status ──▶ (alive ──▶ ◀── true|false)  challenge ──▶
//	(◀── complement, after a legacy name)  ◀── challenge_reply  challenge_ack ──▶
//
// Accept runs inside Ergo's accept loop, which takes the next connection only when Accept has
// returned: the deadlines set on conn bound how long a silent or slow peer can hold it. A
// peer has nameTimeout to send its name (and, over TLS, to finish the TLS handshake before
// it), then the rest of the handshake timeout.
func (h *Handshake) Accept(node gen.NodeHandshake, conn net.Conn, options gen.HandshakeOptions) (gen.HandshakeResult, error) {
	cookie := h.nodeCookie(options.Cookie)
	if cookie == "" {
		return gen.HandshakeResult{}, ErrNoCookie
	}
	now := time.Now()
	deadline := now.Add(h.timeout)
	conn.SetDeadline(now.Add(min(h.timeout, h.nameTimeout)))
	// Ergo logs the returned error with the peer's address; the error names the peer.
	d, err := h.accept(node, conn, cookie, deadline)
	if err != nil {
		return gen.HandshakeResult{}, err
	}
	conn.SetDeadline(time.Time{})
	return h.result(d, gen.HandshakeOptions{Flags: options.Flags, MaxMessageSize: options.MaxMessageSize}), nil
}

func (h *Handshake) accept(node gen.NodeHandshake, conn net.Conn, cookie string, deadline time.Time) (Details, error) {
	d := Details{
		Name:     node.Name(),
		Flags:    h.flags,
		Creation: creationOf(node),
	}
	peer := conn.RemoteAddr().String()
	fail := func(format string, args ...any) (Details, error) {
		return Details{}, fmt.Errorf("handshake from %s: "+format, append([]any{peer}, args...)...)
	}
	refuse := func(err error) (Details, error) {
		writeMessage(conn, AppendStatus(nil, StatusMessage{Status: StatusNotAllowed}))
		return fail("%w", err)
	}

	body, err := readMessage(conn)
	if err == io.EOF {
		// Closed before a word: a dial of ours-or-theirs that found the connection already
		// made (see Start), or a port probe. Not a failed handshake; Ergo logs nothing for a
		// bare io.EOF.
		return Details{}, io.EOF
	}
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		return fail("no name within %s: %w", min(h.nameTimeout, h.timeout), err)
	}
	if err != nil {
		return fail("reading name: %w", err)
	}
	conn.SetDeadline(deadline)
	name, err := DecodeName(body)
	if err != nil {
		return fail("%w", err)
	}
	if name.Legacy && !name.Flags.Has(FlagHandshake23) {
		return refuse(fmt.Errorf("%w: version %d handshake without HANDSHAKE_23 (OTP 22 or older)", ErrMissingFlags, name.Version))
	}

	named := name.Flags.Has(FlagNameMe)
	if named {
		// The peer asks for a dynamic name: it sent its host only, and gets name and creation
		// from us.
		if err := checkAtomText(name.Name); err != nil || name.Name == "" || strings.Contains(name.Name, "@") {
			return refuse(fmt.Errorf("%w: dynamic name request with host %q", ErrBadName, name.Name))
		}
		d.Peer = gen.Atom(dynamicName(name.Name))
		d.PeerCreation = dynamicCreation()
		// The flags used are those both sides announce; the requester checks that NAME_ME
		// survived before it takes the name, so the acceptor announces it back.
		d.Flags |= FlagNameMe
	} else {
		if err := checkNodeName(name.Name); err != nil {
			return refuse(err)
		}
		if gen.Atom(name.Name) == d.Name {
			// Another node under this node's name (a copied configuration, say): erl answers
			// nok, and so does this node.
			writeMessage(conn, AppendStatus(nil, StatusMessage{Status: StatusNOK}))
			return fail("%w: %s is this node's own name", ErrBadName, name.Name)
		}
		d.Peer = gen.Atom(name.Name)
		d.PeerCreation = name.Creation
	}
	peer = string(d.Peer)
	d.PeerFlags = name.Flags.normalize()
	cookie = h.cookieFor(d.Peer, cookie)

	missing := d.PeerFlags.Missing(Mandatory)
	if name.Legacy {
		missing &= 0xffffffff // the high word comes with the complement
	}
	if missing != 0 {
		return refuse(fmt.Errorf("%w: %s", ErrMissingFlags, missing))
	}

	status := StatusMessage{Status: StatusOK}
	var stale gen.RemoteNode // the connection the peer says is dead, dropped once it has proven the cookie
	dialling, accepted := h.dials.incoming(d.Peer)
	defer accepted()
	switch {
	case named:
		status = StatusMessage{Status: StatusNamed, Name: string(d.Peer), Creation: d.PeerCreation}
	case dialling:
		// Both nodes are dialling each other: the attempt of the node with the greater name
		// survives, on both sides, so exactly one connection comes up. An attempt of ours that
		// has already completed has won whatever the names.
		if d.Peer > d.Name && h.dials.yield(d.Peer) {
			status.Status = StatusOKSimultaneous
		} else {
			writeMessage(conn, AppendStatus(nil, StatusMessage{Status: StatusNOK}))
			return fail("%w", ErrSimultaneous)
		}
	default:
		if remote := connection(node, d.Peer); remote != nil {
			// We believe a connection to the peer is up, yet it dials again: ask it whether that
			// connection is dead on its side.
			if err := writeMessage(conn, AppendStatus(nil, StatusMessage{Status: StatusAlive})); err != nil {
				return fail("sending alive: %w", err)
			}
			body, err := readMessage(conn)
			if err != nil {
				return fail("reading the answer to alive: %w", err)
			}
			answer, err := DecodeStatus(body)
			if err != nil {
				return fail("%w", err)
			}
			switch answer.Status {
			case StatusTrue:
				// Not yet: anyone can claim the name and answer true. As Erlang does, the
				// connection is replaced only once the peer has proven the cookie.
				stale = remote
			case StatusFalse:
				return fail("%w", ErrAlreadyConnected)
			default:
				return fail("%w: %q in answer to alive", ErrMalformed, answer.Status)
			}
			status = StatusMessage{} // already settled
		}
	}
	if status.Status != "" {
		if err := writeMessage(conn, AppendStatus(nil, status)); err != nil {
			return fail("sending status: %w", err)
		}
	}

	ours := newChallenge()
	challenge := ChallengeMessage{Flags: d.Flags, Challenge: ours, Creation: d.Creation, Name: string(d.Name)}
	if err := writeMessage(conn, AppendChallenge(nil, challenge)); err != nil {
		return fail("sending challenge: %w", err)
	}

	if name.Legacy {
		body, err := readMessage(conn)
		if err != nil {
			return fail("reading complement: %w", err)
		}
		complement, err := DecodeComplement(body)
		if err != nil {
			return fail("%w", err)
		}
		d.PeerFlags = (d.PeerFlags | Flags(complement.FlagsHigh)<<32).normalize()
		d.PeerCreation = complement.Creation
		if missing := d.PeerFlags.Missing(Mandatory); missing != 0 {
			return fail("%w: %s", ErrMissingFlags, missing)
		}
	}

	body, err = readMessage(conn)
	if err != nil {
		return fail("reading challenge reply: %w", err)
	}
	reply, err := DecodeReply(body)
	if err != nil {
		return fail("%w", err)
	}
	if !validDigest(reply.Digest, ours, cookie) {
		// As Erlang does: close without a word, so a prober learns nothing.
		return fail("%w: invalid challenge reply, the connection is refused", ErrBadCookie)
	}
	if stale != nil {
		// Ergo refuses the new connection while the old one is registered.
		stale.Disconnect()
		if !awaitDisconnect(node, d.Peer, deadline) {
			return fail("the previous connection did not close in time")
		}
	}
	if err := writeMessage(conn, AppendAck(nil, AckMessage{Digest: Digest(reply.Challenge, cookie)})); err != nil {
		return fail("sending challenge ack: %w", err)
	}
	return d, nil
}

// dynamicName makes a node name for a peer that asked for one.
func dynamicName(host string) string {
	var b [6]byte
	rand.Read(b[:])
	return "dyn" + hex.EncodeToString(b[:]) + "@" + host
}

// dynamicCreation draws a creation for a dynamically named peer. Creations 0-3 are avoided:
// 0 is the wildcard and 1-3 are what 16-bit epmd responses hand out.
func dynamicCreation() uint32 {
	for {
		var b [4]byte
		rand.Read(b[:])
		if c := binary.BigEndian.Uint32(b[:]); c > 3 {
			return c
		}
	}
}
