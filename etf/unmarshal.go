package etf

import (
	"encoding"
	"errors"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Unmarshaler is implemented by Go types that read themselves from a term; it is the reverse of
// Marshaler. UnmarshalTerm is called with the term as decoded, or, from UnmarshalTerm, as given.
type Unmarshaler interface {
	UnmarshalTerm(t Term) error
}

// Unmarshal decodes data, a term as term_to_binary writes it, and stores it in the value v
// points to. See UnmarshalTerm.
func Unmarshal(data []byte, v any) error {
	if err := checkTarget(v); err != nil {
		return err
	}
	t, err := Decode(data)
	if err != nil {
		return err
	}
	return UnmarshalTerm(t, v)
}

// UnmarshalTerm stores the term t in the value v points to, in the manner of encoding/json:
//
//	Go value                 terms it takes
//	any (empty interface)    any term, stored as it is
//	other interface types    a term whose Go type implements the interface
//	bool                     true, false
//	string                   binary, atom, list of character codes (a charlist); the atom nil
//	                         leaves it as it is
//	[]byte                   binary (copied), list of bytes (net.IP, a TextUnmarshaler, is
//	                         read from its text: see below)
//	int, int8..int64         integer that fits, else an error
//	uint, uint8..uint64      integer that fits, else an error
//	float64, float32         float; integer (converted to the nearest float)
//	*big.Int, big.Int        integer
//	slice                    list, tuple; elements one by one
//	array                    list or tuple of exactly its length; [N]byte: binary of N bytes
//	map[K]V                  map; keys and values one by one (the pairs are added to the
//	                         map v holds, if any; two keys that become one Go key, as the
//	                         atom a and the binary "a" into string keys, are an error)
//	struct                   map with atom or binary keys; see below
//	pointer                  what it points to, allocated when nil; the atom nil makes it nil
//	Atom                     atom (true, false and nil included)
//	PID, Ref, Alias, Port    pid; reference; reference; port
//	ProcessID                the tuple {Name, Node} of two atoms
//	Tuple, Map, List,        tuple, map, list ([] included), list of bytes, improper list,
//	ByteList, ImproperList,  bitstring or binary, fun M:F/A, closure: the term as it is (Map,
//	BitString, ExportFun,    List and ByteList also take equal forms: a ByteList is a List of
//	LocalFun                 integers, a List of bytes a ByteList)
//	Unmarshaler              whatever its UnmarshalTerm accepts
//	encoding.TextUnmarshaler binary or charlist, its text given to UnmarshalText (time.Time,
//	                         net.IP, netip.Addr, ...); not atoms
//
// Of the ways a type can read itself, UnmarshalTerm wins over UnmarshalText, which in turn wins
// over the type's kind (a struct, a []byte); big.Int, though it has UnmarshalText, takes
// integers. Both methods are found on a pointer to the value. Their errors are returned as an
// *UnmarshalerError.
//
// The atom nil, which stands for Elixir's nil, sets pointers, slices and maps to nil, and leaves
// other Go values but Atom and any (which take it as the atom) as they are.
//
// A struct is filled from a map by its etf field tags, as Encode writes it: a key, an atom or a
// binary, is matched to the field of that name, or else to one whose name matches but for case,
// and keys that match no field are skipped. Two keys that match one field are an error. A
// struct that names an Elixir module (the __struct__ tag, see Encode) takes a map whose
// __struct__ key, when present, is that module. A struct type that Encode refuses, for its
// tags or for fields with one key that no rule gives to either, is refused with the same
// *UnsupportedTypeError. A struct whose fields are all unexported and that names no module
// (sync.Mutex, or a type of another package that keeps its state to itself) takes no map, as
// Encode refuses it: no key could fill it, and a success that stored nothing would hide that.
//
// UnmarshalTerm stops at the first term that does not fit and returns an *UnmarshalTypeError
// that says where, such as "etf: cannot unmarshal binary into .Author.ID of type int". What was
// stored before stays stored. v must be a non-nil pointer (else an *InvalidUnmarshalError).
func UnmarshalTerm(t Term, v any) error {
	if err := checkTarget(v); err != nil {
		return err
	}
	var u unmarshalState
	return u.value(t, reflect.ValueOf(v).Elem(), 0)
}

func checkTarget(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	return nil
}

// InvalidUnmarshalError is returned for an argument to Unmarshal or UnmarshalTerm that is not a
// non-nil pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "etf: Unmarshal(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "etf: Unmarshal(non-pointer " + e.Type.String() + ")"
	}
	return "etf: Unmarshal(nil " + e.Type.String() + ")"
}

// UnmarshalTypeError is returned when a term cannot be stored in the Go value at hand.
type UnmarshalTypeError struct {
	Value  string       // the term, in words: "binary", "integer 300", "atom ok", ...
	Type   reflect.Type // the Go type it could not be stored in
	Path   string       // where, from the value passed in: ".Author.ID", "[3]", `["key"]`; "" for the top
	Reason string       // why, when the types alone do not say; may be empty
}

func (e *UnmarshalTypeError) Error() string {
	var b strings.Builder
	b.WriteString("etf: cannot unmarshal ")
	b.WriteString(e.Value)
	b.WriteString(" into ")
	if e.Path == "" {
		b.WriteString("Go value")
	} else {
		b.WriteString(e.Path)
	}
	b.WriteString(" of type ")
	b.WriteString(e.Type.String())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// UnmarshalerError wraps an error returned by a type's UnmarshalTerm method, or by the
// UnmarshalText method of a type read from text.
type UnmarshalerError struct {
	Type   reflect.Type
	Path   string
	Err    error
	method string // the method that failed, when not UnmarshalTerm
}

func (e *UnmarshalerError) Error() string {
	where := e.Path
	if where == "" {
		where = "Go value"
	}
	method := e.method
	if method == "" {
		method = "UnmarshalTerm"
	}
	return "etf: " + method + " of " + e.Type.String() + " at " + where + ": " + e.Err.Error()
}

func (e *UnmarshalerError) Unwrap() error { return e.Err }

var (
	unmarshalerType  = reflect.TypeFor[Unmarshaler]()
	bigIntType       = reflect.TypeFor[big.Int]()
	bigIntPtrType    = reflect.TypeFor[*big.Int]()
	pidType          = reflect.TypeFor[PID]()
	refType          = reflect.TypeFor[Ref]()
	aliasType        = reflect.TypeFor[Alias]()
	portType         = reflect.TypeFor[Port]()
	processIDType    = reflect.TypeFor[ProcessID]()
	tupleType        = reflect.TypeFor[Tuple]()
	listType         = reflect.TypeFor[List]()
	byteListType     = reflect.TypeFor[ByteList]()
	improperListType = reflect.TypeFor[ImproperList]()
	mapType          = reflect.TypeFor[Map]()
	bitStringType    = reflect.TypeFor[BitString]()
	exportFunType    = reflect.TypeFor[ExportFun]()
	localFunType     = reflect.TypeFor[LocalFun]()
)

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// pathElem is one step from the value passed in to the value being filled.
type pathElem struct {
	field string // a struct field's Go name
	index int    // a slice or array index, when field and key are empty
	key   string // a map key, as Go would print it
}

// unmarshalState is one UnmarshalTerm call: the path to the value being filled.
type unmarshalState struct {
	path []pathElem
}

func (u *unmarshalState) pathString() string {
	var b strings.Builder
	for _, p := range u.path {
		switch {
		case p.field != "":
			b.WriteByte('.')
			b.WriteString(p.field)
		case p.key != "":
			b.WriteByte('[')
			b.WriteString(p.key)
			b.WriteByte(']')
		default:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func (u *unmarshalState) typeError(t Term, typ reflect.Type, reason string) error {
	return &UnmarshalTypeError{Value: describeTerm(t), Type: typ, Path: u.pathString(), Reason: reason}
}

// canonical returns t as a term of the term model: decoded terms as they are, other Go values
// as Encode would write them. A value with no Erlang form becomes an invalidTerm.
func canonical(t Term) Term {
	switch v := t.(type) {
	case bool, int64, float64, []byte, List, ByteList, ImproperList, Tuple, Map, PID, Port, Ref,
		ExportFun, LocalFun, invalidTerm:
		return t
	case Atom:
		switch v {
		case "true":
			return true
		case "false":
			return false
		}
		return t
	case nil:
		return Atom("nil")
	case string:
		return []byte(v)
	case BitString:
		if _, _, _, err := bitStringParts(v); err != nil {
			return invalidTerm{err}
		}
		if v.Bits == 8 {
			return v.Bytes
		}
		return t
	case *big.Int:
		if v == nil {
			return Atom("nil")
		}
		if v.IsInt64() {
			return v.Int64()
		}
		return t
	case int, int8, int16, int32, uint, uint8, uint16, uint32, uint64, uintptr, float32, big.Int:
		switch n := numberOf(t); n.kind {
		case numInt:
			return n.i
		case numUint:
			return new(big.Int).SetUint64(n.u)
		case numBig:
			return n.z
		default:
			return n.f
		}
	case []Term:
		return List(v)
	case Alias:
		return Ref(v)
	case ProcessID:
		return Tuple{v.Name, v.Node}
	case *LocalFun:
		if v == nil {
			return Atom("nil")
		}
		return *v
	}
	return normalize(t)
}

// describeTerm names a term for error messages, with its value when that is short.
func describeTerm(t Term) string {
	switch v := t.(type) {
	case Atom:
		return "atom " + string(v)
	case bool:
		return "atom " + strconv.FormatBool(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case *big.Int:
		if v.BitLen() <= 128 {
			return "integer " + v.String()
		}
		return "integer"
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case []byte:
		return "binary"
	case BitString:
		return "bitstring"
	case List, ByteList:
		if reflect.ValueOf(v).Len() == 0 {
			return "[]"
		}
		return "list"
	case ImproperList:
		return "improper list"
	case Tuple:
		return "tuple of " + strconv.Itoa(len(v))
	case Map:
		if mod, ok := v.StructModule(); ok {
			return "struct " + string(mod)
		}
		return "map"
	case PID:
		return "pid"
	case Port:
		return "port"
	case Ref:
		return "reference"
	case ExportFun, LocalFun:
		return "fun"
	case invalidTerm:
		return "Go value with no Erlang form"
	}
	return "term"
}

func isNilAtom(t Term) bool {
	a, ok := t.(Atom)
	return ok && a == "nil"
}

func (u *unmarshalState) value(t Term, v reflect.Value, depth int) error {
	if depth > DefaultMaxDepth {
		return &UnmarshalTypeError{Value: "term", Type: v.Type(), Path: u.pathString(), Reason: ErrTooDeep.Error()}
	}
	typ := v.Type()

	// Types that unmarshal themselves: through a pointer to an addressable value, or as a
	// pointer that is not nil or is given something other than nil.
	if typ.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(typ).Implements(unmarshalerType) {
		return u.callUnmarshaler(t, v.Addr(), typ)
	}
	if typ.Kind() == reflect.Pointer && typ.Implements(unmarshalerType) && !isNilAtom(canonicalNil(t)) {
		if v.IsNil() {
			v.Set(reflect.New(typ.Elem()))
		}
		return u.callUnmarshaler(t, v, typ)
	}

	if typ.Kind() == reflect.Interface {
		if typ.NumMethod() == 0 {
			if t == nil {
				v.SetZero()
			} else {
				v.Set(reflect.ValueOf(t))
			}
			return nil
		}
		if t != nil && reflect.TypeOf(t).Implements(typ) {
			v.Set(reflect.ValueOf(t))
			return nil
		}
		return u.typeError(canonical(t), typ, "")
	}

	t = canonical(t)
	if inv, ok := t.(invalidTerm); ok {
		return &UnmarshalTypeError{Value: describeTerm(t), Type: typ, Path: u.pathString(), Reason: inv.err.Error()}
	}
	if isNilAtom(t) && typ != atomType {
		// Elixir's nil: no value.
		switch typ.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}

	if typ == bigIntPtrType {
		z, ok := integerOf(t)
		if !ok {
			return u.typeError(t, typ, "")
		}
		v.Set(reflect.ValueOf(z))
		return nil
	}
	if typ.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(typ.Elem()))
		}
		return u.value(t, v.Elem(), depth+1)
	}
	if ok, err := u.termType(t, v); ok || err != nil {
		return err
	}
	// A type read from text (time.Time, net.IP, ...), as Encode writes it; after the term
	// types, for big.Int has UnmarshalText too and takes integers.
	if v.CanAddr() && reflect.PointerTo(typ).Implements(textUnmarshalerType) {
		return u.textValue(t, v)
	}

	switch typ.Kind() {
	case reflect.Bool:
		b, ok := t.(bool)
		if !ok {
			return u.typeError(t, typ, "")
		}
		v.SetBool(b)
		return nil
	case reflect.String:
		return u.stringValue(t, v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch n := t.(type) {
		case int64:
			if v.OverflowInt(n) {
				return u.typeError(t, typ, "out of range")
			}
			v.SetInt(n)
			return nil
		case *big.Int: // canonical terms are *big.Int only beyond int64
			return u.typeError(t, typ, "out of range")
		}
		return u.typeError(t, typ, "")
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var n uint64
		switch x := t.(type) {
		case int64:
			if x < 0 {
				return u.typeError(t, typ, "out of range")
			}
			n = uint64(x)
		case *big.Int:
			if !x.IsUint64() {
				return u.typeError(t, typ, "out of range")
			}
			n = x.Uint64()
		default:
			return u.typeError(t, typ, "")
		}
		if v.OverflowUint(n) {
			return u.typeError(t, typ, "out of range")
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch n := t.(type) {
		case float64:
			f = n
		case int64:
			f = float64(n)
		case *big.Int:
			f, _ = new(big.Float).SetInt(n).Float64()
		default:
			return u.typeError(t, typ, "")
		}
		if math.IsInf(f, 0) || v.OverflowFloat(f) {
			return u.typeError(t, typ, "out of range")
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			if b, ok := bytesOf(t); ok {
				v.SetBytes(append(make([]byte, 0, len(b)), b...))
				return nil
			}
		}
		return u.sequence(t, v, depth)
	case reflect.Array:
		if typ.Elem().Kind() == reflect.Uint8 {
			if b, ok := bytesOf(t); ok {
				if len(b) != v.Len() {
					return u.typeError(t, typ, strconv.Itoa(len(b))+" bytes for "+strconv.Itoa(v.Len()))
				}
				for i, c := range b {
					v.Index(i).SetUint(uint64(c))
				}
				return nil
			}
		}
		return u.sequence(t, v, depth)
	case reflect.Map:
		return u.goMap(t, v, depth)
	case reflect.Struct:
		return u.structValue(t, v, depth)
	}
	return &UnmarshalTypeError{Value: describeTerm(t), Type: typ, Path: u.pathString(), Reason: "no term unmarshals into a " + typ.Kind().String()}
}

// canonicalNil returns t, with Go's nil as the atom nil, without converting anything else.
func canonicalNil(t Term) Term {
	if t == nil {
		return Atom("nil")
	}
	if a, ok := t.(Atom); ok {
		return a
	}
	return t
}

func (u *unmarshalState) callUnmarshaler(t Term, p reflect.Value, typ reflect.Type) error {
	if err := p.Interface().(Unmarshaler).UnmarshalTerm(t); err != nil {
		var te *UnmarshalTypeError
		if errors.As(err, &te) {
			// An UnmarshalTerm that itself calls UnmarshalTerm: prefix the path.
			te2 := *te
			te2.Path = u.pathString() + te.Path
			return &te2
		}
		return &UnmarshalerError{Type: typ, Path: u.pathString(), Err: err}
	}
	return nil
}

// termType stores t when v is one of the term model's types, and says whether it was.
func (u *unmarshalState) termType(t Term, v reflect.Value) (bool, error) {
	typ := v.Type()
	var x any
	ok := true
	switch typ {
	case atomType:
		switch a := t.(type) {
		case Atom:
			x = a
		case bool:
			x = Atom(strconv.FormatBool(a))
		default:
			ok = false
		}
	case pidType:
		x, ok = t.(PID)
	case refType:
		x, ok = t.(Ref)
	case aliasType:
		var r Ref
		r, ok = t.(Ref)
		x = Alias(r)
	case portType:
		x, ok = t.(Port)
	case processIDType:
		tu, isTuple := t.(Tuple)
		if ok = isTuple && len(tu) == 2; ok {
			name, ok1 := tu[0].(Atom)
			node, ok2 := tu[1].(Atom)
			ok = ok1 && ok2
			x = ProcessID{Name: name, Node: node}
		}
	case tupleType:
		x, ok = t.(Tuple)
	case mapType:
		x, ok = t.(Map)
	case improperListType:
		x, ok = t.(ImproperList)
	case exportFunType:
		x, ok = t.(ExportFun)
	case localFunType:
		x, ok = t.(LocalFun)
	case bitStringType:
		switch b := t.(type) {
		case BitString:
			x = b
		case []byte:
			x = BitString{Bytes: b, Bits: 8}
		default:
			ok = false
		}
	case listType:
		switch l := t.(type) {
		case List:
			x = l
		case ByteList:
			list := make(List, len(l))
			for i, b := range l {
				list[i] = int64(b)
			}
			x = list
		default:
			ok = false
		}
	case byteListType:
		b, isBytes := listBytes(t)
		x, ok = ByteList(b), isBytes
	case bigIntType:
		var z *big.Int
		z, ok = integerOf(t)
		if ok {
			x = *new(big.Int).Set(z)
		}
	default:
		return false, nil
	}
	if !ok {
		return true, u.typeError(t, typ, "")
	}
	v.Set(reflect.ValueOf(x))
	return true, nil
}

// integerOf returns an integer term as a *big.Int (a new one for int64).
func integerOf(t Term) (*big.Int, bool) {
	switch n := t.(type) {
	case int64:
		return big.NewInt(n), true
	case *big.Int:
		return new(big.Int).Set(n), true
	}
	return nil, false
}

// bytesOf returns the bytes of a binary or of a list of bytes.
func bytesOf(t Term) ([]byte, bool) {
	if b, ok := t.([]byte); ok {
		return b, true
	}
	return listBytes(t)
}

// listBytes returns the elements of a proper list of integers 0..255.
func listBytes(t Term) ([]byte, bool) {
	switch l := t.(type) {
	case ByteList:
		return l, true
	case List:
		b := make([]byte, len(l))
		for i, e := range l {
			n, ok := e.(int64)
			if !ok || n < 0 || n > 255 {
				return nil, false
			}
			b[i] = byte(n)
		}
		return b, true
	}
	return nil, false
}

func (u *unmarshalState) stringValue(t Term, v reflect.Value) error {
	switch s := t.(type) {
	case []byte:
		v.SetString(string(s))
	case Atom:
		v.SetString(string(s))
	case bool:
		v.SetString(strconv.FormatBool(s))
	case ByteList, List:
		b, ok := charlistText(s)
		if !ok {
			return u.typeError(t, v.Type(), "not a list of character codes")
		}
		v.SetString(string(b))
	default:
		return u.typeError(t, v.Type(), "")
	}
	return nil
}

// textValue gives a type read from text the text of a binary or a charlist, as a string takes
// them. Atoms are no text here: Encode writes such a type as a binary, and an atom taken for
// one would be a term no Go value of the type ever was.
func (u *unmarshalState) textValue(t Term, v reflect.Value) error {
	var text []byte
	switch s := t.(type) {
	case []byte:
		text = s
	case ByteList, List:
		b, ok := charlistText(s)
		if !ok {
			return u.typeError(t, v.Type(), "not a list of character codes")
		}
		text = b
	default:
		return u.typeError(t, v.Type(), "")
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(text); err != nil {
		return &UnmarshalerError{Type: v.Type(), Path: u.pathString(), Err: err, method: "UnmarshalText"}
	}
	return nil
}

// charlistText returns the UTF-8 text of a list of character codes, a ByteList or a List; ok is
// false for a List with anything but code points in it.
func charlistText(l Term) (text []byte, ok bool) {
	switch s := l.(type) {
	case ByteList:
		// Character codes 0..255, Latin-1: each is its own code point.
		b := make([]byte, 0, len(s))
		for _, c := range s {
			b = utf8.AppendRune(b, rune(c))
		}
		return b, true
	case List:
		b := make([]byte, 0, len(s))
		for _, e := range s {
			c, ok := e.(int64)
			if !ok || c < 0 || c > utf8.MaxRune || (c >= 0xd800 && c <= 0xdfff) {
				return nil, false
			}
			b = utf8.AppendRune(b, rune(c))
		}
		return b, true
	}
	return nil, false
}

// sequence fills a slice or an array from a list or a tuple.
func (u *unmarshalState) sequence(t Term, v reflect.Value, depth int) error {
	var elems []Term
	var byteElems ByteList
	switch s := t.(type) {
	case List:
		elems = s
	case Tuple:
		elems = s
	case ByteList:
		byteElems = s
	default:
		return u.typeError(t, v.Type(), "")
	}
	n := len(elems) + len(byteElems)
	if v.Kind() == reflect.Array {
		if n != v.Len() {
			return u.typeError(t, v.Type(), strconv.Itoa(n)+" elements for "+strconv.Itoa(v.Len()))
		}
	} else {
		v.Set(reflect.MakeSlice(v.Type(), n, n))
	}
	for i := 0; i < n; i++ {
		var e Term
		if elems != nil {
			e = elems[i]
		} else {
			e = int64(byteElems[i])
		}
		u.path = append(u.path, pathElem{index: i})
		if err := u.value(e, v.Index(i), depth+1); err != nil {
			return err
		}
		u.path = u.path[:len(u.path)-1]
	}
	return nil
}

func (u *unmarshalState) goMap(t Term, v reflect.Value, depth int) error {
	m, ok := t.(Map)
	if !ok {
		return u.typeError(t, v.Type(), "")
	}
	typ := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(typ, len(m)))
	}
	// Distinct Erlang keys can be one Go key (an atom and a binary of the same text; 1 and 1.0
	// into float64 keys): one would overwrite the other. The map's length tells when it
	// started empty; otherwise the keys written are kept to tell those from the entries that
	// were there before, which the map's pairs may replace.
	var written reflect.Value
	if v.Len() > 0 {
		written = reflect.MakeMapWithSize(reflect.MapOf(typ.Key(), reflect.TypeFor[struct{}]()), len(m))
	}
	key := reflect.New(typ.Key()).Elem()
	elem := reflect.New(typ.Elem()).Elem()
	for _, p := range m {
		u.path = append(u.path, pathElem{key: keyString(p.Key)})
		key.SetZero()
		if err := u.value(p.Key, key, depth+1); err != nil {
			return err
		}
		if !key.Comparable() {
			// An interface (or an array or struct of them) holding a slice, as a binary, list,
			// tuple or map key does: Go cannot hash it.
			what := "this key"
			if key.Kind() == reflect.Interface {
				what = "a " + key.Elem().Type().String()
			}
			return u.typeError(p.Key, typ.Key(), what+" cannot be a Go map key; use Map, or a map with string keys")
		}
		elem.SetZero()
		if err := u.value(p.Value, elem, depth+1); err != nil {
			return err
		}
		n := v.Len()
		if written.IsValid() {
			if written.MapIndex(key).IsValid() {
				return u.typeError(p.Key, typ.Key(), "another key of the map is the same Go key")
			}
			written.SetMapIndex(key, reflect.Zero(written.Type().Elem()))
		}
		v.SetMapIndex(key, elem)
		if !written.IsValid() && v.Len() == n {
			return u.typeError(p.Key, typ.Key(), "another key of the map is the same Go key")
		}
		u.path = u.path[:len(u.path)-1]
	}
	return nil
}

// keyString shows a map key in a path.
func keyString(k Term) string {
	switch v := k.(type) {
	case []byte:
		return strconv.Quote(string(v))
	case string:
		return strconv.Quote(v)
	case Atom:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return describeTerm(canonical(k))
}

// unmarshalFields indexes the fields of a struct type by key, for filling it from maps.
type unmarshalFields struct {
	info   *structInfo
	byName map[string]int // key -> index into info.fields
}

var unmarshalFieldCache sync.Map // reflect.Type -> *unmarshalFields

func cachedUnmarshalFields(t reflect.Type) (*unmarshalFields, error) {
	if f, ok := unmarshalFieldCache.Load(t); ok {
		return f.(*unmarshalFields), nil
	}
	info, err := cachedStructInfo(t)
	if err != nil {
		return nil, err
	}
	f := &unmarshalFields{info: info, byName: make(map[string]int, len(info.fields))}
	for i, field := range info.fields {
		f.byName[string(field.name)] = i
	}
	actual, _ := unmarshalFieldCache.LoadOrStore(t, f)
	return actual.(*unmarshalFields), nil
}

// field returns the field for key: the one of that name, else one whose name equals it but for
// case.
func (f *unmarshalFields) field(key string) (*structField, bool) {
	if i, ok := f.byName[key]; ok {
		return &f.info.fields[i], true
	}
	for i := range f.info.fields {
		if strings.EqualFold(string(f.info.fields[i].name), key) {
			return &f.info.fields[i], true
		}
	}
	return nil, false
}

func (u *unmarshalState) structValue(t Term, v reflect.Value, depth int) error {
	typ := v.Type()
	m, ok := t.(Map)
	if !ok {
		return u.typeError(t, typ, "")
	}
	fields, err := cachedUnmarshalFields(typ)
	if err != nil {
		return err
	}
	if fields.info.hidesAll() {
		return u.typeError(t, typ, "its fields are unexported, so no key can fill it: give it an UnmarshalTerm method, or unmarshal into a type of your own that has one")
	}
	module := fields.info.module
	// Two keys that name one field (an atom and a binary of the same text, or names that
	// differ in case) would set it twice, the last one winning: an error, as for Go maps.
	var setBuf [16]*structField
	set := setBuf[:0]
	for _, p := range m {
		var key string
		switch k := p.Key.(type) {
		case Atom:
			key = string(k)
		case bool:
			key = strconv.FormatBool(k)
		case []byte:
			key = string(k)
		case string:
			key = k
		default:
			continue // no field has such a name
		}
		if module != "" && key == "__struct__" {
			if mod, isAtom := p.Value.(Atom); !isAtom || mod != module {
				return u.typeError(t, typ, "not a %"+strings.TrimPrefix(string(module), "Elixir.")+"{} ("+string(module)+")")
			}
			continue
		}
		f, ok := fields.field(key)
		if !ok {
			continue
		}
		u.path = append(u.path, pathElem{field: fieldPathName(typ, f)})
		if slices.Contains(set, f) {
			return u.typeError(p.Key, f.typ, "another key of the map names the same field")
		}
		set = append(set, f)
		fv, err := fieldByIndexAlloc(v, f.index)
		if err != nil {
			return u.typeError(p.Value, f.typ, err.Error())
		}
		if err := u.value(p.Value, fv, depth+1); err != nil {
			return err
		}
		u.path = u.path[:len(u.path)-1]
	}
	return nil
}

// fieldPathName is the Go name of a field, for paths: what the code that reads the error knows.
func fieldPathName(t reflect.Type, f *structField) string {
	return t.FieldByIndex(f.index).Name
}

// fieldByIndexAlloc is reflect.Value.FieldByIndex that allocates the nil pointers to embedded structs
// on the way.
func fieldByIndexAlloc(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errors.New("cannot set embedded pointer to unexported struct " + v.Type().Elem().String())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
