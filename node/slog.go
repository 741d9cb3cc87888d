package node

import (
	"context"
	"fmt"
	"log/slog"

	"ergo.services/ergo/gen"
)

// SlogLogger returns an Ergo logger that writes the node's log messages (its own, its
// connections', its processes') to l, so a program that logs with log/slog gets one stream of
// structured records instead of two formats. Install it in place of Ergo's default logger:
//
//	opts.Ergo.Log.DefaultLogger.Disable = true
//	opts.Ergo.Log.Loggers = []gen.Logger{{Name: "slog", Logger: node.SlogLogger(l)}}
//
// Each record carries the node, and the process (pid, name) or the peer node it comes from.
func SlogLogger(l *slog.Logger) gen.LoggerBehavior { return slogLogger{l} }

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Log(m gen.MessageLog) {
	level := slogLevel(m.Level)
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(m.Time, level, fmt.Sprintf(m.Format, m.Args...), 0)
	switch src := m.Source.(type) {
	case gen.MessageLogProcess:
		r.AddAttrs(slog.String("node", string(src.Node)), slog.String("pid", src.PID.String()))
		if src.Name != "" {
			r.AddAttrs(slog.String("process", string(src.Name)))
		}
	case gen.MessageLogNetwork:
		r.AddAttrs(slog.String("node", string(src.Node)), slog.String("peer", string(src.Peer)))
	case gen.MessageLogNode:
		r.AddAttrs(slog.String("node", string(src.Node)))
	case gen.MessageLogMeta:
		r.AddAttrs(slog.String("node", string(src.Node)), slog.String("parent", src.Parent.String()))
	}
	for _, f := range m.Fields {
		r.AddAttrs(slog.Any(f.Name, f.Value))
	}
	s.l.Handler().Handle(ctx, r)
}

func (s slogLogger) Terminate() {}

// slogLevel maps Ergo's levels onto slog's: trace is below debug, panic is an error.
func slogLevel(l gen.LogLevel) slog.Level {
	switch {
	case l <= gen.LogLevelTrace:
		return slog.LevelDebug - 4
	case l == gen.LogLevelDebug:
		return slog.LevelDebug
	case l == gen.LogLevelWarning:
		return slog.LevelWarn
	case l >= gen.LogLevelError:
		return slog.LevelError
	}
	return slog.LevelInfo
}
