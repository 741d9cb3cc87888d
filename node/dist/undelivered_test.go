package dist

import (
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"
)

func TestMessagesToAFullMailboxAreCountedAndLogged(t *testing.T) {
	sa, sb := net.Pipe()
	a := serveOn(t, sa, "a@host", "b@host", allFlags, Options{})
	warnings := &logLines{}
	b := serveLogged(t, sb, "b@host", "a@host", allFlags, Options{}, testLog{t: t, warnings: warnings})

	from := gen.PID{Node: "a@host", ID: 7, Creation: 1}
	full := gen.PID{Node: "b@host", ID: 3001, Creation: 1}
	ghost := gen.PID{Node: "b@host", ID: 3002, Creation: 1}
	live := gen.PID{Node: "b@host", ID: 3003, Creation: 1}
	b.core.full[full] = true
	b.core.unknown[ghost] = true

	const messages = 4
	for i := range messages {
		require.NoError(t, a.conn.SendPID(from, full, gen.MessageOptions{}, int64(i)))
	}
	require.NoError(t, a.conn.CallPID(from, full, gen.MessageOptions{Ref: a.core.MakeRef()}, "request"))
	// A message to a process that does not exist is dropped as BEAM drops it: not counted.
	require.NoError(t, a.conn.SendPID(from, ghost, gen.MessageOptions{}, "to nobody"))
	require.NoError(t, a.conn.SendPID(from, live, gen.MessageOptions{}, "marker"))
	require.Equal(t, []byte("marker"), b.core.next(t).message)

	counter, ok := b.conn.Node().(interface{ MessagesUndelivered() uint64 })
	require.True(t, ok, "the remote node has no MessagesUndelivered")
	require.EqualValues(t, messages+1, counter.MessagesUndelivered())
	require.EqualValues(t, 0, a.conn.remote.MessagesUndelivered())

	lines := warnings.all()
	require.NotEmpty(t, lines)
	require.Equal(t, "message from "+from.String()+" to "+full.String()+" lost: the mailbox is full", lines[0])

	// The lines within a second of the first are summed up when the connection ends.
	a.conn.Terminate(nil)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not end")
	}
	require.EqualValues(t, messages+1, reported(t, warnings.all()))
}

// reported adds up the losses the log lines tell of: one for each line about a message or a
// call, and the counts of the lines that sum up others.
func reported(t *testing.T, lines []string) int {
	t.Helper()
	more := regexp.MustCompile(`(\d+) more messages from 'a@host' lost to full mailboxes since`)
	total := 0
	for _, line := range lines {
		if m := more.FindStringSubmatch(line); m != nil {
			n, err := strconv.Atoi(m[1])
			require.NoError(t, err)
			total += n
		}
		if regexp.MustCompile(`^(message|call) from .* lost: the mailbox is full`).MatchString(line) {
			total++
		}
	}
	return total
}

// An exit signal a full mailbox refuses leaves a linked process alive where BEAM would have
// ended it: each one is counted and logged as an error.
func TestExitSignalToAFullMailboxIsCountedAndLogged(t *testing.T) {
	sa, sb := net.Pipe()
	a := serveOn(t, sa, "a@host", "b@host", allFlags, Options{})
	errs := &logLines{}
	b := serveLogged(t, sb, "b@host", "a@host", allFlags, Options{}, testLog{t: t, errors: errs})
	from := gen.PID{Node: "a@host", ID: 7, Creation: 1}
	full := gen.PID{Node: "b@host", ID: 3001, Creation: 1}
	live := gen.PID{Node: "b@host", ID: 3003, Creation: 1}
	b.core.full[full] = true

	require.NoError(t, a.conn.SendExit(from, full, gen.TerminateReasonShutdown))
	require.NoError(t, a.conn.SendExit(from, live, gen.TerminateReasonShutdown))
	r := b.core.next(t)
	require.Equal(t, "exit", r.kind)
	require.Equal(t, live, r.to)
	require.EqualValues(t, 1, b.conn.remote.MessagesUndelivered())
	require.Equal(t, []string{"exit signal from " + from.String() + " to " + full.String() + " lost: the mailbox is full"}, errs.all())
}

// Losses after a line are not left untold until the next loss: a tick check tells of them once
// the second is up, while the connection stays.
func TestLossesAfterALineAreToldAtATickCheck(t *testing.T) {
	sa, sb := net.Pipe()
	opts := Options{TickTime: 400 * time.Millisecond}
	a := serveOn(t, sa, "a@host", "b@host", allFlags, opts)
	warnings := &logLines{}
	b := serveLogged(t, sb, "b@host", "a@host", allFlags, opts, testLog{t: t, warnings: warnings})
	from := gen.PID{Node: "a@host", ID: 7, Creation: 1}
	full := gen.PID{Node: "b@host", ID: 3001, Creation: 1}
	b.core.full[full] = true

	for i := range 3 {
		require.NoError(t, a.conn.SendPID(from, full, gen.MessageOptions{}, int64(i)))
	}
	require.Eventually(t, func() bool { return reported(t, warnings.all()) == 3 }, 5*time.Second, 10*time.Millisecond,
		"%q", warnings.all())
	require.EqualValues(t, 3, b.conn.remote.MessagesUndelivered())
}
