package etf

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

const (
	// DefaultMaxSize is the MaxSize of a zero Decoder: 64 MiB. It is far above any message a
	// cluster sends in the ordinary course (the distribution fragments messages long before
	// this), yet bounds what one input, or one compressed term's expansion, may cost: a decoded
	// term takes at most about 20 times the bytes it came from (a list of empty tuples; the
	// BEAM's terms are about half as large), so a hostile or broken peer cannot make one decode
	// take much more than a gigabyte. Raise it for peers that send larger binaries on purpose.
	DefaultMaxSize = 64 << 20

	// DefaultMaxDepth is the MaxDepth of a zero Decoder and Encoder: 10,000 nested lists,
	// tuples, maps and funs, the limit encoding/json uses. Long lists do not nest (a list
	// is one LIST_EXT however long), so only hand-made structures like deep iolists come
	// near it; it keeps the decoder's recursion to a few megabytes of stack.
	DefaultMaxDepth = 10000
)

// Decode reads exactly one term as term_to_binary writes it: the version byte 131, then the term,
// which may be compressed (tag 80). Bytes after the term are an error (ErrTrailingBytes). It is
// the zero Decoder's Decode.
func Decode(b []byte) (Term, error) {
	var d Decoder
	return d.Decode(b)
}

// A Decoder reads terms with limits and, for terms that follow a distribution header, the atom
// cache of that header. The zero Decoder is ready to use. A Decoder is not changed by decoding,
// so one Decoder may be used by many goroutines at once as long as its fields stay unchanged.
//
// Decoding gives the Go types listed in the package documentation. Details:
//   - Atoms are UTF-8 strings. Latin-1 atoms (ATOM_EXT, SMALL_ATOM_EXT) are converted; UTF-8
//     atoms must be valid UTF-8 of at most 255 characters, as the BEAM requires. The atoms true
//     and false become bool, except where only an atom can stand (a pid's node, a fun's module).
//     Repeated atoms share one string per Decode call.
//   - Integers are int64 when they fit, else *big.Int, however they were encoded.
//   - Binaries are copies (unless AliasInput is set): a decoded term never aliases the input.
//     A small input is copied whole and its binaries point into the copy.
//     <<>> decodes to an empty non-nil []byte. A BIT_BINARY_EXT with 8 bits in its last byte is
//     a []byte; with 1..7 bits a BitString, whose unused low bits are cleared. A binary's
//     capacity is its length, so appending to it never writes into its neighbours.
//   - [] decodes to a nil List (STRING_EXT of length 0 too); STRING_EXT to ByteList; LIST_EXT to
//     List, or ImproperList when its tail is not []. A LIST_EXT whose tail is itself a list is
//     joined with it, so equal lists always decode alike.
//   - Maps keep their pairs in the order of the input. A map with two equal keys is an error, as
//     it is for binary_to_term. Keys are equal when they are the same term (=:=): 1 and 1.0
//     differ, a STRING_EXT and the LIST_EXT of the same bytes are equal, and so are two maps
//     with the same pairs in another order. 0.0 and -0.0 are different keys, as from OTP 27 on
//     (OTP 25 and 26 refuse a map holding both).
//   - References must have 1 to 5 words. The 8-bit creations of PID_EXT, PORT_EXT,
//     REFERENCE_EXT and NEW_REFERENCE_EXT must be 0..3.
//   - A NEW_FUN_EXT is a LocalFun whose Raw holds a copy of its bytes; when those bytes refer to
//     the atom cache, which means nothing outside the message, Raw is re-encoded from the
//     decoded fields with the atoms written out. A fun among the free variables of another has
//     no Raw of its own: the outer fun's Raw holds its bytes, and on its own it is written from
//     its fields. (Each fun of a chain keeping a copy of all the funs inside it would make
//     memory grow with the square of the chain's length.)
//   - FUN_EXT (removed in OTP 23) and LOCAL_EXT (only made by term_to_binary(T, [local]) for
//     the node itself) are refused.
//   - An empty BIT_BINARY_EXT (no bytes, 0 bits) is <<>>, as OTP 25 reads it; OTP 27 and
//     later refuse it, and no BEAM writes it.
//
// Memory: the parts of one decoded term are carved out of a few shared chunks (see decodeMem),
// so decoding a small term costs a handful of allocations whatever its shape. Keeping a part of
// a term alive keeps the chunk it sits in alive, a few KiB at most; a small part kept for long
// from a large message is best copied.
type Decoder struct {
	// MaxSize limits the input to Decode and DecodeTerm, and the size a compressed term may
	// expand to. 0 means DefaultMaxSize.
	MaxSize int
	// MaxDepth limits how deep lists, tuples, maps and funs may nest. 0 means DefaultMaxDepth.
	MaxDepth int
	// AtomCache resolves ATOM_CACHE_REF by index. The distribution layer fills it from the
	// distribution header of each message. An index outside it is an error.
	AtomCache []Atom
	// AliasInput lets binaries, atoms and the Raw of funs point into the input instead of being
	// copied. The caller must then leave the input unchanged for as long as any part of the
	// term is in use, and any part kept keeps the whole input alive. It suits a reader that
	// reads each message into a buffer of its own, as the BEAM's distribution does; decoding a
	// 1 MB binary then costs nothing but the binary's header.
	AliasInput bool
}

// Decode reads exactly one term with the version byte 131 first, as the package-level Decode,
// within the Decoder's limits.
func (d *Decoder) Decode(b []byte) (Term, error) {
	var s decodeState
	s.init(d, b)
	if len(b) > s.maxSize {
		return nil, s.fail(0, 0, ErrTooLarge, "input of "+strconv.Itoa(len(b))+" bytes is larger than MaxSize "+strconv.Itoa(s.maxSize))
	}
	if len(b) == 0 {
		return nil, s.fail(0, 0, ErrTruncated, "empty input")
	}
	if b[0] != versionByte {
		return nil, s.fail(0, 0, ErrVersion, "first byte is "+strconv.Itoa(int(b[0]))+", not 131")
	}
	s.pos = 1
	t, err := s.top()
	if err != nil {
		return nil, err
	}
	if s.pos != len(b) {
		return nil, s.fail(s.pos, 0, ErrTrailingBytes, strconv.Itoa(len(b)-s.pos)+" bytes follow the term")
	}
	return t, nil
}

// DecodeTerm reads one term that starts at b[0] with its tag, without the version byte: the form
// terms take after a distribution header. It returns the term and the bytes after it.
func (d *Decoder) DecodeTerm(b []byte) (t Term, rest []byte, err error) {
	var one [1]Term
	if _, rest, err = d.DecodeTerms(b, one[:]); err != nil {
		return nil, nil, err
	}
	return one[0], rest, nil
}

// DecodeTerms reads consecutive terms from b, each starting with its tag (no version byte), into
// ts until ts is full or b is used up, and returns how many it read and the bytes after them.
// It reads at least one term (an empty b is an error, as for DecodeTerm) unless ts is empty.
// The terms share their memory as the parts of one term do, so the control message and payload
// of a small distribution message cost one allocation and one copy of the input, not two. On an
// error, the terms read before the one that failed are in ts[:n].
func (d *Decoder) DecodeTerms(b []byte, ts []Term) (n int, rest []byte, err error) {
	var s decodeState
	s.init(d, b)
	if len(b) > s.maxSize {
		return 0, nil, s.fail(0, 0, ErrTooLarge, "input of "+strconv.Itoa(len(b))+" bytes is larger than MaxSize "+strconv.Itoa(s.maxSize))
	}
	for n < len(ts) && (n == 0 || s.pos < len(s.buf)) {
		t, err := s.top()
		if err != nil {
			return n, nil, err
		}
		ts[n] = t
		n++
	}
	return n, b[s.pos:], nil
}

// decodeState is one decoding pass over one input. It lives on the stack of Decode.
type decodeState struct {
	buf        []byte // the bytes being read: the input, or the expansion of a compressed term
	pos        int    // offset of the next byte of buf to read
	compressed bool   // buf is the expansion of a compressed term
	alias      bool   // Decoder.AliasInput
	private    bool   // buf is never written: binaries and atoms point into it
	depth      int
	maxDepth   int
	maxSize    int
	cache      []Atom
	cacheRefs  int // ATOM_CACHE_REFs read so far; tells a fun whether its bytes used the cache
	inFun      int // funs whose free variables are being read

	atoms atomTable
	dups  dupChecker
	mem   decodeMem
}

func (s *decodeState) init(d *Decoder, b []byte) {
	s.buf = b
	s.maxSize = d.MaxSize
	if s.maxSize <= 0 {
		s.maxSize = DefaultMaxSize
	}
	s.maxDepth = d.MaxDepth
	if s.maxDepth <= 0 {
		s.maxDepth = DefaultMaxDepth
	}
	s.cache = d.AtomCache
	s.alias = d.AliasInput
}

// fail builds the error for a problem at offset off while reading a term with the given tag.
func (s *decodeState) fail(off int, tag byte, kind error, reason string) error {
	return &DecodeError{Offset: off, Compressed: s.compressed, Tag: tag, Reason: reason, Err: kind}
}

func (s *decodeState) invalid(off int, tag byte, reason string) error {
	return s.fail(off, tag, ErrInvalid, reason)
}

// truncated reports that n bytes are needed at s.pos but the input ends sooner.
func (s *decodeState) truncated(tag byte, n int) error {
	return s.fail(s.pos, tag, ErrTruncated, "need "+strconv.Itoa(n)+" bytes, "+strconv.Itoa(len(s.buf)-s.pos)+" left")
}

// need checks that n more bytes can be read.
func (s *decodeState) need(tag byte, n int) error {
	if n < 0 || len(s.buf)-s.pos < n {
		return s.truncated(tag, n)
	}
	return nil
}

func (s *decodeState) u8() byte {
	v := s.buf[s.pos]
	s.pos++
	return v
}

func (s *decodeState) u16() int {
	v := binary.BigEndian.Uint16(s.buf[s.pos:])
	s.pos += 2
	return int(v)
}

func (s *decodeState) u32() uint32 {
	v := binary.BigEndian.Uint32(s.buf[s.pos:])
	s.pos += 4
	return v
}

func (s *decodeState) u64() uint64 {
	v := binary.BigEndian.Uint64(s.buf[s.pos:])
	s.pos += 8
	return v
}

// count reads a 4-byte element count and checks that the input can hold that many elements of
// at least minBytes each; the check keeps a forged count from reserving memory the input does
// not back.
func (s *decodeState) count(tag byte, minBytes int) (int, error) {
	if err := s.need(tag, 4); err != nil {
		return 0, err
	}
	at := s.pos
	n := uint64(s.u32())
	if n*uint64(minBytes) > uint64(len(s.buf)-s.pos) {
		return 0, s.fail(at, tag, ErrTruncated, "count "+strconv.FormatUint(n, 10)+" needs more than the "+strconv.Itoa(len(s.buf)-s.pos)+" bytes left")
	}
	return int(n), nil
}

// top reads one term where a compressed term may also stand: at the start of the input.
func (s *decodeState) top() (Term, error) {
	if s.pos < len(s.buf) && s.buf[s.pos] == tagCompressed {
		return s.decompressed()
	}
	switch {
	case s.private: // a term after the first of DecodeTerms
	case s.alias:
		s.private = true // the caller lends the input to the term
	case len(s.buf) <= privateMax:
		s.privatize()
	}
	return s.term()
}

// privatize copies a small input into memory of the decoded term, with room for a few numbers
// after it, so that its binaries and atoms can point into the copy: one copy and one
// allocation instead of one copy per binary. Offsets stay those of the input. The smallest
// inputs get their first terms, headers and pids in the same allocation (an arena).
func (s *decodeState) privatize() {
	n := len(s.buf)
	var mem []byte
	switch {
	case n <= tinyArenaInput:
		a := new(tinyArena)
		s.mem.terms.free, s.mem.headers.free, s.mem.pids.free = a.terms[:], a.headers[:], a.pids[:]
		mem = a.plain[:]
	case n <= smallArenaInput:
		a := new(smallArena)
		s.mem.terms.free, s.mem.headers.free = a.terms[:], a.headers[:]
		mem = a.plain[:]
	default:
		words := make([]uint64, (n+privateSlack+7)/8)
		mem = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), 8*len(words))
	}
	copy(mem, s.buf)
	s.buf = mem[:n:n]
	s.mem.plain = mem[n:]
	s.private = true
}

const (
	privateMax   = 4 << 10 // inputs up to this size are copied whole; larger ones binary by binary
	privateSlack = 64      // bytes after the copy, for numbers
)

// Arenas: a small term's memory in one allocation instead of three or four. The first chunks
// are sized for what distribution traffic holds (headers box binaries, atoms, tuples and maps):
// a control message and a short payload read together (DecodeTerms) are two small tuples, a
// pid or two and a few atoms; a message from Elixir is mostly maps with binary keys, about one
// term (a map pair is two) per 16 bytes of input and one header per 21. What an input needs
// beyond them comes from ordinary chunks. Byte arrays follow the pointers, so numbers in them
// are 8-byte aligned, and the collector does not scan them.
const (
	tinyArenaInput  = 128
	smallArenaInput = 512
)

type tinyArena struct {
	terms   [8]Term
	headers [8][]byte
	pids    [2]PID
	plain   [tinyArenaInput + privateSlack]byte
}

type smallArena struct {
	terms   [smallArenaInput / 16]Term
	headers [smallArenaInput / 21][]byte
	plain   [smallArenaInput + privateSlack]byte
}

// enter and leave bracket the elements of a compound term.
func (s *decodeState) enter(tag byte, at int) error {
	s.depth++
	if s.depth > s.maxDepth {
		return s.fail(at, tag, ErrTooDeep, "terms nest deeper than MaxDepth "+strconv.Itoa(s.maxDepth))
	}
	return nil
}

func (s *decodeState) leave() { s.depth-- }

// term reads one term.
func (s *decodeState) term() (Term, error) {
	if s.pos >= len(s.buf) {
		return nil, s.truncated(0, 1)
	}
	at := s.pos
	tag := s.buf[s.pos]
	s.pos++
	switch tag {
	case tagSmallInteger:
		if err := s.need(tag, 1); err != nil {
			return nil, err
		}
		return int64(s.u8()), nil
	case tagInteger:
		if err := s.need(tag, 4); err != nil {
			return nil, err
		}
		return s.boxInt(int64(int32(s.u32()))), nil
	case tagBinary:
		if len(s.buf)-s.pos < 4 {
			return nil, s.truncated(tag, 4)
		}
		n := uint64(binary.BigEndian.Uint32(s.buf[s.pos:]))
		s.pos += 4
		if n > uint64(len(s.buf)-s.pos) {
			return nil, s.truncated(tag, int(n))
		}
		if s.private && n > 0 {
			p := s.pos
			s.pos += int(n)
			return s.boxBytes(s.buf[p:s.pos:s.pos]), nil
		}
		return s.boxBytes(s.bytes(int(n))), nil
	case tagSmallAtomUTF8, tagAtomUTF8, tagSmallAtom, tagAtom, tagAtomCacheRef:
		a, err := s.atomAfterTag(tag, at)
		if err != nil {
			return nil, err
		}
		return a.term, nil
	case tagNil:
		return List(nil), nil
	case tagSmallTuple:
		if err := s.need(tag, 1); err != nil {
			return nil, err
		}
		return s.tuple(tag, at, int(s.u8()))
	case tagLargeTuple:
		n, err := s.count(tag, 1)
		if err != nil {
			return nil, err
		}
		return s.tuple(tag, at, n)
	case tagList:
		return s.list(at)
	case tagString:
		if err := s.need(tag, 2); err != nil {
			return nil, err
		}
		n := s.u16()
		if err := s.need(tag, n); err != nil {
			return nil, err
		}
		if n == 0 {
			return List(nil), nil
		}
		return boxSlice(s, ByteList(s.bytes(n)), typeByteList), nil
	case tagMap:
		return s.mapTerm(at)
	case tagNewPid, tagPid:
		p, err := s.pidAfterTag(tag, at)
		if err != nil {
			return nil, err
		}
		return s.boxPID(p), nil
	case tagNewFloat:
		if err := s.need(tag, 8); err != nil {
			return nil, err
		}
		f := math.Float64frombits(s.u64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, s.invalid(at, tag, "not a finite float")
		}
		return s.boxFloat(f), nil
	case tagFloat:
		return s.oldFloat(at)
	case tagSmallBig:
		if err := s.need(tag, 1); err != nil {
			return nil, err
		}
		return s.bigInt(tag, int(s.u8()))
	case tagLargeBig:
		n, err := s.count(tag, 1)
		if err != nil {
			return nil, err
		}
		return s.bigInt(tag, n)
	case tagBitBinary:
		return s.bitBinary(at)
	case tagNewerReference, tagNewReference, tagReference:
		return s.ref(tag, at)
	case tagNewPort, tagV4Port, tagPort:
		return s.port(tag, at)
	case tagExport:
		return s.export(at)
	case tagNewFun:
		return s.fun(at)
	case tagCompressed:
		return nil, s.invalid(at, tag, "a compressed term can only be the whole term")
	case tagFunRemoved:
		return nil, s.invalid(at, tag, "FUN_EXT is not decoded since OTP 23")
	case tagLocal:
		return nil, s.invalid(at, tag, "LOCAL_EXT is only valid on the node that made it")
	case versionByte:
		return nil, s.invalid(at, tag, "version byte 131 inside a term")
	}
	return nil, s.invalid(at, 0, "unknown tag "+strconv.Itoa(int(tag)))
}

// bytes returns the next n bytes of input, which the caller has checked are there, as a
// binary of the decoded term: a part of the private copy of a small input (or, with
// AliasInput, of the input itself), else a copy.
func (s *decodeState) bytes(n int) []byte {
	src := s.buf[s.pos : s.pos+n : s.pos+n]
	s.pos += n
	switch {
	case n == 0:
		return []byte{}
	case s.private:
		return src
	}
	return s.copyOf(src)
}

// copyOf copies src, which is not empty, into memory of the decoded term.
func (s *decodeState) copyOf(src []byte) []byte {
	n := len(src)
	if n >= plainDirect {
		// append leaves the new array unzeroed before copying, unlike make + copy.
		out := append([]byte(nil), src...)
		return out[:n:n]
	}
	p := s.mem.plain
	if len(p) < n {
		s.refillPlain(n)
		p = s.mem.plain
	}
	out := p[:n:n]
	s.mem.plain = p[n:]
	copy(out, src)
	return out
}

func (s *decodeState) tuple(tag byte, at int, n int) (Term, error) {
	if err := s.need(tag, n); err != nil { // each element takes at least one byte
		return nil, err
	}
	if err := s.enter(tag, at); err != nil {
		return nil, err
	}
	t := Tuple(s.terms(n))
	for i := range t {
		v, err := s.term()
		if err != nil {
			return nil, err
		}
		t[i] = v
	}
	s.leave()
	return boxSlice(s, t, typeTuple), nil
}

func (s *decodeState) list(at int) (Term, error) {
	n, err := s.count(tagList, 1)
	if err != nil {
		return nil, err
	}
	if err := s.enter(tagList, at); err != nil {
		return nil, err
	}
	var elems List
	if n > 0 {
		elems = s.terms(n)
	}
	for i := range elems {
		v, err := s.term()
		if err != nil {
			return nil, err
		}
		elems[i] = v
	}
	// The tail is almost always []: skip the general path.
	if s.pos < len(s.buf) && s.buf[s.pos] == tagNil {
		s.pos++
		s.leave()
		if elems == nil {
			return List(nil), nil
		}
		return boxSlice(s, elems, typeList), nil
	}
	// A tail that is itself a LIST_EXT continues the list: its elements are read into the
	// same slice, one chain of tails after the other, rather than each joined to the ones
	// before it, which would copy them all again at every link.
	if s.pos < len(s.buf) && s.buf[s.pos] == tagList {
		elems = slices.Clip(elems)
		for s.pos < len(s.buf) && s.buf[s.pos] == tagList {
			s.pos++
			more, err := s.count(tagList, 1)
			if err != nil {
				return nil, err
			}
			elems = slices.Grow(elems, more)
			for i := 0; i < more; i++ {
				v, err := s.term()
				if err != nil {
					return nil, err
				}
				elems = append(elems, v)
			}
		}
		if s.pos < len(s.buf) && s.buf[s.pos] == tagNil {
			s.pos++
			s.leave()
			return elems, nil
		}
	}
	tail, err := s.term()
	if err != nil {
		return nil, err
	}
	s.leave()
	return joinList(elems, tail), nil
}

// joinList makes [elems... | tail] in its one canonical form.
func joinList(elems List, tail Term) Term {
	if len(elems) == 0 {
		return tail
	}
	switch tail := tail.(type) {
	case List:
		return append(elems, tail...)
	case ByteList:
		for _, b := range tail {
			elems = append(elems, int64(b))
		}
		return elems
	case ImproperList:
		return ImproperList{Elems: append(elems, tail.Elems...), Tail: tail.Tail}
	}
	return ImproperList{Elems: elems, Tail: tail}
}

func (s *decodeState) mapTerm(at int) (Term, error) {
	n, err := s.count(tagMap, 2)
	if err != nil {
		return nil, err
	}
	if err := s.enter(tagMap, at); err != nil {
		return nil, err
	}
	m := s.pairs(n)
	for i := range m {
		var k Term
		var err error
		// Maps from Elixir mostly have binary keys: read those without the dispatch of term.
		if p := s.pos; s.private && p+5 <= len(s.buf) && s.buf[p] == tagBinary {
			if size := int(binary.BigEndian.Uint32(s.buf[p+1:])); size > 0 && size <= len(s.buf)-p-5 {
				s.pos = p + 5 + size
				k = s.boxBytes(s.buf[p+5 : s.pos : s.pos])
			} else {
				k, err = s.term()
			}
		} else {
			k, err = s.term()
		}
		if err != nil {
			return nil, err
		}
		v, err := s.term()
		if err != nil {
			return nil, err
		}
		m[i] = MapPair{Key: k, Value: v}
	}
	s.leave()
	if i, j := s.dups.find(m); i >= 0 {
		return nil, s.invalid(at, tagMap, "pairs "+strconv.Itoa(i)+" and "+strconv.Itoa(j)+" have the same key")
	}
	return boxSlice(s, m, typeMap), nil
}

func (s *decodeState) oldFloat(at int) (Term, error) {
	if err := s.need(tagFloat, 31); err != nil {
		return nil, err
	}
	text := s.buf[s.pos : s.pos+31]
	s.pos += 31
	end := 0
	for end < len(text) && text[end] != 0 {
		end++
	}
	number, ok := floatText(text[:end])
	if !ok {
		return nil, s.invalid(at, tagFloat, "text "+strconv.Quote(string(text[:end]))+" is not a float as the BEAM writes one")
	}
	f, err := strconv.ParseFloat(number, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, s.invalid(at, tagFloat, "text "+strconv.Quote(string(text[:end]))+" is not a finite float")
	}
	return f, nil
}

// floatText checks the text of a FLOAT_EXT against the syntax the BEAM accepts there, an
// optional sign, digits, a point (or a comma), digits and an optional exponent, and returns it
// with a comma made a point. strconv.ParseFloat alone would take more, such as "0x1p1", "1_0.0"
// and ".5", which the BEAM refuses: a term both read must be the same term.
func floatText(b []byte) (string, bool) {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if !digits() || i == len(b) || b[i] != '.' && b[i] != ',' {
		return "", false
	}
	point := i
	i++
	if !digits() {
		return "", false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return "", false
		}
	}
	if i != len(b) {
		return "", false
	}
	text := string(b)
	if b[point] == ',' {
		text = text[:point] + "." + text[point+1:]
	}
	return text, true
}

// bigInt reads the sign and n little-endian digits of SMALL_BIG_EXT or LARGE_BIG_EXT. Any
// non-zero sign byte means negative, as on the BEAM; high zero digits are allowed.
func (s *decodeState) bigInt(tag byte, n int) (Term, error) {
	if err := s.need(tag, 1+n); err != nil {
		return nil, err
	}
	neg := s.u8() != 0
	digits := s.buf[s.pos : s.pos+n]
	s.pos += n
	for n > 0 && digits[n-1] == 0 {
		n--
	}
	digits = digits[:n]
	if n <= 8 {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(digits[i])
		}
		if !neg && u <= math.MaxInt64 {
			return s.boxInt(int64(u)), nil
		}
		if neg && u <= 1<<63 {
			return s.boxInt(-int64(u)), nil // wraps to MinInt64 for 1<<63, as it should
		}
	}
	be := make([]byte, n)
	for i, d := range digits {
		be[n-1-i] = d
	}
	z := new(big.Int).SetBytes(be)
	if neg {
		z.Neg(z)
	}
	return z, nil
}

func (s *decodeState) bitBinary(at int) (Term, error) {
	n, err := s.count(tagBitBinary, 1)
	if err != nil {
		return nil, err
	}
	if err := s.need(tagBitBinary, 1+n); err != nil {
		return nil, err
	}
	bits := s.u8()
	if n == 0 {
		if bits != 0 {
			return nil, s.invalid(at, tagBitBinary, "an empty bitstring with "+strconv.Itoa(int(bits))+" bits")
		}
		return []byte{}, nil
	}
	if bits < 1 || bits > 8 {
		return nil, s.invalid(at, tagBitBinary, "last byte holds "+strconv.Itoa(int(bits))+" bits, not 1..8")
	}
	if bits == 8 {
		return s.boxBytes(s.bytes(n)), nil
	}
	// Always a copy: the unused bits are cleared in it.
	b := s.copyOf(s.buf[s.pos : s.pos+n])
	s.pos += n
	b[n-1] &= byte(0xff << (8 - bits))
	return BitString{Bytes: b, Bits: bits}, nil
}

// atomEntry is an interned atom: its text and the term it decodes to (the boxed Atom, or a
// bool for true and false), built once per Decode call.
type atomEntry struct {
	name Atom
	term Term
}

// atomTable interns the atoms of one Decode call. The few most recent distinct atoms sit in a
// small array scanned linearly, which beats hashing for the handful of atoms a typical message
// carries (a node name repeated in every pid, a few tags); the rest go to a map. The text and
// the boxed terms of new atoms come from chunks; the commonest atoms need neither.
type atomTable struct {
	recent [atomRecent]atomEntry
	n      int
	more   map[string]atomEntry
}

const atomRecent = 8

// commonAtom returns the entry of an atom that terms carry all the time, boxed once for all,
// so that decoding it allocates nothing.
func commonAtom[T string | []byte](text T) (atomEntry, bool) {
	switch string(text) {
	case "true":
		return atomEntry{name: "true", term: true}, true
	case "false":
		return atomEntry{name: "false", term: false}, true
	case "nil":
		return atomNil, true
	case "ok":
		return atomOK, true
	case "error":
		return atomError, true
	case "undefined":
		return atomUndefined, true
	case "normal":
		return atomNormal, true
	case "$gen_cast":
		return atomGenCast, true
	case "$gen_call":
		return atomGenCall, true
	}
	return atomEntry{}, false
}

var (
	atomNil       = atomEntry{name: "nil", term: Atom("nil")}
	atomOK        = atomEntry{name: "ok", term: Atom("ok")}
	atomError     = atomEntry{name: "error", term: Atom("error")}
	atomUndefined = atomEntry{name: "undefined", term: Atom("undefined")}
	atomNormal    = atomEntry{name: "normal", term: Atom("normal")}
	atomGenCast   = atomEntry{name: "$gen_cast", term: Atom("$gen_cast")}
	atomGenCall   = atomEntry{name: "$gen_call", term: Atom("$gen_call")}
)

func (t *atomTable) lookup(text []byte) (atomEntry, bool) {
	for i := 0; i < t.n; i++ {
		if e := &t.recent[i]; len(e.name) == len(text) && string(e.name) == string(text) {
			return *e, true
		}
	}
	if t.more != nil {
		// A map index by string(text) does not allocate.
		if e, ok := t.more[string(text)]; ok {
			return e, true
		}
	}
	return atomEntry{}, false
}

func (t *atomTable) add(e atomEntry) atomEntry {
	if t.n < atomRecent {
		t.recent[t.n] = e
		t.n++
		return e
	}
	if t.more == nil {
		t.more = make(map[string]atomEntry)
	}
	t.more[string(e.name)] = e
	return e
}

// intern returns the atom whose UTF-8 text is text, a part of the input.
func (s *decodeState) intern(text []byte) atomEntry {
	if e, ok := s.known(text); ok {
		return e
	}
	if s.private && len(text) > 0 {
		// The input is never written again: it can back a string.
		name := Atom(unsafe.String(&text[0], len(text)))
		return s.atoms.add(atomEntry{name: name, term: s.boxAtom(name)})
	}
	return s.internCopy(text)
}

// internCopy returns the atom whose UTF-8 text is text, a scratch buffer or a part of an input
// that may change.
func (s *decodeState) internCopy(text []byte) atomEntry {
	if e, ok := s.known(text); ok {
		return e
	}
	var name Atom
	if len(text) < plainDirect {
		// The copy is never written again, so it can back a string.
		b := s.plainBytes(len(text))
		copy(b, text)
		name = Atom(unsafe.String(unsafe.SliceData(b), len(b)))
	} else {
		name = Atom(text)
	}
	return s.atoms.add(atomEntry{name: name, term: s.boxAtom(name)})
}

// known returns the entry of an atom met before in this Decode call, or of a common one.
func (s *decodeState) known(text []byte) (atomEntry, bool) {
	if e, ok := s.atoms.lookup(text); ok {
		return e, true
	}
	if e, ok := commonAtom(text); ok {
		return s.atoms.add(e), true
	}
	return atomEntry{}, false
}

// internAtom returns the entry of an atom that is already a string (from the atom cache).
func (s *decodeState) internAtom(name Atom) atomEntry {
	t := &s.atoms
	for i := 0; i < t.n; i++ {
		if e := &t.recent[i]; e.name == name {
			return *e
		}
	}
	if t.more != nil {
		if e, ok := t.more[string(name)]; ok {
			return e
		}
	}
	if e, ok := commonAtom(string(name)); ok {
		return t.add(e)
	}
	return t.add(atomEntry{name: name, term: s.boxAtom(name)})
}

// atom reads a term that must be an atom: a pid's node, a fun's module.
func (s *decodeState) atom(outer byte) (atomEntry, error) {
	if s.pos >= len(s.buf) {
		return atomEntry{}, s.truncated(outer, 1)
	}
	at := s.pos
	tag := s.buf[s.pos]
	s.pos++
	switch tag {
	case tagSmallAtomUTF8, tagAtomUTF8, tagSmallAtom, tagAtom, tagAtomCacheRef:
		return s.atomAfterTag(tag, at)
	}
	if outer == 0 {
		outer = tag
	}
	return atomEntry{}, s.invalid(at, outer, "expected an atom, found tag "+strconv.Itoa(int(tag)))
}

// atomAfterTag reads the atom whose tag, at offset at, has just been read.
func (s *decodeState) atomAfterTag(tag byte, at int) (atomEntry, error) {
	var n int
	switch tag {
	case tagAtomCacheRef:
		if err := s.need(tag, 1); err != nil {
			return atomEntry{}, err
		}
		i := int(s.u8())
		if i >= len(s.cache) {
			return atomEntry{}, s.invalid(at, tag, "atom cache index "+strconv.Itoa(i)+" is not in the cache of "+strconv.Itoa(len(s.cache))+" atoms")
		}
		s.cacheRefs++
		return s.internAtom(s.cache[i]), nil
	case tagSmallAtomUTF8, tagSmallAtom:
		if err := s.need(tag, 1); err != nil {
			return atomEntry{}, err
		}
		n = int(s.u8())
	default:
		if err := s.need(tag, 2); err != nil {
			return atomEntry{}, err
		}
		n = s.u16()
	}
	if err := s.need(tag, n); err != nil {
		return atomEntry{}, err
	}
	text := s.buf[s.pos : s.pos+n]
	s.pos += n
	ascii := true
	for _, c := range text {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		if n > maxAtomChars {
			return atomEntry{}, s.invalid(at, tag, "atom of "+strconv.Itoa(n)+" characters; at most 255 are allowed")
		}
		return s.intern(text), nil
	}
	if tag == tagAtom || tag == tagSmallAtom {
		if n > maxAtomChars {
			return atomEntry{}, s.invalid(at, tag, "atom of "+strconv.Itoa(n)+" characters; at most 255 are allowed")
		}
		// Latin-1 to UTF-8: every byte is the code point of one character.
		var buf [2 * maxAtomChars]byte
		u := buf[:0]
		for _, c := range text {
			u = utf8.AppendRune(u, rune(c))
		}
		return s.internCopy(u), nil
	}
	if !utf8.Valid(text) {
		return atomEntry{}, s.invalid(at, tag, "atom text is not valid UTF-8")
	}
	if chars := utf8.RuneCount(text); chars > maxAtomChars {
		return atomEntry{}, s.invalid(at, tag, "atom of "+strconv.Itoa(chars)+" characters; at most 255 are allowed")
	}
	return s.intern(text), nil
}

// maxAtomChars is the most characters an Erlang atom holds.
const maxAtomChars = 255

// ValidAtom reports whether text is the UTF-8 text of an atom the BEAM accepts: valid UTF-8 of
// at most 255 characters, as Decode requires of atoms in terms.
func ValidAtom(text []byte) bool {
	return len(text) <= 4*maxAtomChars && utf8.Valid(text) && utf8.RuneCount(text) <= maxAtomChars
}

// checkCreation8 checks the creation byte of the old pid, port and reference forms: only its
// two low bits may be used, and the BEAM refuses the rest.
func (s *decodeState) checkCreation8(tag byte, at int, c byte) error {
	if c > 3 {
		return s.invalid(at, tag, "8-bit creation "+strconv.Itoa(int(c))+" is above 3")
	}
	return nil
}

func (s *decodeState) pidAfterTag(tag byte, at int) (PID, error) {
	node, err := s.atom(tag)
	if err != nil {
		return PID{}, err
	}
	size := 12
	if tag == tagPid {
		size = 9
	}
	if err := s.need(tag, size); err != nil {
		return PID{}, err
	}
	id := s.u32()
	serial := s.u32()
	var creation uint32
	if tag == tagPid {
		c := s.u8()
		if err := s.checkCreation8(tag, at, c); err != nil {
			return PID{}, err
		}
		creation = uint32(c)
	} else {
		creation = s.u32()
	}
	return PID{Node: node.name, ID: uint64(serial)<<32 | uint64(id), Creation: int64(creation)}, nil
}

// pid reads a term that must be a pid: the creator of a fun.
func (s *decodeState) pid(outer byte) (PID, error) {
	if s.pos >= len(s.buf) {
		return PID{}, s.truncated(outer, 1)
	}
	at := s.pos
	tag := s.buf[s.pos]
	s.pos++
	if tag != tagNewPid && tag != tagPid {
		return PID{}, s.invalid(at, outer, "expected a pid, found tag "+strconv.Itoa(int(tag)))
	}
	return s.pidAfterTag(tag, at)
}

func (s *decodeState) port(tag byte, at int) (Term, error) {
	node, err := s.atom(tag)
	if err != nil {
		return nil, err
	}
	p := Port{Node: node.name}
	switch tag {
	case tagV4Port:
		if err := s.need(tag, 12); err != nil {
			return nil, err
		}
		p.ID = s.u64()
		p.Creation = s.u32()
	case tagNewPort:
		if err := s.need(tag, 8); err != nil {
			return nil, err
		}
		p.ID = uint64(s.u32())
		p.Creation = s.u32()
	default:
		if err := s.need(tag, 5); err != nil {
			return nil, err
		}
		p.ID = uint64(s.u32())
		c := s.u8()
		if err := s.checkCreation8(tag, at, c); err != nil {
			return nil, err
		}
		p.Creation = uint32(c)
	}
	return p, nil
}

func (s *decodeState) ref(tag byte, at int) (Term, error) {
	n := 1
	if tag != tagReference {
		if err := s.need(tag, 2); err != nil {
			return nil, err
		}
		n = s.u16()
		if n < 1 || n > MaxRefWords {
			return nil, s.invalid(at, tag, "a reference of "+strconv.Itoa(n)+" words; 1 to 5 are allowed")
		}
	}
	node, err := s.atom(tag)
	if err != nil {
		return nil, err
	}
	var creation uint32
	var words [MaxRefWords]uint32
	switch tag {
	case tagReference:
		if err := s.need(tag, 5); err != nil {
			return nil, err
		}
		words[0] = s.u32()
		c := s.u8()
		if err := s.checkCreation8(tag, at, c); err != nil {
			return nil, err
		}
		creation = uint32(c)
	case tagNewReference:
		if err := s.need(tag, 1+4*n); err != nil {
			return nil, err
		}
		c := s.u8()
		if err := s.checkCreation8(tag, at, c); err != nil {
			return nil, err
		}
		creation = uint32(c)
	default:
		if err := s.need(tag, 4+4*n); err != nil {
			return nil, err
		}
		creation = s.u32()
	}
	if tag != tagReference {
		for i := 0; i < n; i++ {
			words[i] = s.u32()
		}
	}
	r, err := RefFromWords(node.name, creation, words[:n])
	if err != nil {
		return nil, s.invalid(at, tag, err.Error())
	}
	return r, nil
}

// smallInt reads an integer that must be SMALL_INTEGER_EXT or INTEGER_EXT, as the fields of
// funs are.
func (s *decodeState) smallInt(outer byte) (int64, error) {
	if s.pos >= len(s.buf) {
		return 0, s.truncated(outer, 1)
	}
	at := s.pos
	switch s.buf[s.pos] {
	case tagSmallInteger:
		s.pos++
		if err := s.need(tagSmallInteger, 1); err != nil {
			return 0, err
		}
		return int64(s.u8()), nil
	case tagInteger:
		s.pos++
		if err := s.need(tagInteger, 4); err != nil {
			return 0, err
		}
		return int64(int32(s.u32())), nil
	}
	return 0, s.invalid(at, outer, "expected SMALL_INTEGER_EXT or INTEGER_EXT, found tag "+strconv.Itoa(int(s.buf[s.pos])))
}

func (s *decodeState) export(at int) (Term, error) {
	m, err := s.atom(tagExport)
	if err != nil {
		return nil, err
	}
	f, err := s.atom(tagExport)
	if err != nil {
		return nil, err
	}
	aAt := s.pos
	a, err := s.smallInt(tagExport)
	if err != nil {
		return nil, err
	}
	if a < 0 || a > 255 {
		return nil, s.invalid(aAt, tagExport, "arity "+strconv.FormatInt(a, 10)+" is not 0..255")
	}
	return ExportFun{Module: m.name, Function: f.name, Arity: uint8(a)}, nil
}

func (s *decodeState) fun(at int) (Term, error) {
	const fixed = 4 + 1 + 16 + 4 + 4 // Size, Arity, Uniq, Index, NumFree
	if err := s.need(tagNewFun, fixed); err != nil {
		return nil, err
	}
	size := int(s.u32())
	end := at + 1 + size
	if size < fixed || end > len(s.buf) {
		return nil, s.fail(at, tagNewFun, ErrTruncated, "size "+strconv.Itoa(size)+" does not fit the "+strconv.Itoa(len(s.buf)-at-1)+" bytes left")
	}
	cacheRefs := s.cacheRefs
	f := LocalFun{Arity: s.u8()}
	copy(f.Uniq[:], s.buf[s.pos:s.pos+16])
	s.pos += 16
	f.Index = s.u32()
	numFree := int(s.u32())
	if numFree > end-s.pos {
		return nil, s.fail(at, tagNewFun, ErrTruncated, strconv.Itoa(numFree)+" free variables do not fit the fun's size")
	}
	m, err := s.atom(tagNewFun)
	if err != nil {
		return nil, err
	}
	f.Module = m.name
	if f.OldIndex, err = s.smallInt(tagNewFun); err != nil {
		return nil, err
	}
	if f.OldUniq, err = s.smallInt(tagNewFun); err != nil {
		return nil, err
	}
	if f.Pid, err = s.pid(tagNewFun); err != nil {
		return nil, err
	}
	if numFree > 0 {
		if err := s.enter(tagNewFun, at); err != nil {
			return nil, err
		}
		f.FreeVars = make([]Term, numFree)
		s.inFun++
		for i := range f.FreeVars {
			if f.FreeVars[i], err = s.term(); err != nil {
				s.inFun--
				return nil, err
			}
		}
		s.inFun--
		s.leave()
	}
	if s.pos != end {
		return nil, s.invalid(at, tagNewFun, "size says "+strconv.Itoa(size)+" bytes, the fields take "+strconv.Itoa(s.pos-at-1))
	}
	switch {
	case s.inFun > 0:
		// Inside another fun, whose Raw will hold these bytes.
	case s.cacheRefs == cacheRefs:
		saved := s.pos
		s.pos = at
		f.Raw = s.bytes(end - at)
		s.pos = saved
	default:
		// The bytes name atoms by their index in this message's atom cache; write them out.
		var e encodeState
		e.maxDepth = s.maxDepth
		f.Raw = nil
		if err := e.localFunFields(f); err != nil {
			return nil, s.invalid(at, tagNewFun, "cannot re-encode: "+err.Error())
		}
		f.Raw = e.buf
	}
	return f, nil
}

// dupChecker finds two equal keys in a decoded map. Small maps of flat keys (see flatKeys)
// compare every pair of keys; the others go through a hash table of key hashes, so a map of n
// keys costs O(n) and not O(n²). The hash is seeded per Decode call, so a sender cannot choose
// keys that all fall into one slot.
type dupChecker struct {
	seed   maphash.Seed
	seeded bool

	// The hash table maps a slot to the index+1 of the pair whose key sits there (0: empty);
	// the hashes are those of the keys. Maps of up to 64 keys use arrays on the stack of
	// hashedFind; larger ones these slices, allocated once per Decode call and reused.
	bigTable  []int32
	bigHashes []uint64

	// A key can hold a map whose keys hold a map, and so on: each level's check hashes its
	// keys, so without a memory of what was hashed, a key deep down would be hashed again at
	// every level above it. The hashes of large lists, tuples, maps and funs are kept, by
	// the address of their first element: the parts of a decoded term never share one.
	// work counts the steps taken, which decides what is large.
	termMemo hashMemo[Term]
	pairMemo hashMemo[MapPair]
	work     int

	// foreign is set when hash meets a Go value that Decode does not make, or makes in
	// another form (an int, a *big.Int that fits an int64, a list as an ImproperList's tail):
	// hash may then give terms that are the same different hashes. Equal, which hashes terms
	// built in Go, then does without.
	foreign bool
	// maxDepth, when not 0, bounds the nesting hash follows: deeper terms are foreign. Equal
	// sets it for Go values, which may hold themselves; decoded terms nest as deep as the
	// Decoder allowed.
	maxDepth int
	depth    int
}

// sizedHash is a kept hash, with the length of the slice it is the hash of and the hash it
// started from, which tells the kinds of term that a slice can be apart.
type sizedHash struct {
	n    int
	from uint64
	h    uint64
}

// hashMemo keeps the hashes of slices by the address of their first element.
type hashMemo[E any] map[*E]sizedHash

// get returns the kept hash of the slice of n elements from first, hashed from from.
func (m hashMemo[E]) get(first *E, n int, from uint64) (uint64, bool) {
	if len(m) == 0 {
		return 0, false
	}
	k, ok := m[first]
	return k.h, ok && k.n == n && k.from == from
}

// keep keeps h as the hash of the slice of n elements from first, hashed from from.
func (m *hashMemo[E]) keep(first *E, n int, from, h uint64) {
	if *m == nil {
		*m = make(hashMemo[E])
	}
	(*m)[first] = sizedHash{n, from, h}
}

// memoWork is the number of hashing steps from which a composite's hash is kept.
const memoWork = 256

// dupLinear is the largest map whose flat keys are compared pairwise.
const dupLinear = 8

// find returns the indexes of two pairs of m with equal keys, or -1, -1.
func (c *dupChecker) find(m Map) (int, int) {
	n := len(m)
	if n < 2 || ascending(m) {
		return -1, -1
	}
	if n <= dupLinear && flatKeys(m) {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if c.equal(m[j].Key, m[i].Key) {
					return j, i
				}
			}
		}
		return -1, -1
	}
	return c.hashedFind(m)
}

// flatKeys reports whether no key of m holds other terms: each compares in one step or one
// pass over its bytes. Keys that hold terms are not cheap to compare pair by pair: two alike
// deep down cost their whole size to tell apart, and every level would pay that again for the
// level below. Those go by their hashes, which are kept, and only keys of the same hash are
// compared. Go values that Decode does not make count as holding terms unless listed.
func flatKeys(m Map) bool {
	for i := range m {
		switch k := m[i].Key.(type) {
		case []byte, string, Atom, bool, nil, int64, int, float64, *big.Int, PID, Port, Ref,
			ExportFun, BitString, ByteList:
		case List:
			if len(k) > 0 {
				return false
			}
		case Tuple:
			if len(k) > 0 {
				return false
			}
		case Map:
			if len(k) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// hashedFind is find for maps of more than dupLinear keys, or whose keys hold other terms.
func (c *dupChecker) hashedFind(m Map) (int, int) {
	n := len(m)
	size := 16
	for size < 2*n {
		size <<= 1
	}
	var smallTable [128]int32
	var smallHashes [64]uint64
	var table []int32
	switch {
	case size <= len(smallTable):
		table = smallTable[:size]
	case cap(c.bigTable) >= size:
		table = c.bigTable[:size]
		clear(table)
	default:
		c.bigTable = make([]int32, size)
		table = c.bigTable
	}
	var hashes []uint64
	switch {
	case n <= len(smallHashes):
		hashes = smallHashes[:n]
	case cap(c.bigHashes) >= n:
		hashes = c.bigHashes[:n]
	default:
		c.bigHashes = make([]uint64, n)
		hashes = c.bigHashes
	}
	mask := uint64(size - 1)
	for i := range m {
		h := c.hash(m[i].Key)
		hashes[i] = h
		for slot := h & mask; ; slot = (slot + 1) & mask {
			j := table[slot]
			if j == 0 {
				table[slot] = int32(i + 1)
				break
			}
			if j--; hashes[j] == h && c.equal(m[j].Key, m[i].Key) {
				return int(j), i
			}
		}
	}
	return -1, -1
}

// ascending reports whether the keys of m are all binaries, all atoms or all integers, in
// strictly increasing order, which rules out equal keys at the cost of one comparison per key.
// The BEAM sends maps of up to 32 keys sorted, so this settles most maps.
func ascending(m Map) bool {
	switch k := m[0].Key.(type) {
	case []byte:
		prev := k
		for _, p := range m[1:] {
			k, ok := p.Key.([]byte)
			if !ok {
				return false
			}
			// Keys mostly differ in their first byte: settle those without a call.
			if len(prev) > 0 && len(k) > 0 && prev[0] != k[0] {
				if prev[0] > k[0] {
					return false
				}
			} else if string(prev) >= string(k) {
				return false
			}
			prev = k
		}
		return true
	case Atom:
		prev := k
		for _, p := range m[1:] {
			k, ok := p.Key.(Atom)
			if !ok || prev >= k {
				return false
			}
			prev = k
		}
		return true
	case int64:
		prev := k
		for _, p := range m[1:] {
			k, ok := p.Key.(int64)
			if !ok || prev >= k {
				return false
			}
			prev = k
		}
		return true
	}
	return false
}

func (c *dupChecker) init() {
	if !c.seeded {
		c.seed = maphash.MakeSeed()
		c.seeded = true
	}
}

// Kind constants keep terms of different types that hash alike apart.
const (
	hashAtom uint64 = iota + 1
	hashInt
	hashFloat
	hashBig
	hashBinary
	hashBits
	hashList
	hashImproper
	hashTuple
	hashMap
	hashPid
	hashPort
	hashRef
	hashExport
	hashFun
)

// mix64 is the splitmix64 finalizer: a bijection that spreads every input bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func combine(h, x uint64) uint64 { return mix64(h ^ (x + 0x9e3779b97f4a7c15)) }

func (c *dupChecker) str(kind uint64, s string) uint64 {
	return combine(kind, maphash.String(c.seed, s))
}

func (c *dupChecker) num(kind, v uint64) uint64 {
	return combine(kind, mix64(v^maphash.String(c.seed, "")))
}

// enter reports whether hash may go one level deeper. Once a term is foreign nothing more is
// hashed: a Go value that holds itself more than once would otherwise be walked once per path
// to maxDepth, exponentially many.
func (c *dupChecker) enter() bool {
	if c.foreign {
		return false
	}
	if c.maxDepth > 0 && c.depth >= c.maxDepth {
		c.foreign = true
		return false
	}
	c.depth++
	return true
}

func (c *dupChecker) leave() { c.depth-- }

// hashTerms hashes a slice of terms, starting from the hash h of its kind.
func (c *dupChecker) hashTerms(h uint64, v []Term) uint64 {
	if len(v) == 0 {
		return h
	}
	if kept, ok := c.termMemo.get(&v[0], len(v), h); ok {
		return kept
	}
	if !c.enter() {
		return 0
	}
	start, from := c.work, h
	for _, e := range v {
		h = combine(h, c.hash(e))
	}
	c.leave()
	if c.work-start >= memoWork {
		c.termMemo.keep(&v[0], len(v), from, h)
	}
	return h
}

// hash hashes a decoded term so that equal terms (see equal) hash alike. It also knows the Go
// forms that plainForm turns into decoded ones, the commonest keys of maps built in Go.
func (c *dupChecker) hash(t Term) uint64 {
	c.init()
	c.work++
	switch v := t.(type) {
	case []byte:
		c.work += len(v) >> 6
		return combine(hashBinary, maphash.Bytes(c.seed, v))
	case string:
		c.work += len(v) >> 6
		return combine(hashBinary, maphash.String(c.seed, v)) // as the []byte of the same bytes
	case Atom:
		return c.str(hashAtom, string(v))
	case bool:
		if v {
			return c.str(hashAtom, "true")
		}
		return c.str(hashAtom, "false")
	case nil:
		return c.str(hashAtom, "nil")
	case int64:
		return c.num(hashInt, uint64(v))
	case int:
		return c.num(hashInt, uint64(v))
	case int32:
		return c.num(hashInt, uint64(v))
	case uint32:
		return c.num(hashInt, uint64(v))
	case uint64:
		if v > math.MaxInt64 {
			c.foreign = true
			return 0
		}
		return c.num(hashInt, v)
	case float64:
		return c.num(hashFloat, math.Float64bits(v))
	case *big.Int:
		if v == nil {
			c.foreign = true
			return 0
		}
		if v.IsInt64() {
			return c.num(hashInt, uint64(v.Int64()))
		}
		c.work += v.BitLen() >> 9
		return combine(hashBig+uint64(v.Sign()+1), maphash.Bytes(c.seed, v.Bytes()))
	case BitString:
		if v.Bits == 8 {
			return combine(hashBinary, maphash.Bytes(c.seed, v.Bytes)) // a binary
		}
		// Decoded, the unused bits are clear and there is a partial byte.
		if v.Bits < 1 || v.Bits > 7 || len(v.Bytes) == 0 || v.Bytes[len(v.Bytes)-1]&(0xff>>v.Bits) != 0 {
			c.foreign = true
			return 0
		}
		c.work += len(v.Bytes) >> 6
		return combine(hashBits+uint64(v.Bits), maphash.Bytes(c.seed, v.Bytes))
	case List:
		return c.hashTerms(hashList, v)
	case ByteList:
		c.work += len(v)
		h := hashList
		for _, b := range v {
			h = combine(h, c.num(hashInt, uint64(b)))
		}
		return h
	case ImproperList:
		switch v.Tail.(type) {
		case List, ByteList, ImproperList:
			c.foreign = true // decoded, the tail would be joined to the elements
			return 0
		}
		if len(v.Elems) == 0 {
			c.foreign = true
			return 0
		}
		// A large tail keeps its own hash.
		return combine(c.hashTerms(hashImproper, v.Elems), c.hash(v.Tail))
	case Tuple:
		return c.hashTerms(hashTuple, v)
	case Map:
		return c.hashMap(v)
	case PID:
		h := c.str(hashPid, string(v.Node))
		return combine(combine(h, v.ID), uint64(v.Creation))
	case Port:
		h := c.str(hashPort, string(v.Node))
		return combine(combine(h, v.ID), uint64(v.Creation))
	case Ref:
		// Trailing zero words do not count, as in equal (compareRefs).
		h := c.str(hashRef, string(v.Node))
		h = combine(h, uint64(v.Creation))
		w, n := refWords(v)
		for _, x := range w[:n] {
			h = combine(h, uint64(x))
		}
		return h
	case ExportFun:
		h := c.str(hashExport, string(v.Module))
		h = combine(h, c.str(hashAtom, string(v.Function)))
		return combine(h, uint64(v.Arity))
	case LocalFun:
		h := c.str(hashFun, string(v.Module))
		h = combine(h, uint64(v.Index)<<8|uint64(v.Arity))
		h = combine(h, maphash.Bytes(c.seed, v.Uniq[:]))
		h = combine(h, uint64(v.OldIndex))
		h = combine(h, uint64(v.OldUniq))
		// Not the creator's pid: funs that differ in it alone are the same term.
		return c.hashTerms(h, v.FreeVars)
	}
	c.foreign = true
	return 0
}

// hashMap hashes a map whatever the order of its pairs.
func (c *dupChecker) hashMap(m Map) uint64 {
	if len(m) == 0 {
		return mix64(hashMap)
	}
	if kept, ok := c.pairMemo.get(&m[0], len(m), hashMap); ok {
		return kept
	}
	if !c.enter() {
		return 0
	}
	start := c.work
	// Summing makes the hash independent of the order of the pairs.
	h := hashMap
	for _, p := range m {
		h += combine(c.hash(p.Key), c.hash(p.Value))
	}
	c.leave()
	h = mix64(h)
	if c.work-start >= memoWork {
		c.pairMemo.keep(&m[0], len(m), hashMap, h)
	}
	return h
}

// equal tells whether two decoded terms are the same term (=:=). Of Go forms it knows those
// plainForm turns into decoded ones; other Go forms are equal to nothing.
func (c *dupChecker) equal(a, b Term) bool {
	c.work++
	a, b = plainForm(a), plainForm(b)
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		c.work += len(x) >> 6
		return ok && string(x) == string(y)
	case Atom:
		y, ok := b.(Atom)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case BitString:
		y, ok := b.(BitString)
		return ok && x.Bits == y.Bits && string(x.Bytes) == string(y.Bytes)
	case List, ByteList:
		return c.listEqual(a, b)
	case ImproperList:
		y, ok := b.(ImproperList)
		if !ok || len(x.Elems) != len(y.Elems) {
			return false
		}
		for i := range x.Elems {
			if !c.equal(x.Elems[i], y.Elems[i]) {
				return false
			}
		}
		return c.equal(x.Tail, y.Tail)
	case Tuple:
		y, ok := b.(Tuple)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !c.equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case Map:
		y, ok := b.(Map)
		return ok && c.mapEqual(x, y)
	case PID:
		y, ok := b.(PID)
		return ok && x == y
	case Port:
		y, ok := b.(Port)
		return ok && x == y
	case Ref:
		y, ok := b.(Ref)
		return ok && compareRefs(x, y) == 0
	case ExportFun:
		y, ok := b.(ExportFun)
		return ok && x == y
	case LocalFun:
		y, ok := b.(LocalFun)
		if !ok || compareFunIdentity(&x, &y) != 0 || len(x.FreeVars) != len(y.FreeVars) {
			return false
		}
		for i := range x.FreeVars {
			if !c.equal(x.FreeVars[i], y.FreeVars[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// plainForm returns a term in the form Decode gives it, for the Go forms that hash knows: a
// string is the binary of its bytes (not copied: they are only read), Go integers and a
// *big.Int that fits are an int64, nil, true and false are atoms, and a BitString of whole
// bytes is a binary. Other terms are returned as they are.
func plainForm(t Term) Term {
	switch v := t.(type) {
	case nil:
		return Atom("nil")
	case bool:
		if v {
			return Atom("true")
		}
		return Atom("false")
	case string:
		return unsafe.Slice(unsafe.StringData(v), len(v))
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v)
		}
	case *big.Int:
		if v != nil && v.IsInt64() {
			return v.Int64()
		}
	case BitString:
		if v.Bits == 8 {
			return v.Bytes
		}
	}
	return t
}

// listEqual compares two proper lists, each a List or a ByteList.
func (c *dupChecker) listEqual(a, b Term) bool {
	switch x := a.(type) {
	case ByteList:
		switch y := b.(type) {
		case ByteList:
			return string(x) == string(y)
		case List:
			return c.listEqual(y, x)
		}
	case List:
		switch y := b.(type) {
		case List:
			if len(x) != len(y) {
				return false
			}
			for i := range x {
				if !c.equal(x[i], y[i]) {
					return false
				}
			}
			return true
		case ByteList:
			if len(x) != len(y) {
				return false
			}
			for i := range x {
				if v, ok := x[i].(int64); !ok || v != int64(y[i]) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// mapEqual compares two decoded maps, each free of duplicate keys, whatever the order of their
// pairs.
func (c *dupChecker) mapEqual(x, y Map) bool {
	if len(x) != len(y) {
		return false
	}
	if len(x) <= dupLinear && flatKeys(x) {
	outer:
		for _, p := range x {
			for _, q := range y {
				if c.equal(p.Key, q.Key) {
					if !c.equal(p.Value, q.Value) {
						return false
					}
					continue outer
				}
			}
			return false
		}
		return true
	}
	hashes := make([]uint64, len(x))
	for i := range x {
		hashes[i] = c.hash(x[i].Key)
	}
	return pairsMatch(x, y, hashes, c.keyIndex(y), c.equal)
}

// Allocation. A decoded term is many small Go values, and the interface value that holds each
// one needs the value on the heap: allocated one by one, they cost more than the decoding. So
// the decoder hands them out from a few chunks: the elements of small lists, tuples and maps
// come from one shared array of terms, the values behind interfaces (binaries, integers, pids,
// the headers of lists and maps) from chunks to which the interface values point, and the
// bytes of binaries, atoms and numbers from one chunk of plain memory. A chunk is sized by what
// the rest of the input could need, within a few KiB, so a term from an input of up to 512
// bytes usually costs one allocation (see privatize), a larger one three or four, and a large
// one few per thousand values. The price is that a kept part of a term keeps its chunk alive: a
// few KiB at most.

// decodeMem holds the chunks of one Decode call.
type decodeMem struct {
	terms   chunk[Term]   // elements of small tuples and lists; pairs of small maps, two terms each
	headers chunk[[]byte] // slices and strings behind interfaces
	pids    chunk[PID]
	plain   []byte // unused tail of the chunk for binaries, atom texts, integers and floats

	plainLast int // size of the last chunk of plain memory
}

const (
	sharedElems = 32 // tuples, lists and maps of more elements get arrays of their own

	// Largest chunks, in values, and the encoded bytes per value assumed when sizing a chunk by
	// the rest of the input.
	chunkMin        = 4
	chunkFirst      = 64 // values in a decode's first chunk of a kind
	termsChunkMax   = 512
	termsPerByte    = 32
	headersChunkMax = 256
	headersPerByte  = 16
	pidsChunkMax    = 256
	pidsPerByte     = 15 // the smallest pid: NEW_PID_EXT with an ATOM_CACHE_REF node

	plainChunkMax = 16 << 10
	plainDirect   = 2048 // binaries this long or longer are allocated alone
)

// chunk hands out slices of larger arrays.
type chunk[T any] struct {
	free  []T
	grown int // refills so far
}

// take returns n zeroed elements. A new array holds want elements, but no more than most and
// no fewer than n + chunkMin: near the end of the input, where want is small, the few values
// left should not cost an allocation each.
func (c *chunk[T]) take(n, want, most int) []T {
	if len(c.free) < n {
		c.refill(n, want, most)
	}
	out := c.free[:n:n]
	c.free = c.free[n:]
	return out
}

func (c *chunk[T]) refill(n, want, most int) {
	// The rest of the input may be one large binary rather than values: start small and grow
	// eightfold, so a message that turns out to hold a few values pays for a few, and a long
	// list reaches the largest chunks after three refills.
	limit := chunkFirst << (3 * min(c.grown, 6))
	c.grown++
	c.free = make([]T, max(n+chunkMin, min(want, most, limit)))
}

// rest is the number of input bytes not yet read.
func (s *decodeState) rest() int { return len(s.buf) - s.pos }

// terms returns the backing array of a tuple or list of n elements.
func (s *decodeState) terms(n int) []Term {
	switch {
	case n == 0:
		return []Term{}
	case n > sharedElems:
		return make([]Term, n)
	}
	return s.mem.terms.take(n, n+s.rest()/termsPerByte, termsChunkMax)
}

// pairs returns the backing array of a map of n pairs. A MapPair is two terms, so small maps
// share the array of terms.
func (s *decodeState) pairs(n int) Map {
	switch {
	case n == 0:
		return Map{}
	case n > sharedElems:
		return make(Map, n)
	}
	t := s.mem.terms.take(2*n, 2*n+s.rest()/termsPerByte, termsChunkMax)
	return unsafe.Slice((*MapPair)(unsafe.Pointer(unsafe.SliceData(t))), n)
}

// plainBytes returns n bytes of plain memory (n < plainDirect) for the caller to fill.
func (s *decodeState) plainBytes(n int) []byte {
	if len(s.mem.plain) < n {
		s.refillPlain(n)
	}
	out := s.mem.plain[:n:n]
	s.mem.plain = s.mem.plain[n:]
	return out
}

// plainWord returns 8 bytes of plain memory aligned for an int64 or a float64.
func (s *decodeState) plainWord() unsafe.Pointer {
	p := s.mem.plain
	pad := int(-uintptr(unsafe.Pointer(unsafe.SliceData(p))) & 7)
	if len(p) < pad+8 {
		s.refillPlain(8)
		p, pad = s.mem.plain, 0
	}
	s.mem.plain = p[pad+8:]
	return unsafe.Pointer(&p[pad])
}

// refillPlain starts a chunk of plain memory with room for at least n bytes. Chunks start small
// and double: the rest of the input may be one large binary, which is allocated alone, beside
// a few numbers (a 64 KB message would otherwise cost a 16 KB chunk for one integer). Nor is a
// chunk larger than the binaries the rest of the input can hold. It is allocated as words so
// that numbers can sit in it aligned.
func (s *decodeState) refillPlain(n int) {
	size := min(max(2*s.mem.plainLast, 256), plainChunkMax)
	if !s.private {
		size = min(size, s.rest()+64)
	}
	size = max(size, n)
	s.mem.plainLast = size
	words := make([]uint64, (size+7)/8)
	s.mem.plain = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), 8*len(words))
}

// An interface value is two words: the type, and a pointer to the value (for the types boxed
// here, which are not pointers themselves). eface spells that out, so that the decoder can make
// interface values that point into its chunks; Go itself would point each at a fresh copy. The
// values pointed to are never written again, which is all Go asks of them. The slice and
// string types share one chunk: a []byte slot (a pointer and two ints) holds any slice header,
// or a string header (a pointer and an int) in its first two words, and the garbage collector
// reads it right either way. Integers and floats sit in plain memory, which holds no pointers.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	typeAtom     = typeOf(Atom(""))
	typeBytes    = typeOf([]byte(nil))
	typeInt64    = typeOf(int64(0))
	typeFloat64  = typeOf(float64(0))
	typePID      = typeOf(PID{})
	typeList     = typeOf(List(nil))
	typeTuple    = typeOf(Tuple(nil))
	typeMap      = typeOf(Map(nil))
	typeByteList = typeOf(ByteList(nil))
)

// makeTerm returns the interface value of type typ whose value is at data.
func makeTerm(typ, data unsafe.Pointer) Term {
	e := eface{typ: typ, data: data}
	return *(*Term)(unsafe.Pointer(&e))
}

// header returns a free slot for a slice or string header.
func (s *decodeState) header() *[]byte {
	h := s.mem.headers.free
	if len(h) == 0 {
		s.mem.headers.refill(1, 1+s.rest()/headersPerByte, headersChunkMax)
		h = s.mem.headers.free
	}
	s.mem.headers.free = h[1:]
	return &h[0]
}

// boxSlice boxes a slice whose type is typ.
func boxSlice[S ~[]E, E any](s *decodeState, v S, typ unsafe.Pointer) Term {
	p := s.header()
	*(*S)(unsafe.Pointer(p)) = v
	return makeTerm(typ, unsafe.Pointer(p))
}

func (s *decodeState) boxBytes(b []byte) Term {
	return boxSlice(s, b, typeBytes)
}

// boxAtom boxes an atom.
func (s *decodeState) boxAtom(a Atom) Term {
	p := s.header()
	*(*Atom)(unsafe.Pointer(p)) = a
	return makeTerm(typeAtom, unsafe.Pointer(p))
}

func (s *decodeState) boxPID(p PID) Term {
	slot := &s.mem.pids.take(1, 1+s.rest()/pidsPerByte, pidsChunkMax)[0]
	*slot = p
	return makeTerm(typePID, unsafe.Pointer(slot))
}

// boxInt boxes an integer; Go boxes 0..255 without allocating.
func (s *decodeState) boxInt(v int64) Term {
	if v >= 0 && v < 256 {
		return v
	}
	p := s.plainWord()
	*(*int64)(p) = v
	return makeTerm(typeInt64, p)
}

func (s *decodeState) boxFloat(f float64) Term {
	p := s.plainWord()
	*(*float64)(p) = f
	return makeTerm(typeFloat64, p)
}

// pairsMatch tells whether each pair of a has a pair in b with an equal key and an equal value.
// hashes holds the hashes of a's keys and index is b's keyIndex by the same hash; a key whose
// hash b's keys share is found by a scan.
func pairsMatch(a, b Map, hashes []uint64, index map[uint64]int, equal func(x, y Term) bool) bool {
	matched := make([]bool, len(b)) // as in comparer.equalMaps: a key twice is equal to nothing
	for i := range a {
		j, found := index[hashes[i]]
		if !found {
			return false
		}
		if j < 0 {
			j = pairIndex(b, a[i].Key, equal)
		} else if !equal(a[i].Key, b[j].Key) {
			return false
		}
		if j < 0 || matched[j] || !equal(a[i].Value, b[j].Value) {
			return false
		}
		matched[j] = true
	}
	return true
}

// pairIndex returns the index of the pair of m whose key is key, or -1.
func pairIndex(m Map, key Term, equal func(x, y Term) bool) int {
	for i := range m {
		if equal(m[i].Key, key) {
			return i
		}
	}
	return -1
}

// keyIndex maps the hash of each key of m to the key's index, or to -1 when keys share it.
func (c *dupChecker) keyIndex(m Map) map[uint64]int {
	index := make(map[uint64]int, len(m))
	for j := range m {
		h := c.hash(m[j].Key)
		if _, ok := index[h]; ok {
			index[h] = -1
		} else {
			index[h] = j
		}
	}
	return index
}
