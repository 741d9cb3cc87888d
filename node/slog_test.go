package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"
)

func TestSlogLoggerCarriesTheNodesLogs(t *testing.T) {
	var out bytes.Buffer
	l := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := Options{Cookie: "c", EPMDPort: freePort(t)}
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
