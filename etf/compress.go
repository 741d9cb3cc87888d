package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
)

// maxDeflateRatio bounds how many bytes one byte of a deflate stream can expand to (a run of 258
// bytes costs at least a quarter byte of code), so a compressed term that declares more than
// maxDeflateRatio times its compressed size is refused before anything is allocated for it.
const maxDeflateRatio = 1032

// decompressed reads a compressed term (tag 80): the 4-byte size of the data it expands to, then
// a zlib stream of that data, which is one tag and term. The expansion is bounded by MaxSize, and
// must have exactly the declared size.
func (s *decodeState) decompressed() (Term, error) {
	at := s.pos
	s.pos++ // tag
	if err := s.need(tagCompressed, 4); err != nil {
		return nil, err
	}
	size := uint64(s.u32())
	in := s.buf[s.pos:]
	switch {
	case size > uint64(s.maxSize):
		return nil, s.fail(at, tagCompressed, ErrTooLarge, "expands to "+strconv.FormatUint(size, 10)+" bytes, more than MaxSize "+strconv.Itoa(s.maxSize))
	case size == 0:
		return nil, s.invalid(at, tagCompressed, "declares an empty expansion")
	case size > uint64(len(in))*maxDeflateRatio+64:
		return nil, s.invalid(at, tagCompressed, "declares "+strconv.FormatUint(size, 10)+" bytes, more than "+strconv.Itoa(len(in))+" compressed bytes can hold")
	}
	// bytes.Reader is an io.ByteReader, so the inflater reads no further than the end of the
	// zlib stream and r.Len() tells where the term's bytes end.
	r := bytes.NewReader(in)
	z, err := zlib.NewReader(r)
	if err != nil {
		return nil, s.invalid(s.pos, tagCompressed, "bad zlib header: "+err.Error())
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(z, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, s.invalid(s.pos, tagCompressed, "expands to fewer than the declared "+strconv.FormatUint(size, 10)+" bytes")
		}
		return nil, s.invalid(s.pos, tagCompressed, "bad zlib data: "+err.Error())
	}
	// Reading past the declared size must find the end of the stream, which also checks the
	// stream's checksum.
	var one [1]byte
	if n, err := z.Read(one[:]); n != 0 || err != io.EOF {
		if n != 0 || err == nil {
			return nil, s.invalid(s.pos, tagCompressed, "expands to more than the declared "+strconv.FormatUint(size, 10)+" bytes")
		}
		return nil, s.invalid(s.pos, tagCompressed, "bad zlib data: "+err.Error())
	}
	end := len(s.buf) - r.Len()

	// data is the decoder's own, so binaries and atoms may point into it whatever AliasInput
	// says.
	outer, outerPos, outerAlias, outerPrivate := s.buf, s.pos, s.alias, s.private
	s.buf, s.pos, s.compressed, s.alias, s.private = data, 0, true, true, true
	t, err := s.term()
	if err == nil && s.pos != len(data) {
		err = s.invalid(s.pos, 0, strconv.Itoa(len(data)-s.pos)+" bytes follow the term inside the compressed data")
	}
	s.buf, s.pos, s.compressed, s.alias, s.private = outer, outerPos, false, outerAlias, outerPrivate
	if err != nil {
		return nil, err
	}
	s.pos = end
	return t, nil
}

// EncodeCompressed is Encode with the term compressed at the given zlib level (1 fastest to 9
// smallest; 0 stores the data uncompressed), as erlang:term_to_binary(T, [{compressed, Level}]):
// like that BIF, it writes the compressed form (tag 80) only when it is shorter than the plain
// one, which it returns otherwise. binary_to_term and Decode read both.
func EncodeCompressed(t Term, level int) ([]byte, error) {
	var e Encoder
	return e.AppendCompressed(nil, t, level)
}

// AppendCompressed appends t to dst as EncodeCompressed writes it.
func (e *Encoder) AppendCompressed(dst []byte, t Term, level int) ([]byte, error) {
	if level < zlib.NoCompression || level > zlib.BestCompression {
		return dst, errors.New("etf: compression level " + strconv.Itoa(level) + " is not 0..9")
	}
	// The term is compressed from one piece: binaries stay in it.
	pe := *e
	pe.Inserter = nil
	plain, err := pe.Append(dst, t)
	if err != nil {
		return dst, err
	}
	data := plain[len(dst)+1:] // the tag and term, without the version byte
	if uint64(len(data)) > 1<<32-1 {
		return plain, nil // the size field has 32 bits; the plain form is all there is
	}
	var out bytes.Buffer
	out.Grow(len(data)/2 + 64)
	out.WriteByte(versionByte)
	out.WriteByte(tagCompressed)
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(data)))
	out.Write(size[:])
	z, err := zlib.NewWriterLevel(&out, level)
	if err != nil {
		return dst, err
	}
	if _, err := z.Write(data); err != nil {
		return dst, err
	}
	if err := z.Close(); err != nil {
		return dst, err
	}
	if out.Len() >= len(data)+1 {
		return plain, nil
	}
	return append(plain[:len(dst)], out.Bytes()...), nil
}
