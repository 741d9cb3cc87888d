package manifold

import (
	"testing"
	"time"

	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
	"github.com/gobeam/gobeam/node"
	"github.com/gobeam/gobeam/node/nodetest"
)

// Results of pairs no cast has used for forgetProbe are dropped when a new pair comes, so nodes
// that left for good do not pile up; at most one sweep runs per probeAgain.
func TestProbeResultsOfUnusedPairsAreForgotten(t *testing.T) {
	var ps probes
	old := time.Now().Add(-forgetProbe - time.Minute)
	gone := probeKey{"gone@h", PartitionerName(1)}
	here := probeKey{"here@h", PartitionerName(1)}
	slow := probeKey{"slow@h", PartitionerName(1)}
	lost := probeKey{"lost@h", PartitionerName(1)}
	ps.results = map[probeKey]probeResult{
		gone: {missing: true, known: true, at: old},
		here: {missing: true, known: true, at: time.Now()},
		slow: {pending: true, at: old, asked: time.Now()}, // a probe under way is kept
		lost: {pending: true, at: old, asked: old},        // one the prober lost is not
	}
	name, _, probe := ps.usable("new@h", PartitionerName(2))
	require.True(t, probe)
	require.Equal(t, PartitionerName(2), name)
	require.NotContains(t, ps.results, gone)
	require.Contains(t, ps.results, here)
	require.Contains(t, ps.results, slow)
	require.NotContains(t, ps.results, lost)

	// A pair still known keeps its answer: the missing partitioner's casts go to 0.
	name, _, probe = ps.usable("here@h", PartitionerName(1))
	require.False(t, probe)
	require.Equal(t, PartitionerName(0), name)

	ps.results[gone] = probeResult{at: old}
	ps.usable("newer@h", PartitionerName(2))
	require.Contains(t, ps.results, gone, "a second sweep within probeAgain")
}

// Casts for a pair never probed wait for its first probe, and every cast that comes meanwhile
// waits for the same one; then they go where it found they can.
func TestCastsWaitForTheFirstProbe(t *testing.T) {
	var ps probes
	k := probeKey{"ex@h", PartitionerName(3)}
	name, first, probe := ps.usable(k.node, k.name)
	require.True(t, probe)
	require.NotNil(t, first)
	require.Equal(t, k.name, name)
	_, again, probe := ps.usable(k.node, k.name)
	require.False(t, probe, "one probe at a time")
	require.Equal(t, first, again)
	select {
	case <-first:
		t.Fatal("the first probe has not ended")
	default:
	}
	ps.done(k, true, true)
	<-first
	require.Equal(t, PartitionerName(0), ps.resolve(k.node, k.name))
	name, first, probe = ps.usable(k.node, k.name)
	require.Nil(t, first)
	require.False(t, probe)
	require.Equal(t, PartitionerName(0), name)

	// Partitioner 0 is never probed: every node running Manifold has it.
	name, first, probe = ps.usable(k.node, PartitionerName(0))
	require.Nil(t, first)
	require.False(t, probe)
	require.Equal(t, PartitionerName(0), name)
}

// A probe that gets no answer (the node is away, the call times out) leaves what an earlier
// one found: a node found without partitioner 3 keeps getting casts through partitioner 0.
func TestAProbeWithoutAnswerKeepsWhatWasFound(t *testing.T) {
	var ps probes
	k := probeKey{"ex@h", PartitionerName(3)}
	ps.results = map[probeKey]probeResult{k: {missing: true, known: true, at: time.Now().Add(-2 * probeAgain)}}
	name, first, probe := ps.usable(k.node, k.name)
	require.True(t, probe, "the result is old")
	require.Nil(t, first, "casts do not wait for a probe again")
	require.Equal(t, PartitionerName(0), name)
	ps.done(k, false, false)
	name, _, probe = ps.usable(k.node, k.name)
	require.False(t, probe)
	require.Equal(t, PartitionerName(0), name)

	// The first time, a probe without answer lets the casts that waited try the name, and
	// keeps nothing: the next cast probes again and waits, so that a node reached only later,
	// which may not run the name, is asked before a minute of casts vanish there.
	u := probeKey{"away@h", PartitionerName(3)}
	_, first, _ = ps.usable(u.node, u.name)
	ps.done(u, false, false)
	<-first
	require.Equal(t, u.name, ps.resolve(u.node, u.name))
	name, first, probe = ps.usable(u.node, u.name)
	require.True(t, probe, "probed again")
	require.NotNil(t, first, "and the cast waits for it")
	ps.done(u, true, true) // the node is there now, without partitioner 3
	<-first
	require.Equal(t, PartitionerName(0), ps.resolve(u.node, u.name))
	require.Equal(t, u.name, name)
}

// A probe the prober lost (it was restarted) holds nothing up: casts waiting for a first probe
// stop waiting after probeWaitMax, the probe counts as ended without an answer (the next cast
// asks again), and a later probe that stays pending past probeWaitMax is started again by the
// next cast.
func TestALostProbeIsGivenUp(t *testing.T) {
	var ps probes
	k := probeKey{"ex@h", PartitionerName(3)}
	_, first, probe := ps.usable(k.node, k.name)
	require.True(t, probe)
	ps.wait(k, first, 10*time.Millisecond) // the prober never answers
	<-first
	require.Equal(t, k.name, ps.resolve(k.node, k.name), "a first probe without answer lets the name be tried")
	name, again, probe := ps.usable(k.node, k.name)
	require.True(t, probe, "the next cast asks again, as the first time")
	require.NotNil(t, again)
	require.Equal(t, k.name, name)
	ps.done(k, false, true)
	<-again

	// A probe every probeAgain, lost too: the next cast after probeWaitMax starts it again.
	ps.mu.Lock()
	ps.results[k] = probeResult{missing: true, known: true, pending: true,
		at: time.Now().Add(-probeAgain - probeWaitMax), asked: time.Now().Add(-probeWaitMax - time.Second)}
	ps.mu.Unlock()
	name, again, probe = ps.usable(k.node, k.name)
	require.True(t, probe)
	require.Nil(t, again)
	require.Equal(t, PartitionerName(0), name, "what the last answer found holds meanwhile")
	_, _, probe = ps.usable(k.node, k.name)
	require.False(t, probe, "one probe at a time")
}

// answersCalls stands in for a partitioner on another node: it answers which_children.
type answersCalls struct{ act.Actor }

func (answersCalls) HandleCall(from gen.PID, ref gen.Ref, request any) (any, error) {
	return etf.List{}, nil
}

// A partitioner that was there and answers noproc on a later probe is asked again before its
// senders move to partitioner 0: one restarted by its supervisor in between keeps them; one
// still gone then loses them.
func TestAPartitionerGoneForAMomentKeepsItsSenders(t *testing.T) {
	port := nodetest.Port(t)
	a, err := node.Start("probea@127.0.0.1", node.Options{Cookie: "c", EPMDPort: port})
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	b, err := node.Start("probeb@127.0.0.1", node.Options{Cookie: "c", EPMDPort: port})
	require.NoError(t, err)
	t.Cleanup(b.Stop)
	m, err := Start(a, Config{})
	require.NoError(t, err)
	name := PartitionerName(3)
	k := probeKey{b.Name(), name}
	register := func() gen.PID {
		pid, err := b.SpawnRegister(name, func() gen.ProcessBehavior { return &answersCalls{} }, gen.ProcessOptions{})
		require.NoError(t, err)
		return pid
	}
	result := func() probeResult {
		m.probes.mu.Lock()
		defer m.probes.mu.Unlock()
		return m.probes.results[k]
	}
	// A probe of a pair last found present, as every probeAgain, while the name is free.
	probeGone := func() {
		m.probes.mu.Lock()
		m.probes.results = map[probeKey]probeResult{k: {known: true, pending: true, at: time.Now()}}
		m.probes.mu.Unlock()
		require.NoError(t, a.Send(gen.ProcessID{Name: ProberName, Node: a.Name()}, probe{key: k}))
		require.Eventually(t, func() bool { return result().unsure }, 10*time.Second, time.Millisecond,
			"the noproc is doubted")
	}

	// Back within probeConfirm: it keeps its senders.
	_, err = b.Network().GetNode(a.Name()) // so the probe finds the connection there
	require.NoError(t, err)
	probeGone()
	register()
	require.Eventually(t, func() bool { return !result().pending }, 10*time.Second, 5*time.Millisecond)
	require.False(t, result().missing)
	require.Equal(t, name, m.probes.resolve(k.node, k.name))

	// Still gone: its senders go to partitioner 0.
	pid, err := b.ProcessPID(name)
	require.NoError(t, err)
	require.NoError(t, b.Kill(pid))
	require.Eventually(t, func() bool { _, err := b.ProcessPID(name); return err != nil }, 10*time.Second, 5*time.Millisecond)
	probeGone()
	require.Eventually(t, func() bool { return !result().pending }, 10*time.Second, 5*time.Millisecond)
	require.True(t, result().missing)
	require.Equal(t, PartitionerName(0), m.probes.resolve(k.node, k.name))
}

// A probe waiting for its node's connection looks again soon at first, then less and less
// often, and gives up after probeConnectWait: thousands of probes of unreachable nodes cost
// a few dozen looks each, not a thousand.
func TestAProbeLooksForItsConnectionLessAndLessOften(t *testing.T) {
	var pr probe
	var polls []time.Duration
	for pr.waited < probeConnectWait {
		next := pr.nextPoll()
		pr.waited += next
		polls = append(polls, next)
	}
	require.Equal(t, []time.Duration{10, 10, 20, 40, 80, 160, 320, 640}, func() []time.Duration {
		first := make([]time.Duration, 8)
		for i, d := range polls[:8] {
			first[i] = d / time.Millisecond
		}
		return first
	}())
	require.Equal(t, probeConnectPollMax, polls[len(polls)-1])
	require.Less(t, len(polls), 30)
	require.GreaterOrEqual(t, pr.waited, probeConnectWait)
}
