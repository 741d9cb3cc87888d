// Package handshake is the Erlang distribution handshake (protocol version 6, OTP 23 and later)
// as an Ergo v3 gen.NetworkHandshake: the exchange of names, capability flags and creations,
// and the MD5 cookie challenge in both directions, that turns a TCP connection between a Go node
// and a BEAM node into a distribution connection.
//
// Start runs it as the initiator, Accept as the acceptor. Both leave a Details value in
// gen.HandshakeResult.Custom with what the DIST layer needs: names, both flag sets, both
// creations. Simultaneous connects settle as the protocol says (ok_simultaneous / nok by name
// order, alive for a stale connection), every handshake has a deadline and a bound on message
// size, and a wrong cookie is refused both ways.
//
// Files: flags.go holds the DFLAG_* capability flags and the announced set, messages.go the
// pure encoding of each handshake message, start.go and accept.go the two sides, cookie.go the
// default cookie erl uses (~/.erlang.cookie).
package handshake
