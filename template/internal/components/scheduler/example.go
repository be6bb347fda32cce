package scheduler

import (
	"context"
	"log/slog"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The example job shipped with the component: it logs a line every hour. Copy it to write a
// real job, then delete this file. Like every job it is idempotent (it changes nothing), because
// with the worker component a failed run is retried and a catch-up may repeat a run.
func init() {
	registry.Contribute(registry.Default, "example_heartbeat", Every(time.Hour, func(ctx context.Context) error {
		slog.DebugContext(ctx, "scheduler: example job: still here")
		return nil
	}, nil))
}
