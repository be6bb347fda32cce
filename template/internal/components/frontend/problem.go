package frontend

import (
	"log/slog"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// ErrorWording words a failed query for the dashboard, in one line an operator can act on and
// without the driver's own text, which names the database user, the database and the host
// (pgx's "failed to connect to `user=... database=...`") and may quote SQL; "" leaves the
// error unworded. It is a contribution kind: the database component contributes one from
// init() (its Problem, the words /health uses), so that panels word their errors through this
// package without importing the database, which the frontend and the parts that do not
// require the database must not. At most one may be contributed.
//
//	registry.Contribute(registry.Default, "database", frontend.ErrorWording(word))
type ErrorWording func(c *registry.Container, err error) string

// Problem is the error a panel's render or action returns when a query it made failed: its
// text, shown in the panel or the flash, is what ("cannot list users") and the contributed
// ErrorWording's line for err, or "the app's log says why" when none words it; err's own text
// is never shown. The dashboard logs the error it is given (at error level for a render, at
// warning for an action, with the request's ID), and there the whole cause is written.
// errors.Is and errors.As reach err. It costs nothing until a query fails.
func (p *PanelContext) Problem(what string, err error) error {
	if err == nil {
		return nil
	}
	line := ""
	if p.word != nil {
		line = p.word(p.Container, err)
	}
	if line == "" {
		return &problem{shown: what + "; the app's log says why", err: err}
	}
	return &problem{shown: what + ": " + line, err: err}
}

// problem is an error shown by its words, which hold none of the cause's text, and logged
// with the cause (slog resolves LogValue), so the log keeps what the page leaves out.
type problem struct {
	shown string
	err   error
}

func (e *problem) Error() string { return e.shown }
func (e *problem) Unwrap() error { return e.err }

// LogValue is the shown line and the cause, for the dashboard's log line of the failure.
func (e *problem) LogValue() slog.Value {
	return slog.StringValue(e.shown + " (cause: " + e.err.Error() + ")")
}
