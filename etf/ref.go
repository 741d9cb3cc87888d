package etf

import "fmt"

// An Erlang reference is one to five 32-bit words (NEWER_REFERENCE_EXT); Ergo's gen.Ref has three
// 64-bit words, of which ID[2] doubles as a deadline in Ergo (gen.Ref.IsAlive). The layout below
// maps every Erlang reference into a gen.Ref and back without loss, and maps references made by
// Ergo (ID[0] and ID[1] below 2^32, ID[2] a Unix-time deadline or 0) to ordinary three-word
// Erlang references:
//
//	ID[0] = w0 | w3<<32
//	ID[1] = w1 | w4<<32
//	ID[2] = w2 | marker<<56, marker = 0x80|len when len != 3, else 0
//
// Ergo reads ID[2] as a deadline only in the spawn requests it builds itself, never in references
// that arrive from other nodes, so the words stored there change nothing in Ergo.
const (
	refLenMarker = 0x80
	refLenShift  = 56
	// MaxRefWords is the most words an Erlang reference carries.
	MaxRefWords = 5
)

// RefWords returns the Erlang words of r: three for references made by Ergo, otherwise as many
// as the reference was decoded with.
func RefWords(r Ref) []uint32 {
	var all [MaxRefWords]uint32
	all[0] = uint32(r.ID[0])
	all[1] = uint32(r.ID[1])
	all[2] = uint32(r.ID[2])
	all[3] = uint32(r.ID[0] >> 32)
	all[4] = uint32(r.ID[1] >> 32)
	n := refLen(r)
	out := make([]uint32, n)
	copy(out, all[:n])
	return out
}

// refLen is the number of Erlang words r stands for.
func refLen(r Ref) int {
	if m := r.ID[2] >> refLenShift; m&refLenMarker != 0 {
		if n := int(m &^ refLenMarker); n >= 1 && n <= MaxRefWords {
			return n
		}
	}
	if r.ID[0]>>32 != 0 || r.ID[1]>>32 != 0 {
		return 5
	}
	return 3
}

// RefFromWords builds the Ref for an Erlang reference of node and creation with the given words
// (1 to 5 of them).
func RefFromWords(node Atom, creation uint32, words []uint32) (Ref, error) {
	n := len(words)
	if n < 1 || n > MaxRefWords {
		return Ref{}, fmt.Errorf("etf: a reference has 1 to %d words, not %d", MaxRefWords, n)
	}
	var w [MaxRefWords]uint32
	copy(w[:], words)
	r := Ref{Node: node, Creation: int64(creation)}
	r.ID[0] = uint64(w[0]) | uint64(w[3])<<32
	r.ID[1] = uint64(w[1]) | uint64(w[4])<<32
	r.ID[2] = uint64(w[2])
	if n != 3 {
		r.ID[2] |= uint64(refLenMarker|n) << refLenShift
	}
	return r, nil
}
