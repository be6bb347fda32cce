// Package commsdb is the glue between the comms service and the database component (owned
// by the pair): it keeps every email and SMS, with its status, in the comms_messages table,
// so the Comms panel shows them across restarts and instances, and a delivery can run in
// another process (the worker) from the message's ID alone. It registers a comms.Store,
// which the comms service takes when present instead of its in-memory ring.
package commsdb

import (
	"context"
	"embed"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// Name is the glue's name: its migrations' owner and its service's name.
const Name = "commsdb"

//go:embed migrations
var migrations embed.FS

func init() {
	registry.Contribute(registry.Default, Name, database.MigrationsFrom(migrations))
	// comms takes the Store as an optional dependency, so the container starts the database
	// before the service and stops it after.
	_ = registry.Provide1(registry.Default, newStore,
		registry.Name(Name),
		registry.Describe("comms messages and their status in the database"),
	)
}

func newStore(_ context.Context, db *database.DB) (comms.Store, error) { return NewStore(db), nil }
