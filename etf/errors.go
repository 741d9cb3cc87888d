package etf

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// Sentinel errors. Decode wraps them in a *DecodeError that says where the input went wrong;
// test for them with errors.Is.
var (
	// ErrTruncated: the input ends inside a term.
	ErrTruncated = errors.New("etf: input ends inside a term")
	// ErrTooDeep: terms nest deeper than the decoder's or encoder's MaxDepth.
	ErrTooDeep = errors.New("etf: terms nest too deep")
	// ErrTooLarge: the input, or the data a compressed term expands to, is larger than MaxSize.
	ErrTooLarge = errors.New("etf: term too large")
	// ErrTrailingBytes: bytes follow the one term that Decode reads.
	ErrTrailingBytes = errors.New("etf: bytes after the term")
	// ErrVersion: the input does not start with the version byte 131.
	ErrVersion = errors.New("etf: not a versioned term (first byte is not 131)")
	// ErrInvalid: the bytes break a rule of the format (an unknown tag, a bad length, an atom that
	// is not UTF-8, a duplicate map key, ...). The *DecodeError holding it says which.
	ErrInvalid = errors.New("etf: invalid term encoding")
)

// DecodeError is the error every decoding failure returns: what was wrong and where.
type DecodeError struct {
	// Offset is the byte offset of the problem: in the input, or, when Compressed is set, in the
	// data the compressed term expands to (the first byte of which is the term's tag).
	Offset int
	// Compressed says that Offset counts in the expanded data of a compressed term.
	Compressed bool
	// Tag is the tag of the term being read when the problem was found, 0 if none.
	Tag byte
	// Reason says what was wrong, in words.
	Reason string
	// Err is the sentinel error this is an instance of: ErrTruncated, ErrTooDeep, ErrTooLarge,
	// ErrTrailingBytes, ErrVersion or ErrInvalid.
	Err error
}

func (e *DecodeError) Error() string {
	buf := make([]byte, 0, 64+len(e.Reason))
	buf = append(buf, "etf: decode: "...)
	buf = append(buf, e.Reason...)
	buf = append(buf, " (at byte "...)
	buf = strconv.AppendInt(buf, int64(e.Offset), 10)
	if e.Compressed {
		buf = append(buf, " of the expanded compressed data"...)
	}
	if name := tagName(e.Tag); name != "" {
		buf = append(buf, ", in "...)
		buf = append(buf, name...)
	} else if e.Tag != 0 {
		buf = append(buf, ", tag "...)
		buf = strconv.AppendInt(buf, int64(e.Tag), 10)
	}
	buf = append(buf, ')')
	return string(buf)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// UnsupportedTypeError is returned by Encode for a Go value whose type has no Erlang form, such
// as a channel, a function or a complex number, and for struct types whose etf tags are wrong.
type UnsupportedTypeError struct {
	Type   reflect.Type
	Reason string // empty when the kind of Type alone is the reason
}

func (e *UnsupportedTypeError) Error() string {
	if e.Reason != "" {
		return "etf: cannot encode Go type " + e.Type.String() + ": " + e.Reason
	}
	return "etf: cannot encode Go type " + e.Type.String()
}

// UnsupportedValueError is returned by Encode for a value of a supported type that has no
// Erlang form: a NaN or infinite float, an atom that is not UTF-8 or longer than 255
// characters, a BitString with a bad bit count, a pid creation above 32 bits, ...
type UnsupportedValueError struct {
	Value  any
	Reason string
}

func (e *UnsupportedValueError) Error() string {
	return fmt.Sprintf("etf: cannot encode %#v: %s", e.Value, e.Reason)
}

// MarshalerError wraps an error returned by a type's MarshalTerm method, or by the MarshalText
// method of a type written as its text.
type MarshalerError struct {
	Type   reflect.Type
	Err    error
	method string // the method that failed, when not MarshalTerm
}

func (e *MarshalerError) Error() string {
	method := e.method
	if method == "" {
		method = "MarshalTerm"
	}
	return "etf: " + method + " of " + e.Type.String() + ": " + e.Err.Error()
}

func (e *MarshalerError) Unwrap() error { return e.Err }
