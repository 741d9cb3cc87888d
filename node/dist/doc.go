// Package dist is the Erlang distribution protocol once a connection is up: the DIST packets that
// carry signals between a Go node and BEAM nodes, plugged into Ergo v3 as a gen.NetworkProto and
// gen.Connection.
//
// It frames packets (4-byte length, zero-length ticks), reads and writes the distribution header
// with its atom cache, reassembles and produces fragmented messages, decodes control messages
// (SEND, REG_SEND, ALIAS_SEND, LINK, EXIT, MONITOR_P, SPAWN_REQUEST, UNLINK_ID, ...) and routes
// them into Ergo's core, and encodes what Ergo processes send to remote pids and names.
//
// The split follows erl_dist: control.go holds the control messages (pure), header.go the
// distribution header and atom cache (pure), conn.go the connection's reader and writer, and
// proto.go the Ergo plug-in. Terms are encoded and decoded with package etf.
//
// Ordering: every signal from one peer is decoded and routed by a single reader goroutine in the
// order it arrived, and everything written to a peer goes through one ordered queue, so messages
// between a pair of processes arrive in the order they were sent.
//
// Losses: a peer takes a message to a live process as delivered, as BEAM mailboxes have no
// bound. When an Ergo process's bounded mailbox refuses one, the connection counts it (the
// remote node's MessagesUndelivered) and logs it, so nothing is lost without a trace.
package dist
