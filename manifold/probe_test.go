package manifold

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Results of pairs no cast has used for forgetProbe are dropped when a new pair comes, so nodes
// that left for good do not pile up; at most one sweep runs per probeAgain.
func TestProbeResultsOfUnusedPairsAreForgotten(t *testing.T) {
	var ps probes
	old := time.Now().Add(-forgetProbe - time.Minute)
	gone := probeKey{"gone@h", PartitionerName(1)}
	here := probeKey{"here@h", PartitionerName(1)}
	slow := probeKey{"slow@h", PartitionerName(1)}
	ps.results = map[probeKey]probeResult{
		gone: {missing: true, at: old},
		here: {missing: true, at: time.Now()},
		slow: {pending: true, at: old}, // a probe under way is never dropped
	}
	name, probe := ps.usable("new@h", PartitionerName(2))
	require.True(t, probe)
	require.Equal(t, PartitionerName(2), name)
	require.NotContains(t, ps.results, gone)
	require.Contains(t, ps.results, here)
	require.Contains(t, ps.results, slow)

	// A pair still known keeps its answer: the missing partitioner's casts go to 0.
	name, probe = ps.usable("here@h", PartitionerName(1))
	require.False(t, probe)
	require.Equal(t, PartitionerName(0), name)

	ps.results[gone] = probeResult{at: old}
	ps.usable("newer@h", PartitionerName(2))
	require.Contains(t, ps.results, gone, "a second sweep within probeAgain")
}
