package dist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/gobeam/gobeam/etf"
)

// Packet kinds: the byte after the length prefix.
const (
	passThrough    = 'p' // 112: control and message as versioned terms, no header
	versionMagic   = 131
	headerNormal   = 68 // distribution header
	headerFragment = 69 // first fragment of a fragmented message
	headerContinue = 70 // later fragment
)

// The atom cache of one direction of a connection: 8 segments of 256 entries. The sender
// decides what goes where (NewCacheEntryFlag); the receiver only remembers.
const (
	atomCacheSegments    = 8
	atomCacheSegmentSize = 256
	atomCacheSize        = atomCacheSegments * atomCacheSegmentSize
	// maxAtomCacheRefs is the most references one header may make (indices 0..254).
	maxAtomCacheRefs = 255
)

var errShortHeader = errors.New("dist: distribution header is truncated")

// HeaderError says what was wrong with a distribution header.
type HeaderError struct{ Reason string }

func (e *HeaderError) Error() string { return "dist: bad distribution header: " + e.Reason }

func badHeader(format string, args ...any) error {
	return &HeaderError{Reason: fmt.Sprintf(format, args...)}
}

// atomCacheReader is the receiving side's copy of the peer's atom cache. It is used by the
// connection's single reader goroutine only.
type atomCacheReader struct {
	table  atomTable
	refs   []etf.Atom // the current header's references, reused between packets
	intern map[string]etf.Atom
}

// readRefs parses NumberOfAtomCacheRefs, Flags and AtomCacheRefs at the start of b, updates the
// cache with new entries and returns the header's references (index -> atom) and what follows.
// The returned slice is valid until the next call.
func (c *atomCacheReader) readRefs(b []byte) ([]etf.Atom, []byte, error) {
	if len(b) < 1 {
		return nil, nil, errShortHeader
	}
	n := int(b[0])
	b = b[1:]
	c.refs = c.refs[:0]
	if n == 0 {
		return c.refs, b, nil
	}
	if n > maxAtomCacheRefs {
		return nil, nil, badHeader("%d atom cache references, at most %d allowed", n, maxAtomCacheRefs)
	}
	flagBytes := n/2 + 1
	if len(b) < flagBytes {
		return nil, nil, errShortHeader
	}
	flags := b[:flagBytes]
	b = b[flagBytes:]
	nibble := func(i int) byte {
		f := flags[i/2]
		if i%2 == 1 {
			f >>= 4
		}
		return f & 0x0f
	}
	longAtoms := nibble(n)&0x01 != 0
	for i := 0; i < n; i++ {
		f := nibble(i)
		segment := int(f & 0x07)
		if len(b) < 1 {
			return nil, nil, errShortHeader
		}
		slot := segment*atomCacheSegmentSize + int(b[0])
		b = b[1:]
		if f&0x08 != 0 { // NewCacheEntryFlag: the atom text follows
			var length int
			if longAtoms {
				if len(b) < 2 {
					return nil, nil, errShortHeader
				}
				length = int(binary.BigEndian.Uint16(b))
				b = b[2:]
			} else {
				if len(b) < 1 {
					return nil, nil, errShortHeader
				}
				length = int(b[0])
				b = b[1:]
			}
			if len(b) < length {
				return nil, nil, errShortHeader
			}
			// The cache would otherwise keep texts of any bytes, up to 64 KB each.
			if !etf.ValidAtom(b[:length]) {
				return nil, nil, badHeader("atom cache entry %d is not UTF-8 of at most 255 characters", i)
			}
			a := c.atom(b[:length])
			c.table.put(slot, a)
			c.refs = append(c.refs, a)
			b = b[length:]
			continue
		}
		a, ok := c.table.get(slot)
		if !ok {
			return nil, nil, badHeader("reference %d names atom cache slot %d/%d, which was never filled",
				i, segment, slot%atomCacheSegmentSize)
		}
		c.refs = append(c.refs, a)
	}
	return c.refs, b, nil
}

// atom returns the atom for text, sharing one string per distinct atom seen on the connection.
func (c *atomCacheReader) atom(text []byte) etf.Atom {
	if a, ok := c.intern[string(text)]; ok {
		return a
	}
	if c.intern == nil {
		c.intern = make(map[string]etf.Atom)
	}
	a := etf.Atom(text)
	if len(c.intern) < 1<<16 { // bounded: a peer cannot grow it without limit
		c.intern[string(a)] = a
	}
	return a
}

// fragments reassembles fragmented messages. Fragments of different sequences may interleave;
// each sequence arrives in order, counting its fragment id down to 1.
//
// A BEAM sender finishes every sequence it starts, so what unfinished sequences hold is bounded
// for the peers that do not: with MaxMessageSize set, each message by it and their bodies
// together by pendingBudget; whatever it is, their atom cache references and bookkeeping by
// overheadBudget, since a packet of a few hundred bytes makes the node keep 255 atoms for a
// sequence that may never end.
type fragments struct {
	pending  map[uint64]*fragmentSeq
	bytes    int    // the bodies of the pending sequences
	overhead int    // their atom cache references and bookkeeping (seqOverhead each)
	reserved int    // room set aside for fragments yet to come, across all sequences
	spare    []byte // a finished sequence's buffer, for the next one
}

type fragmentSeq struct {
	atoms    []etf.Atom // the starting header's atom cache references
	body     []byte     // control message and payload so far
	next     uint64     // the fragment id expected next
	reserved int        // its share of fragments.reserved
	overhead int        // its share of fragments.overhead
}

const (
	// overheadBudget bounds what the pending sequences of one connection hold besides their
	// bodies: some 4,000 sequences of 255 atom references each, or 100,000 without any.
	overheadBudget = 16 << 20
	// seqOverhead is the bookkeeping of one pending sequence: its fragmentSeq and map entry.
	seqOverhead = 128
	// atomRefSize is what one kept atom cache reference costs (an etf.Atom).
	atomRefSize = 16
)

// pendingBudget bounds the bodies of all pending sequences together: messages of different
// processes interleave, so room for several at MaxMessageSize (limit); without it, no bound.
func pendingBudget(limit int) int {
	if limit <= 0 {
		return math.MaxInt
	}
	return 4 * limit
}

// fits checks that n more bytes of body for a sequence that has have bytes so far stay within
// the limits.
func (f *fragments) fits(have, n, limit int) error {
	switch {
	case limit > 0 && have+n > limit:
		return badHeader("fragmented message over the %d-byte limit", limit)
	case f.bytes+n > pendingBudget(limit):
		return badHeader("unfinished fragmented messages over %d bytes together, 4 times the %d-byte limit",
			pendingBudget(limit), limit)
	}
	return nil
}

// buffer returns an empty buffer for the first packet (n bytes) of a sequence of count
// fragments, with room for the rest: every fragment but the last is as large as the first. Both
// numbers are the peer's word, so the room all pending sequences set aside stays under
// reserveBudget, and under pendingBudget; past it, a sequence's buffer grows only as its
// fragments arrive.
func (f *fragments) buffer(n int, count uint64, limit int) ([]byte, error) {
	if err := f.fits(0, n, limit); err != nil {
		return nil, err
	}
	size := n * int(min(max(count, 1), 1024))
	if limit > 0 && size > limit+n {
		size = limit + n
	}
	size = min(size, max(min(reserveBudget, pendingBudget(limit))-f.reserved, 0))
	buf := f.spare
	f.spare = nil
	if cap(buf) < size {
		// The slack lets the body of this message, which starts behind its header, be
		// recycled for the next message of the same size.
		buf = make([]byte, 0, size+fragmentSlack)
	}
	return buf[:0], nil
}

// reserveBudget bounds the room a connection sets aside for fragments that have not arrived:
// enough for a 64 MB message in BEAM's 64 KB fragments.
const reserveBudget = 64 << 20

// fragmentSlack is room beyond a sequence's estimated size for the first fragment's header:
// the buffer comes back to recycle as the body behind that header.
const fragmentSlack = 4 << 10

// start begins a sequence with the body of its first fragment, which lives in a buffer from
// buffer(): the rest of the message is appended behind it in place. It returns the complete body
// when the sequence has only this fragment.
func (f *fragments) start(seq, id uint64, atoms []etf.Atom, body []byte, limit int) ([]etf.Atom, []byte, bool, error) {
	if id == 0 {
		return nil, nil, false, badHeader("fragment id 0 in sequence %d", seq)
	}
	if _, dup := f.pending[seq]; dup {
		return nil, nil, false, badHeader("sequence %d started twice", seq)
	}
	if id == 1 {
		return atoms, body, true, nil
	}
	if err := f.fits(0, len(body), limit); err != nil {
		return nil, nil, false, err
	}
	overhead := seqOverhead + atomRefSize*len(atoms)
	if f.overhead+overhead > overheadBudget {
		return nil, nil, false, badHeader("%d unfinished fragmented messages", len(f.pending))
	}
	if f.pending == nil {
		f.pending = make(map[uint64]*fragmentSeq)
	}
	own := append([]etf.Atom(nil), atoms...)
	room := cap(body) - len(body)
	f.pending[seq] = &fragmentSeq{atoms: own, body: body, next: id - 1, reserved: room, overhead: overhead}
	f.bytes += len(body)
	f.reserved += room
	f.overhead += overhead
	return nil, nil, false, nil
}

// add reads a continuation fragment of n bytes onto the end of its sequence's buffer, by
// calling read, which appends them, and returns the whole body when it is the last one. Bytes
// of an unknown or out-of-order fragment are not read: the connection ends anyway.
func (f *fragments) add(seq, id uint64, n int, limit int, read func(body []byte, n int) []byte) ([]etf.Atom, []byte, bool, error) {
	s, ok := f.pending[seq]
	if !ok {
		return nil, nil, false, badHeader("continuation of unknown sequence %d", seq)
	}
	if id != s.next {
		return nil, nil, false, badHeader("sequence %d: fragment %d arrived, %d expected", seq, id, s.next)
	}
	if err := f.fits(len(s.body), n, limit); err != nil {
		return nil, nil, false, err
	}
	s.body = read(s.body, n)
	f.bytes += n
	if id > 1 {
		s.next--
		return nil, nil, false, nil
	}
	delete(f.pending, seq)
	f.bytes -= len(s.body)
	f.reserved -= s.reserved
	f.overhead -= s.overhead
	return s.atoms, s.body, true, nil
}

// recycle keeps one finished message's buffer for the next sequence; decoding copied what it
// needed out of it. The read loop lets go of it when the link goes quiet (idle).
func (f *fragments) recycle(body []byte) {
	if cap(body) <= maxPooledBuffer && cap(body) > cap(f.spare) {
		f.spare = body[:0]
	}
}

// idle lets go of the spare buffer: a link that carried a large message once keeps no more
// memory for it than any quiet link.
func (f *fragments) idle() { f.spare = nil }

// appendHeader writes a normal distribution header without atom cache references.
func appendHeader(b []byte) []byte {
	return append(b, versionMagic, headerNormal, 0)
}

// appendFragmentHeader writes the header of fragment id of sequence seq, up to the atom cache
// references the first fragment carries.
func appendFragmentHeader(b []byte, first bool, seq, id uint64) []byte {
	tag := byte(headerContinue)
	if first {
		tag = headerFragment
	}
	b = append(b, versionMagic, tag)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, id)
	return b // the first fragment's atom cache references follow
}
