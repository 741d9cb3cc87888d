package etf

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"testing"
	"unicode/utf8"
)

// fuzzAtomCache backs ATOM_CACHE_REF in FuzzDecode.
var fuzzAtomCache = []Atom{"nonode@nohost", "true", "reg", "日本", ""}

func addDecodeSeeds(f *testing.F) {
	for _, v := range loadCodecVectors(f) {
		f.Add(v.v1)
		if v.v2 != nil {
			f.Add(v.v2)
		}
	}
	for _, c := range benchCorpus {
		if c.name == "chat_map" {
			b, err := Encode(c.term())
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{131, 104, 2, 82, 0, 82, 1})
}

// FuzzDecode: no input makes Decode panic, and what it decodes encodes, and decodes again to the
// same term and the same bytes.
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Decoder{AtomCache: fuzzAtomCache, MaxSize: 1 << 20}
		term, err := d.Decode(data)
		if len(data) > 0 {
			// The same bytes without the version byte, read as a term after a distribution
			// header.
			t2, rest, err2 := d.DecodeTerm(data[1:])
			if err == nil && (err2 != nil || len(rest) != 0 || !sameTerm(term, t2)) {
				t.Fatalf("Decode gives %#v, DecodeTerm gives %#v, %x, %v", term, t2, rest, err2)
			}
			// Consecutive terms in one pass are the terms DecodeTerm reads one by one.
			var ts [3]Term
			n, restN, errN := d.DecodeTerms(data[1:], ts[:])
			in := data[1:]
			for i := 0; i < len(ts) && (i == 0 || len(in) > 0); i++ {
				one, after, errOne := d.DecodeTerm(in)
				if errOne != nil {
					if errN == nil || n != i {
						t.Fatalf("term %d: DecodeTerm fails (%v), DecodeTerms read %d (%v)", i, errOne, n, errN)
					}
					break
				}
				if i >= n || !sameTerm(one, ts[i]) {
					t.Fatalf("term %d: DecodeTerm gives %#v, DecodeTerms %d terms %#v (%v)", i, one, n, ts, errN)
				}
				in = after
			}
			if errN == nil && !bytes.Equal(in, restN) {
				t.Fatalf("DecodeTerms leaves %x, DecodeTerm %x", restN, in)
			}
		}
		// Pointing into the input changes where the bytes of binaries live, and nothing else.
		alias := d
		alias.AliasInput = true
		t3, err3 := alias.Decode(data)
		if (err == nil) != (err3 == nil) || err == nil && !sameTerm(term, t3) {
			t.Fatalf("AliasInput: %#v, %v; copying: %#v, %v", t3, err3, term, err)
		}
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %v is a %T, not a *DecodeError", err, err)
			}
			return
		}
		enc, err := Encode(term)
		if err != nil {
			t.Fatalf("decoded %#v from %x, cannot encode it: %v", term, data, err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoded %#v from %x, encoded it as %x, which does not decode: %v", term, data, enc, err)
		}
		if !sameTerm(term, back) || !equalTerms(term, back) {
			t.Fatalf("decoded %#v from %x, re-encoded and decoded %#v", term, data, back)
		}
		again, err := Encode(back)
		if err != nil || string(again) != string(enc) {
			t.Fatalf("encodings differ: %x and %x (%v)", enc, again, err)
		}
		if len(enc) != sizeHint(term)-termSlack && !containsAtomCacheRef(data) {
			t.Fatalf("size hint %d for %d bytes", sizeHint(term)-termSlack, len(enc))
		}
	})
}

func containsAtomCacheRef(b []byte) bool {
	for _, c := range b {
		if c == tagAtomCacheRef {
			return true
		}
	}
	return false
}

// termGen builds a term in its canonical decoded form (the form Decode returns) from fuzz
// bytes, so that Decode(Encode(t)) must give t back exactly.
type termGen struct {
	data  []byte
	depth int
}

func (g *termGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *termGen) bytes(n int) []byte {
	n = min(n, len(g.data))
	out := append([]byte{}, g.data[:n]...)
	g.data = g.data[n:]
	return out
}

func (g *termGen) u64() uint64 {
	var b [8]byte
	copy(b[:], g.bytes(8))
	return binary.BigEndian.Uint64(b[:])
}

func (g *termGen) atom() Atom {
	b := g.bytes(int(g.byte() % 12))
	s := []rune{}
	for _, c := range b {
		switch {
		case c < 0x80:
			s = append(s, rune(c))
		case c < 0xc0:
			s = append(s, rune(c)) // Latin-1 supplement
		default:
			s = append(s, 0x65e5+rune(c)) // CJK
		}
	}
	return Atom(string(s))
}

func (g *termGen) atomTerm() Term {
	a := g.atom()
	switch a {
	case "true":
		return true
	case "false":
		return false
	}
	return a
}

func (g *termGen) elems(n int) []Term {
	out := make([]Term, n)
	for i := range out {
		out[i] = g.term()
	}
	return out
}

func (g *termGen) term() Term {
	if g.depth > 6 || len(g.data) == 0 {
		return int64(g.byte())
	}
	g.depth++
	defer func() { g.depth-- }()
	switch g.byte() % 19 {
	case 0:
		return int64(g.byte())
	case 1:
		return int64(int32(g.u64()))
	case 2:
		return int64(g.u64())
	case 3:
		z := new(big.Int).SetBytes(g.bytes(int(g.byte()%40) + 9))
		if g.byte()%2 == 1 {
			z.Neg(z)
		}
		if z.IsInt64() {
			return z.Int64()
		}
		return z
	case 4:
		f := math.Float64frombits(g.u64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0.5
		}
		return f
	case 5:
		return g.atomTerm()
	case 6:
		return g.bytes(int(g.byte() % 20))
	case 7:
		b := g.bytes(int(g.byte()%5) + 1)
		if len(b) == 0 {
			b = []byte{0}
		}
		bits := g.byte()%7 + 1
		b[len(b)-1] &= byte(0xff << (8 - bits))
		return BitString{Bytes: b, Bits: bits}
	case 8:
		n := int(g.byte() % 5)
		if n == 0 {
			return List(nil)
		}
		return List(g.elems(n))
	case 9:
		b := g.bytes(int(g.byte()%8) + 1)
		if len(b) == 0 {
			return List(nil) // [] decodes as an empty List
		}
		return ByteList(b)
	case 10:
		elems := g.elems(int(g.byte()%3) + 1)
		var tail Term
		for {
			tail = g.term()
			switch tail.(type) {
			case List, ByteList, ImproperList:
				continue
			}
			break
		}
		return ImproperList{Elems: elems, Tail: tail}
	case 11:
		return Tuple(g.elems(int(g.byte() % 4)))
	case 12:
		n := int(g.byte() % 5)
		m := Map{}
		var c dupChecker
		for i := 0; i < n; i++ {
			k := g.term()
			dup := false
			for _, p := range m {
				if c.equal(p.Key, k) {
					dup = true
				}
			}
			if !dup {
				m = append(m, MapPair{Key: k, Value: g.term()})
			}
		}
		return m
	case 13:
		return PID{Node: g.atom(), ID: g.u64(), Creation: int64(uint32(g.u64()))}
	case 14:
		return Port{Node: g.atom(), ID: g.u64(), Creation: uint32(g.u64())}
	case 15:
		words := make([]uint32, g.byte()%5+1)
		for i := range words {
			words[i] = uint32(g.u64())
		}
		r, err := RefFromWords(g.atom(), uint32(g.u64()), words)
		if err != nil {
			panic(err)
		}
		return r
	case 16:
		return ExportFun{Module: g.atom(), Function: g.atom(), Arity: g.byte()}
	case 17:
		f := LocalFun{Arity: g.byte(), Index: uint32(g.u64()), Module: g.atom(),
			OldIndex: int64(int32(g.u64())), OldUniq: int64(int32(g.u64())),
			Pid: PID{Node: g.atom(), ID: g.u64(), Creation: int64(uint32(g.u64()))}}
		copy(f.Uniq[:], g.bytes(16))
		if n := int(g.byte() % 3); n > 0 {
			f.FreeVars = g.elems(n)
		}
		// Decode fills Raw: take it from an encoding of the fields.
		b, err := Encode(f)
		if err != nil {
			panic(err)
		}
		f.Raw = b[1:]
		return f
	default:
		return Map{{Key: g.atomTerm(), Value: g.term()}}
	}
}

// FuzzRoundTrip: every term built from the fuzz bytes encodes, and decodes to itself.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "\x08\x03\x05a\x06\x02hi", "\x0c\x04\x05\x01a\x00\x06\x03abc\x0d\x03x@y", "\x11\x0a\x02\x01\x02"} {
		f.Add([]byte(s))
	}
	for _, v := range loadCodecVectors(f)[:20] {
		f.Add(v.v1)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := termGen{data: data}
		term := g.term()
		enc, err := Encode(term)
		if err != nil {
			t.Fatalf("cannot encode %#v: %v", term, err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("cannot decode %x (from %#v): %v", enc, term, err)
		}
		if !sameTerm(term, back) {
			t.Fatalf("%#v came back as %#v", term, back)
		}
		if f, ok := term.(LocalFun); ok && string(f.Raw) != string(back.(LocalFun).Raw) {
			t.Fatalf("Raw %x came back as %x", f.Raw, back.(LocalFun).Raw)
		}
		if c, err := EncodeCompressed(term, int(g.byte()%10)); err != nil {
			t.Fatal(err)
		} else if back, err := Decode(c); err != nil || !sameTerm(term, back) {
			t.Fatalf("compressed: %#v came back as %#v (%v)", term, back, err)
		}
		for _, a := range atomsOf(term) {
			if !utf8.ValidString(string(a)) {
				t.Fatalf("generated an invalid atom %q", a)
			}
		}
	})
}

func atomsOf(t Term) []Atom {
	switch v := t.(type) {
	case Atom:
		return []Atom{v}
	case List:
		var out []Atom
		for _, e := range v {
			out = append(out, atomsOf(e)...)
		}
		return out
	case Tuple:
		var out []Atom
		for _, e := range v {
			out = append(out, atomsOf(e)...)
		}
		return out
	}
	return nil
}
