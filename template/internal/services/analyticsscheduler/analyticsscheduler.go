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
	// Deleting data is something an operator may have to account for later ("where did
	// last month's events go?"), so a run that deleted rows is logged at info; an hourly
	// run that found nothing stays at debug, out of the way.
	level := slog.LevelDebug
	if n > 0 {
		level = slog.LevelInfo
	}
	svc.Logger().Log(ctx, level, "analytics: retention deleted raw events older than ANALYTICS_RETENTION; their hourly counts are kept",
		slog.Int64("deleted", n), slog.Time("before", svc.KeptSince().UTC()))
	return nil
}
