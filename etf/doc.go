// Package etf is the Erlang External Term Format: the byte encoding every term takes between BEAM
// nodes, and the hash (erlang:phash2) that Erlang code uses to spread terms over partitions.
//
// The package is pure: it reads and writes byte slices and nothing else. It starts no goroutines,
// opens nothing, and keeps no global mutable state, so the distribution layer (package node) can
// call it from any connection's reader without coordination.
//
// # Term model
//
// A decoded term is a Go value of one of these types (the Go side of each Erlang type):
//
//	Erlang                          Go (decoded)
//	atom                            Atom (= gen.Atom); true/false decode to bool
//	integer, fits in int64          int64
//	integer, larger                 *big.Int
//	float                           float64
//	binary                          []byte
//	bitstring                       BitString
//	[] and proper lists             List
//	list of bytes sent as STRING_EXT ByteList
//	improper list                   ImproperList
//	tuple                           Tuple
//	map                             Map (ordered pairs; keys may be any term)
//	pid                             PID (= gen.PID)
//	port                            Port
//	reference                       Ref (= gen.Ref; see RefWords for the layout)
//	fun M:F/A                       ExportFun
//	fun (closure)                   LocalFun (kept whole, re-encoded byte for byte)
//
// Encoding accepts all of the above and, beyond them, ordinary Go values; see Encode for the full
// table of Go values in and Erlang terms out.
package etf
