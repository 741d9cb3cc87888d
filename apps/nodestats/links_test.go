package nodestats

import (
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"
)

func states(links []Link) map[gen.Atom]bool {
	m := make(map[gen.Atom]bool, len(links))
	for _, l := range links {
		m[l.Node] = l.Up
	}
	return m
}

// A lost link is listed as down for KeepDown, then forgotten; a peer that comes back is up
// again whatever happened meanwhile.
func TestLostLinksAreListedForKeepDown(t *testing.T) {
	l := Links{KeepDown: 10 * time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Link{Node: "a@h", Up: true, Since: t0}
	b := Link{Node: "b@h", Up: true, Since: t0}

	require.Equal(t, map[gen.Atom]bool{"a@h": true, "b@h": true}, states(l.observe(t0, []Link{a, b})))

	lost := t0.Add(time.Minute)
	got := l.observe(lost, []Link{a})
	require.Equal(t, map[gen.Atom]bool{"a@h": true, "b@h": false}, states(got))
	require.Equal(t, lost, got[1].Since, "down since it was first found gone")

	require.Equal(t, map[gen.Atom]bool{"a@h": true, "b@h": false},
		states(l.observe(lost.Add(10*time.Minute), []Link{a})), "still listed at KeepDown")
	require.Equal(t, map[gen.Atom]bool{"a@h": true},
		states(l.observe(lost.Add(10*time.Minute+time.Second), []Link{a})), "forgotten after it")

	back := Link{Node: "b@h", Up: true, Since: lost.Add(time.Hour)}
	require.Equal(t, map[gen.Atom]bool{"a@h": true, "b@h": true},
		states(l.observe(lost.Add(time.Hour), []Link{a, back})))
}

// The default keeps a lost link an hour.
func TestDefaultKeepDown(t *testing.T) {
	var l Links
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.observe(t0, []Link{{Node: "a@h", Up: true, Since: t0}})
	l.observe(t0, nil)
	require.Len(t, l.observe(t0.Add(DefaultKeepDown), nil), 1)
	require.Empty(t, l.observe(t0.Add(DefaultKeepDown+time.Second), nil))
}
