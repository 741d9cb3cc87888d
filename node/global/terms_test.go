package global

import (
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

func TestTheBoss(t *testing.T) {
	require.Equal(t, gen.Atom("go@h"), theBoss([]gen.Atom{"a@h", "go@h", "b@h"}))
	require.Equal(t, gen.Atom("z@h"), theBoss([]gen.Atom{"z@h"}))
	require.Equal(t, []gen.Atom{"a@h", "c@h"}, without([]gen.Atom{"a@h", "b@h", "c@h", "b@h"}, "b@h"))
}

// The lock id of two lockers is the same whichever of them builds it: lists:sort/1 of the
// two pids, which orders pids by number before node.
func TestLockerLockIDIsSorted(t *testing.T) {
	p1 := gen.PID{Node: "z@h", ID: 50, Creation: 1}
	p2 := gen.PID{Node: "a@h", ID: 60, Creation: 1}
	id1, id2 := lockerLockID(p1, p2), lockerLockID(p2, p1)
	require.Equal(t, id1, id2)
	require.Equal(t, atomGlobal, id1.Resource)
	require.Equal(t, etf.List{p1, p2}, id1.Requester)
}

func TestTags(t *testing.T) {
	a, b := newTag(), newTag()
	require.Less(t, a, b)
	require.True(t, sameTag(a, a))
	require.False(t, sameTag(a, b))
	require.False(t, sameTag(a, nil))
	require.True(t, sameTag(nil, nil))
	require.True(t, sameTag(nil, atomUndefined), "no tag held matches the atom undefined")
	require.False(t, sameTag(nil, int64(3)))
	require.True(t, sameTag(int64(3), int64(3)))
	require.Equal(t, atomUndefined, tagTerm(nil))
	require.Equal(t, int64(3), tagTerm(int64(3)))
}

func TestRandomSleep(t *testing.T) {
	for times := 0; times < 12; times++ {
		d := randomSleep(times)
		require.Greater(t, d, time.Duration(0))
		limit := 8 * time.Second
		if times <= 5 {
			limit = time.Duration(1<<times) * time.Second / 8
		}
		require.LessOrEqual(t, d, limit)
	}
}
