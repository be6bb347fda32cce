package database

import "context"

// MigrateCmd exposes the migrate command's builder to the external tests.
var MigrateCmd = migrateCmd

// AllApplied exposes Start's one-query check, so tests see which way Start went.
func (db *DB) AllApplied(ctx context.Context) (bool, error) { return db.allApplied(ctx) }

// Unreachable exposes the error Start and migrate return for err, a failed connection.
func (db *DB) Unreachable(err error) error { return db.unreachable(err) }
