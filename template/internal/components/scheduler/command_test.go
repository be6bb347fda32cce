package scheduler

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestScheduleCommand is not parallel: running a command makes slog's default logger write to
// the command's stderr buffer, which cobra writes to as well, so another test logging at the
// same time would race on it. The previous default is put back afterwards.
func TestScheduleCommand(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	run := func(args ...string) (string, error) {
		t.Helper()
		// The scheduler and the jobs, as init() contributed them.
		r := registry.Default.Clone()
		out, _, err := commandtest.Run(context.Background(), r, scheduleCmd, args...)
		return out, err
	}
	out, err := run("list")
	if err != nil || !strings.Contains(out, "test_cron") || !strings.Contains(out, "cron 0 3 * * *") || !strings.Contains(out, "run once") {
		t.Errorf("list: %q, %v", out, err)
	}
	if out, err := run("run", "example_heartbeat"); err != nil || !strings.Contains(out, "example_heartbeat: ok") {
		t.Errorf("run: %q, %v", out, err)
	}
	if _, err := run("run", "nope"); err == nil || !strings.Contains(err.Error(), "no scheduled job") {
		t.Errorf("run of an unknown job: %v", err)
	}
}

// 'schedule run' without JOB, or with more, says what it takes, as a usage error (exit 2) the
// way the binary reports it.
func TestScheduleRunArguments(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "schedule run needs JOB (see 'app schedule run --help')"},
		{[]string{"run", "a", "b"}, "schedule run takes only JOB; got 2 arguments (see 'app schedule run --help')"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := commandtest.Run(t.Context(), registry.Default.Clone(), scheduleCmd, tt.args...)
			commandtest.WantUsage(t, err, tt.want)
		})
	}
}
