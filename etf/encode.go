package etf

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"

	"ergo.services/ergo/gen"
)

// ProcessID is a process registered under Name on node Node; the same type as Ergo's
// gen.ProcessID. Encode writes it as the tuple {Name, Node}, the form erlang:send/2 takes for a
// registered process on another node. Decoding never produces it.
type ProcessID = gen.ProcessID

// Encode returns the term_to_binary form of t: the version byte 131, then the term. It is the
// zero Encoder's Append to a new slice.
//
// The Erlang term written for each Go value:
//
//	Go value                                  Erlang term (tag written)
//	Atom                                      atom (SMALL_ATOM_UTF8_EXT, ATOM_UTF8_EXT when longer
//	                                          than 255 bytes; ATOM_CACHE_REF with an atom cache)
//	bool                                      true or false
//	nil, nil pointer, nil interface           the atom nil (Elixir's nil)
//	int, int8..int64, uint, uint8..uint64,    integer, exactly as term_to_binary writes it:
//	uintptr                                   0..255 SMALL_INTEGER_EXT, other 32-bit values
//	                                          INTEGER_EXT, the rest SMALL_BIG_EXT
//	*big.Int, big.Int                         integer, the same way (LARGE_BIG_EXT beyond 255 bytes)
//	float64, float32                          float (NEW_FLOAT_EXT); NaN and ±Inf are an error
//	string, []byte, [N]byte                   binary (BINARY_EXT); also for named string and byte
//	                                          slice types, but for those with MarshalText (net.IP)
//	BitString                                 bitstring (BIT_BINARY_EXT); a binary when Bits is 8
//	List, []any, any other slice or array     proper list (LIST_EXT; NIL_EXT when empty or nil)
//	ByteList                                  list of bytes (STRING_EXT up to 65535 bytes, LIST_EXT
//	                                          beyond; NIL_EXT when empty)
//	ImproperList                              [Elems... | Tail] (LIST_EXT); just Tail if Elems is
//	                                          empty
//	Tuple                                     tuple (SMALL_TUPLE_EXT, LARGE_TUPLE_EXT beyond 255)
//	Map                                       map (MAP_EXT), pairs in the order given; two
//	                                          keys that are the same term (as Equal says) are
//	                                          an *UnsupportedValueError, since binary_to_term
//	                                          refuses such a map
//	map[K]V                                   map (MAP_EXT); keys and values each by this table,
//	                                          so map[string]V has binary keys and map[Atom]V atom
//	                                          keys. Pairs are sorted by key (strings bytewise,
//	                                          numbers by value, others by their encoding) so the
//	                                          bytes are the same each time. A nil map is #{}.
//	struct                                    map with an atom key per exported field; see below
//	PID                                       pid (NEW_PID_EXT)
//	ProcessID                                 the tuple {Name, Node}, what erlang:send/2 takes for
//	                                          a process registered on another node
//	Ref, Alias                                reference (NEWER_REFERENCE_EXT, words by RefWords)
//	Port                                      port (NEW_PORT_EXT; V4_PORT_EXT when ID needs more
//	                                          than 32 bits)
//	ExportFun                                 fun M:F/A (EXPORT_EXT)
//	LocalFun                                  closure: Raw byte for byte, or, if Raw is empty,
//	                                          NEW_FUN_EXT built from the fields
//	pointer                                   what it points to
//	Marshaler                                 the term its MarshalTerm returns
//	Encoded                                   the encoded term it holds, byte for byte
//	encoding.TextMarshaler                    binary of the text its MarshalText returns, as
//	                                          encoding/json writes it as a string: time.Time in
//	                                          RFC 3339 ("2026-01-02T03:04:05.000000006Z"), net.IP
//	                                          and netip.Addr as "192.0.2.1"; Marshaler wins over it,
//	                                          and *big.Int and big.Int stay integers
//	chan, func, complex, unsafe.Pointer       an *UnsupportedTypeError
//
// A struct becomes a map whose keys are atoms, one per exported field, in field order. The field
// tag "etf" changes that, in the manner of encoding/json:
//
//	Name string `etf:"name"`            // key 'name' instead of 'Name'
//	Tmp  int    `etf:"-"`               // field left out
//	Nick string `etf:"nick,omitempty"`  // left out when false, 0, "", nil, or of length 0
//	At   T      `etf:"at,omitzero"`     // left out when zero (by T's IsZero() bool if it has one)
//
// The fields of an embedded struct without a tag count as fields of the outer struct. Of
// fields with one key, the shallowest wins (a field of the outer struct over one of a struct
// embedded in it), then, at one depth, the one whose key comes from its tag over those named
// by their Go name. Fields that neither rule tells apart, such as two fields tagged "x" or the
// ID fields of two structs embedded side by side, are an *UnsupportedTypeError that names
// them ("fields A and B both have key x"), where encoding/json leaves them all out and their
// values vanish. A struct is an Elixir struct, a map whose __struct__ key holds the module,
// when it has a blank field tagged with __struct__ and the module's atom:
//
//	type User struct {
//		_    struct{} `etf:"__struct__,Elixir.MyApp.User"`
//		Name string   `etf:"name"`
//	}
//
// encodes User{Name: "jo"} as %MyApp.User{name: "jo"}, that is #{'__struct__' => 'Elixir.MyApp.User',
// name => <<"jo">>}; the __struct__ pair comes first. Tags that make no valid atom, a
// __struct__ tag without a module or on a field that is not blank, and two module tags are an
// *UnsupportedTypeError.
//
// A struct whose fields are all unexported, such as sync.Mutex or a type of another package
// that keeps its state to itself, and that has neither MarshalTerm nor MarshalText, is an
// *UnsupportedTypeError too: as #{} its value would be lost. Give it a MarshalTerm method, or
// encode in its place a type of your own that has one. struct{}, a struct whose fields are all
// tagged "-", and one that names an Elixir module are maps. A MarshalTerm or
// MarshalText with a pointer receiver is called on values Encode can take the address of
// (reached through a pointer, elements of a slice); a value it cannot is written by its kind,
// or refused when its fields are all unexported.
//
// Encode never writes ATOM_EXT, SMALL_ATOM_EXT, FLOAT_EXT, PID_EXT, PORT_EXT, REFERENCE_EXT or
// NEW_REFERENCE_EXT: OTP 26 and later do not either, and OTP 23 and later read all it writes.
// The bytes are those of erlang:term_to_binary(T, [{minor_version, 2}]), the default from OTP
// 26 on, but for the order of map pairs (term_to_binary sorts the keys of small maps; Encode
// keeps the order of a Map) and for lists of small integers, which term_to_binary writes as
// STRING_EXT and Encode only when they are a ByteList (both read back as the same list).
func Encode(t Term) ([]byte, error) {
	var e Encoder
	return e.Append(make([]byte, 0, sizeHint(t)), t)
}

// Append appends the term_to_binary form of t (131 first) to dst, as Encode.
func Append(dst []byte, t Term) ([]byte, error) {
	var e Encoder
	return e.Append(dst, t)
}

// AtomCacheWriter lets the distribution layer replace atoms by references into the atom cache of
// the message being built: when CacheIndex returns ok, the encoder writes ATOM_CACHE_REF index
// instead of the atom.
type AtomCacheWriter interface {
	CacheIndex(a Atom) (index uint8, ok bool)
}

// BinaryInserter takes large binaries out of an encoding: the encoder writes a binary's header
// and, instead of copying its bytes behind it, calls InsertBinary with the offset in the output
// where they belong. The output then reads as the term only with each b inserted at its
// offset, as the distribution layer does when it writes the pieces with one vectored write.
type BinaryInserter interface {
	InsertBinary(at int, b []byte)
}

// An Encoder writes terms. The zero Encoder writes atoms inline and allows DefaultMaxDepth
// levels of nesting. An Encoder is not changed by encoding.
type Encoder struct {
	// AtomCache, when not nil, is asked about every atom written.
	AtomCache AtomCacheWriter
	// Inserter, when not nil, is given every []byte binary of InsertMin bytes or more instead
	// of the encoder copying it (see BinaryInserter). Binaries in the keys of Go maps (sorted
	// by their encoding) and in funs' free variables (sized by it) are always copied.
	// AppendCompressed, which compresses the encoding whole, copies them all.
	Inserter  BinaryInserter
	InsertMin int
	// MaxDepth limits how deep lists, tuples, maps, structs and MarshalTerm results may nest, so
	// that a Go value that contains itself is an error (ErrTooDeep) rather than a crash.
	// 0 means DefaultMaxDepth.
	MaxDepth int
}

// Encode returns the term_to_binary form of t (131 first), as the package-level Encode.
func (e *Encoder) Encode(t Term) ([]byte, error) {
	return e.Append(make([]byte, 0, sizeHint(t)), t)
}

// Append appends the version byte 131 and t to dst. On error it returns dst as it was (its spare
// capacity may have been written) and the error.
func (e *Encoder) Append(dst []byte, t Term) ([]byte, error) {
	s := encodeState{buf: append(dst, versionByte)}
	s.init(e)
	if err := s.term(t); err != nil {
		return dst, err
	}
	return s.buf, nil
}

// AppendTerm appends t without the version byte, the form terms take after a distribution
// header.
func (e *Encoder) AppendTerm(dst []byte, t Term) ([]byte, error) {
	s := encodeState{buf: dst}
	s.init(e)
	if err := s.term(t); err != nil {
		return dst, err
	}
	return s.buf, nil
}

// sizeHint is the size of Encode's buffer for t: its exact encoded size (or a little more when
// an atom cache shortens atoms), so that the buffer is allocated once and never copied, which
// for large terms costs more than the walk that computes it. Values met only through reflection
// count as a few bytes and grow the buffer as they are written.
func sizeHint(t Term) int {
	var w sizeWalk
	return w.hint(t)
}

// sizeWalk is one walk of a term for its encoded size.
type sizeWalk struct {
	tooDeep bool // the term nests deeper than DefaultMaxDepth
}

func (w *sizeWalk) hint(t Term) int {
	return 1 + w.size(t, 0) + termSlack // term wants termSlack bytes free before each term
}

// size is the number of bytes term writes for t, give or take what the atom cache saves
// and what reflection adds.
func (w *sizeWalk) size(t Term, depth int) int {
	if w.tooDeep || depth > DefaultMaxDepth {
		// term will refuse it. Stopping here keeps a value that holds itself more than once
		// from being walked once per path to the limit, which is exponentially many.
		w.tooDeep = true
		return 0
	}
	switch v := t.(type) {
	case nil:
		return 5
	case Encoded:
		return len(v.b)
	case Atom:
		return atomSize(v)
	case []byte:
		return 5 + len(v)
	case string:
		return 5 + len(v)
	case int64:
		return intSize(v)
	case int:
		return intSize(int64(v))
	case bool:
		if v {
			return 6
		}
		return 7
	case float64, float32:
		return 9
	case Tuple:
		n := 2
		if len(v) > math.MaxUint8 {
			n = 5
		}
		for _, e := range v {
			n += w.size(e, depth+1)
		}
		return n
	case List:
		return w.list(v, depth)
	case []Term:
		return w.list(v, depth)
	case Map:
		n := 5
		for _, p := range v {
			if b, ok := p.Key.([]byte); ok {
				n += 5 + len(b)
			} else {
				n += w.size(p.Key, depth+1)
			}
			switch val := p.Value.(type) {
			case []byte:
				n += 5 + len(val)
			case int64:
				n += intSize(val)
			default:
				n += w.size(val, depth+1)
			}
		}
		return n
	case PID:
		return 1 + atomSize(v.Node) + 12
	case []PID:
		if len(v) == 0 {
			return 1
		}
		n := 6
		for i := range v {
			n += 1 + atomSize(v[i].Node) + 12
		}
		return n
	case Ref:
		return 3 + atomSize(v.Node) + 4 + 4*refLen(v)
	case Alias:
		return 3 + atomSize(v.Node) + 4 + 4*refLen(Ref(v))
	case ByteList:
		if len(v) <= math.MaxUint16 {
			return 3 + len(v)
		}
		return 6 + 2*len(v)
	case ImproperList:
		n := 5 + w.size(v.Tail, depth+1)
		for _, e := range v.Elems {
			n += w.size(e, depth+1)
		}
		return n
	case BitString:
		return 6 + len(v.Bytes)
	case ProcessID:
		return 2 + atomSize(v.Name) + atomSize(v.Node)
	case Port:
		if v.ID > math.MaxUint32 {
			return 1 + atomSize(v.Node) + 12
		}
		return 1 + atomSize(v.Node) + 8
	case ExportFun:
		return 1 + atomSize(v.Module) + atomSize(v.Function) + 2
	case LocalFun:
		if len(v.Raw) > 0 {
			return len(v.Raw)
		}
		n := 30 + atomSize(v.Module) + intSize(v.OldIndex) + intSize(v.OldUniq) + 1 + atomSize(v.Pid.Node) + 12
		for _, e := range v.FreeVars {
			n += w.size(e, depth+1)
		}
		return n
	case *big.Int:
		switch {
		case v == nil:
			return 5
		case v.IsInt64():
			return intSize(v.Int64())
		}
		if n := (v.BitLen() + 7) / 8; n <= math.MaxUint8 {
			return 3 + n
		} else {
			return 6 + n
		}
	case map[string]Term:
		n := 5
		for k, e := range v {
			n += 5 + len(k) + w.size(e, depth+1)
		}
		return n
	case []string:
		if len(v) == 0 {
			return 1
		}
		n := 6
		for _, e := range v {
			n += 5 + len(e)
		}
		return n
	}
	return 16
}

func atomSize(a Atom) int {
	if len(a) <= maxAtomChars {
		return 2 + len(a)
	}
	return 3 + len(a)
}

func intSize(v int64) int {
	switch {
	case v >= 0 && v <= math.MaxUint8:
		return 2
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 5
	case v < 0:
		return 3 + (bits.Len64(uint64(-v))+7)/8
	}
	return 3 + (bits.Len64(uint64(v))+7)/8
}

func (w *sizeWalk) list(l []Term, depth int) int {
	if len(l) == 0 {
		return 1
	}
	n := 6
	for _, e := range l {
		// Long lists are mostly of pids or binaries; a type assertion is cheaper than the
		// switch of encodedSize.
		if p, ok := e.(PID); ok {
			n += 1 + atomSize(p.Node) + 12
			continue
		}
		if b, ok := e.([]byte); ok {
			n += 5 + len(b)
			continue
		}
		n += w.size(e, depth+1)
	}
	return n
}

// encodeState is one encoding pass.
type encodeState struct {
	buf      []byte
	cache    AtomCacheWriter
	depth    int
	maxDepth int
	ins      BinaryInserter
	insMin   int

	checkedAtom Atom // the last atom found to be valid UTF-8

	// The atom cache reference of the node of the last pid written, so that a list of pids of
	// one node asks the cache once.
	pidNode    Atom
	pidNodeRef byte
	pidNodeOK  bool
}

func (s *encodeState) init(e *Encoder) {
	s.cache = e.AtomCache
	if e.Inserter != nil {
		s.ins, s.insMin = e.Inserter, max(e.InsertMin, 1)
	}
	s.maxDepth = e.MaxDepth
	if s.maxDepth <= 0 {
		s.maxDepth = DefaultMaxDepth
	}
}

func (s *encodeState) enter() error {
	s.depth++
	if s.depth > s.maxDepth {
		return fmt.Errorf("%w: encoding goes deeper than MaxDepth %d (does a value contain itself?)", ErrTooDeep, s.maxDepth)
	}
	return nil
}

func (s *encodeState) leave() { s.depth-- }

// termSlack is the room term makes before writing a term: enough for any fixed-size part (tags,
// lengths, numbers, pids of short node names), so that those appends never reallocate and the
// buffer grows only in grow, by doubling. append alone grows large slices by a quarter at a
// time, which copies a large encoding many times over.
const termSlack = 64

// reserve extends the buffer by n bytes and returns them, for the caller to fill.
func (s *encodeState) reserve(n int) []byte {
	if cap(s.buf)-len(s.buf) < n {
		s.grow(n)
	}
	l := len(s.buf)
	s.buf = s.buf[:l+n]
	return s.buf[l:]
}

// grow makes room for n more bytes, at least doubling the capacity. It is kept out of line so
// that the callers that check for room first stay small enough to inline.
//
//go:noinline
func (s *encodeState) grow(n int) {
	if cap(s.buf)-len(s.buf) >= n {
		return
	}
	c := 2 * cap(s.buf)
	if c < len(s.buf)+n {
		c = len(s.buf) + n
	}
	if c < 256 {
		c = 256
	}
	buf := make([]byte, len(s.buf), c)
	copy(buf, s.buf)
	s.buf = buf
}

func (s *encodeState) u16(v int) { s.buf = binary.BigEndian.AppendUint16(s.buf, uint16(v)) }

func (s *encodeState) u32(v uint32) { s.buf = binary.BigEndian.AppendUint32(s.buf, v) }

// term writes any value Encode accepts.
func (s *encodeState) term(t Term) error {
	if cap(s.buf)-len(s.buf) < termSlack {
		s.grow(termSlack)
	}
	switch v := t.(type) {
	case nil:
		s.constAtom(atomBytesNil)
	case Encoded:
		if v.b == nil {
			return &UnsupportedValueError{Value: v, Reason: "zero Encoded: make it with NewEncoded"}
		}
		s.buf = append(s.buf, v.b...)
	case Atom:
		return s.atom(v)
	case []byte:
		return s.binary(v)
	case string:
		return s.binaryString(v)
	case int64:
		s.int(v)
	case int:
		s.int(int64(v))
	case bool:
		if v {
			s.constAtom(atomBytesTrue)
		} else {
			s.constAtom(atomBytesFalse)
		}
	case float64:
		return s.float(v)
	case Tuple:
		return s.tuple(v)
	case List:
		return s.list(v)
	case []Term:
		return s.list(v)
	case Map:
		return s.mapTerm(v)
	case PID:
		return s.pid(v)
	case []PID:
		return s.pids(v)
	case Ref:
		return s.ref(v)
	case ByteList:
		s.byteList(v)
	case ImproperList:
		return s.improper(v)
	case BitString:
		return s.bitString(v)
	case Alias:
		return s.ref(Ref(v))
	case ProcessID:
		s.buf = append(s.buf, tagSmallTuple, 2)
		if err := s.atom(v.Name); err != nil {
			return err
		}
		return s.atom(v.Node)
	case Port:
		return s.port(v)
	case ExportFun:
		return s.export(v)
	case LocalFun:
		return s.localFun(v)
	case *big.Int:
		if v == nil {
			return s.atom("nil")
		}
		s.bigInt(v)
	case big.Int:
		s.bigInt(&v)
	case int8:
		s.int(int64(v))
	case int16:
		s.int(int64(v))
	case int32:
		s.int(int64(v))
	case uint:
		s.uint(uint64(v))
	case uint8:
		s.int(int64(v))
	case uint16:
		s.int(int64(v))
	case uint32:
		s.int(int64(v))
	case uint64:
		s.uint(v)
	case uintptr:
		s.uint(uint64(v))
	case float32:
		return s.float(float64(v))
	case map[string]Term:
		return sortedMap(s, v, s.binaryString) // binary keys
	case map[Atom]Term:
		return sortedMap(s, v, s.atom)
	case []string:
		if len(v) == 0 {
			s.buf = append(s.buf, tagNil)
			return nil
		}
		s.buf = append(s.buf, tagList)
		s.u32(uint32(len(v)))
		for _, e := range v {
			if err := s.binaryString(e); err != nil {
				return err
			}
		}
		s.buf = append(s.buf, tagNil)
	case Marshaler:
		return s.marshaler(v)
	default:
		return s.reflectValue(t)
	}
	return nil
}

// atom writes an atom, checking that Erlang can hold it.
func (s *encodeState) atom(a Atom) error {
	if s.cache != nil {
		if i, ok := s.cache.CacheIndex(a); ok {
			s.buf = append(s.buf, tagAtomCacheRef, i)
			return nil
		}
	}
	n := len(a)
	if n <= maxAtomChars {
		// Terms repeat atoms (the node of every pid in a list); the check is done once for a
		// run of the same atom. Comparing with the last atom is nearly free when both share
		// their bytes, as the atoms of a decoded term do.
		if a != s.checkedAtom {
			if !utf8.ValidString(string(a)) {
				return &UnsupportedValueError{Value: a, Reason: "an atom must be valid UTF-8"}
			}
			s.checkedAtom = a
		}
		s.buf = append(s.buf, tagSmallAtomUTF8, byte(n))
		s.buf = append(s.buf, a...)
		return nil
	}
	if !utf8.ValidString(string(a)) {
		return &UnsupportedValueError{Value: a, Reason: "an atom must be valid UTF-8"}
	}
	if c := utf8.RuneCountInString(string(a)); c > maxAtomChars {
		return &UnsupportedValueError{Value: a, Reason: "an atom holds at most 255 characters, not " + strconv.Itoa(c)}
	}
	s.buf = append(s.buf, tagAtomUTF8)
	s.u16(n)
	s.buf = append(s.buf, a...)
	return nil
}

// The encodings of the atoms Go values stand for: nil, true and false.
var (
	atomBytesNil   = []byte{tagSmallAtomUTF8, 3, 'n', 'i', 'l'}
	atomBytesTrue  = []byte{tagSmallAtomUTF8, 4, 't', 'r', 'u', 'e'}
	atomBytesFalse = []byte{tagSmallAtomUTF8, 5, 'f', 'a', 'l', 's', 'e'}
)

// constAtom writes one of the atoms above, or its atom cache reference.
func (s *encodeState) constAtom(enc []byte) {
	if s.cache != nil {
		if i, ok := s.cache.CacheIndex(Atom(enc[2:])); ok {
			s.buf = append(s.buf, tagAtomCacheRef, i)
			return
		}
	}
	s.buf = append(s.buf, enc...)
}

// knownAtom writes an atom already checked to be valid, such as a struct field name.
func (s *encodeState) knownAtom(a Atom) {
	if s.cache != nil {
		if i, ok := s.cache.CacheIndex(a); ok {
			s.buf = append(s.buf, tagAtomCacheRef, i)
			return
		}
	}
	if len(a) <= maxAtomChars {
		s.buf = append(s.buf, tagSmallAtomUTF8, byte(len(a)))
	} else {
		s.buf = append(s.buf, tagAtomUTF8)
		s.u16(len(a))
	}
	s.buf = append(s.buf, a...)
}

// checkAtom reports why a cannot be an Erlang atom, or nil.
func checkAtom(a Atom) error {
	if !utf8.ValidString(string(a)) {
		return &UnsupportedValueError{Value: a, Reason: "an atom must be valid UTF-8"}
	}
	if len(a) > maxAtomChars {
		if c := utf8.RuneCountInString(string(a)); c > maxAtomChars {
			return &UnsupportedValueError{Value: a, Reason: "an atom holds at most 255 characters, not " + strconv.Itoa(c)}
		}
	}
	return nil
}

// int writes an integer the way term_to_binary does.
func (s *encodeState) int(v int64) {
	switch {
	case v >= 0 && v <= math.MaxUint8:
		s.buf = append(s.buf, tagSmallInteger, byte(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		l := len(s.buf)
		if cap(s.buf)-l < 5 {
			s.grow(5)
		}
		s.buf = s.buf[:l+5]
		b := s.buf[l:]
		b[0] = tagInteger
		binary.BigEndian.PutUint32(b[1:], uint32(v))
	case v < 0:
		s.smallBig(uint64(-v), true) // -MinInt64 wraps to 1<<63, its magnitude
	default:
		s.smallBig(uint64(v), false)
	}
}

func (s *encodeState) uint(v uint64) {
	if v <= math.MaxInt32 {
		s.int(int64(v))
		return
	}
	s.smallBig(v, false)
}

// smallBig writes SMALL_BIG_EXT with the fewest digits that hold magnitude u.
func (s *encodeState) smallBig(u uint64, neg bool) {
	n := (bits.Len64(u) + 7) / 8
	sign := byte(0)
	if neg {
		sign = 1
	}
	var digits [8]byte
	binary.LittleEndian.PutUint64(digits[:], u)
	s.buf = append(s.buf, tagSmallBig, byte(n), sign)
	s.buf = append(s.buf, digits[:n]...)
}

func (s *encodeState) bigInt(z *big.Int) {
	if z.IsInt64() {
		s.int(z.Int64())
		return
	}
	n := (z.BitLen() + 7) / 8
	sign := byte(0)
	if z.Sign() < 0 {
		sign = 1
	}
	if n <= math.MaxUint8 {
		s.buf = append(s.buf, tagSmallBig, byte(n), sign)
	} else {
		s.buf = append(s.buf, tagLargeBig)
		s.u32(uint32(n))
		s.buf = append(s.buf, sign)
	}
	const wordBytes = bits.UintSize / 8
	words := z.Bits() // magnitude, least significant word first
	for i := 0; i < n; i++ {
		s.buf = append(s.buf, byte(words[i/wordBytes]>>(8*(i%wordBytes))))
	}
}

func (s *encodeState) float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return &UnsupportedValueError{Value: f, Reason: "Erlang floats are finite"}
	}
	s.buf = append(s.buf, tagNewFloat)
	s.buf = binary.BigEndian.AppendUint64(s.buf, math.Float64bits(f))
	return nil
}

func tooLongBinary(n int) error {
	return &UnsupportedValueError{Value: strconv.Itoa(n) + " bytes", Reason: "a binary holds at most 4 GiB - 1"}
}

// binaryHeader writes the header of a binary of n bytes and makes room for them.
func (s *encodeState) binaryHeader(n int) error {
	if uint64(n) > math.MaxUint32 {
		return tooLongBinary(n)
	}
	s.grow(5 + n)
	s.buf = append(s.buf, tagBinary)
	s.u32(uint32(n))
	return nil
}

func (s *encodeState) binary(b []byte) error {
	if uint64(len(b)) > math.MaxUint32 {
		return tooLongBinary(len(b))
	}
	if s.ins != nil && len(b) >= s.insMin {
		s.buf = append(s.buf, tagBinary, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(s.buf[len(s.buf)-4:], uint32(len(b)))
		s.ins.InsertBinary(len(s.buf), b)
		return nil
	}
	l, size := len(s.buf), 5+len(b)
	if cap(s.buf)-l < size {
		s.grow(size)
	}
	s.buf = s.buf[:l+size]
	d := s.buf[l:]
	d[0] = tagBinary
	binary.BigEndian.PutUint32(d[1:], uint32(len(b)))
	copy(d[5:], b)
	return nil
}

func (s *encodeState) binaryString(b string) error {
	if uint64(len(b)) > math.MaxUint32 {
		return tooLongBinary(len(b))
	}
	d := s.reserve(5 + len(b))
	d[0] = tagBinary
	binary.BigEndian.PutUint32(d[1:], uint32(len(b)))
	copy(d[5:], b)
	return nil
}

func (s *encodeState) bitString(b BitString) error {
	switch {
	case b.Bits == 8:
		return s.binary(b.Bytes)
	case b.Bits < 1 || b.Bits > 8:
		return &UnsupportedValueError{Value: b, Reason: "Bits must be 1..8"}
	case len(b.Bytes) == 0:
		return &UnsupportedValueError{Value: b, Reason: "a bitstring of 1..7 bits needs a last byte"}
	case uint64(len(b.Bytes)) > math.MaxUint32:
		return &UnsupportedValueError{Value: strconv.Itoa(len(b.Bytes)) + " bytes", Reason: "a bitstring holds at most 4 GiB - 1 bytes"}
	}
	s.buf = append(s.buf, tagBitBinary)
	s.u32(uint32(len(b.Bytes)))
	s.buf = append(s.buf, b.Bits)
	s.buf = append(s.buf, b.Bytes...)
	s.buf[len(s.buf)-1] &= byte(0xff << (8 - b.Bits)) // the bits past the end are 0 in Erlang
	return nil
}

func (s *encodeState) listHeader(n int) error {
	if uint64(n) > math.MaxUint32 {
		return &UnsupportedValueError{Value: strconv.Itoa(n) + " elements", Reason: "too long for LIST_EXT"}
	}
	s.buf = append(s.buf, tagList)
	s.u32(uint32(n))
	return nil
}

// pids writes a list of pids without boxing each one: the pid list of a fan-out cast.
func (s *encodeState) pids(l []PID) error {
	if len(l) == 0 {
		s.buf = append(s.buf, tagNil)
		return nil
	}
	if err := s.listHeader(len(l)); err != nil {
		return err
	}
	// Room for all of them at once, as if their node were cached (15 bytes a pid): fan-out
	// lists run to thousands of pids, and growing by doubling copies them over and over.
	s.grow(15*len(l) + 1)
	for _, p := range l {
		if err := s.pid(p); err != nil {
			return err
		}
	}
	s.buf = append(s.buf, tagNil)
	return nil
}

func (s *encodeState) list(l []Term) error {
	if len(l) == 0 {
		s.buf = append(s.buf, tagNil)
		return nil
	}
	if err := s.listHeader(len(l)); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	if _, ok := l[0].(PID); ok && len(l) > 64 {
		s.grow(15*len(l) + 1) // a fan-out list: room for all its pids at once, as in pids
	}
	for _, e := range l {
		// Long lists are mostly of pids (fan-out) or binaries: skip the type switch of term.
		var err error
		if p, ok := e.(PID); ok {
			err = s.pid(p)
		} else {
			err = s.term(e)
		}
		if err != nil {
			return err
		}
	}
	s.leave()
	s.buf = append(s.buf, tagNil)
	return nil
}

func (s *encodeState) byteList(l ByteList) {
	switch {
	case len(l) == 0:
		s.buf = append(s.buf, tagNil)
	case len(l) <= math.MaxUint16:
		s.buf = append(s.buf, tagString)
		s.u16(len(l))
		s.buf = append(s.buf, l...)
	default:
		// STRING_EXT's length has 16 bits; longer lists of bytes are ordinary lists.
		s.buf = append(s.buf, tagList)
		s.u32(uint32(len(l)))
		for _, b := range l {
			s.buf = append(s.buf, tagSmallInteger, b)
		}
		s.buf = append(s.buf, tagNil)
	}
}

func (s *encodeState) improper(l ImproperList) error {
	if len(l.Elems) == 0 {
		return s.term(l.Tail)
	}
	if err := s.listHeader(len(l.Elems)); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	for _, e := range l.Elems {
		if err := s.term(e); err != nil {
			return err
		}
	}
	if err := s.term(l.Tail); err != nil {
		return err
	}
	s.leave()
	return nil
}

func (s *encodeState) tupleHeader(n int) error {
	switch {
	case n <= math.MaxUint8:
		s.buf = append(s.buf, tagSmallTuple, byte(n))
	case uint64(n) <= math.MaxUint32:
		s.buf = append(s.buf, tagLargeTuple)
		s.u32(uint32(n))
	default:
		return &UnsupportedValueError{Value: strconv.Itoa(n) + " elements", Reason: "too many for a tuple"}
	}
	return nil
}

func (s *encodeState) tuple(t Tuple) error {
	if err := s.tupleHeader(len(t)); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	for _, e := range t {
		if err := s.term(e); err != nil {
			return err
		}
	}
	s.leave()
	return nil
}

func (s *encodeState) mapHeader(n int) error {
	if uint64(n) > math.MaxUint32 {
		return &UnsupportedValueError{Value: strconv.Itoa(n) + " pairs", Reason: "too many for a map"}
	}
	s.buf = append(s.buf, tagMap)
	s.u32(uint32(n))
	return nil
}

func (s *encodeState) mapTerm(m Map) error {
	if err := s.mapHeader(len(m)); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	for _, p := range m {
		// Binary keys are the rule in maps from Elixir: skip the type switch of term.
		var err error
		if b, ok := p.Key.([]byte); ok {
			err = s.binary(b)
		} else {
			err = s.term(p.Key)
		}
		if err != nil {
			return err
		}
		if err := s.term(p.Value); err != nil {
			return err
		}
	}
	s.leave()
	if len(m) > 1 && !ascending(m) {
		return s.distinctPairs(m)
	}
	return nil
}

// distinctPairs returns an *UnsupportedValueError when two keys of m are the same term. A Map
// is a slice and can hold a key twice; a map term cannot, and binary_to_term refuses one that
// does. Sent over a distribution connection, such a map would make the receiving node close the
// connection, and every message on it would be lost with it.
//
// A Map whose keys are binaries, atoms or integers in increasing order, as the BEAM sends maps
// of up to 32 keys, was settled by ascending in one pass. Other small Maps of flat keys compare
// the keys' quickKeys pair by pair, and the keys themselves only where those agree. The rest go
// by a seeded hash, as Decode's check does, so that a map of n keys costs O(n) whatever its
// keys; keys in Go forms the hash does not know are read back as Decode gives them first.
func (s *encodeState) distinctPairs(m Map) error {
	i, j := -1, -1
	if len(m) <= pairwiseKeys {
		var quick [pairwiseKeys]uint64
		flat := true
		for k := range m {
			if quick[k], flat = quickKey(m[k].Key); !flat {
				break
			}
		}
		if flat {
			i, j = pairwiseDuplicate(m, quick[:len(m)])
			return duplicatePairError(m, i, j)
		}
	}
	c := dupCheckers.Get().(*dupChecker)
	defer dupCheckers.Put(c)
	c.foreign, c.maxDepth, c.depth, c.work = false, s.maxDepth, 0, 0
	clear(c.termMemo)
	clear(c.pairMemo)
	// Not find, which would walk the keys with ascending again: mapTerm has, and what reaches
	// here has more keys than pairwiseKeys or one quickKey does not take, which the hash serves.
	i, j = c.hashedFind(m)
	if i < 0 && c.foreign {
		keys := make(Map, len(m))
		for k := range m {
			keys[k].Key = normalize(m[k].Key) // the keys were written, so each has an Erlang form
		}
		var plain dupChecker
		i, j = plain.find(keys)
	}
	return duplicatePairError(m, i, j)
}

// pairwiseKeys is the largest Map whose flat keys distinctPairs compares pair by pair.
const pairwiseKeys = 32

// dupCheckers keeps the hash tables of distinctPairs for the next large Map.
var dupCheckers = sync.Pool{New: func() any { return new(dupChecker) }}

// pairwiseDuplicate returns the indexes of two pairs of m with the same key, or -1, -1;
// quick holds the keys' quickKeys.
func pairwiseDuplicate(m Map, quick []uint64) (int, int) {
	var c dupChecker
	for i := 1; i < len(quick); i++ {
		for j := 0; j < i; j++ {
			if quick[i] == quick[j] && c.equal(m[j].Key, m[i].Key) {
				return j, i
			}
		}
	}
	return -1, -1
}

// duplicatePairError is distinctPairs' error for pairs i and j of m, nil when i is -1.
func duplicatePairError(m Map, i, j int) error {
	if i < 0 {
		return nil
	}
	return &UnsupportedValueError{
		Value:  m[j].Key,
		Reason: fmt.Sprintf("duplicate map key: the keys of pairs %d and %d of a Map, %#v and %#v, are the same Erlang term", i, j, m[i].Key, m[j].Key),
	}
}

// quickKey summarizes a key that holds no other terms in a word that is the same for keys that
// are the same term, in whatever Go form, and for the commonest kinds of key (binaries, atoms,
// integers) mostly differs between keys that differ. It reports false for other keys.
func quickKey(k Term) (uint64, bool) {
	const (
		binaryKey uint64 = iota + 0x51ed27a4c3b9f6d1
		atomKey
		intKey
		floatKey
		pidKey
		listKey
		tupleKey
		mapKey
		otherKey
	)
	switch v := k.(type) {
	case []byte:
		return binaryKey ^ bytesSummary(v), true
	case string:
		return binaryKey ^ bytesSummary(unsafe.Slice(unsafe.StringData(v), len(v))), true
	case Atom:
		return atomKey ^ bytesSummary(unsafe.Slice(unsafe.StringData(string(v)), len(v))), true
	case bool:
		if v {
			return atomKey ^ bytesSummary([]byte("true")), true
		}
		return atomKey ^ bytesSummary([]byte("false")), true
	case nil:
		return atomKey ^ bytesSummary([]byte("nil")), true
	case int64:
		return intKey ^ uint64(v)*0x9e3779b97f4a7c15, true
	case int:
		return intKey ^ uint64(v)*0x9e3779b97f4a7c15, true
	case int32:
		return intKey ^ uint64(v)*0x9e3779b97f4a7c15, true
	case uint32:
		return intKey ^ uint64(v)*0x9e3779b97f4a7c15, true
	case *big.Int:
		if v != nil && v.IsInt64() {
			return intKey ^ uint64(v.Int64())*0x9e3779b97f4a7c15, true
		}
	case float64:
		return floatKey ^ math.Float64bits(v), true
	case PID:
		return pidKey ^ v.ID*0x9e3779b97f4a7c15 ^ uint64(v.Creation), true
	case BitString:
		if v.Bits == 8 {
			return binaryKey ^ bytesSummary(v.Bytes), true
		}
		return otherKey, true
	case Port, Ref, ExportFun:
		return otherKey, true
	case ByteList:
		return listKey ^ uint64(len(v)), true // as an empty List; other Lists are not flat
	case List:
		if len(v) == 0 {
			return listKey, true
		}
	case Tuple:
		if len(v) == 0 {
			return tupleKey, true
		}
	case Map:
		if len(v) == 0 {
			return mapKey, true
		}
	}
	return 0, false
}

// bytesSummary is quickKey's word for the bytes b: its length and its first and last eight bytes.
func bytesSummary(b []byte) uint64 {
	n := len(b)
	if n >= 8 {
		first := binary.LittleEndian.Uint64(b)
		last := binary.LittleEndian.Uint64(b[n-8:])
		return first ^ bits.RotateLeft64(last, 29) ^ uint64(n)*0xff51afd7ed558ccd
	}
	var x uint64
	for i := range n {
		x |= uint64(b[i]) << (8 * i)
	}
	return x ^ uint64(n)*0xff51afd7ed558ccd
}

// sortedMap writes a Go map keyed by strings or atoms, each key by key, in sorted order: Go
// ranges over a map in an order of its own, and equal maps should encode alike.
func sortedMap[K ~string](s *encodeState, m map[K]Term, key func(K) error) error {
	if err := s.mapHeader(len(m)); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := key(k); err != nil {
			return err
		}
		if err := s.term(m[k]); err != nil {
			return err
		}
	}
	s.leave()
	return nil
}

// badCreation is the error for a pid or reference whose creation does not fit the 32 bits
// Erlang gives it.
func badCreation(v any, c int64) error {
	return &UnsupportedValueError{Value: v, Reason: "creation " + strconv.FormatInt(c, 10) + " is not a 32-bit unsigned integer"}
}

func (s *encodeState) pid(p PID) error {
	if uint64(p.Creation) > math.MaxUint32 { // negative ones too
		return badCreation(p, p.Creation)
	}
	c := uint32(p.Creation)
	if node := p.Node; s.cache == nil && len(node) <= maxAtomChars {
		// The common case in one piece: pids come by the thousand in fan-out messages.
		if node != s.checkedAtom {
			if !utf8.ValidString(string(node)) {
				return &UnsupportedValueError{Value: node, Reason: "an atom must be valid UTF-8"}
			}
			s.checkedAtom = node
		}
		n := len(node)
		l, size := len(s.buf), 3+n+12
		if cap(s.buf)-l < size {
			s.grow(size)
		}
		s.buf = s.buf[:l+size]
		b := s.buf[l:]
		b[0], b[1], b[2] = tagNewPid, tagSmallAtomUTF8, byte(n)
		copy(b[3:], node)
		putPidNumbers(b[3+n:], p, c)
		return nil
	}
	if s.cache != nil {
		if !s.pidNodeOK || p.Node != s.pidNode {
			s.pidNode = p.Node
			s.pidNodeRef, s.pidNodeOK = s.cache.CacheIndex(p.Node)
		}
		if s.pidNodeOK {
			l := len(s.buf)
			if cap(s.buf)-l < 15 {
				s.grow(15)
			}
			s.buf = s.buf[:l+15]
			b := s.buf[l:]
			b[0], b[1], b[2] = tagNewPid, tagAtomCacheRef, s.pidNodeRef
			putPidNumbers(b[3:], p, c)
			return nil
		}
	}
	s.buf = append(s.buf, tagNewPid)
	if err := s.atom(p.Node); err != nil {
		return err
	}
	l := len(s.buf)
	s.buf = append(s.buf, make([]byte, 12)...)
	putPidNumbers(s.buf[l:], p, c)
	return nil
}

// putPidNumbers writes the 12 bytes after a NEW_PID_EXT's node: ID (the low 32 bits of p.ID),
// Serial (the high 32) and Creation.
func putPidNumbers(b []byte, p PID, creation uint32) {
	binary.BigEndian.PutUint32(b, uint32(p.ID))
	binary.BigEndian.PutUint32(b[4:], uint32(p.ID>>32))
	binary.BigEndian.PutUint32(b[8:], creation)
}

func (s *encodeState) ref(r Ref) error {
	if r.Creation < 0 || r.Creation > math.MaxUint32 {
		return badCreation(r, r.Creation)
	}
	c := uint32(r.Creation)
	n := refLen(r)
	s.buf = append(s.buf, tagNewerReference)
	s.u16(n)
	if err := s.atom(r.Node); err != nil {
		return err
	}
	s.u32(c)
	// The layout of RefWords, without its allocation.
	words := [MaxRefWords]uint32{
		uint32(r.ID[0]), uint32(r.ID[1]), uint32(r.ID[2]), uint32(r.ID[0] >> 32), uint32(r.ID[1] >> 32),
	}
	for _, w := range words[:n] {
		s.u32(w)
	}
	return nil
}

func (s *encodeState) port(p Port) error {
	if p.ID > math.MaxUint32 {
		s.buf = append(s.buf, tagV4Port)
		if err := s.atom(p.Node); err != nil {
			return err
		}
		s.buf = binary.BigEndian.AppendUint64(s.buf, p.ID)
	} else {
		s.buf = append(s.buf, tagNewPort)
		if err := s.atom(p.Node); err != nil {
			return err
		}
		s.u32(uint32(p.ID))
	}
	s.u32(p.Creation)
	return nil
}

func (s *encodeState) export(f ExportFun) error {
	s.buf = append(s.buf, tagExport)
	if err := s.atom(f.Module); err != nil {
		return err
	}
	if err := s.atom(f.Function); err != nil {
		return err
	}
	s.buf = append(s.buf, tagSmallInteger, f.Arity)
	return nil
}

// localFunMin is the size of the smallest NEW_FUN_EXT: tag, Size, Arity, Uniq, Index, NumFree,
// an empty atom, two small integers and a pid of an empty node.
const localFunMin = 1 + 4 + 1 + 16 + 4 + 4 + 2 + 2 + 2 + (1 + 2 + 12)

func (s *encodeState) localFun(f LocalFun) error {
	if len(f.Raw) == 0 {
		return s.localFunFields(f)
	}
	if len(f.Raw) < localFunMin || f.Raw[0] != tagNewFun || uint64(binary.BigEndian.Uint32(f.Raw[1:])) != uint64(len(f.Raw)-1) {
		return &UnsupportedValueError{Value: f, Reason: "Raw is not a NEW_FUN_EXT encoding"}
	}
	s.buf = append(s.buf, f.Raw...)
	return nil
}

// localFunFields writes NEW_FUN_EXT from the fields of f, ignoring Raw.
func (s *encodeState) localFunFields(f LocalFun) error {
	for _, v := range [...]int64{f.OldIndex, f.OldUniq} {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return &UnsupportedValueError{Value: f, Reason: "OldIndex and OldUniq are 32-bit integers"}
		}
	}
	if uint64(len(f.FreeVars)) > math.MaxUint32 {
		return &UnsupportedValueError{Value: f, Reason: "too many free variables"}
	}
	// NEW_FUN_EXT starts with its own size, measured on the output: its binaries stay in it.
	ins := s.ins
	s.ins = nil
	defer func() { s.ins = ins }()
	start := len(s.buf)
	s.buf = append(s.buf, tagNewFun, 0, 0, 0, 0, f.Arity)
	s.buf = append(s.buf, f.Uniq[:]...)
	s.u32(f.Index)
	s.u32(uint32(len(f.FreeVars)))
	if err := s.atom(f.Module); err != nil {
		return err
	}
	s.int(f.OldIndex)
	s.int(f.OldUniq)
	if err := s.pid(f.Pid); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	for _, v := range f.FreeVars {
		if err := s.term(v); err != nil {
			return err
		}
	}
	s.leave()
	size := len(s.buf) - start - 1
	if uint64(size) > math.MaxUint32 {
		return &UnsupportedValueError{Value: f, Reason: "free variables too large for NEW_FUN_EXT"}
	}
	binary.BigEndian.PutUint32(s.buf[start+1:], uint32(size))
	return nil
}
