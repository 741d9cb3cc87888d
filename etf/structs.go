package etf

import (
	"cmp"
	"encoding"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Marshaler is implemented by Go types that choose their own Erlang form. Encode calls
// MarshalTerm and encodes the term it returns in place of the value.
type Marshaler interface {
	MarshalTerm() (Term, error)
}

var (
	marshalerType     = reflect.TypeFor[Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	atomType          = reflect.TypeFor[Atom]()
)

// termTypes are the types of the term model: where reflection meets one, the encoder hands it to
// the type switch of encodeState.term rather than walk it by its kind.
var termTypes = map[reflect.Type]bool{
	atomType:                        true,
	reflect.TypeFor[Encoded]():      true,
	reflect.TypeFor[Tuple]():        true,
	reflect.TypeFor[List]():         true,
	reflect.TypeFor[ByteList]():     true,
	reflect.TypeFor[ImproperList](): true,
	reflect.TypeFor[BitString]():    true,
	reflect.TypeFor[Map]():          true,
	reflect.TypeFor[PID]():          true,
	reflect.TypeFor[Ref]():          true,
	reflect.TypeFor[Alias]():        true,
	reflect.TypeFor[ProcessID]():    true,
	reflect.TypeFor[Port]():         true,
	reflect.TypeFor[ExportFun]():    true,
	reflect.TypeFor[LocalFun]():     true,
	reflect.TypeFor[big.Int]():      true,
	reflect.TypeFor[*big.Int]():     true,
}

// structField is one field of a struct as the encoder writes it and the decoder fills it: the
// map key, and where the field sits.
type structField struct {
	name      Atom         // the map key: the tag's name, or the Go field name
	index     []int        // path for reflect.Value.FieldByIndex; longer than 1 for embedded fields
	typ       reflect.Type // the field's type
	omitEmpty bool         // ",omitempty": left out when false, 0, "", nil or of length 0
	omitZero  bool         // ",omitzero": left out when zero (IsZero() bool if the type has it)
	tagged    bool         // the name came from a tag (decides clashes between embedded fields)
}

// structInfo is what the etf tags of a struct type say.
type structInfo struct {
	fields []structField // in the order of the encoding: field order, embedded fields in place
	// module is the atom of the Elixir struct this Go struct stands for, from the blank field
	// `_ struct{} etf:"__struct__,Elixir.Mod"`; empty when the struct is a plain map.
	module Atom
	// unexported says that the struct, or one embedded in it, has unexported fields (not
	// blank, not tagged "-"): state that no key shows.
	unexported bool
}

// structInfos caches structInfo (or the error) per struct type. It only ever grows with the
// struct types a program encodes, like encoding/json's cache.
var structInfos sync.Map // reflect.Type -> structInfoResult

type structInfoResult struct {
	info *structInfo
	err  error
}

// cachedStructInfo returns the fields of struct type t and its Elixir module, or an
// *UnsupportedTypeError when its tags are wrong (a key that is no valid atom, a __struct__
// field that is not blank, two __struct__ fields) or two of its fields have one key that no
// rule gives to either (see newStructInfo).
func cachedStructInfo(t reflect.Type) (*structInfo, error) {
	if r, ok := structInfos.Load(t); ok {
		r := r.(structInfoResult)
		return r.info, r.err
	}
	info, err := newStructInfo(t)
	r, _ := structInfos.LoadOrStore(t, structInfoResult{info, err})
	res := r.(structInfoResult)
	return res.info, res.err
}

// cachedFields returns the fields of struct type t, nil when cachedStructInfo refuses it.
func cachedFields(t reflect.Type) []structField {
	info, err := cachedStructInfo(t)
	if err != nil {
		return nil
	}
	return info.fields
}

// parseTag splits an etf tag into the name and its options.
func parseTag(tag string) (name string, opts []string) {
	name, rest, found := strings.Cut(tag, ",")
	if found {
		opts = strings.Split(rest, ",")
	}
	return name, opts
}

// newStructInfo reads the fields of struct type t. Each exported field is a key, named by its
// etf tag or else by its Go name, and the fields of an embedded struct without a tag count as
// fields of t. Of fields with one key, as in encoding/json, the shallowest wins (a field of t
// over one of a struct embedded in it), then, among those at one depth, a field whose key
// comes from its tag over fields named by their Go name. Where that leaves a tie, encoding/json
// leaves all the tied fields out; here it is an *UnsupportedTypeError that names them ("fields
// A and B both have key x"), for their values would otherwise vanish from the term unseen.
func newStructInfo(t reflect.Type) (*structInfo, error) {
	info := &structInfo{}
	var fields []structField

	// Breadth-first over embedded structs, as encoding/json does: fields found at a smaller
	// depth hide those deeper down.
	type pending struct {
		typ   reflect.Type
		index []int
	}
	current := []pending{}
	next := []pending{{typ: t}}
	visited := map[reflect.Type]bool{} // struct types met at a smaller depth
	for len(next) > 0 {
		current, next = next, current[:0]
		for _, p := range current {
			if visited[p.typ] {
				continue
			}
			for i := 0; i < p.typ.NumField(); i++ {
				sf := p.typ.Field(i)
				tag, hasTag := sf.Tag.Lookup("etf")
				if tag == "-" {
					continue // left out on purpose: no hidden state
				}
				name, opts := parseTag(tag)
				if sf.Name == "_" {
					if name != "__struct__" {
						continue
					}
					if len(p.index) > 0 {
						continue // only the outermost struct names its module
					}
					if len(opts) != 1 || opts[0] == "" {
						return nil, &UnsupportedTypeError{Type: t, Reason: `the __struct__ tag is "__struct__,Module", with one module atom`}
					}
					if info.module != "" {
						return nil, &UnsupportedTypeError{Type: t, Reason: "two __struct__ fields"}
					}
					if err := checkAtom(Atom(opts[0])); err != nil {
						return nil, &UnsupportedTypeError{Type: t, Reason: "module " + opts[0] + ": " + err.Error()}
					}
					info.module = Atom(opts[0])
					continue
				}
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						info.unexported = true // an embedded unexported non-struct has no fields to show
						continue
					}
					if name == "" && ft.Kind() == reflect.Struct && !termTypes[ft] {
						index := append(append([]int(nil), p.index...), i)
						next = append(next, pending{typ: ft, index: index})
						continue
					}
				} else if !sf.IsExported() {
					info.unexported = true
					continue
				}
				f := structField{
					name:   Atom(sf.Name),
					index:  append(append([]int(nil), p.index...), i),
					typ:    sf.Type,
					tagged: hasTag && name != "",
				}
				if f.tagged {
					f.name = Atom(name)
				}
				for _, o := range opts {
					switch o {
					case "omitempty":
						f.omitEmpty = true
					case "omitzero":
						f.omitZero = true
					}
				}
				if err := checkAtom(f.name); err != nil {
					return nil, &UnsupportedTypeError{Type: t, Reason: "field " + sf.Name + ": " + err.Error()}
				}
				fields = append(fields, f)
			}
		}
		// A type embedded twice at one depth is walked twice: its fields then clash, which
		// is an error.
		for _, p := range current {
			visited[p.typ] = true
		}
	}

	// Of several fields with one name, the shallowest wins, then a tagged one. A tie at that
	// point is an error: encoding/json leaves the tied fields out, and their values would be
	// lost without a word.
	slices.SortStableFunc(fields, func(a, b structField) int {
		if c := strings.Compare(string(a.name), string(b.name)); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return 0
	})
	kept := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		if j-i > 1 && len(fields[i].index) == len(fields[i+1].index) && fields[i].tagged == fields[i+1].tagged {
			return nil, &UnsupportedTypeError{Type: t, Reason: clashReason(t, fields[i:j])}
		}
		kept = append(kept, fields[i])
		i = j
	}
	fields = kept
	slices.SortFunc(fields, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	for _, f := range fields {
		if f.name == "__struct__" && info.module != "" {
			return nil, &UnsupportedTypeError{Type: t, Reason: "a field named __struct__ besides the module tag"}
		}
	}
	info.fields = fields
	return info, nil
}

// clashReason says which fields of struct type t share a key with none to tell them apart:
// those of same, sorted as newStructInfo sorts them, that are as shallow and as tagged as the
// first, named by their Go names from t ("Inner.ID" for a field of an embedded struct).
func clashReason(t reflect.Type, same []structField) string {
	var names []string
	var tied [][]int
	for _, f := range same {
		if len(f.index) == len(same[0].index) && f.tagged == same[0].tagged {
			tied = append(tied, f.index)
		}
	}
	slices.SortFunc(tied, slices.Compare)
	for _, index := range tied {
		names = append(names, fieldPath(t, index))
	}
	verb := "both have"
	if len(names) > 2 {
		verb = "all have"
	}
	return "fields " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] +
		" " + verb + " key " + string(same[0].name)
}

// fieldPath names the field of struct type t at index by the Go names on the way to it.
func fieldPath(t reflect.Type, index []int) string {
	names := make([]string, len(index))
	for i, x := range index {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f := t.Field(x)
		names[i] = f.Name
		t = f.Type
	}
	return strings.Join(names, ".")
}

// encoderFunc writes a Go value of one type, found by reflection.
type encoderFunc func(s *encodeState, v reflect.Value) error

// encoders caches the encoderFunc of every type reflection has met.
var encoders sync.Map // reflect.Type -> encoderFunc

// reflectValue writes a value that the type switch of term does not know.
func (s *encodeState) reflectValue(t Term) error {
	v := reflect.ValueOf(t)
	// The encoder functions take a pointer that escape analysis cannot follow; handing them a
	// copy keeps s itself on the stack on the paths that need no reflection.
	r := new(encodeState)
	*r = *s
	err := typeEncoder(v.Type())(r, v)
	s.buf, s.depth = r.buf, r.depth
	return err
}

func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encoderFunc)
	}
	// A recursive type (type T struct{ Next *T }) asks for its own encoder while it is being
	// built: hand out one that waits for it.
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoders.LoadOrStore(t, encoderFunc(func(s *encodeState, v reflect.Value) error {
		wg.Wait()
		return f(s, v)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t, true)
	wg.Done()
	encoders.Store(t, f)
	return f
}

// newTypeEncoder builds the encoder of t. With allowAddr, a value whose pointer has MarshalTerm
// or MarshalText is marshaled through its address when it has one.
func newTypeEncoder(t reflect.Type, allowAddr bool) encoderFunc {
	if t.Kind() != reflect.Pointer && allowAddr && reflect.PointerTo(t).Implements(marshalerType) {
		return condAddrEncoder(addrMarshalerEncoder, newTypeEncoder(t, false))
	}
	if t.Implements(marshalerType) {
		return marshalerEncoder
	}
	if termTypes[t] {
		return termTypeEncoder
	}
	// A type with a text form (time.Time, net.IP, netip.Addr, ...) is the binary of its text,
	// as encoding/json makes it a string: walked by its kind, its state, in unexported fields,
	// would be lost, and net.IP would be raw address bytes. After the term types, for *big.Int
	// has MarshalText too and is an integer.
	if t.Kind() != reflect.Pointer && allowAddr && reflect.PointerTo(t).Implements(textMarshalerType) {
		return condAddrEncoder(addrTextMarshalerEncoder, newTypeEncoder(t, false))
	}
	if t.Implements(textMarshalerType) {
		return textMarshalerEncoder
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(s *encodeState, v reflect.Value) error {
			if v.Bool() {
				return s.atom("true")
			}
			return s.atom("false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(s *encodeState, v reflect.Value) error {
			s.int(v.Int())
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(s *encodeState, v reflect.Value) error {
			s.uint(v.Uint())
			return nil
		}
	case reflect.Float32, reflect.Float64:
		return func(s *encodeState, v reflect.Value) error { return s.float(v.Float()) }
	case reflect.String:
		return func(s *encodeState, v reflect.Value) error { return s.binaryString(v.String()) }
	case reflect.Interface:
		return func(s *encodeState, v reflect.Value) error {
			if v.IsNil() {
				return s.atom("nil")
			}
			if !v.CanInterface() {
				return &UnsupportedTypeError{Type: v.Type(), Reason: "reached through an unexported field"}
			}
			return s.term(v.Elem().Interface())
		}
	case reflect.Pointer:
		elem := typeEncoder(t.Elem())
		return func(s *encodeState, v reflect.Value) error {
			if v.IsNil() {
				return s.atom("nil")
			}
			if err := s.enter(); err != nil {
				return err
			}
			if err := elem(s, v.Elem()); err != nil {
				return err
			}
			s.leave()
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !marshalsItself(t.Elem()) {
			return func(s *encodeState, v reflect.Value) error { return s.binary(v.Bytes()) }
		}
		return newListEncoder(t)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !marshalsItself(t.Elem()) {
			return byteArrayEncoder
		}
		return newListEncoder(t)
	case reflect.Map:
		return newMapEncoder(t)
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return func(s *encodeState, v reflect.Value) error {
		return &UnsupportedTypeError{Type: v.Type()}
	}
}

// marshalsItself reports whether t or its pointer has MarshalTerm or MarshalText: a byte of such
// a type is an element of a list, written as it says, not a byte of a binary.
func marshalsItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(marshalerType) || p.Implements(marshalerType) ||
		t.Implements(textMarshalerType) || p.Implements(textMarshalerType)
}

// termTypeEncoder hands a term-model value met by reflection to the type switch.
func termTypeEncoder(s *encodeState, v reflect.Value) error {
	if !v.CanInterface() {
		return &UnsupportedTypeError{Type: v.Type(), Reason: "reached through an unexported field"}
	}
	return s.term(v.Interface())
}

func marshalerEncoder(s *encodeState, v reflect.Value) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return s.atom("nil")
	}
	if !v.CanInterface() {
		return &UnsupportedTypeError{Type: v.Type(), Reason: "reached through an unexported field"}
	}
	return s.marshaler(v.Interface().(Marshaler))
}

func addrMarshalerEncoder(s *encodeState, v reflect.Value) error {
	return marshalerEncoder(s, v.Addr())
}

func textMarshalerEncoder(s *encodeState, v reflect.Value) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return s.atom("nil") // as any nil pointer; MarshalText may not expect a nil receiver
	}
	if !v.CanInterface() {
		return &UnsupportedTypeError{Type: v.Type(), Reason: "reached through an unexported field"}
	}
	text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return &MarshalerError{Type: v.Type(), Err: err, method: "MarshalText"}
	}
	return s.binary(text)
}

func addrTextMarshalerEncoder(s *encodeState, v reflect.Value) error {
	return textMarshalerEncoder(s, v.Addr())
}

// condAddrEncoder uses ifAddr for addressable values, else otherwise.
func condAddrEncoder(ifAddr, otherwise encoderFunc) encoderFunc {
	return func(s *encodeState, v reflect.Value) error {
		if v.CanAddr() {
			return ifAddr(s, v)
		}
		return otherwise(s, v)
	}
}

func (s *encodeState) marshaler(m Marshaler) error {
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		return s.atom("nil") // as any nil pointer; MarshalTerm may not expect a nil receiver
	}
	t, err := m.MarshalTerm()
	if err != nil {
		return &MarshalerError{Type: reflect.TypeOf(m), Err: err}
	}
	if err := s.enter(); err != nil {
		return err
	}
	if err := s.term(t); err != nil {
		return err
	}
	s.leave()
	return nil
}

func byteArrayEncoder(s *encodeState, v reflect.Value) error {
	n := v.Len()
	if err := s.binaryHeader(n); err != nil {
		return err
	}
	if v.CanAddr() {
		s.buf = append(s.buf, v.Bytes()...)
		return nil
	}
	for i := 0; i < n; i++ {
		s.buf = append(s.buf, byte(v.Index(i).Uint()))
	}
	return nil
}

func newListEncoder(t reflect.Type) encoderFunc {
	elem := typeEncoder(t.Elem())
	return func(s *encodeState, v reflect.Value) error {
		n := v.Len()
		if n == 0 {
			s.buf = append(s.buf, tagNil)
			return nil
		}
		if err := s.listHeader(n); err != nil {
			return err
		}
		if err := s.enter(); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := elem(s, v.Index(i)); err != nil {
				return err
			}
		}
		s.leave()
		s.buf = append(s.buf, tagNil)
		return nil
	}
}

// newMapEncoder writes a Go map, its pairs sorted by key so that equal maps give equal bytes:
// string keys bytewise, numbers by value, other keys by their encoding. Where distinct keys of
// the key type can be the same term (1 and int64(1) as keys of a map[any]V), two such keys are
// an *UnsupportedValueError rather than a map with a key twice, which is no valid term.
func newMapEncoder(t reflect.Type) encoderFunc {
	keyEnc := typeEncoder(t.Key())
	valEnc := typeEncoder(t.Elem())
	_, uniqueKeys := plainKeyType(t.Key(), 0)
	var less func(a, b reflect.Value) int
	// Keys that write themselves are sorted by their encoding, which also finds two that are
	// one term (two values of one text).
	if !t.Key().Implements(marshalerType) && !t.Key().Implements(textMarshalerType) && !termTypes[t.Key()] {
		switch t.Key().Kind() {
		case reflect.String:
			less = func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) }
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			less = func(a, b reflect.Value) int { return cmp.Compare(a.Int(), b.Int()) }
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			less = func(a, b reflect.Value) int { return cmp.Compare(a.Uint(), b.Uint()) }
		case reflect.Float32, reflect.Float64:
			less = func(a, b reflect.Value) int { return cmp.Compare(a.Float(), b.Float()) }
		case reflect.Bool:
			less = func(a, b reflect.Value) int {
				if a.Bool() == b.Bool() {
					return 0
				}
				if a.Bool() {
					return 1
				}
				return -1
			}
		}
	}
	return func(s *encodeState, v reflect.Value) error {
		if err := s.mapHeader(v.Len()); err != nil {
			return err
		}
		if v.Len() == 0 {
			return nil
		}
		if err := s.enter(); err != nil {
			return err
		}
		pairs := make([]mapEncPair, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			pairs = append(pairs, mapEncPair{k: it.Key(), v: it.Value()})
		}
		if less != nil {
			slices.SortFunc(pairs, func(a, b mapEncPair) int { return less(a.k, b.k) })
			for _, p := range pairs {
				if err := keyEnc(s, p.k); err != nil {
					return err
				}
				if err := valEnc(s, p.v); err != nil {
					return err
				}
			}
		} else {
			// Encode the keys one after the other into one buffer, then cut it up (only once
			// it has stopped growing and moving).
			keys := encodeState{cache: s.cache, depth: s.depth, maxDepth: s.maxDepth}
			ends := make([]int, len(pairs))
			for i := range pairs {
				if err := keyEnc(&keys, pairs[i].k); err != nil {
					return err
				}
				ends[i] = len(keys.buf)
			}
			start := 0
			for i := range pairs {
				pairs[i].key = keys.buf[start:ends[i]]
				start = ends[i]
			}
			slices.SortFunc(pairs, func(a, b mapEncPair) int { return strings.Compare(string(a.key), string(b.key)) })
			if !uniqueKeys {
				if err := distinctKeys(s, t, pairs, keyEnc); err != nil {
					return err
				}
			}
			for _, p := range pairs {
				s.buf = append(s.buf, p.key...)
				if err := valEnc(s, p.v); err != nil {
					return err
				}
			}
		}
		s.leave()
		return nil
	}
}

// mapEncPair is a pair of a Go map that newMapEncoder writes.
type mapEncPair struct {
	k, v reflect.Value
	key  []byte // the encoded key, when sorting by encoding
}

// plainKeyType reports of a map key type whether its every value is plain: a term with one
// encoding only, so that two plain keys are the same term exactly when their encodings are the
// same bytes. unique says, beyond that, that distinct Go values of t are distinct terms, so that
// a map[t]V cannot have two keys that are the same term. Interface types are neither: whether
// their values are plain depends on the value (see plainKey).
func plainKeyType(t reflect.Type, depth int) (plain, unique bool) {
	if depth > 8 || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return false, false
	}
	if termTypes[t] {
		switch t {
		case atomType, reflect.TypeFor[PID](), reflect.TypeFor[Port](), reflect.TypeFor[ProcessID](),
			reflect.TypeFor[ExportFun]():
			return true, true
		case reflect.TypeFor[*big.Int]():
			return true, false // distinct pointers to one value
		}
		// A Ref or Alias has as many words as its length marker says, and the trailing zeros
		// do not count: equal references can be written with different words.
		return false, false
	}
	if t.Implements(textMarshalerType) {
		return true, false // a binary, but distinct values can have one text
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true, true
	case reflect.Array:
		return plainKeyType(t.Elem(), depth+1)
	case reflect.Pointer:
		plain, _ = plainKeyType(t.Elem(), depth+1)
		return plain, false
	}
	// Structs (their unexported fields are left out, and maps of the same pairs in another
	// order are the same term), interfaces and the rest.
	return false, false
}

// plainKey reports whether the map key k is plain (see plainKeyType).
func plainKey(k reflect.Value) bool {
	if k.Kind() == reflect.Interface {
		if k.IsNil() {
			return true
		}
		k = k.Elem()
		if k.CanInterface() {
			switch k.Interface().(type) {
			case int64, int, string, Atom, bool, float64, PID:
				return true
			}
		}
	}
	plain, _ := plainKeyType(k.Type(), 0)
	return plain
}

// distinctKeys returns an *UnsupportedValueError when two keys of a map of type t, its pairs
// sorted by their encoded keys (with keyEnc, by s), are the same term.
func distinctKeys(s *encodeState, t reflect.Type, pairs []mapEncPair, keyEnc encoderFunc) error {
	plain := true
	for i := range pairs {
		if i > 0 && string(pairs[i].key) == string(pairs[i-1].key) {
			return duplicateKeyError(t, pairs[i-1].k, pairs[i].k)
		}
		if plain && !plainKey(pairs[i].k) {
			plain = false
		}
	}
	if plain {
		return nil
	}
	// A key that is no plain term can be the same term as another key whose bytes differ
	// (ByteList{1} and List{1} from MarshalTerm, say): read the keys back and look for equal
	// ones as Decode does.
	m := make(Map, len(pairs))
	for i := range pairs {
		key := pairs[i].key
		if s.cache != nil {
			// Atoms written as references into the connection's atom cache cannot be read
			// back here: the key is encoded again without it.
			plainKey := encodeState{depth: s.depth, maxDepth: s.maxDepth}
			if err := keyEnc(&plainKey, pairs[i].k); err != nil {
				return err
			}
			key = plainKey.buf
		}
		k, err := Decode(append([]byte{versionByte}, key...))
		if err != nil {
			return err
		}
		m[i].Key = k
	}
	var dups dupChecker
	if i, j := dups.find(m); i >= 0 {
		return duplicateKeyError(t, pairs[i].k, pairs[j].k)
	}
	return nil
}

// duplicateKeyError is the error for keys a and b of a map of type t that are the same term.
// It names them in an order of their own, whichever the map gave first.
func duplicateKeyError(t reflect.Type, a, b reflect.Value) error {
	name := func(k reflect.Value) (any, string) {
		if k.Kind() == reflect.Interface && !k.IsNil() {
			k = k.Elem()
		}
		if !k.CanInterface() {
			return k.Type().String(), "a " + k.Type().String()
		}
		x := k.Interface()
		return x, fmt.Sprintf("%#v (%T)", x, x)
	}
	av, as := name(a)
	bv, bs := name(b)
	if as > bs {
		av, as, bs = bv, bs, as
	}
	return &UnsupportedValueError{
		Value:  av,
		Reason: "duplicate map key: " + as + " and " + bs + ", keys of one " + t.String() + ", are the same Erlang term",
	}
}

func newStructEncoder(t reflect.Type) encoderFunc {
	info, err := cachedStructInfo(t)
	if err == nil && info.hidesAll() {
		err = &UnsupportedTypeError{Type: t, Reason: hiddenStateReason(t)}
	}
	if err != nil {
		return func(*encodeState, reflect.Value) error { return err }
	}
	encs := make([]encoderFunc, len(info.fields))
	for i, f := range info.fields {
		encs[i] = typeEncoder(f.typ)
	}
	return func(s *encodeState, v reflect.Value) error {
		if err := s.enter(); err != nil {
			return err
		}
		start := len(s.buf)
		s.buf = append(s.buf, tagMap, 0, 0, 0, 0)
		n := 0
		if info.module != "" {
			s.knownAtom("__struct__")
			s.knownAtom(info.module)
			n++
		}
		for i := range info.fields {
			f := &info.fields[i]
			fv, ok := fieldByIndex(v, f.index)
			if !ok || f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
				continue
			}
			s.knownAtom(f.name)
			if err := encs[i](s, fv); err != nil {
				return err
			}
			n++
		}
		putUint32(s.buf[start+1:], uint32(n))
		s.leave()
		return nil
	}
}

// hidesAll reports whether the struct keeps all its state in unexported fields, such as
// sync.Mutex or a type of another package that keeps its insides to itself. Encode and Unmarshal
// refuse such a type, which as a map would be #{}: its value lost without a word. A struct with
// nothing to show, struct{} or fields tagged "-", is a map of no keys, and one that names an
// Elixir module is that module's struct, the tag saying what the term is.
func (info *structInfo) hidesAll() bool {
	return info.unexported && len(info.fields) == 0 && info.module == ""
}

// hiddenStateReason says why Encode refuses the struct type t that hidesAll, and what to do.
// A MarshalTerm or MarshalText with a pointer receiver that would have taken over is named: it
// was not called because the value is not addressable.
func hiddenStateReason(t reflect.Type) string {
	for _, m := range []struct {
		typ  reflect.Type
		name string
	}{{marshalerType, "MarshalTerm"}, {textMarshalerType, "MarshalText"}} {
		if reflect.PointerTo(t).Implements(m.typ) {
			return "its fields are unexported and its " + m.name + " has a pointer receiver, which this value, not addressable, cannot be given: encode a pointer to it"
		}
	}
	return "its fields are unexported, so it would be #{}, its state lost: give it a MarshalTerm method, or encode in its place a type of your own that has one"
}

func putUint32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// fieldByIndex walks index from v; ok is false when it passes a nil embedded pointer, whose
// fields are then absent.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isEmptyValue is what omitempty leaves out, as in encoding/json.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// isZeroValue is what omitzero leaves out: the type's own IsZero, else the zero value.
func isZeroValue(v reflect.Value) bool {
	t := v.Type()
	if t.Implements(isZeroerType) && v.CanInterface() {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(isZeroer).IsZero()
	}
	if reflect.PointerTo(t).Implements(isZeroerType) && v.CanInterface() {
		if !v.CanAddr() {
			// A struct passed by value is not addressable, its copy behind a pointer is: the
			// same value must encode the same whether it came by value or by pointer.
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(isZeroer).IsZero()
	}
	return v.IsZero()
}
