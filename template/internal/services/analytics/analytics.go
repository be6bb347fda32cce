// Package analytics is the analytics service: events tracked from code (Track,
// TrackUserAction, TrackPageView) and from browsers or other services (POST
// /api/v1/analytics/events), stored in the app's database in batches, rolled up per hour, and
// read back as counts, series, unique users, top events and funnels: through GET
// /api/v1/analytics/..., the Analytics panel and `<app> analytics stats|events|funnel|prune`.
//
// Tracking never blocks a request: events go to a bounded buffer written every
// ANALYTICS_FLUSH_INTERVAL or when ANALYTICS_BUFFER_SIZE events wait (COPY on PostgreSQL,
// multi-row INSERTs on SQLite), and the hourly counts are updated in the same transaction.
// When the database is down the buffer keeps up to ANALYTICS_BUFFER_LIMIT events and counts
// the rest as dropped (health turns degraded). At a graceful stop the buffer is written before
// the database closes.
//
// The service works with other parts through glue, so it names none of them:
//   - analytics+auth (internal/services/analyticsauth) provides an Identity: events carry the
//     user of the request, the GET endpoints need the admin role, and UserStats counts accounts;
//   - analytics+cache (internal/services/analyticscache) provides a Memo that caches UserStats;
//   - analytics+scheduler (internal/services/analyticsscheduler) deletes raw events older than
//     ANALYTICS_RETENTION every hour (without it, run `<app> analytics prune`).
package analytics

import (
	"embed"
	"errors"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the service's name in the catalog, in config and for migrations.
const Name = "analytics"

// StopTimeout bounds the service's stop, which writes what the buffer holds: 100,000 events
// took about one second on SQLite and two on PostgreSQL on a loaded 2-core machine
// (bench/RESULTS.md), so this leaves room for a slow disk.
const StopTimeout = 30 * time.Second

//go:embed migrations
var migrationFiles embed.FS

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds the Service to r with its settings, migrations, routes, panel and command.
// init() does it for registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, database.MigrationsFrom(migrationFiles))
	registry.Contribute(r, Name, backend.Routes(mount))
	registry.Contribute(r, Name, frontend.Panel{Title: "Analytics", Render: renderPanel, PanelOpts: frontend.PanelOpts{Order: 50}})
	registry.Contribute(r, Name, command.Builder(analyticsCommand))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide5(r, NewService, registry.Describe("event tracking: buffered batch writes, hourly roll-ups, counts and funnels"),
			// Stop writes the whole buffer: up to ANALYTICS_BUFFER_LIMIT events, a few seconds.
			registry.StopTimeout(StopTimeout)),
	)
}
