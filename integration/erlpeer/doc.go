// Package erlpeer starts real Erlang (and Elixir) nodes for tests and talks to them.
//
// A test asks for a peer with Start, which runs erl, loads the peer runtime into it and returns
// once the peer answers; the peer is stopped when the test ends. Through the Peer the test calls
// functions (Call), evaluates Erlang expressions (Eval), loads its own Erlang or Elixir modules
// (Load, LoadFS), and receives terms the peer sends it (Recv). A peer can be a distributed node
// (Options.Name, Cookie, EPMDPort, ...) that a Go node connects to, or that connects to one; Kill
// ends it abruptly, as kill -9 does, for tests of what a node sees when its peer vanishes.
//
//	p := erlpeer.Start(t, erlpeer.Options{Name: erlpeer.UniqueName("a"), Cookie: "c"})
//	v, err := p.Call("erlang", "phash2", etf.Tuple{etf.Atom("x"), 1}, 1<<32)
//	n := p.MustEval(`length(nodes())`)
//
// # Which erl
//
// The environment selects the Erlang/OTP release (scripts/test sets it, once per release):
//
//	GOBEAM_OTP          the release wanted ("25", "27", "29"). When set, a missing or different
//	                    erl fails the tests; when unset, the tests use the erl on PATH and skip,
//	                    with a message saying so, when there is none.
//	GOBEAM_ERL_PREFIX   words put before "erl", e.g. "chroot /var/cache/gobeam/trixie"
//	                    (scripts/install-otp prints them).
//
// # How the peer is reached
//
// erl runs with -noshell -noinput and an -eval bootstrap that connects back over loopback TCP to
// a listener the test opened, proves it is the peer that was started (a random token), receives
// the source of the peer runtime (erl/gobeam_peer.erl), compiles and runs it. From then on both
// sides exchange term_to_binary terms in 4-byte-length-prefixed packets, encoded and decoded on
// the Go side by package etf. A socket rather than the process's stdin and stdout keeps erl's own
// output (logger, io:format, crash reports) out of the channel, works the same through command
// prefixes such as chroot or sudo that do not pass extra file descriptors, and avoids the
// terminal machinery of OTP 26 and later, which claims stdin even under -noinput. The peer's
// stdout and stderr go to the test log line by line.
package erlpeer
