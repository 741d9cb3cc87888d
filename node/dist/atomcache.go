package dist

import (
	"sync"

	"github.com/gobeam/gobeam/etf"
)

// The sending side of the atom cache. A message's atoms are written as one-byte references into
// the distribution header, and the header says for each whether the peer already has it in its
// cache (two bytes) or gets its text now and keeps it (NewCacheEntryFlag). A fan-out cast names
// the same node atom in each of its 10,000 pids: inline that is 10,000 copies of the node name,
// with the cache one copy at most, and none once the peer has it.
//
// Messages are encoded concurrently by their senders, each with its own list of atoms
// (outOfLine.list); which of them are new to the peer is decided when the message is queued, in
// queue order, so the peer always sees an entry before a reference to it.

// outOfLine is what the encoding of one message leaves out of its bytes, to be written beside
// them:
//   - its atoms (etf.AtomCacheWriter): the distinct atoms in the order they are first written,
//     which the encoder writes as ATOM_CACHE_REF with an atom's position, and the header lists;
//   - its large binaries (etf.BinaryInserter), written from their own memory between the pieces
//     of the encoded bytes.
type outOfLine struct {
	inserts  []insert
	inserted int // bytes of the inserted binaries
	list     []etf.Atom
	index    map[etf.Atom]uint8 // used once the list is too long to search
	last     etf.Atom
	lastIdx  uint8
	hasLast  bool
}

// searchLimit is how many atoms are looked up by a scan before a map takes over.
const searchLimit = 16

// CacheIndex implements etf.AtomCacheWriter.
func (m *outOfLine) CacheIndex(a etf.Atom) (uint8, bool) {
	// Runs of the same atom (the node of every pid in a list) cost one comparison.
	if m.hasLast && a == m.last {
		return m.lastIdx, true
	}
	i, ok := m.find(a)
	if !ok {
		if len(m.list) == maxAtomCacheRefs || len(a) > maxCachedAtomBytes {
			return 0, false // written inline
		}
		i = uint8(len(m.list))
		m.list = append(m.list, a)
		if m.index != nil {
			m.index[a] = i
		} else if len(m.list) > searchLimit {
			m.index = make(map[etf.Atom]uint8, 2*searchLimit)
			for k, x := range m.list {
				m.index[x] = uint8(k)
			}
		}
	}
	m.last, m.lastIdx, m.hasLast = a, i, true
	return i, true
}

// maxCachedAtomBytes keeps atoms whose text needs a two-byte length out of the cache, so that
// every header uses one-byte lengths.
const maxCachedAtomBytes = 255

func (m *outOfLine) find(a etf.Atom) (uint8, bool) {
	if m.index != nil {
		i, ok := m.index[a]
		return i, ok
	}
	for i, x := range m.list {
		if x == a {
			return uint8(i), true
		}
	}
	return 0, false
}

// insert is a binary left out of the encoded message at offset at.
type insert struct {
	at int
	b  []byte
}

// InsertBinary implements etf.BinaryInserter.
func (m *outOfLine) InsertBinary(at int, b []byte) {
	m.inserts = append(m.inserts, insert{at, b})
	m.inserted += len(b)
}

// pieces appends to dst the pieces of the encoded bytes enc (which start at offset base of the
// encoding) with the inserted binaries between them, in order; empty pieces are left out.
func (m *outOfLine) pieces(dst [][]byte, enc []byte, base int) [][]byte {
	last := 0
	for _, in := range m.inserts {
		if at := in.at - base; at > last {
			dst = append(dst, enc[last:at])
			last = at
		}
		dst = append(dst, in.b)
	}
	if last < len(enc) {
		dst = append(dst, enc[last:])
	}
	return dst
}

var outOfLinePool = sync.Pool{New: func() any { return &outOfLine{list: make([]etf.Atom, 0, 8)} }}

func getOutOfLine() *outOfLine { return outOfLinePool.Get().(*outOfLine) }

func putOutOfLine(m *outOfLine) {
	clear(m.inserts)
	m.inserts, m.inserted = m.inserts[:0], 0
	clear(m.list)
	m.list = m.list[:0]
	m.index = nil
	m.last, m.lastIdx, m.hasLast = "", 0, false
	outOfLinePool.Put(m)
}

// atomCacheWriter is this node's model of the peer's cache of the atoms it receives from us.
// Used under Connection.queueMu only, in the order messages are queued.
type atomCacheWriter struct {
	table atomTable
}

// appendRefs writes NumberOfAtomCacheRefs, Flags and AtomCacheRefs for atoms, the references of
// one message, and records the new entries as the peer will.
func (w *atomCacheWriter) appendRefs(b []byte, atoms []etf.Atom) []byte {
	n := len(atoms)
	b = append(b, byte(n))
	if n == 0 {
		return b
	}
	flags := len(b)
	for i := 0; i < n/2+1; i++ {
		b = append(b, 0)
	}
	for i, a := range atoms {
		slot := cacheSlot(a)
		nibble := byte(slot / atomCacheSegmentSize)
		cached, ok := w.table.get(slot)
		isNew := !ok || cached != a
		if isNew {
			nibble |= 0x08 // NewCacheEntryFlag
			w.table.put(slot, a)
		}
		b[flags+i/2] |= nibble << (4 * (i % 2))
		b = append(b, byte(slot%atomCacheSegmentSize))
		if isNew {
			b = append(b, byte(len(a)))
			b = append(b, a...)
		}
	}
	// The nibble after the references holds LongAtoms, clear: no cached atom is over 255 bytes.
	return b
}

// cacheSlot places an atom in the cache: FNV-1a of its text, folded to 11 bits.
func cacheSlot(a etf.Atom) int {
	h := uint32(2166136261)
	for i := 0; i < len(a); i++ {
		h ^= uint32(a[i])
		h *= 16777619
	}
	return int((h ^ h>>11 ^ h>>22) % atomCacheSize)
}

// refsSize is an upper bound of what appendRefs writes for atoms.
func refsSize(atoms []etf.Atom) int {
	size := 1 + len(atoms)/2 + 1
	for _, a := range atoms {
		size += 2 + len(a)
	}
	return size
}
