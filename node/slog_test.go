package node

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/gobeam/gobeam/node/nodetest"
	"github.com/stretchr/testify/require"
)

func TestSlogLoggerCarriesTheNodesLogs(t *testing.T) {
	var out lockedBuffer
	l := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := Options{Cookie: "c", EPMDPort: nodetest.Port(t)}
	opts.Ergo.Log.DefaultLogger.Disable = true
	opts.Ergo.Log.Loggers = []gen.Logger{{Name: "slog", Logger: SlogLogger(l)}}
	n, err := Start("slogged@127.0.0.1", opts)
	require.NoError(t, err)
	n.Log().Warning("disk %d%% full", 91)
	n.Stop()
	text := out.String()
	require.Contains(t, text, `level=WARN msg="disk 91% full" node=slogged@127.0.0.1`)
	// The node's own start-up lines come through the same logger.
	require.True(t, strings.Contains(text, "epmd"), text)
}

// lockedBuffer is written by the node's goroutines, some of which still log after Stop
// returns, and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
