package handshake

import "ergo.services/ergo/gen"

// Details is what a completed handshake tells the DIST layer beyond gen.HandshakeResult. Start
// and Accept put it in HandshakeResult.Custom; read it with DetailsOf.
type Details struct {
	// Name is this node's name as sent to the peer.
	Name gen.Atom
	// Peer is the peer's full node name (the dynamic name assigned to it, if it asked for one).
	Peer gen.Atom
	// Flags is what this node announced.
	Flags Flags
	// PeerFlags is what the peer announced, with MANDATORY_25_DIGEST expanded into the flags it
	// stands for.
	PeerFlags Flags
	// Creation is this node's creation as announced: the creation its pids, ports and references
	// carry on this connection.
	Creation uint32
	// PeerCreation is the peer's creation; its pids, ports and references carry it.
	PeerCreation uint32
	// Initiator is true when this node dialled (Start), false when it accepted.
	Initiator bool
}

// Negotiated returns the capabilities both sides announced: what the DIST layer may use when
// writing to the peer.
func (d Details) Negotiated() Flags { return Negotiate(d.Flags, d.PeerFlags) }

// Hidden reports whether the connection is hidden (either side is a hidden node): it then shows
// in erlang:nodes(hidden) on the Erlang side, not in nodes().
func (d Details) Hidden() bool { return !d.Negotiated().Has(FlagPublished) }

// DetailsOf returns the Details a handshake of this package left in result.
func DetailsOf(result gen.HandshakeResult) (Details, bool) {
	d, ok := result.Custom.(Details)
	return d, ok
}
