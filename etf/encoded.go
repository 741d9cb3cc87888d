package etf

// Encoded is a term encoded once, to be written many times: Encode copies its bytes where the
// term belongs instead of encoding the term again. A message fanned out to many nodes, or to
// many processes of one node, is encoded once this way.
//
// The zero Encoded is not a term; make one with NewEncoded.
type Encoded struct {
	b []byte // the term without the version byte, atoms written out (no atom cache references)
}

// NewEncoded encodes t once.
func NewEncoded(t Term) (Encoded, error) {
	var e Encoder
	b, err := e.AppendTerm(nil, t)
	if err != nil {
		return Encoded{}, err
	}
	return Encoded{b: b}, nil
}

// Bytes returns the encoding, without the version byte. It must not be modified.
func (e Encoded) Bytes() []byte { return e.b }

// Term decodes the encoded term again.
func (e Encoded) Term() (Term, error) {
	var d Decoder
	t, rest, err := d.DecodeTerm(e.b)
	if err == nil && len(rest) != 0 {
		err = &DecodeError{Offset: len(e.b) - len(rest), Err: ErrTrailingBytes, Reason: "bytes after the encoded term"}
	}
	return t, err
}
