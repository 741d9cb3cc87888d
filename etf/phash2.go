package etf

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"unicode/utf8"
)

// erlang:phash2 walks a term depth first, left to right, folding every part into one running
// 32-bit value with Bob Jenkins' lookup2 mix. The constants are the golden ratio times small
// integers, one per kind of part, named as in the BEAM (HCONST_n = n * HCONST mod 2^32).
const (
	golden = 0x9e3779b9

	hconst   uint32 = golden
	hconst2  uint32 = golden * 2 & math.MaxUint32
	hconst3  uint32 = golden * 3 & math.MaxUint32
	hconst4  uint32 = golden * 4 & math.MaxUint32
	hconst5  uint32 = golden * 5 & math.MaxUint32
	hconst6  uint32 = golden * 6 & math.MaxUint32
	hconst7  uint32 = golden * 7 & math.MaxUint32
	hconst9  uint32 = golden * 9 & math.MaxUint32
	hconst10 uint32 = golden * 10 & math.MaxUint32
	hconst11 uint32 = golden * 11 & math.MaxUint32
	hconst12 uint32 = golden * 12 & math.MaxUint32
	hconst13 uint32 = golden * 13 & math.MaxUint32
	hconst14 uint32 = golden * 14 & math.MaxUint32
	hconst15 uint32 = golden * 15 & math.MaxUint32
	hconst16 uint32 = golden * 16 & math.MaxUint32
	hconst19 uint32 = golden * 19 & math.MaxUint32

	// nilFirstHash is what [] hashes to when nothing precedes it. The BEAM special-cases a
	// leading [] (and a leading atom) instead of mixing it, to save time on common keys.
	nilFirstHash uint32 = 3468870702
	// nilTag is the BEAM's internal tag for [], mixed in for a [] that follows other parts.
	nilTag uint32 = 2

	// smallIntLimit: integers in [-smallIntLimit, smallIntLimit) hash as one 32-bit value, the
	// rest as bignums, so that 32- and 64-bit BEAMs agree.
	smallIntLimit = 1 << 27
)

// Precomputed atom hashes of the atoms that Go values stand for.
var (
	atomHashTrue  = atomHash("true")
	atomHashFalse = atomHash("false")
	atomHashNil   = atomHash("nil")
)

// Phash2 returns erlang:phash2(t, rng): the portable hash of t, reduced to 0..rng-1. rng 0
// stands for 2^32, the largest range Erlang accepts, and gives the whole 32-bit hash. The
// result is the same as on any BEAM node (it does not depend on the node, the OTP release or the
// word size), so Go code can pick the same partition, shard or process group member as Erlang
// code that hashes the same term.
//
// t may be a decoded term or any Go value Encode accepts, and hashes as the term Encode writes
// for it: a string or []byte as a binary, Go integers of any size as Erlang integers, a float32
// as the float it widens to, true and false as atoms, nil as the atom nil, an Alias as a
// reference, a ProcessID as the tuple {Name, Node}, []any and []string as lists, and
// map[string]any, map[Atom]any and map[any]any as maps. These and decoded terms are hashed
// without allocating; other values (structs, named types, other slices and maps, MarshalTerm
// implementations) are encoded first.
//
// A value that has no Erlang form (see Encode) hashes to 0; Phash2Checked reports it instead.
//
// Converting a Go value to Term allocates unless it already is one (an element of a decoded
// term, for example), as any conversion to an interface does; Phash2PID hashes a PID without it.
func Phash2(t Term, rng uint32) uint32 {
	// Pids come first: fan-out code hashes one pid per message.
	if p, ok := t.(PID); ok {
		return reduceHash(foldPID(0, p), rng)
	}
	var s hashState
	h := s.term(0, t, 0)
	if s.err != nil {
		return 0
	}
	return reduceHash(h, rng)
}

// Phash2Default returns erlang:phash2(t), the hash in 0..2^27-1 that Erlang's one-argument form
// gives. It equals Phash2(t, 1<<27).
func Phash2Default(t Term) uint32 {
	return Phash2(t, 1<<27)
}

// Phash2Checked is Phash2 for values whose Erlang form is not certain: it returns an error
// (an *UnsupportedTypeError, an *UnsupportedValueError, a *MarshalerError or ErrTooDeep) where
// Phash2 would return 0.
func Phash2Checked(t Term, rng uint32) (uint32, error) {
	var s hashState
	h := s.term(0, t, 0)
	if s.err != nil {
		return 0, s.err
	}
	return reduceHash(h, rng), nil
}

// Phash2PID returns erlang:phash2(p, rng) like Phash2, taking the pid by value so that hashing
// it never allocates. Only the pid's number (the low 32 bits of ID) enters the hash: a pid
// hashes the same wherever it lives.
func Phash2PID(p PID, rng uint32) uint32 {
	return reduceHash(foldPID(0, p), rng)
}

func reduceHash(h, rng uint32) uint32 {
	if rng == 0 {
		return h
	}
	return h % rng
}

// mix is lookup2's mix of three 32-bit values; mixC is the same giving c alone, all that most
// callers keep. (Go does not inline functions this long, so the hot loops spell it out.)
func mix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= b
	a -= c
	a ^= c >> 13
	b -= c
	b -= a
	b ^= a << 8
	c -= a
	c -= b
	c ^= b >> 13
	a -= b
	a -= c
	a ^= c >> 12
	b -= c
	b -= a
	b ^= a << 16
	c -= a
	c -= b
	c ^= b >> 5
	a -= b
	a -= c
	a ^= c >> 3
	b -= c
	b -= a
	b ^= a << 10
	c -= a
	c -= b
	c ^= b >> 15
	return a, b, c
}

func mixC(a, b, c uint32) uint32 {
	a -= b
	a -= c
	a ^= c >> 13
	b -= c
	b -= a
	b ^= a << 8
	c -= a
	c -= b
	c ^= b >> 13
	a -= b
	a -= c
	a ^= c >> 12
	b -= c
	b -= a
	b ^= a << 16
	c -= a
	c -= b
	c ^= b >> 5
	a -= b
	a -= c
	a ^= c >> 3
	b -= c
	b -= a
	b ^= a << 10
	c -= a
	c -= b
	c ^= b >> 15
	return c
}

// hash2 folds two 32-bit values into h (the BEAM's UINT32_HASH_2).
func hash2(h, e1, e2, k uint32) uint32 {
	return mixC(k+e1, k+e2, h)
}

// hash1 folds one 32-bit value into h (the BEAM's UINT32_HASH).
func hash1(h, e, k uint32) uint32 {
	return mixC(k+e, k, h)
}

func foldPID(h uint32, p PID) uint32 {
	return hash1(h, uint32(p.ID), hconst5)
}

// atomHash is the hash the BEAM keeps for every atom: hashpjw over the atom's text, in which
// each character U+0080..U+00FF counts as its one Latin-1 byte (so that atoms hash as they did
// when atoms were Latin-1) and every other character as its UTF-8 bytes.
func atomHash(s string) uint32 {
	h, _ := atomHashChecked(s)
	return h
}

// atomHashChecked is atomHash that also reports whether s can be an atom: valid UTF-8 of at
// most 255 characters.
func atomHashChecked(s string) (uint32, bool) {
	var h uint32
	var high byte // the bits of all bytes, to see whether any is not ASCII
	for i := 0; i < len(s); i++ {
		v := s[i]
		high |= v
		if v&0xfe == 0xc2 && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			v = v<<6 | s[i+1]&0x3f
			i++
		}
		h = h<<4 + uint32(v)
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
			h ^= g
		}
	}
	if high < utf8.RuneSelf {
		return h, len(s) <= maxAtomChars
	}
	return h, utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxAtomChars
}

// foldAtom folds an atom's hash into h. An atom that comes first is taken as it is.
func foldAtom(h, ah uint32) uint32 {
	if h == 0 {
		return ah
	}
	return hash1(h, ah, hconst3)
}

func foldNil(h uint32) uint32 {
	if h == 0 {
		return nilFirstHash
	}
	return hash1(h, nilTag, hconst2)
}

func foldInt64(h uint32, n int64) uint32 {
	if n >= -smallIntLimit && n < smallIntLimit {
		if n < 0 {
			// The BEAM mixes negative small integers twice: first their magnitude.
			h = hash1(h, uint32(-n), hconst)
		}
		return hash1(h, uint32(n), hconst)
	}
	if n < 0 {
		return foldMagnitude64(h, uint64(-n), hconst10) // 1<<63 for MinInt64, as it must be
	}
	return foldMagnitude64(h, uint64(n), hconst11)
}

func foldUint64(h uint32, n uint64) uint32 {
	if n < smallIntLimit {
		return hash1(h, uint32(n), hconst)
	}
	return foldMagnitude64(h, n, hconst11)
}

// foldMagnitude64 hashes a bignum of at most 64 bits: one 64-bit BEAM digit, as two 32-bit
// halves.
func foldMagnitude64(h uint32, m uint64, k uint32) uint32 {
	return hash2(h, uint32(m), uint32(m>>32), k)
}

func foldBigInt(h uint32, z *big.Int) uint32 {
	if z.IsInt64() {
		return foldInt64(h, z.Int64())
	}
	k := hconst11
	if z.Sign() < 0 {
		k = hconst10
	}
	// The magnitude's 32-bit words, least significant first, in pairs (a 64-bit BEAM digit
	// each); an odd count is padded with a zero word.
	words := z.Bits()
	if bits.UintSize == 64 {
		for _, w := range words {
			h = hash2(h, uint32(w), uint32(uint64(w)>>32), k)
		}
		return h
	}
	for i := 0; i < len(words); i += 2 {
		var hi uint32
		if i+1 < len(words) {
			hi = uint32(words[i+1])
		}
		h = hash2(h, uint32(words[i]), hi, k)
	}
	return h
}

func (s *hashState) float(h uint32, f float64) uint32 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return s.fail(&UnsupportedValueError{Value: f, Reason: "Erlang floats are finite"})
	}
	return foldFloat(h, f)
}

func foldFloat(h uint32, f float64) uint32 {
	if f == 0 {
		f = 0 // -0.0 hashes as 0.0
	}
	b := math.Float64bits(f)
	return hash2(h, uint32(b>>32), uint32(b), hconst12)
}

// foldBinary hashes a binary whose tail bits (0..7) are the high bits of last.
func foldBinary[S ~string | ~[]byte](h uint32, whole S, tailBits uint8, last byte) uint32 {
	con := hconst13 + h
	if len(whole) == 0 && tailBits == 0 {
		return con
	}
	h = blockHash(whole, con)
	if tailBits > 0 {
		h = hash2(h, uint32(tailBits), uint32(last>>(8-tailBits)), hconst15)
	}
	return h
}

// blockHash is lookup2's hash of k with initval c.
func blockHash[S ~string | ~[]byte](k S, c uint32) uint32 {
	a, b := hconst, hconst
	n := len(k)
	for len(k) >= 12 {
		a += uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24
		b += uint32(k[4]) | uint32(k[5])<<8 | uint32(k[6])<<16 | uint32(k[7])<<24
		c += uint32(k[8]) | uint32(k[9])<<8 | uint32(k[10])<<16 | uint32(k[11])<<24
		// mix(a, b, c), spelled out.
		a -= b
		a -= c
		a ^= c >> 13
		b -= c
		b -= a
		b ^= a << 8
		c -= a
		c -= b
		c ^= b >> 13
		a -= b
		a -= c
		a ^= c >> 12
		b -= c
		b -= a
		b ^= a << 16
		c -= a
		c -= b
		c ^= b >> 5
		a -= b
		a -= c
		a ^= c >> 3
		b -= c
		b -= a
		b ^= a << 10
		c -= a
		c -= b
		c ^= b >> 15
		k = k[12:]
	}
	ta, tb, tc := tailBlock(k)
	return mixC(a+ta, b+tb, c+uint32(n)+tc)
}

func foldPort(h uint32, p Port) uint32 {
	return hash2(h, uint32(p.ID), uint32(p.ID>>32), hconst6)
}

// foldRef hashes a reference by its first word, the one that differs between references made
// one after the other.
func foldRef(h uint32, r Ref) uint32 {
	return hash1(h, uint32(r.ID[0]), hconst7)
}

func foldExportFun(h uint32, f ExportFun) uint32 {
	h = hash2(h, uint32(f.Arity), atomHash(string(f.Module)), hconst)
	return hash1(h, atomHash(string(f.Function)), hconst14)
}

// hashState carries what a hash walk needs besides the running hash, which is passed along in
// registers instead.
type hashState struct {
	err error
}

func (s *hashState) fail(err error) uint32 {
	if s.err == nil {
		s.err = err
	}
	return 0
}

// term folds t into h. depth counts the containers t is inside of.
func (s *hashState) term(h uint32, t Term, depth int) uint32 {
	// The most common leaves first, each one comparison away.
	switch v := t.(type) {
	case []byte:
		return foldBinary(h, v, 0, 0)
	case int64:
		return foldInt64(h, v)
	case Atom:
		return s.atom(h, v)
	case PID:
		return foldPID(h, v)
	}
	return s.other(h, t, depth)
}

func (s *hashState) atom(h uint32, a Atom) uint32 {
	ah, ok := atomHashChecked(string(a))
	if !ok {
		return s.fail(&UnsupportedValueError{Value: a, Reason: "an atom is valid UTF-8 of at most 255 characters"})
	}
	return foldAtom(h, ah)
}

// other is term for all but the commonest leaves.
func (s *hashState) other(h uint32, t Term, depth int) uint32 {
	switch v := t.(type) {
	case List:
		return s.list(h, v, properTail, depth)
	case Map:
		return s.mapPairs(h, v, depth)
	case Tuple:
		return s.tuple(h, v, depth)
	case bool:
		if v {
			return foldAtom(h, atomHashTrue)
		}
		return foldAtom(h, atomHashFalse)
	case string:
		return foldBinary(h, v, 0, 0)
	case ByteList:
		return foldNil(foldByteRun(h, v))
	case float64:
		return s.float(h, v)
	case int:
		return foldInt64(h, int64(v))
	case Ref:
		return foldRef(h, v)
	case *big.Int:
		if v == nil {
			return foldAtom(h, atomHashNil)
		}
		return foldBigInt(h, v)
	case big.Int:
		return foldBigInt(h, &v)
	case BitString:
		whole, last, tail, err := bitStringParts(v)
		if err != nil {
			return s.fail(err)
		}
		return foldBinary(h, whole, tail, last)
	case ImproperList:
		return s.list(h, v.Elems, v.Tail, depth)
	case []Term:
		return s.list(h, v, properTail, depth)
	case nil:
		return foldAtom(h, atomHashNil)
	case Port:
		return foldPort(h, v)
	case Alias:
		return foldRef(h, Ref(v))
	case ProcessID:
		h = hash1(h, 2, hconst9)
		h = foldAtom(h, atomHash(string(v.Name)))
		return foldAtom(h, atomHash(string(v.Node)))
	case ExportFun:
		return foldExportFun(h, v)
	case LocalFun:
		return s.localFun(h, &v, depth)
	case *LocalFun:
		if v == nil {
			return foldAtom(h, atomHashNil)
		}
		return s.localFun(h, v, depth)
	case int8:
		return foldInt64(h, int64(v))
	case int16:
		return foldInt64(h, int64(v))
	case int32:
		return foldInt64(h, int64(v))
	case uint:
		return foldUint64(h, uint64(v))
	case uint8:
		return foldUint64(h, uint64(v))
	case uint16:
		return foldUint64(h, uint64(v))
	case uint32:
		return foldUint64(h, uint64(v))
	case uint64:
		return foldUint64(h, v)
	case uintptr:
		return foldUint64(h, uint64(v))
	case float32:
		return s.float(h, float64(v))
	case map[string]Term:
		return s.stringMap(h, v, depth)
	case map[Atom]Term:
		return s.atomMap(h, v, depth)
	case map[Term]Term:
		return s.anyMap(h, v, depth)
	case []string:
		return foldStrings(h, v)

	}
	return s.encoded(h, t, depth)
}

// encoded hashes a Go value that has no case of its own in term by encoding and decoding it,
// which gives exactly the term Encode makes of it (struct fields, MarshalTerm, named types).
func (s *hashState) encoded(h uint32, t Term, depth int) uint32 {
	// What nesting is left for the value; 0 would mean the default.
	left := max(1, DefaultMaxDepth-depth)
	e := Encoder{MaxDepth: left}
	b, err := e.Encode(t)
	if err != nil {
		return s.fail(err)
	}
	d := Decoder{MaxDepth: left}
	v, err := d.Decode(b)
	if err != nil {
		return s.fail(fmt.Errorf("etf: hashing %T: %w", t, err))
	}
	return s.term(h, v, depth)
}

func (s *hashState) enter(depth int) bool {
	// Once hashing has failed, no container is entered: a value that holds itself more than once
	// would otherwise be walked once per path to the depth limit, exponentially many.
	if s.err != nil {
		return false
	}
	if depth >= DefaultMaxDepth {
		s.fail(ErrTooDeep)
		return false
	}
	return true
}

func (s *hashState) tuple(h uint32, elems []Term, depth int) uint32 {
	h = hash1(h, uint32(len(elems)), hconst9)
	if len(elems) == 0 || !s.enter(depth) {
		return h
	}
	for _, e := range elems {
		h = s.term(h, e, depth+1)
	}
	return h
}

// properTail stands for the [] that ends a proper list, as a tail for hashState.list (a nil
// tail is the atom nil, as Encode has it).
var properTail Term = ByteList(nil)

// list hashes [elems... | tail]. Runs of bytes (integers 0..255) are packed four to a 32-bit
// value before mixing, the BEAM's shortcut for strings.
func (s *hashState) list(h uint32, elems []Term, tail Term, depth int) uint32 {
	if !s.enter(depth) {
		return h
	}
	var run uint32 // bytes packed big-endian
	n := 0         // bytes in run
	for {
		for _, e := range elems {
			// Decoded lists hold int64 and the pids of process groups most often: those are
			// handled here, the rest by byteValue and term.
			switch v := e.(type) {
			case int64:
				if uint64(v) < 256 {
					run = run<<8 | uint32(v)
					if n++; n == 4 {
						h = hash1(h, run, hconst4)
						run, n = 0, 0
					}
					continue
				}
			case PID:
				if n > 0 {
					h = hash1(h, run, hconst4)
					run, n = 0, 0
				}
				h = foldPID(h, v)
				continue
			}
			if b, ok := byteValue(e); ok {
				run = run<<8 | b
				if n++; n == 4 {
					h = hash1(h, run, hconst4)
					run, n = 0, 0
				}
				continue
			}
			if n > 0 {
				h = hash1(h, run, hconst4)
				run, n = 0, 0
			}
			h = s.term(h, e, depth+1)
		}
		// A tail that is a list continues this one, runs of bytes included.
		switch t := tail.(type) {
		case List:
			elems, tail = t, properTail
			continue
		case []Term:
			elems, tail = t, properTail
			continue
		case ImproperList:
			elems, tail = t.Elems, t.Tail
			continue
		case ByteList: // properTail is one too
			return foldNil(foldByteRunFrom(h, run, n, t))
		case []string:
			if n > 0 {
				h = hash1(h, run, hconst4)
				run, n = 0, 0
			}
			for _, e := range t {
				h = foldBinary(h, e, 0, 0)
			}
			elems, tail = nil, properTail
			continue
		}
		// A Go value of another type (a []int, a named slice type, ...) may be a list as well.
		if class, v := classOf(tail); class == classList || class == classNil {
			if _, invalid := v.(invalidTerm); !invalid {
				elems, tail = nil, v
				if class == classNil {
					tail = properTail
				}
				continue
			}
		}
		if n > 0 {
			h = hash1(h, run, hconst4)
		}
		return s.term(h, tail, depth+1)
	}
}

// byteValue reports whether t is an integer 0..255, the elements the BEAM packs into runs.
func byteValue(t Term) (uint32, bool) {
	switch v := t.(type) {
	case int64:
		return uint32(v), uint64(v) < 256
	case int:
		return uint32(v), uint(v) < 256
	case uint8:
		return uint32(v), true
	case int8:
		return uint32(v), v >= 0
	case int16:
		return uint32(v), uint16(v) < 256
	case int32:
		return uint32(v), uint32(v) < 256
	case uint:
		return uint32(v), v < 256
	case uint16:
		return uint32(v), v < 256
	case uint32:
		return v, v < 256
	case uint64:
		return uint32(v), v < 256
	case *big.Int:
		if v != nil && v.Sign() >= 0 && v.BitLen() <= 8 {
			return uint32(v.Uint64()), true
		}
	}
	return 0, false
}

// foldByteRun hashes the bytes of a list (not its tail).
func foldByteRun(h uint32, b []byte) uint32 {
	for len(b) >= 4 {
		h = hash1(h, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]), hconst4)
		b = b[4:]
	}
	return foldByteRunFrom(h, 0, 0, b)
}

// foldByteRunFrom continues a run of n bytes (packed in run) with the bytes of b.
func foldByteRunFrom(h, run uint32, n int, b []byte) uint32 {
	for _, c := range b {
		run = run<<8 | uint32(c)
		if n++; n == 4 {
			h = hash1(h, run, hconst4)
			run, n = 0, 0
		}
	}
	if n > 0 {
		h = hash1(h, run, hconst4)
	}
	return h
}

// foldStrings hashes a list of binaries.
func foldStrings(h uint32, l []string) uint32 {
	for _, e := range l {
		h = foldBinary(h, e, 0, 0)
	}
	return foldNil(h)
}

// mapPairs hashes a map so that the order of its pairs does not matter: each pair is hashed on
// its own, from 0, and the pair hashes are combined with xor.
func (s *hashState) mapPairs(h uint32, m Map, depth int) uint32 {
	h = hash1(h, uint32(len(m)), hconst16)
	if len(m) == 0 || !s.enter(depth) {
		return h
	}
	// The pairs are hashed independently of each other: hashing two at a time, interleaved,
	// lets the processor work on both chains of mixes at once.
	var x uint32
	i := 0
	for ; i+1 < len(m); i += 2 {
		p, q := &m[i], &m[i+1]
		hp, hq := s.two(0, 0, p.Key, q.Key, depth+1)
		hp, hq = s.two(hp, hq, p.Value, q.Value, depth+1)
		x ^= hp ^ hq
	}
	if i < len(m) {
		x ^= s.term(s.term(0, m[i].Key, depth+1), m[i].Value, depth+1)
	}
	return hash1(h, x, hconst19)
}

// two folds tp into hp and tq into hq. When both are leaves that hash with one mix (or both
// binaries), their chains of mixes are interleaved, so that the processor works on both at
// once; other terms are hashed one after the other.
func (s *hashState) two(hp, hq uint32, tp, tq Term, depth int) (uint32, uint32) {
	if bp, ok := tp.([]byte); ok && len(bp) > 0 {
		if bq, ok := tq.([]byte); ok && len(bq) > 0 {
			return blockHash2(bp, hconst13+hp, bq, hconst13+hq)
		}
	}
	if sp, ok := oneMix(hp, tp); ok {
		if sq, ok := oneMix(hq, tq); ok {
			return mixC2(sp.a, sp.b, hp+sp.c, sq.a, sq.b, hq+sq.c)
		}
	}
	return s.term(hp, tp, depth), s.term(hq, tq, depth)
}

// mixStep is the one mix that some leaf terms hash with: h becomes mixC(a, b, h+c).
type mixStep struct{ a, b, c uint32 }

// oneMix returns the mixStep of the commonest leaves that hash into h with one mix: binaries of
// 1 to 11 bytes, integers but small negative ones, pids, and, unless h is 0, atoms and [].
func oneMix(h uint32, t Term) (mixStep, bool) {
	switch v := t.(type) {
	case []byte:
		if n := len(v); n > 0 && n < 12 {
			a, b, c := tailBlock(v)
			return mixStep{hconst + a, hconst + b, hconst13 + uint32(n) + c}, true
		}
	case int64:
		switch {
		case v >= 0 && v < smallIntLimit:
			return mixStep{hconst + uint32(v), hconst, 0}, true
		case v >= smallIntLimit:
			return mixStep{hconst11 + uint32(v), hconst11 + uint32(uint64(v)>>32), 0}, true
		case v < -smallIntLimit:
			m := uint64(-v)
			return mixStep{hconst10 + uint32(m), hconst10 + uint32(m>>32), 0}, true
		}
	case PID:
		return mixStep{hconst5 + uint32(v.ID), hconst5, 0}, true
	case bool:
		if h != 0 {
			ah := atomHashFalse
			if v {
				ah = atomHashTrue
			}
			return mixStep{hconst3 + ah, hconst3, 0}, true
		}
	case Atom:
		if h != 0 {
			if ah, ok := atomHashChecked(string(v)); ok {
				return mixStep{hconst3 + ah, hconst3, 0}, true
			}
		}
	case List:
		if len(v) == 0 && h != 0 {
			return mixStep{hconst2 + nilTag, hconst2, 0}, true
		}
	}
	return mixStep{}, false
}

// blockHash2 is blockHash of k with initval c and of m with initval z, interleaved.
func blockHash2(k []byte, c uint32, m []byte, z uint32) (uint32, uint32) {
	a, b := hconst, hconst
	x, y := hconst, hconst
	nk, nm := uint32(len(k)), uint32(len(m))
	for len(k) >= 12 && len(m) >= 12 {
		a, b, c, x, y, z = mix2(a+le32(k, 0), b+le32(k, 4), c+le32(k, 8), x+le32(m, 0), y+le32(m, 4), z+le32(m, 8))
		k, m = k[12:], m[12:]
	}
	for ; len(k) >= 12; k = k[12:] {
		a, b, c = mix(a+le32(k, 0), b+le32(k, 4), c+le32(k, 8))
	}
	for ; len(m) >= 12; m = m[12:] {
		x, y, z = mix(x+le32(m, 0), y+le32(m, 4), z+le32(m, 8))
	}
	ka, kb, kc := tailBlock(k)
	ma, mb, mc := tailBlock(m)
	return mixC2(a+ka, b+kb, c+nk+kc, x+ma, y+mb, z+nm+mc)
}

// tailBlock is what blockHash adds to a, b and c (besides the length) for the last 0..11
// bytes k: the bytes little-endian, four to a word, c's lowest byte left for the length. The
// words are read with overlapping loads rather than byte by byte.
func tailBlock[S ~string | ~[]byte](k S) (a, b, c uint32) {
	switch n := len(k); {
	case n >= 8:
		return le32(k, 0), le32(k, 4), upTo3(k[8:]) << 8
	case n >= 4:
		return le32(k, 0), le32(k, n-4) >> (8 * (8 - n)), 0
	default:
		return upTo3(k), 0, 0
	}
}

// le32 reads 4 bytes of k at i, little-endian.
func le32[S ~string | ~[]byte](k S, i int) uint32 {
	_ = k[i+3]
	return uint32(k[i]) | uint32(k[i+1])<<8 | uint32(k[i+2])<<16 | uint32(k[i+3])<<24
}

// upTo3 reads the 0 to 3 bytes of k little-endian.
func upTo3[S ~string | ~[]byte](k S) uint32 {
	n := len(k)
	if n == 0 {
		return 0
	}
	// k[0], k[n/2] and k[n-1] cover every byte for n <= 3.
	return uint32(k[0]) | uint32(k[n>>1])<<(8*(n>>1)) | uint32(k[n-1])<<(8*(n-1))
}

// mix2 is two mix, interleaved.
func mix2(a, b, c, x, y, z uint32) (uint32, uint32, uint32, uint32, uint32, uint32) {
	a -= b
	x -= y
	a -= c
	x -= z
	a ^= c >> 13
	x ^= z >> 13
	b -= c
	y -= z
	b -= a
	y -= x
	b ^= a << 8
	y ^= x << 8
	c -= a
	z -= x
	c -= b
	z -= y
	c ^= b >> 13
	z ^= y >> 13
	a -= b
	x -= y
	a -= c
	x -= z
	a ^= c >> 12
	x ^= z >> 12
	b -= c
	y -= z
	b -= a
	y -= x
	b ^= a << 16
	y ^= x << 16
	c -= a
	z -= x
	c -= b
	z -= y
	c ^= b >> 5
	z ^= y >> 5
	a -= b
	x -= y
	a -= c
	x -= z
	a ^= c >> 3
	x ^= z >> 3
	b -= c
	y -= z
	b -= a
	y -= x
	b ^= a << 10
	y ^= x << 10
	c -= a
	z -= x
	c -= b
	z -= y
	c ^= b >> 15
	z ^= y >> 15
	return a, b, c, x, y, z
}

// mixC2 is two mixC, interleaved.
func mixC2(a, b, c, x, y, z uint32) (uint32, uint32) {
	a -= b
	x -= y
	a -= c
	x -= z
	a ^= c >> 13
	x ^= z >> 13
	b -= c
	y -= z
	b -= a
	y -= x
	b ^= a << 8
	y ^= x << 8
	c -= a
	z -= x
	c -= b
	z -= y
	c ^= b >> 13
	z ^= y >> 13
	a -= b
	x -= y
	a -= c
	x -= z
	a ^= c >> 12
	x ^= z >> 12
	b -= c
	y -= z
	b -= a
	y -= x
	b ^= a << 16
	y ^= x << 16
	c -= a
	z -= x
	c -= b
	z -= y
	c ^= b >> 5
	z ^= y >> 5
	a -= b
	x -= y
	a -= c
	x -= z
	a ^= c >> 3
	x ^= z >> 3
	b -= c
	y -= z
	b -= a
	y -= x
	b ^= a << 10
	y ^= x << 10
	c -= a
	z -= x
	c -= b
	z -= y
	c ^= b >> 15
	z ^= y >> 15
	return c, z
}

// stringMap, atomMap and anyMap hash Go maps as the Erlang maps Encode makes of them.
func (s *hashState) stringMap(h uint32, m map[string]Term, depth int) uint32 {
	h = hash1(h, uint32(len(m)), hconst16)
	if len(m) == 0 || !s.enter(depth) {
		return h
	}
	var x uint32
	for k, v := range m {
		x ^= s.term(foldBinary(0, k, 0, 0), v, depth+1)
	}
	return hash1(h, x, hconst19)
}

func (s *hashState) atomMap(h uint32, m map[Atom]Term, depth int) uint32 {
	h = hash1(h, uint32(len(m)), hconst16)
	if len(m) == 0 || !s.enter(depth) {
		return h
	}
	var x uint32
	for k, v := range m {
		ah, ok := atomHashChecked(string(k))
		if !ok {
			return s.fail(&UnsupportedValueError{Value: k, Reason: "an atom is valid UTF-8 of at most 255 characters"})
		}
		x ^= s.term(ah, v, depth+1) // an atom that comes first is its own hash
	}
	return hash1(h, x, hconst19)
}

func (s *hashState) anyMap(h uint32, m map[Term]Term, depth int) uint32 {
	h = hash1(h, uint32(len(m)), hconst16)
	if len(m) == 0 || !s.enter(depth) {
		return h
	}
	var x uint32
	for k, v := range m {
		x ^= s.term(s.term(0, k, depth+1), v, depth+1)
	}
	return hash1(h, x, hconst19)
}

func (s *hashState) localFun(h uint32, f *LocalFun, depth int) uint32 {
	h = hash2(h, uint32(len(f.FreeVars)), atomHash(string(f.Module)), hconst)
	h = hash2(h, f.Index, uint32(f.OldUniq), hconst)
	if len(f.FreeVars) == 0 || !s.enter(depth) {
		return h
	}
	for _, v := range f.FreeVars {
		h = s.term(h, v, depth+1)
	}
	return h
}

// bitStringParts splits a BitString into its whole bytes and its last, partial byte with the
// number of bits used in it (0 when there is none), and checks it as Encode does.
func bitStringParts(b BitString) (whole []byte, last byte, tailBits uint8, err error) {
	switch {
	case b.Bits == 8:
		return b.Bytes, 0, 0, nil
	case b.Bits < 1 || b.Bits > 8:
		return nil, 0, 0, &UnsupportedValueError{Value: b, Reason: "Bits must be 1..8"}
	case len(b.Bytes) == 0:
		return nil, 0, 0, &UnsupportedValueError{Value: b, Reason: "a bitstring of 1..7 bits needs a last byte"}
	}
	n := len(b.Bytes) - 1
	return b.Bytes[:n], b.Bytes[n] & byte(0xff<<(8-b.Bits)), b.Bits, nil
}
