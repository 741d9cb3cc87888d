package erlpeer

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// tailLines is how many of the peer's last output lines an error message quotes.
const tailLines = 30

// outputLog copies the peer's stdout and stderr into the test log, line by line, and keeps the
// last lines for error messages. Logging stops when the test's cleanup closes it, since a test
// may not log after it has finished.
type outputLog struct {
	t     testing.TB
	label string

	mu     sync.Mutex
	open   bool
	tail   []string
	active sync.WaitGroup
	pipes  []*os.File
}

func newOutputLog(t testing.TB, label string) *outputLog {
	return &outputLog{t: t, label: label, open: true}
}

// follow copies lines from r (the read end of one of the peer's output pipes) until it ends.
func (o *outputLog) follow(r *os.File, stream string) {
	o.mu.Lock()
	o.pipes = append(o.pipes, r)
	o.mu.Unlock()
	o.active.Add(1)
	go func() {
		defer o.active.Done()
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				o.line(stream, strings.TrimRight(line, "\r\n"))
			}
			if err != nil {
				if err != io.EOF && !isClosedPipe(err) {
					o.line(stream, "(reading output failed: "+err.Error()+")")
				}
				return
			}
		}
	}()
}

func (o *outputLog) line(stream, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = append(o.tail, stream+": "+text)
	if len(o.tail) > tailLines {
		o.tail = o.tail[len(o.tail)-tailLines:]
	}
	if o.open {
		o.t.Logf("%s %s: %s", o.label, stream, text)
	}
}

// lastLines returns the peer's last output lines, indented for an error message.
func (o *outputLog) lastLines() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tail) == 0 {
		return "\n\t(the peer wrote no output)"
	}
	return "\n\tlast output of " + o.label + ":\n\t\t" + strings.Join(o.tail, "\n\t\t")
}

// drain waits up to grace for the output to end, without closing anything.
func (o *outputLog) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		o.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
	}
}

// close waits up to grace for the output to end (the pipes close when the peer and every
// process that inherited them have exited), then closes the pipes and stops logging.
func (o *outputLog) close(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		o.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		// A process the peer started still holds the pipe; stop reading it.
		o.mu.Lock()
		for _, p := range o.pipes {
			p.Close()
		}
		o.mu.Unlock()
		<-done
	}
	o.mu.Lock()
	o.open = false
	for _, p := range o.pipes {
		p.Close()
	}
	o.mu.Unlock()
}

func isClosedPipe(err error) bool {
	return errors.Is(err, os.ErrClosed)
}
