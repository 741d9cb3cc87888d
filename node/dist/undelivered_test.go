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

// fullMailboxes connects a to b, where fullInbox has a full mailbox and ghostInbox does not
// exist; b's warnings and errors are kept.
type fullMailboxes struct {
	a, b             *served
	warnings, errors *logLines
}

var (
	sender     = gen.PID{Node: "a@host", ID: 7, Creation: 1}
	fullInbox  = gen.PID{Node: "b@host", ID: 3001, Creation: 1}
	ghostInbox = gen.PID{Node: "b@host", ID: 3002, Creation: 1}
	liveInbox  = gen.PID{Node: "b@host", ID: 3003, Creation: 1}
)

func newFullMailboxes(t *testing.T, opts Options) fullMailboxes {
	sa, sb := net.Pipe()
	f := fullMailboxes{warnings: &logLines{}, errors: &logLines{}}
	f.a = serveOn(t, sa, "a@host", "b@host", allFlags, opts)
	f.b = serveLogged(t, sb, "b@host", "a@host", allFlags, opts, testLog{t: t, warnings: f.warnings, errors: f.errors})
	f.b.core.full[fullInbox] = true
	f.b.core.unknown[ghostInbox] = true
	return f
}

func TestMessagesToAFullMailboxAreCountedAndLogged(t *testing.T) {
	f := newFullMailboxes(t, Options{})
	a, b, warnings := f.a, f.b, f.warnings

	const messages = 4
	for i := range messages {
		require.NoError(t, a.conn.SendPID(sender, fullInbox, gen.MessageOptions{}, int64(i)))
	}
	require.NoError(t, a.conn.CallPID(sender, fullInbox, gen.MessageOptions{Ref: a.core.MakeRef()}, "request"))
	// A message to a process that does not exist is dropped as BEAM drops it: not counted.
	require.NoError(t, a.conn.SendPID(sender, ghostInbox, gen.MessageOptions{}, "to nobody"))
	require.NoError(t, a.conn.SendPID(sender, liveInbox, gen.MessageOptions{}, "marker"))
	require.Equal(t, []byte("marker"), b.core.next(t).message)

	counter, ok := b.conn.Node().(interface{ MessagesUndelivered() uint64 })
	require.True(t, ok, "the remote node has no MessagesUndelivered")
	require.EqualValues(t, messages+1, counter.MessagesUndelivered())
	require.EqualValues(t, 0, a.conn.remote.MessagesUndelivered())

	lines := warnings.all()
	require.NotEmpty(t, lines)
	require.Equal(t, "message from "+sender.String()+" to "+fullInbox.String()+" lost: the mailbox is full", lines[0])

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
	more := regexp.MustCompile(`(\d+) more messages from 'a@host' lost since`)
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
	f := newFullMailboxes(t, Options{})
	a, b, errs := f.a, f.b, f.errors

	require.NoError(t, a.conn.SendExit(sender, fullInbox, gen.TerminateReasonShutdown))
	require.NoError(t, a.conn.SendExit(sender, liveInbox, gen.TerminateReasonShutdown))
	r := b.core.next(t)
	require.Equal(t, "exit", r.kind)
	require.Equal(t, liveInbox, r.to)
	require.EqualValues(t, 1, b.conn.remote.MessagesUndelivered())
	require.Equal(t, []string{"exit signal from " + sender.String() + " to " + fullInbox.String() + " lost: the mailbox is full"}, errs.all())
}

// Losses after a line are not left untold until the next loss: a tick check tells of them once
// the second is up, while the connection stays.
func TestLossesAfterALineAreToldAtATickCheck(t *testing.T) {
	f := newFullMailboxes(t, Options{TickTime: 400 * time.Millisecond})
	a, b, warnings := f.a, f.b, f.warnings

	for i := range 3 {
		require.NoError(t, a.conn.SendPID(sender, fullInbox, gen.MessageOptions{}, int64(i)))
	}
	require.Eventually(t, func() bool { return reported(t, warnings.all()) == 3 }, 5*time.Second, 10*time.Millisecond,
		"%q", warnings.all())
	require.EqualValues(t, 3, b.conn.remote.MessagesUndelivered())
}
