package integration

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// EnvSkipLog names a file to which tests skipped for want of something on this machine (an
// IPv6 loopback, a short host name that resolves) add a line each. scripts/test sets it and
// prints the lines in its summary: go test shows a skip only with -v, and a run that passed
// would otherwise not say that some of it never ran.
const EnvSkipLog = "GOBEAM_SKIP_LOG"

var skipLog sync.Mutex

// skipOnThisMachine skips t, saying why, and notes it in the file EnvSkipLog names.
func skipOnThisMachine(t *testing.T, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if path := os.Getenv(EnvSkipLog); path != "" {
		skipLog.Lock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%s: %s\n", t.Name(), why)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		skipLog.Unlock()
		if err != nil {
			t.Fatalf("%s, and noting it in %s failed: %v", why, path, err)
		}
	}
	t.Skip(why)
}

func TestSkipOnThisMachineIsNoted(t *testing.T) {
	path := t.TempDir() + "/skipped"
	t.Setenv(EnvSkipLog, path)
	ran := false
	t.Run("Missing", func(t *testing.T) {
		skipOnThisMachine(t, "no %s here", "widget")
		ran = true
	})
	require.False(t, ran, "the test went on after its skip")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "TestSkipOnThisMachineIsNoted/Missing: no widget here\n", string(b))
}
