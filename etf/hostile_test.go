package etf

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// allocatedBy reports the bytes f allocates.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A list whose tail is a LIST_EXT whose tail is a LIST_EXT, and so on, is one long list: it
// decodes in memory proportional to its size, as binary_to_term decodes it, not in memory
// that grows with the square of the number of links.
func TestChainedListTailsDecodeInLinearMemory(t *testing.T) {
	const links, each = 10000, 33
	in := []byte{131}
	for i := 0; i < links; i++ {
		in = append(in, tagList, 0, 0, 0, each)
		for j := 0; j < each; j++ {
			in = append(in, tagSmallInteger, byte(j))
		}
	}
	in = append(in, tagNil)
	var got Term
	var err error
	used := allocatedBy(func() { got, err = Decode(in) })
	require.NoError(t, err)
	l, ok := got.(List)
	require.True(t, ok, "%T", got)
	require.Len(t, l, links*each)
	require.Equal(t, int64(5), l[each*7+5])
	require.Less(t, used, uint64(64*len(in)), "bytes allocated for %d bytes of input", len(in))

	// Ending in an improper tail or a string, the same.
	in[len(in)-1] = tagSmallInteger
	in = append(in, 9)
	got, err = Decode(in)
	require.NoError(t, err)
	require.Len(t, got.(ImproperList).Elems, links*each)
	require.Equal(t, int64(9), got.(ImproperList).Tail)
	in = append(in[:len(in)-2], tagString, 0, 2, 'h', 'i')
	got, err = Decode(in)
	require.NoError(t, err)
	require.Len(t, got.(List), links*each+2)
}
