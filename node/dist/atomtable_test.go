package dist

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

// A table holds pages only where slots were filled; the empty atom is an atom, not a hole.
func TestAtomTableFillsPagesOnDemand(t *testing.T) {
	var tb atomTable
	pages := func() int {
		n := 0
		for _, p := range tb.pages {
			if p != nil {
				n++
			}
		}
		return n
	}
	for slot := 0; slot < atomCacheSize; slot++ {
		_, ok := tb.get(slot)
		require.False(t, ok, "slot %d", slot)
	}
	require.Zero(t, pages(), "looking fills nothing")

	tb.put(0, "")
	tb.put(atomPageSize-1, "last@host")
	tb.put(atomCacheSize-1, "end")
	require.Equal(t, 2, pages())
	for slot, want := range map[int]etf.Atom{0: "", atomPageSize - 1: "last@host", atomCacheSize - 1: "end"} {
		a, ok := tb.get(slot)
		require.True(t, ok, "slot %d", slot)
		require.Equal(t, want, a)
	}
	_, ok := tb.get(1)
	require.False(t, ok, "a neighbour in a made page is still empty")

	tb.put(0, "replaced")
	a, _ := tb.get(0)
	require.Equal(t, etf.Atom("replaced"), a)
}
