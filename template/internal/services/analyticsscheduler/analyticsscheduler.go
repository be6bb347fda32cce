// Package analyticsscheduler is the glue between the analytics service and the scheduler
// component (owned by the pair): the analytics_retention job deletes raw events older than
// ANALYTICS_RETENTION every hour, while the hourly counts stay. Without the scheduler,
// `<app> analytics prune` does the same.
package analyticsscheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/scheduler"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
)

// JobName is the retention job's name.
const JobName = "analytics_retention"

func init() {
	Register(registry.Default)
}

// Register contributes the retention job to r.
func Register(r *registry.Registry) {
	// Pruning is idempotent, so a retried or caught-up run does no harm; one missed run is
	// made up at start-up, so a scheduler that was down for a while still prunes.
	registry.Contribute(r, JobName, scheduler.Every(time.Hour, Retain, &scheduler.JobOpts{Missed: scheduler.MissedRunOnce}))
}

// Retain is the job: it prunes through the analytics service of the job's scope.
func Retain(ctx context.Context) error {
	res, ok := registry.FromContext(ctx)
	if !ok {
		return errors.New("analyticsscheduler: no registry scope in the job's context")
	}
	svc, err := registry.Get[*analytics.Service](res)
	if err != nil {
		return fmt.Errorf("analyticsscheduler: %w", err)
	}
	n, err := svc.Prune(ctx)
	if err != nil {
		return err
	}
	slog.DebugContext(ctx, "analytics: retention", slog.Int64("deleted", n))
	return nil
}
