package etf

import (
	"ergo.services/ergo/gen"
)

// Term is any value that stands for an Erlang term: one of the types listed in the package
// documentation when decoded, or any Go value Encode accepts.
type Term = any

// Atom is an Erlang atom, held as its UTF-8 text. It is the same type as Ergo's gen.Atom, so
// registered names and node names pass between actors and terms without conversion.
type Atom = gen.Atom

// PID is an Erlang process identifier; the same type as Ergo's gen.PID.
//
// Layout: ID holds the NEW_PID_EXT Serial in its high 32 bits and the ID ("number") in its low 32
// bits, the 64-bit pid that DFLAG_V4_NC nodes exchange. Creation holds the 32-bit creation.
// erlang:phash2 hashes only the low 32 bits (see Phash2).
type PID = gen.PID

// Ref is an Erlang reference; the same type as Ergo's gen.Ref. Erlang references carry one to
// five 32-bit words. RefWords and RefFromWords convert between the two without loss.
type Ref = gen.Ref

// Alias is an Erlang process alias: on the wire it is a reference. Encode writes it like a Ref.
type Alias = gen.Alias

// Tuple is an Erlang tuple.
type Tuple []Term

// List is a proper Erlang list; an empty or nil List is [].
type List []Term

// ByteList is a proper list whose every element is an integer 0..255, the form erl sends as
// STRING_EXT (an Erlang "string" such as "abc" in Erlang syntax, or 'abc' in Elixir).
// It equals the List of the same integers in Equal, Compare and Phash2.
type ByteList []byte

// ImproperList is a list whose last tail is not []: [Elems... | Tail]. Elems is never empty.
type ImproperList struct {
	Elems []Term
	Tail  Term
}

// BitString is a bitstring whose length is not a multiple of 8: all bytes of Bytes are whole but
// the last, of which only the Bits high bits (1..7) belong to the term; the rest are zero.
// A BitString with Bits == 8 is an ordinary binary and Encode writes it as one.
type BitString struct {
	Bytes []byte
	Bits  uint8
}

// MapPair is one key and its value.
type MapPair struct {
	Key   Term
	Value Term
}

// Map is an Erlang map, kept as the pairs in the order they were decoded or built. Erlang map
// keys can be any term (binaries, tuples, lists, other maps), most of which cannot be keys of a
// Go map; Map keeps them all. Keys compare by exact term equality: 1 and 1.0 are different keys.
//
// The keys of a Map must be distinct terms, as those of every Erlang map are: binary_to_term
// refuses a map with a key twice, as does a BEAM node that receives one in a message, which then
// closes the distribution connection. Distinct Go values can be one term: "id" and []byte("id"),
// 1 and int64(1). Encode refuses a Map with such keys (an *UnsupportedValueError), and Decode
// refuses the bytes of one.
type Map []MapPair

// Port is an Erlang port identifier. ID is 64-bit (V4_PORT_EXT); NEW_PORT_EXT carries 32 bits.
type Port struct {
	Node     Atom
	ID       uint64
	Creation uint32
}

// ExportFun is fun Module:Function/Arity.
type ExportFun struct {
	Module   Atom
	Function Atom
	Arity    uint8
}

// LocalFun is a closure (NEW_FUN_EXT). Only the node that created it can call it, so the Go side
// keeps it whole: Raw is its complete encoding (tag included) and is written back byte for byte.
// The decoded fields are there to read, hash and compare.
type LocalFun struct {
	Arity    uint8
	Uniq     [16]byte
	Index    uint32
	Module   Atom
	OldIndex int64
	OldUniq  int64
	Pid      PID
	FreeVars []Term
	Raw      []byte
}

// ProperList returns the elements of a proper list in whichever form decoding gave it: a List
// as it is, a ByteList (what erl sends as STRING_EXT) as its integers. Anything else is not a
// proper list.
func ProperList(t Term) (List, bool) {
	switch v := t.(type) {
	case List:
		return v, true
	case ByteList:
		out := make(List, len(v))
		for i, b := range v {
			out[i] = int64(b)
		}
		return out, true
	}
	return nil, false
}
