package etf

import (
	"bytes"
	"cmp"
	"math"
	"math/big"
	"slices"
	"strings"
	"unsafe"
)

// Equal reports whether a and b are the same Erlang term, as a =:= b does in Erlang:
//
//   - Numbers are equal when they have the same type and value: 1 and 1.0 differ, and so do
//     0.0 and -0.0 (as from OTP 27 on; OTP 25 and 26 held them equal). An int64, a *big.Int and
//     any Go integer of the same value are the same integer.
//   - A string, a []byte and a BitString whose Bits is 8 holding the same bytes are the same
//     binary.
//   - List, []any, ByteList and ImproperList are compared element by element, so List{104, 105}
//     equals ByteList("hi"), and [1 | [2]] built as an ImproperList equals List{1, 2}.
//   - Maps are equal when they hold equal keys with equal values, in any order.
//   - true, false and nil are the atoms of those names; an Alias is the reference of the same
//     words; a ProcessID is the tuple {Name, Node}.
//   - References are equal when their node, creation and words are, where trailing zero words
//     do not count (as on the BEAM). Pids and ports compare node, ID and creation. Closures
//     compare their identity (module, index, uniq values, arity) and free variables, not the
//     pid that made them, as the BEAM does.
//
// Other Go values are compared as the terms Encode makes of them. A value that has no Erlang
// form is equal to nothing, itself included.
func Equal(a, b Term) bool {
	var c comparer
	return c.equal(a, b, 0)
}

// Compare returns -1, 0 or +1 as a is less than, equal to (==) or greater than b in Erlang's
// standard term order:
//
//	number < atom < reference < fun < port < pid < tuple < map < [] < list < bitstring
//
// It is the order of erlang:'<'/2 and lists:sort/1:
//
//   - Numbers compare by value, integers and floats mixed, exactly (2^53+1 > 2^53 as a float);
//     1 and 1.0 compare equal, as 1 == 1.0 is true. Compare is 0 for terms that are == but
//     not =:=; CompareKeys refines it into the order of Equal.
//   - Atoms compare by their text (by code point).
//   - References compare by node name, then creation, then words (the last word weighing most);
//     ports by node name, creation, then ID; pids by serial, number, node name, then creation.
//   - Local funs sort before external funs (fun M:F/A), which compare by module, function and
//     arity; local funs by module, index, uniq values, number of free variables, then the free
//     variables.
//   - Tuples compare by size, then element by element.
//   - Maps compare by size, then by their keys, sorted and taken in map key order (see
//     CompareKeys), then by the values in that key order.
//   - Lists compare element by element, a shorter list before a longer one; an improper tail is
//     compared where a list would continue. Bitstrings compare byte by byte, then by length.
//
// Values with no Erlang form sort after every term.
func Compare(a, b Term) int {
	var c comparer
	return c.compare(a, b, false, 0)
}

// CompareKeys orders terms the way Erlang orders map keys: as Compare, except that numbers
// compare by type first (every integer before every float) and -0.0 before 0.0. For terms it
// returns 0 exactly when Equal is true, so it sorts map keys, and any terms, into one definite
// order: the order in which Erlang lists the keys of small maps. (Go values with no Erlang form
// compare equal among themselves, after every term.)
func CompareKeys(a, b Term) int {
	var c comparer
	return c.compare(a, b, true, 0)
}

// termClass is the rank of a term's type in the standard term order.
type termClass uint8

const (
	classNumber termClass = iota
	classAtom
	classRef
	classFun
	classPort
	classPID
	classTuple
	classMap
	classNil
	classList
	classBits
	// classInvalid holds Go values that have no Erlang form; they sort after every term.
	classInvalid
)

// endOfList ends the lists that a listCursor walks: the [] of a proper list.
type endOfList struct{}

// invalidTerm stands for a Go value that has no Erlang form.
type invalidTerm struct{ err error }

// comparer is one call of Equal or Compare.
type comparer struct {
	// The pairs of maps in map key order, sorted once per call: a map inside a key is compared
	// each time the keys around it are, and sorting it again each time would multiply the cost
	// by the comparisons of every level above it. Small maps of flat keys (see flatKeys) are
	// cheap to sort again and are not kept.
	sorted map[mapID]Map
	// Equal finds the keys of maps whose keys hold terms by their hashes, kept for large
	// terms, unless it meets a value hash cannot tell equal to its decoded form.
	hashes dupChecker
	// tooDeep is set when Compare meets terms nested deeper than maxCompareDepth: from then on
	// it compares nothing more, or a value that holds itself more than once would be walked once
	// per path to the limit, exponentially many.
	tooDeep bool
	steps   int // terms compared, for tests
}

// mapID names the pairs of a map during one call.
type mapID struct {
	first *MapPair
	n     int
}

// maxCompareDepth bounds the nesting that Equal and Compare follow, so that Go values that
// contain themselves end instead of exhausting the stack. Deeper values count as invalid.
const maxCompareDepth = DefaultMaxDepth

// normalize returns t as a term of the term model when it is a Go value beyond the ones classOf
// knows, by encoding and decoding it, or an invalidTerm.
func normalize(t Term) Term {
	b, err := Encode(t)
	if err != nil {
		return invalidTerm{err}
	}
	v, err := Decode(b)
	if err != nil {
		return invalidTerm{err}
	}
	return v
}

// classOf returns the class of t, converting Go values that are not part of the term model into
// it where that takes no more than a type switch, and the rest by normalize.
func classOf(t Term) (termClass, Term) {
	switch v := t.(type) {
	case int64, int, int8, int16, int32, uint, uint8, uint16, uint32, uint64, uintptr, big.Int:
		return classNumber, t
	case *big.Int:
		if v == nil {
			return classAtom, Atom("nil")
		}
		return classNumber, t
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return classInvalid, t
		}
		return classNumber, t
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return classInvalid, t
		}
		return classNumber, t
	case Atom, bool, nil:
		return classAtom, t
	case Ref, Alias:
		return classRef, t
	case ExportFun, LocalFun:
		return classFun, t
	case *LocalFun:
		if v == nil {
			return classAtom, Atom("nil")
		}
		return classFun, *v
	case Port:
		return classPort, t
	case PID:
		return classPID, t
	case Tuple:
		return classTuple, t
	case ProcessID:
		return classTuple, Tuple{v.Name, v.Node}
	case Map, map[string]Term, map[Atom]Term, map[Term]Term:
		return classMap, t
	case List:
		if len(v) == 0 {
			return classNil, t
		}
		return classList, t
	case []Term:
		if len(v) == 0 {
			return classNil, t
		}
		return classList, t
	case ByteList:
		if len(v) == 0 {
			return classNil, t
		}
		return classList, t
	case []string:
		if len(v) == 0 {
			return classNil, t
		}
		return classList, t
	case ImproperList:
		if len(v.Elems) == 0 {
			return classOf(v.Tail)
		}
		return classList, t
	case endOfList:
		return classNil, List(nil)
	case []byte, string:
		return classBits, t
	case BitString:
		if _, _, _, err := bitStringParts(v); err != nil {
			return classInvalid, invalidTerm{err}
		}
		return classBits, t
	case invalidTerm:
		return classInvalid, t
	}
	n := normalize(t)
	if _, ok := n.(invalidTerm); ok {
		return classInvalid, n
	}
	return classOf(n)
}

// compare orders a and b: in the standard term order, or, with exact, in map key order.
func (c *comparer) compare(a, b Term, exact bool, depth int) int {
	c.steps++
	if c.tooDeep {
		return 0
	}
	// The common leaves without classOf.
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case Atom:
		if y, ok := b.(Atom); ok {
			return strings.Compare(string(x), string(y))
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	}
	ca, a := classOf(a)
	cb, b := classOf(b)
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	if depth > maxCompareDepth {
		c.tooDeep = true
		return 0
	}
	switch ca {
	case classNumber:
		return compareNumbers(numberOf(a), numberOf(b), exact)
	case classAtom:
		return strings.Compare(atomText(a), atomText(b))
	case classRef:
		return compareRefs(refOf(a), refOf(b))
	case classFun:
		return c.compareFuns(a, b, exact, depth)
	case classPort:
		return comparePorts(a.(Port), b.(Port))
	case classPID:
		return comparePIDs(a.(PID), b.(PID))
	case classTuple:
		ta, tb := a.(Tuple), b.(Tuple)
		if r := cmp.Compare(len(ta), len(tb)); r != 0 {
			return r
		}
		for i := range ta {
			if r := c.compare(ta[i], tb[i], exact, depth+1); r != 0 {
				return r
			}
		}
		return 0
	case classMap:
		return c.compareMaps(mapOf(a), mapOf(b), exact, depth)
	case classNil, classInvalid:
		return 0
	case classList:
		return c.compareLists(a, b, exact, depth)
	case classBits:
		return compareBits(bitsOf(a), bitsOf(b))
	}
	return 0
}

// equal is =:=.
func (c *comparer) equal(a, b Term, depth int) bool {
	c.steps++
	// The common leaves without classOf.
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	case Atom:
		if y, ok := b.(Atom); ok {
			return x == y
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Equal(x, y)
		}
	case PID:
		if y, ok := b.(PID); ok {
			return x == y
		}
	}
	ca, a := classOf(a)
	cb, b := classOf(b)
	if ca != cb || depth > maxCompareDepth {
		return false
	}
	switch ca {
	case classNumber:
		return compareNumbers(numberOf(a), numberOf(b), true) == 0
	case classAtom:
		return atomText(a) == atomText(b)
	case classRef:
		return compareRefs(refOf(a), refOf(b)) == 0
	case classFun:
		return c.equalFuns(a, b, depth)
	case classPort:
		return a.(Port) == b.(Port)
	case classPID:
		return a.(PID) == b.(PID)
	case classTuple:
		ta, tb := a.(Tuple), b.(Tuple)
		if len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !c.equal(ta[i], tb[i], depth+1) {
				return false
			}
		}
		return true
	case classMap:
		return c.equalMaps(mapOf(a), mapOf(b), depth)
	case classNil:
		return true
	case classList:
		return c.equalLists(a, b, depth)
	case classBits:
		return compareBits(bitsOf(a), bitsOf(b)) == 0
	}
	return false // classInvalid
}

// number is a numeric term of any Go type: an int64, a uint64 above MaxInt64, a *big.Int or a
// float64.
type number struct {
	kind numberKind
	i    int64
	u    uint64
	z    *big.Int
	f    float64
}

type numberKind uint8

const (
	numInt numberKind = iota
	numUint
	numBig
	numFloat
)

func numberOf(t Term) number {
	switch v := t.(type) {
	case int64:
		return number{kind: numInt, i: v}
	case int:
		return number{kind: numInt, i: int64(v)}
	case int8:
		return number{kind: numInt, i: int64(v)}
	case int16:
		return number{kind: numInt, i: int64(v)}
	case int32:
		return number{kind: numInt, i: int64(v)}
	case uint:
		return uintNumber(uint64(v))
	case uint8:
		return number{kind: numInt, i: int64(v)}
	case uint16:
		return number{kind: numInt, i: int64(v)}
	case uint32:
		return number{kind: numInt, i: int64(v)}
	case uint64:
		return uintNumber(v)
	case uintptr:
		return uintNumber(uint64(v))
	case *big.Int:
		return bigNumber(v)
	case big.Int:
		return bigNumber(&v)
	case float64:
		return number{kind: numFloat, f: v}
	case float32:
		return number{kind: numFloat, f: float64(v)}
	}
	return number{}
}

func uintNumber(u uint64) number {
	if u <= math.MaxInt64 {
		return number{kind: numInt, i: int64(u)}
	}
	return number{kind: numUint, u: u}
}

// bigNumber narrows a *big.Int that fits 64 bits, so that only larger values take the slow
// paths.
func bigNumber(z *big.Int) number {
	if z.IsInt64() {
		return number{kind: numInt, i: z.Int64()}
	}
	if z.IsUint64() {
		return number{kind: numUint, u: z.Uint64()}
	}
	return number{kind: numBig, z: z}
}

func (n number) isFloat() bool { return n.kind == numFloat }

// compareNumbers compares two numbers by value, exactly; with exact (map key order), integers
// come before floats and -0.0 before 0.0.
func compareNumbers(a, b number, exact bool) int {
	if exact && a.isFloat() != b.isFloat() {
		if a.isFloat() {
			return 1
		}
		return -1
	}
	switch {
	case a.isFloat() && b.isFloat():
		if r := cmp.Compare(a.f, b.f); r != 0 || !exact {
			return r
		}
		// Equal values: only zeros can still differ, by sign.
		return cmp.Compare(boolInt(!math.Signbit(a.f)), boolInt(!math.Signbit(b.f)))
	case a.isFloat():
		return -compareIntFloat(b, a.f)
	case b.isFloat():
		return compareIntFloat(a, b.f)
	}
	return compareInts(a, b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareInts compares integers of kinds numInt, numUint and numBig. A numBig never fits 64 bits.
func compareInts(a, b number) int {
	if a.kind == b.kind {
		switch a.kind {
		case numInt:
			return cmp.Compare(a.i, b.i)
		case numUint:
			return cmp.Compare(a.u, b.u)
		default:
			return a.z.Cmp(b.z)
		}
	}
	// Different kinds differ in magnitude class: int64 < uint64 above MaxInt64, and a bignum
	// lies beyond both on the side of its sign.
	if a.kind == numBig {
		return a.z.Sign()
	}
	if b.kind == numBig {
		return -b.z.Sign()
	}
	if a.kind == numUint {
		return 1
	}
	return -1
}

// compareIntFloat compares an integer with a float exactly, as the BEAM does (not by converting
// the integer to a float, which would round).
func compareIntFloat(a number, f float64) int {
	switch a.kind {
	case numInt:
		i := a.i
		if i >= -1<<53 && i <= 1<<53 {
			return cmp.Compare(float64(i), f)
		}
		if f >= 1<<63 {
			return -1
		}
		if f < -1<<63 {
			return 1
		}
		// |f| >= 2^53 here or the integer is far from it; either way trunc(f) is exact.
		t := math.Trunc(f)
		if r := cmp.Compare(i, int64(t)); r != 0 {
			return r
		}
		return cmp.Compare(t, f)
	case numUint:
		if f >= 1<<64 {
			return -1
		}
		if f < 1<<63 {
			return 1
		}
		return cmp.Compare(a.u, uint64(f)) // f is an integer in [2^63, 2^64)
	default:
		zf := new(big.Float).SetInt(a.z)
		return zf.Cmp(big.NewFloat(f))
	}
}

func atomText(t Term) string {
	switch v := t.(type) {
	case Atom:
		return string(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return "nil"
}

func refOf(t Term) Ref {
	if a, ok := t.(Alias); ok {
		return Ref(a)
	}
	return t.(Ref)
}

// refWords returns the words of r without the trailing zero words, which the BEAM ignores when
// it compares references.
func refWords(r Ref) ([MaxRefWords]uint32, int) {
	w := [MaxRefWords]uint32{
		uint32(r.ID[0]), uint32(r.ID[1]), uint32(r.ID[2]), uint32(r.ID[0] >> 32), uint32(r.ID[1] >> 32),
	}
	n := refLen(r)
	for n > 0 && w[n-1] == 0 {
		n--
	}
	return w, n
}

func compareRefs(a, b Ref) int {
	if r := strings.Compare(string(a.Node), string(b.Node)); r != 0 {
		return r
	}
	if r := cmp.Compare(a.Creation, b.Creation); r != 0 {
		return r
	}
	wa, na := refWords(a)
	wb, nb := refWords(b)
	if r := cmp.Compare(na, nb); r != 0 {
		return r
	}
	for i := na - 1; i >= 0; i-- {
		if r := cmp.Compare(wa[i], wb[i]); r != 0 {
			return r
		}
	}
	return 0
}

func comparePorts(a, b Port) int {
	if r := strings.Compare(string(a.Node), string(b.Node)); r != 0 {
		return r
	}
	if r := cmp.Compare(a.Creation, b.Creation); r != 0 {
		return r
	}
	return cmp.Compare(a.ID, b.ID)
}

// comparePIDs orders pids by serial and number first (the 64-bit ID), then by node.
func comparePIDs(a, b PID) int {
	if r := cmp.Compare(a.ID, b.ID); r != 0 {
		return r
	}
	if r := strings.Compare(string(a.Node), string(b.Node)); r != 0 {
		return r
	}
	return cmp.Compare(a.Creation, b.Creation)
}

func (c *comparer) compareFuns(a, b Term, exact bool, depth int) int {
	ea, aExport := a.(ExportFun)
	eb, bExport := b.(ExportFun)
	switch {
	case aExport && bExport:
		if r := strings.Compare(string(ea.Module), string(eb.Module)); r != 0 {
			return r
		}
		if r := strings.Compare(string(ea.Function), string(eb.Function)); r != 0 {
			return r
		}
		return cmp.Compare(ea.Arity, eb.Arity)
	case aExport:
		return 1
	case bExport:
		return -1
	}
	fa, fb := a.(LocalFun), b.(LocalFun)
	if r := compareFunIdentity(&fa, &fb); r != 0 {
		return r
	}
	if r := cmp.Compare(len(fa.FreeVars), len(fb.FreeVars)); r != 0 {
		return r
	}
	for i := range fa.FreeVars {
		if r := c.compare(fa.FreeVars[i], fb.FreeVars[i], exact, depth+1); r != 0 {
			return r
		}
	}
	return 0
}

// compareFunIdentity orders closures by what says which code they run: module, index and the
// uniq values (which tell versions of a module apart), then arity and old index, which follow
// from the rest in any real fun.
func compareFunIdentity(a, b *LocalFun) int {
	if r := strings.Compare(string(a.Module), string(b.Module)); r != 0 {
		return r
	}
	if r := cmp.Compare(a.Index, b.Index); r != 0 {
		return r
	}
	if r := cmp.Compare(uint32(a.OldUniq), uint32(b.OldUniq)); r != 0 {
		return r
	}
	if r := bytes.Compare(a.Uniq[:], b.Uniq[:]); r != 0 {
		return r
	}
	if r := cmp.Compare(a.Arity, b.Arity); r != 0 {
		return r
	}
	return cmp.Compare(a.OldIndex, b.OldIndex)
}

func (c *comparer) equalFuns(a, b Term, depth int) bool {
	ea, aExport := a.(ExportFun)
	eb, bExport := b.(ExportFun)
	if aExport || bExport {
		return aExport && bExport && ea == eb
	}
	fa, fb := a.(LocalFun), b.(LocalFun)
	if compareFunIdentity(&fa, &fb) != 0 || len(fa.FreeVars) != len(fb.FreeVars) {
		return false
	}
	for i := range fa.FreeVars {
		if !c.equal(fa.FreeVars[i], fb.FreeVars[i], depth+1) {
			return false
		}
	}
	return true
}

// mapOf returns the pairs of a map term; Go maps are turned into a Map.
func mapOf(t Term) Map {
	switch v := t.(type) {
	case Map:
		return v
	case map[string]Term:
		m := make(Map, 0, len(v))
		for k, x := range v {
			m = append(m, MapPair{Key: k, Value: x})
		}
		return m
	case map[Atom]Term:
		m := make(Map, 0, len(v))
		for k, x := range v {
			m = append(m, MapPair{Key: k, Value: x})
		}
		return m
	case map[Term]Term:
		m := make(Map, 0, len(v))
		for k, x := range v {
			m = append(m, MapPair{Key: k, Value: x})
		}
		return m
	}
	return nil
}

// sortedPairs returns the pairs of m in map key order. It merge sorts, stably: keys alike up to
// their ends cost their size for each comparison, and merging takes about n·log₂(n) of them
// where the insertion sort of slices.SortStableFunc takes up to n²/2 for runs of 20.
func (c *comparer) sortedPairs(m Map, depth int) Map {
	s := slices.Clone(m)
	if len(s) < 2 {
		return s
	}
	c.mergeSort(s, make(Map, len(s)), depth)
	return s
}

// mergeSort sorts s by key, using buf (as long as s) for merging.
func (c *comparer) mergeSort(s, buf Map, depth int) {
	if len(s) < 2 {
		return
	}
	mid := len(s) / 2
	c.mergeSort(s[:mid], buf[:mid], depth)
	c.mergeSort(s[mid:], buf[mid:], depth)
	if c.compare(s[mid-1].Key, s[mid].Key, true, depth+1) <= 0 {
		return // already in order
	}
	copy(buf, s)
	i, j, k := 0, mid, 0
	for i < mid && j < len(s) {
		if c.compare(buf[j].Key, buf[i].Key, true, depth+1) < 0 {
			s[k] = buf[j]
			j++
		} else {
			s[k] = buf[i]
			i++
		}
		k++
	}
	k += copy(s[k:], buf[i:mid])
	copy(s[k:], buf[j:])
}

// inKeyOrder returns the pairs of m in map key order, for reading only.
func (c *comparer) inKeyOrder(m Map, depth int) Map {
	if len(m) < 2 {
		return m
	}
	if len(m) <= smallMapPairs && flatKeys(m) {
		return c.sortedPairs(m, depth)
	}
	id := mapID{&m[0], len(m)}
	if s, ok := c.sorted[id]; ok {
		return s
	}
	s := c.sortedPairs(m, depth)
	if c.sorted == nil {
		c.sorted = make(map[mapID]Map)
	}
	c.sorted[id] = s
	return s
}

func (c *comparer) compareMaps(a, b Map, exact bool, depth int) int {
	if r := cmp.Compare(len(a), len(b)); r != 0 {
		return r
	}
	sa, sb := c.inKeyOrder(a, depth), c.inKeyOrder(b, depth)
	for i := range sa {
		if r := c.compare(sa[i].Key, sb[i].Key, true, depth+1); r != 0 {
			return r
		}
	}
	for i := range sa {
		if r := c.compare(sa[i].Value, sb[i].Value, exact, depth+1); r != 0 {
			return r
		}
	}
	return 0
}

// smallMapPairs is the size up to which equalMaps searches pairs one by one rather than by hash.
const smallMapPairs = 8

func (c *comparer) equalMaps(a, b Map, depth int) bool {
	if len(a) != len(b) {
		return false
	}
	if !flatKeys(a) || !flatKeys(b) {
		// Keys that hold terms: searching for each key among the others, or hashing each
		// anew, costs their size for every level above them.
		if same, ok := c.equalByHash(a, b, depth); ok {
			return same
		}
		// In key order, equal maps pair up place by place.
		sa, sb := c.inKeyOrder(a, depth), c.inKeyOrder(b, depth)
		for i := range sa {
			if !c.equal(sa[i].Key, sb[i].Key, depth+1) || !c.equal(sa[i].Value, sb[i].Value, depth+1) {
				return false
			}
		}
		return true
	}
	// Each pair of a is matched with the first pair of b that has its key. Two pairs of a that
	// meet the same pair of b have one key: a map with a key twice is no term, and equal to
	// nothing (with maps of one length, a key twice in b leaves a key of a without a match).
	if len(a) <= smallMapPairs {
		var matched uint8
		for i := range a {
			j := c.index(b, a[i].Key, depth+1)
			if j < 0 || matched&(1<<j) != 0 || !c.equal(a[i].Value, b[j].Value, depth+1) {
				return false
			}
			matched |= 1 << j
		}
		return true
	}
	// Equal keys have equal phash2 values, so only pairs in one bucket need comparing.
	buckets := make(map[uint32][]int, len(b))
	for j := range b {
		h := Phash2(b[j].Key, 0)
		buckets[h] = append(buckets[h], j)
	}
	matched := make([]bool, len(b))
	for i := range a {
		found := false
		for _, j := range buckets[Phash2(a[i].Key, 0)] {
			if c.equal(a[i].Key, b[j].Key, depth+1) {
				if matched[j] || !c.equal(a[i].Value, b[j].Value, depth+1) {
					return false
				}
				matched[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// equalByHash is equalMaps for maps of equal length by the kept hashes of their keys. It
// reports false for ok when a key is a Go value the hashes do not serve.
func (c *comparer) equalByHash(a, b Map, depth int) (same, ok bool) {
	if c.hashes.foreign {
		return false, false
	}
	c.hashes.maxDepth = max(1, maxCompareDepth-depth)
	index := c.hashes.keyIndex(b)
	hashes := make([]uint64, len(a))
	for i := range a {
		hashes[i] = c.hashes.hash(a[i].Key)
	}
	if c.hashes.foreign {
		return false, false
	}
	equal := func(x, y Term) bool { return c.equal(x, y, depth+1) }
	return pairsMatch(a, b, hashes, index, equal), true
}

// index returns the index of the pair of m whose key is key, or -1.
func (c *comparer) index(m Map, key Term, depth int) int {
	return pairIndex(m, key, func(x, y Term) bool { return c.equal(x, y, depth) })
}

// listCursor walks the elements of a list term of any form, following tails that are lists.
type listCursor struct {
	terms []Term
	bytes []byte
	strs  []string
	tail  Term // what comes after the elements at hand; endOfList for []
}

func cursorOf(t Term) listCursor {
	var l listCursor
	l.tail = t
	return l
}

// next returns the next element, or false at the end of the list, when rest is its tail.
func (l *listCursor) next() (Term, bool) {
	for {
		switch {
		case len(l.terms) > 0:
			e := l.terms[0]
			l.terms = l.terms[1:]
			return e, true
		case len(l.bytes) > 0:
			e := int64(l.bytes[0])
			l.bytes = l.bytes[1:]
			return e, true
		case len(l.strs) > 0:
			e := l.strs[0]
			l.strs = l.strs[1:]
			return e, true
		}
		switch t := l.tail.(type) {
		case List:
			l.terms, l.tail = t, endOfList{}
		case []Term:
			l.terms, l.tail = t, endOfList{}
		case ByteList:
			l.bytes, l.tail = t, endOfList{}
		case []string:
			l.strs, l.tail = t, endOfList{}
		case ImproperList:
			l.terms, l.tail = t.Elems, t.Tail
		case endOfList:
			return nil, false
		default:
			// A Go value of another type: follow it if it turns out to be a list.
			switch class, n := classOf(t); class {
			case classList:
				l.tail = n
			case classNil:
				l.tail = endOfList{}
				return nil, false
			default:
				return nil, false
			}
		}
	}
}

// rest is the tail left when next has returned false: endOfList or an improper tail.
func (l *listCursor) rest() Term { return l.tail }

func (c *comparer) compareLists(a, b Term, exact bool, depth int) int {
	la, lb := cursorOf(a), cursorOf(b)
	for {
		ea, okA := la.next()
		eb, okB := lb.next()
		switch {
		case okA && okB:
			if r := c.compare(ea, eb, exact, depth+1); r != 0 {
				return r
			}
		case okA: // b ended: its tail against the rest of a, a list
			rb, _ := classOf(lb.rest())
			return cmp.Compare(classList, rb)
		case okB:
			ra, _ := classOf(la.rest())
			return cmp.Compare(ra, classList)
		default:
			return c.compare(la.rest(), lb.rest(), exact, depth+1)
		}
	}
}

func (c *comparer) equalLists(a, b Term, depth int) bool {
	// Two byte lists, the common case of charlists, without the cursor.
	if x, ok := a.(ByteList); ok {
		if y, ok := b.(ByteList); ok {
			return bytes.Equal(x, y)
		}
	}
	la, lb := cursorOf(a), cursorOf(b)
	for {
		ea, okA := la.next()
		eb, okB := lb.next()
		if okA != okB {
			return false
		}
		if !okA {
			return c.equal(la.rest(), lb.rest(), depth+1)
		}
		if !c.equal(ea, eb, depth+1) {
			return false
		}
	}
}

// bitsView is a bitstring: whole bytes, then tailBits (0..7) high bits of last.
type bitsView struct {
	whole    []byte
	last     byte
	tailBits uint8
}

func bitsOf(t Term) bitsView {
	switch v := t.(type) {
	case []byte:
		return bitsView{whole: v}
	case string:
		return bitsView{whole: unsafe.Slice(unsafe.StringData(v), len(v))} // read only
	case BitString:
		whole, last, tail, _ := bitStringParts(v)
		return bitsView{whole: whole, last: last, tailBits: tail}
	}
	return bitsView{}
}

// compareBits compares bitstrings bit by bit, a prefix before the longer string.
func compareBits(a, b bitsView) int {
	n := min(len(a.whole), len(b.whole))
	if r := bytes.Compare(a.whole[:n], b.whole[:n]); r != 0 {
		return r
	}
	// The next byte of each, partial or whole, with its length in bits.
	next := func(v bitsView, i int) (byte, int) {
		if i < len(v.whole) {
			return v.whole[i], 8
		}
		return v.last, int(v.tailBits)
	}
	ba, la := next(a, n)
	bb, lb := next(b, n)
	if la > 0 && lb > 0 {
		// Bits past the end of a partial byte are zero, so comparing the bytes compares the
		// common bits, and equal common bits leave it to the lengths.
		k := min(la, lb)
		mask := byte(0xff << (8 - k))
		if r := cmp.Compare(ba&mask, bb&mask); r != 0 {
			return r
		}
	}
	return cmp.Compare(len(a.whole)*8+int(a.tailBits), len(b.whole)*8+int(b.tailBits))
}

// Get returns the value under key, keys being compared with Equal (so Get("id") finds the
// binary key <<"id">>), and whether there is one. It looks at the pairs one by one.
func (m Map) Get(key Term) (Term, bool) {
	if i := m.Index(key); i >= 0 {
		return m[i].Value, true
	}
	return nil, false
}

// GetString returns the value under the binary key (an Elixir string key, as in JSON-like
// maps), and whether there is one.
func (m Map) GetString(key string) (Term, bool) {
	for i := range m {
		switch k := m[i].Key.(type) {
		case []byte:
			if string(k) == key {
				return m[i].Value, true
			}
		case string:
			if k == key {
				return m[i].Value, true
			}
		case BitString:
			if k.Bits == 8 && string(k.Bytes) == key {
				return m[i].Value, true
			}
		}
	}
	return nil, false
}

// GetAtom returns the value under the atom key (the keys of Elixir structs and keyword-style
// maps), and whether there is one.
func (m Map) GetAtom(key Atom) (Term, bool) {
	for i := range m {
		switch k := m[i].Key.(type) {
		case Atom:
			if k == key {
				return m[i].Value, true
			}
		case bool:
			if (k && key == "true") || (!k && key == "false") {
				return m[i].Value, true
			}
		case nil:
			if key == "nil" {
				return m[i].Value, true
			}
		}
	}
	return nil, false
}

// Has reports whether m has the key.
func (m Map) Has(key Term) bool { return m.Index(key) >= 0 }

// Index returns the index of the pair whose key is key (by Equal), or -1.
func (m Map) Index(key Term) int {
	var c comparer
	return c.index(m, key, 0)
}

// Keys returns the keys of m in the order of its pairs.
func (m Map) Keys() []Term {
	keys := make([]Term, len(m))
	for i := range m {
		keys[i] = m[i].Key
	}
	return keys
}

// Put sets the value under key: in place when m has the key, else by appending a pair. Like
// append, it returns the map to use from then on.
func (m Map) Put(key, value Term) Map {
	if i := m.Index(key); i >= 0 {
		m[i].Value = value
		return m
	}
	return append(m, MapPair{Key: key, Value: value})
}

// Delete removes the pair with key, if any, keeping the order of the others, and returns the
// shortened map. It changes the pairs of m in place, as slices.Delete does.
func (m Map) Delete(key Term) Map {
	if i := m.Index(key); i >= 0 {
		return slices.Delete(m, i, i+1)
	}
	return m
}

// Sorted returns a copy of m with its pairs in map key order (see CompareKeys), the order in
// which Erlang shows the keys of a small map.
func (m Map) Sorted() Map {
	var c comparer
	return c.sortedPairs(m, 0)
}

// StructModule returns the module of an Elixir struct (the atom under the __struct__ key, such
// as 'Elixir.MyApp.User'), and whether m is one.
func (m Map) StructModule() (Atom, bool) {
	v, ok := m.GetAtom("__struct__")
	if !ok {
		return "", false
	}
	a, ok := v.(Atom)
	return a, ok
}

// IsRecord reports whether t is a record with the tag and size, as erlang:is_record/3 does: a
// tuple of size elements whose first is the atom tag. Tagged tuples such as {ok, Value} and
// {error, Reason} are records in this sense.
func (t Tuple) IsRecord(tag Atom, size int) bool {
	if len(t) != size || size == 0 {
		return false
	}
	first, ok := t.Tag()
	return ok && first == tag
}

// Tag returns the first element of t if it is an atom (true and false included), and whether
// it is.
func (t Tuple) Tag() (Atom, bool) {
	if len(t) == 0 {
		return "", false
	}
	switch v := t[0].(type) {
	case Atom:
		return v, true
	case bool:
		return Atom(atomText(v)), true
	}
	return "", false
}
