package dist

import "github.com/gobeam/gobeam/etf"

// atomTable holds one direction's atom cache: atomCacheSize slots, kept in pages that are made
// when a slot in them is first filled. A link carries few distinct atoms (node names,
// '$gen_cast', a message's tags), so it holds a few pages, not the 32 KB of every slot; an idle
// link holds none.
type atomTable struct {
	pages [atomCacheSize / atomPageSize]*atomPage
}

const atomPageSize = 32

type atomPage struct {
	entries [atomPageSize]etf.Atom
	filled  uint32 // bit i: entries[i] holds an atom (an empty slot is not the empty atom '')
}

// locate returns the page of slot and its index in the page. Unsigned: the divisions are shifts
// and the masks, not checks, keep the indexes in range.
func (t *atomTable) locate(slot int) (page, i uint) {
	return uint(slot) / atomPageSize % uint(len(t.pages)), uint(slot) % atomPageSize
}

// get returns the atom in slot, 0 <= slot < atomCacheSize, and whether the slot is filled.
func (t *atomTable) get(slot int) (etf.Atom, bool) {
	page, i := t.locate(slot)
	p := t.pages[page]
	if p == nil {
		return "", false
	}
	return p.entries[i], p.filled&(1<<i) != 0
}

// put fills slot, 0 <= slot < atomCacheSize, with a.
func (t *atomTable) put(slot int, a etf.Atom) {
	page, i := t.locate(slot)
	p := t.pages[page]
	if p == nil {
		p = new(atomPage)
		t.pages[page] = p
	}
	p.entries[i] = a
	p.filled |= 1 << i
}
