// Package integration holds the tests that prove this module against real Erlang/OTP and Elixir
// nodes: the term codec and phash2 against erl's term_to_binary, binary_to_term and
// erlang:phash2, and, in later files, the distribution layer against erl nodes that connect to
// a Go node. The peers are started by package erlpeer; the Erlang code they run lives in erl/.
//
// scripts/test runs these tests once per supported OTP release (25, 27 and 29). Plain
// `go test ./...` runs them against the erl on PATH, or skips them when there is none.
package integration
