// Package schedulerdb is the glue between the scheduler and the database components (owned by
// the pair): it keeps the schedule and the run history in the database. Each tick is claimed
// with an INSERT keyed by (job, tick time), so however many scheduler instances fire it, one
// runs it; a restarted scheduler reads the history to catch up missed runs
// (scheduler.MissedRunOnce); 'schedule list' shows the last run, outcome and duration.
package schedulerdb

import (
	"context"
	"embed"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/scheduler"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the glue's name: its migrations' owner and its service's name.
const Name = "schedulerdb"

//go:embed migrations
var migrations embed.FS

func init() {
	registry.Contribute(registry.Default, Name, database.MigrationsFrom(migrations))
	// The scheduler takes the Store as an optional dependency, so the container starts the
	// database first and stops it only after the scheduler's ticks have stopped.
	_ = registry.Provide1(registry.Default, newStore,
		registry.Component(Name),
		registry.Describe("scheduler history in the database: each tick runs once across instances"),
	)
}

func newStore(_ context.Context, db *database.DB) (scheduler.Store, error) { return NewStore(db), nil }

// Retention is how long runs are kept; the latest run of each job is always kept.
const Retention = 7 * 24 * time.Hour

var _ scheduler.Store = (*Store)(nil)
