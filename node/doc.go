// Package node starts a Go node that joins Erlang/Elixir clusters: an Ergo v3 node with the
// Erlang distribution stack plugged in (EPMD registration and lookup, the version 6 handshake,
// and the DIST protocol), so BEAM nodes connect to it and it connects to them.
//
// Start is the one entry point most programs need:
//
//	n, err := node.Start("gonode@127.0.0.1", node.Options{})
//
// gives a running gen.Node whose processes BEAM code can send to ({Name, 'gonode@127.0.0.1'} !
// Msg), call with GenServer.call, link and monitor, and whose processes send to BEAM pids and
// registered names with the ordinary Ergo process API. Options.TLS puts the distribution on
// TLS, for clusters that run erl's -proto_dist inet_tls.
//
// The pieces live in sub-packages, split as erl_dist splits them: node/epmd (the port mapper
// client, server and Ergo registrar), node/handshake (the distribution handshake) and node/dist
// (the DIST protocol on a connection). node/nodetest helps the tests of programs that run nodes.
package node
