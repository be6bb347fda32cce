package app

import (
	"io"
	"log/slog"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
)

// newLogger returns the logger the core settings ask for, writing to w: text
// for people in development, JSON for collectors in production. Records
// logged with a request's context carry its request_id.
func newLogger(core config.Core, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: core.Level()}
	var h slog.Handler
	if core.Format() == config.FormatJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(backend.LogHandler(h))
}
