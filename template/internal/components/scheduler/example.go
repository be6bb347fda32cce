package scheduler

import (
	"context"
	"log/slog"
	"time"
)

// The example job shipped with the component: it logs a line every hour. Copy it to write a
// real job, then delete this file. Like every job it is idempotent (it changes nothing), because
// with the worker component a failed run is retried and a catch-up may repeat a run.
func init() {
	Every("example_heartbeat", time.Hour, func(ctx context.Context) error {
		slog.DebugContext(ctx, "scheduler: example job: still here")
		return nil
	}, nil)
}
