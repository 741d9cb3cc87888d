package manifold

import (
	"slices"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
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

// Each worker gets the positions of exactly the pids phash2(Pid, Workers+1) gives it, in the
// cast's order, whether the pids are a decoded list (with nils to skip) or a slice.
func TestAssignGivesEachWorkerItsPidsInOrder(t *testing.T) {
	var list etf.List
	var slice []gen.PID
	for i := range 1000 {
		pid := gen.PID{Node: "me", ID: uint64(1000 + i*7), Creation: 3}
		switch i % 10 {
		case 3:
			list = append(list, nil)
		case 5:
			list = append(list, etf.Atom("nil"))
		case 7:
			list = append(list, gen.PID{})
		}
		list = append(list, pid)
		slice = append(slice, pid)
	}
	_, err := checkPidList(list)
	require.NoError(t, err)
	for _, workers := range []int{1, 3, 9} {
		p := &partitioner{workers: make([]gen.PID, workers)}
		for _, pids := range []castPids{{list: list}, {slice: slice}} {
			parts := p.assign(pids)
			require.Len(t, parts, workers)
			var got []gen.PID
			for w, at := range parts {
				require.True(t, slices.IsSorted(at), "worker %d's positions out of order", w)
				for _, i := range at {
					pid, ok := pids.pidAt(int(i))
					require.True(t, ok, "position %d holds no pid", i)
					require.Equal(t, uint32(w), etf.Phash2PID(pid, uint32(workers)))
					got = append(got, pid)
				}
			}
			require.ElementsMatch(t, slice, got)
		}
	}
}

// A packed message is decoded whatever its size, as binary_to_term decodes it, also beyond the
// decoder's default limit.
func TestUnpackTakesAMessageOfAnySize(t *testing.T) {
	big := make([]byte, etf.DefaultMaxSize)
	big[len(big)-1] = 7
	packed, err := pack(etf.Tuple{etf.Atom("big"), big})
	require.NoError(t, err)
	msg, err := unpack(packed)
	require.NoError(t, err)
	got := msg.(etf.Tuple)
	require.Equal(t, etf.Atom("big"), got[0])
	require.Len(t, got[1], len(big))
	require.Equal(t, byte(7), got[1].([]byte)[len(big)-1])
}

// The casts queued for a node being dialled are bounded by maxQueuedBytes, but a queue that is
// empty takes one cast of any size: it would go through once the node is connected.
func TestQueueForADialTakesOneCastOfAnySize(t *testing.T) {
	var c connects
	m := &Manifold{}
	to := gen.ProcessID{Name: PartitionerName(0), Node: "far@h"}
	big, err := etf.NewEncoded(make([]byte, maxQueuedBytes))
	require.NoError(t, err)
	small, err := etf.NewEncoded(etf.Atom("small"))
	require.NoError(t, err)
	d := &dialing{}
	c.add(m, to, big, nil, d)
	require.Len(t, d.queue, 1)
	c.add(m, to, small, nil, d)
	require.Len(t, d.queue, 1, "beyond the bound")
	require.Equal(t, uint64(1), m.dropped.Load())
}
