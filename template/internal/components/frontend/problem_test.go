package frontend

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanelProblem: Problem shows what and the wording's line, or says the log has the cause
// when nothing words it, never the cause's text; errors.Is reaches the cause, and a log line
// of the error keeps it.
func TestPanelProblem(t *testing.T) {
	cause := errors.New("failed to connect to `user=postgres database=secret`")
	word := func(_ *registry.Container, err error) string {
		if errors.Is(err, cause) {
			return "db:5432 refused the connection"
		}
		return ""
	}
	for _, tt := range []struct {
		name string
		word ErrorWording
		want string
	}{
		{"worded", word, "cannot list users: db:5432 refused the connection"},
		{"no wording", nil, "cannot list users; the app's log says why"},
		{"not worded", func(*registry.Container, error) string { return "" }, "cannot list users; the app's log says why"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := (&PanelContext{word: tt.word}).Problem("cannot list users", cause)
			if err.Error() != tt.want {
				t.Errorf("Problem = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, cause) {
				t.Error("errors.Is does not reach the cause")
			}
			var log bytes.Buffer
			slog.New(slog.NewTextHandler(&log, nil)).Error("render", "error", err)
			if !strings.Contains(log.String(), "user=postgres database=secret") {
				t.Errorf("the log line lacks the cause: %s", log.String())
			}
		})
	}
	if err := (&PanelContext{word: word}).Problem("x", nil); err != nil {
		t.Errorf("Problem(nil) = %v, want nil", err)
	}
}
