package manifold

import (
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"
)

func TestSplitByNodeKeepsOrderAndSizesExactly(t *testing.T) {
	p := func(node gen.Atom, id uint64) gen.PID { return gen.PID{Node: node, ID: id, Creation: 1} }
	pids := []gen.PID{p("a", 1), p("me", 2), p("b", 3), p("a", 4), p("me", 5), p("a", 6), p("c", 7)}
	mine, groups := splitByNode(pids, "me")
	require.Equal(t, []gen.PID{p("me", 2), p("me", 5)}, mine)
	require.Equal(t, []nodePids{
		{node: "a", pids: []gen.PID{p("a", 1), p("a", 4), p("a", 6)}},
		{node: "b", pids: []gen.PID{p("b", 3)}},
		{node: "c", pids: []gen.PID{p("c", 7)}},
	}, groups)
	for _, g := range groups {
		require.Equal(t, len(g.pids), cap(g.pids), "allocated at its final size")
	}
	require.Equal(t, len(mine), cap(mine))

	// One node only: the slice itself, no copy.
	one := []gen.PID{p("a", 1), p("a", 2)}
	mine, groups = splitByNode(one, "me")
	require.Nil(t, mine)
	require.Len(t, groups, 1)
	require.Same(t, &one[0], &groups[0].pids[0])
	mine, groups = splitByNode(one, "a")
	require.Same(t, &one[0], &mine[0])
	require.Nil(t, groups)

	mine, groups = splitByNode(nil, "me")
	require.Nil(t, mine)
	require.Nil(t, groups)
}
