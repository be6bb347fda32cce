// Package schedulerdb is the glue between the scheduler and the database components (owned by
// the pair): it keeps the schedule and the run history in the database. Each tick is claimed
// with an INSERT keyed by (job, tick time), so however many scheduler instances fire it, one
// runs it; a restarted scheduler reads the history to catch up missed runs
// (scheduler.MissedRunOnce); 'schedule list' shows the last run, outcome and duration.
package schedulerdb

import (
	"context"
	"embed"
	"io/fs"
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
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		sub = nil // RegisterMigrations reports a nil fsys
	}
	database.RegisterMigrations(Name, sub)
	scheduler.WillAttach(Name)
	_ = registry.Provide2(registry.Default, newGlue,
		registry.Name(Name),
		registry.Kind(registry.KindComponent),
		registry.Describe("scheduler history in the database: each tick runs once across instances"),
	)
}

// Glue attaches a Store on the database to the scheduler when it starts, and detaches it
// (stopping the ticks first) when it stops.
type Glue struct {
	s     *scheduler.Scheduler
	store *Store
}

func newGlue(ctx context.Context, s *scheduler.Scheduler, db *database.DB) (*Glue, error) {
	return &Glue{s: s, store: NewStore(db)}, nil
}

// Start plugs the store into the scheduler.
func (g *Glue) Start(ctx context.Context) error {
	return g.s.Attach(ctx, Name, scheduler.Plugin{Store: g.store})
}

// Stop stops the scheduler's ticks before the database goes away.
func (g *Glue) Stop(ctx context.Context) error { return g.s.Detach(ctx, Name) }

// Retention is how long runs are kept; the latest run of each job is always kept.
const Retention = 7 * 24 * time.Hour

var (
	_ registry.Starter = (*Glue)(nil)
	_ registry.Stopper = (*Glue)(nil)
)
