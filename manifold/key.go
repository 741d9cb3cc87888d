package manifold

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// KeyHash is Manifold's hash of a partitioner or sender key: the md5 digest of the key's text,
// bytes 8 to 15 read as a little-endian unsigned 64-bit integer. Manifold pins a process to
// partitioner KeyHash(key) % Partitioners (set_partitioner_key/1) and to sender
// KeyHash(key) % Senders (set_sender_key/1).
//
// The key's text is what Elixir's to_string gives: a binary ([]byte, string) as it is, an atom
// its name ("Elixir.Foo" for a module), an integer in decimal, a float in Elixir's shortest
// form, nil the empty string, a charlist (etf.ByteList, or an etf.List of code points,
// binaries and lists, as List.to_string takes them) the UTF-8 of its characters. Other terms
// (pids, tuples, maps) have no string form in Elixir either: KeyHash returns an error for them.
func KeyHash(key any) (uint64, error) {
	text, err := keyText(key)
	if err != nil {
		return 0, err
	}
	sum := md5.Sum(text)
	return binary.LittleEndian.Uint64(sum[8:16]), nil
}

func keyText(key any) ([]byte, error) {
	switch k := key.(type) {
	case nil:
		return nil, nil
	case []byte:
		return k, nil
	case string:
		return []byte(k), nil
	case etf.Atom:
		if k == "nil" {
			return nil, nil
		}
		return []byte(k), nil
	case bool:
		return []byte(strconv.FormatBool(k)), nil
	case int:
		return strconv.AppendInt(nil, int64(k), 10), nil
	case int8, int16, int32, int64:
		return fmt.Appendf(nil, "%d", k), nil
	case uint, uint8, uint16, uint32, uint64:
		return fmt.Appendf(nil, "%d", k), nil
	case *big.Int:
		return []byte(k.String()), nil
	case float64:
		return []byte(elixirFloat(k)), nil
	case float32:
		return []byte(elixirFloat(float64(k))), nil
	case etf.ByteList, etf.List, etf.ImproperList:
		return appendChardata(nil, k)
	case gen.PID, etf.Tuple, etf.Map, etf.Ref:
	}
	return nil, fmt.Errorf("manifold: a key of type %T has no string form (Elixir's to_string raises for it too)", key)
}

// appendChardata appends the text of a list as Elixir's to_string gives it (List.to_string):
// the UTF-8 of its characters, code points as integers and binaries as they are, in nested lists
// too. A charlist from Erlang is one character a byte ('é' is [233], text <<195, 169>>).
func appendChardata(b []byte, t etf.Term) ([]byte, error) {
	var err error
	switch v := t.(type) {
	case etf.ByteList:
		for _, c := range v {
			b = utf8.AppendRune(b, rune(c))
		}
		return b, nil
	case etf.List:
		for _, e := range v {
			if b, err = appendChardata(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case etf.ImproperList:
		for _, e := range v.Elems {
			if b, err = appendChardata(b, e); err != nil {
				return nil, err
			}
		}
		if tail, ok := v.Tail.([]byte); ok { // [?a | "bc"]; any other tail is no text
			return appendChardata(b, tail)
		}
	case []byte:
		if utf8.Valid(v) {
			return append(b, v...), nil
		}
	case int64:
		if r := rune(v); int64(r) == v && utf8.ValidRune(r) {
			return utf8.AppendRune(b, r), nil
		}
	}
	return nil, fmt.Errorf("manifold: a list key holds %v, which is no text (Elixir's to_string raises for it too)", t)
}

// elixirFloat formats f as Elixir's to_string does (erlang:float_to_binary(F, [short])): the
// shortest digits that read back as f, written in plain notation (123456789.0) or scientific
// notation (1.0e16), whichever is shorter, plain when both are as long; but always scientific
// from 2^53 up (9.007199254740992e15), where not every integer is a float.
func elixirFloat(f float64) string {
	sign := ""
	if f < 0 || (f == 0 && 1/f < 0) {
		sign, f = "-", -f
	}
	// Shortest round-trip digits and the decimal exponent of the first one.
	sci := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expText, _ := strings.Cut(sci, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)

	var plain string
	switch {
	case exp < 0:
		plain = "0." + strings.Repeat("0", -exp-1) + digits
	case len(digits) <= exp+1:
		plain = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	default:
		plain = digits[:exp+1] + "." + digits[exp+1:]
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	scientific := digits[:1] + "." + frac + "e" + strconv.Itoa(exp)
	if len(scientific) < len(plain) || f >= 1<<53 {
		return sign + scientific
	}
	return sign + plain
}
