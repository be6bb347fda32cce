package database

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// VersionTablePrefix starts the name of each owner's goose version table:
// goose_db_version_auth, goose_db_version_worker. One table per owner means an owner's
// migrations are numbered on their own and can be added to or removed from an app without
// touching anyone else's history.
const VersionTablePrefix = "goose_db_version_"

// Migrations are the migrations of one owner (a component or service, the contribution's
// name): FS holds sqlite/*.sql and postgres/*.sql, goose SQL migrations
// (00001_create_users.sql with "-- +goose Up" and "-- +goose Down" sections), one folder per
// engine because the two dialects differ. Owners contribute them from init():
//
//	registry.Contribute(registry.Default, "auth", database.Migrations{FS: sub})
//
// An invalid owner name, a nil FS or a second contribution for the same owner fails the
// container's Build, naming where each registration happened.
type Migrations struct {
	FS fs.FS
}

// MigrationsFrom returns the migrations in the "migrations" folder of fsys, the embed.FS of
// an owner that embeds it (migrations/sqlite/*.sql and migrations/postgres/*.sql):
//
//	//go:embed migrations
//	var migrationFiles embed.FS
//
//	registry.Contribute(r, "auth", database.MigrationsFrom(migrationFiles))
func MigrationsFrom(fsys fs.FS) Migrations {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		// Sub fails only on an invalid name; a nil FS makes Build name the owner.
		return Migrations{}
	}
	return Migrations{FS: sub}
}

// ValidateContribution checks the owner name and that there is a file system.
func (m Migrations) ValidateContribution(owner string) error {
	switch {
	case !ownerPattern.MatchString(owner):
		return fmt.Errorf("database: owner %q must be lowercase letters, digits and _ (at most 46), starting with a letter", owner)
	case m.FS == nil:
		return fmt.Errorf("database: migrations of %q: FS is nil", owner)
	}
	return nil
}

// migrationSet is the migrations a DB runs: every owner's, checked.
type migrationSet struct {
	owners []ownerMigrations // by owner name, the order migrations run in
	err    error             // registration mistakes, returned by every migration operation
}

type ownerMigrations struct {
	owner string
	fsys  fs.FS
	where string
}

// ownerPattern keeps owner names usable in a table name on both engines (PostgreSQL allows
// 63 bytes; the prefix takes 17).
var ownerPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,45}$`)

// newMigrationSet checks all as Build does, for sets that do not come from a built container
// (Open, tests).
func newMigrationSet(all registry.All[Migrations]) *migrationSet {
	m := &migrationSet{}
	seen := map[string]string{}
	var errs []error
	for _, c := range all {
		if err := c.Value.ValidateContribution(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("database: register migrations at %s: %w", c.Registered, err))
			continue
		}
		if prev, dup := seen[c.Name]; dup {
			errs = append(errs, fmt.Errorf("database: register migrations of %q at %s: already registered at %s", c.Name, c.Registered, prev))
			continue
		}
		seen[c.Name] = c.Registered
		m.owners = append(m.owners, ownerMigrations{owner: c.Name, fsys: c.Value.FS, where: c.Registered})
	}
	slices.SortFunc(m.owners, func(a, b ownerMigrations) int { return strings.Compare(a.owner, b.owner) })
	m.err = errors.Join(errs...)
	return m
}

// defaultMigrations are those contributed to registry.Default: every owner linked into the
// binary.
func defaultMigrations() *migrationSet {
	return newMigrationSet(registry.Contributions[Migrations](registry.Default))
}

// list returns the owners sorted by name, or the registration errors.
func (m *migrationSet) list() ([]ownerMigrations, error) {
	if m.err != nil {
		return nil, m.err
	}
	return m.owners, nil
}

// Owners returns the names of the owners that contributed migrations to registry.Default,
// sorted.
func Owners() ([]string, error) { return defaultMigrations().names() }

func (m *migrationSet) names() ([]string, error) {
	owners, err := m.list()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(owners))
	for i, o := range owners {
		names[i] = o.owner
	}
	return names, nil
}

// MigrationsChecksum returns a digest of every migration file contributed to registry.Default for engine, owner
// names included. databasetest names its PostgreSQL template database after it, so a changed
// migration builds a new template instead of reusing a stale one.
func MigrationsChecksum(engine Engine) (string, error) {
	owners, err := defaultMigrations().list()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, o := range owners {
		files, err := fs.Glob(o.fsys, string(engine)+"/*.sql")
		if err != nil {
			return "", fmt.Errorf("database: list migrations of %q: %w", o.owner, err)
		}
		for _, f := range files {
			data, err := fs.ReadFile(o.fsys, f)
			if err != nil {
				return "", fmt.Errorf("database: read migration %s of %q: %w", f, o.owner, err)
			}
			fmt.Fprintf(h, "%s\x00%s\x00%d\x00", o.owner, f, len(data))
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Migration is one migration of one owner and whether it is applied.
type Migration struct {
	Owner     string
	Version   int64
	File      string    // base name, e.g. 00001_create_users.sql
	Applied   bool      // applied to this database
	AppliedAt time.Time // when, if Applied (the database's clock)
}

// OwnerStatus is the migration state of one owner.
type OwnerStatus struct {
	Owner      string
	Migrations []Migration // by version
}

// Counts returns how many of the owner's migrations are applied and pending.
func (s OwnerStatus) Counts() (applied, pending int) {
	for _, m := range s.Migrations {
		if m.Applied {
			applied++
		} else {
			pending++
		}
	}
	return applied, pending
}

// MigrationResult is one migration that MigrateUp applied or MigrateDown rolled back.
type MigrationResult struct {
	Owner    string
	Version  int64
	File     string
	Duration time.Duration
}

// provider returns goose's migrator for one owner on this database.
func (db *DB) provider(o ownerMigrations) (*goose.Provider, error) {
	sub, err := fs.Sub(o.fsys, string(db.engine))
	if err != nil {
		return nil, fmt.Errorf("database: migrations of %q: %w", o.owner, err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{
		goose.WithTableName(VersionTablePrefix + o.owner),
		// Go migrations registered globally with goose would run for every owner.
		goose.WithDisableGlobalRegistry(true),
	}
	if db.engine == Postgres {
		dialect = goose.DialectPostgres
		// Several instances starting at once must not run the same migration twice: an
		// advisory lock per owner (and per database, as PostgreSQL scopes them) serialises
		// them. SQLite needs none: goose's transaction takes the file's write lock.
		h := fnv.New64a()
		h.Write([]byte(VersionTablePrefix + o.owner))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("database: migrations of %q: %w", o.owner, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.sql, sub, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil, fmt.Errorf("database: migrations of %q (registered at %s): no %s/*.sql files: %w", o.owner, o.where, db.engine, err)
	}
	if err != nil {
		return nil, fmt.Errorf("database: migrations of %q (registered at %s): %w", o.owner, o.where, err)
	}
	return p, nil
}

// allApplied reports whether every owner's version table records every one of its migrations
// as applied, in one query over all the tables. The migrations are goose's own list (a
// provider reads the files and touches no database). It never migrates and takes no lock: a
// false answer or an error (a table missing) only means "ask goose".
func (db *DB) allApplied(ctx context.Context) (bool, error) {
	owners, err := db.migrations.list()
	if err != nil || len(owners) == 0 {
		return false, err
	}
	type version struct {
		owner int
		id    int64
	}
	var (
		want []version
		q    strings.Builder
	)
	for i, o := range owners {
		p, err := db.provider(o)
		if err != nil {
			return false, err
		}
		for _, src := range p.ListSources() {
			want = append(want, version{i, src.Version})
		}
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		// Owner names match ownerPattern, so they are safe in an identifier.
		fmt.Fprintf(&q, "SELECT %d, version_id FROM %s%s WHERE is_applied", i, VersionTablePrefix, o.owner)
	}
	rows, err := db.sql.QueryContext(ctx, q.String())
	if err != nil {
		return false, err
	}
	defer rows.Close()
	applied := map[version]bool{}
	for rows.Next() {
		var v version
		if err := rows.Scan(&v.owner, &v.id); err != nil {
			return false, err
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, v := range want {
		if !applied[v] {
			return false, nil
		}
	}
	return true, nil
}

// findOwner returns the registered migrations of owner.
func (db *DB) findOwner(owner string) (ownerMigrations, []ownerMigrations, error) {
	owners, err := db.migrations.list()
	if err != nil {
		return ownerMigrations{}, nil, err
	}
	for _, o := range owners {
		if o.owner == owner {
			return o, owners, nil
		}
	}
	return ownerMigrations{}, owners, fmt.Errorf("database: no migrations registered for owner %q; owners: %s", owner, ownerNames(owners))
}

func ownerNames(owners []ownerMigrations) string {
	if len(owners) == 0 {
		return "none"
	}
	names := make([]string, len(owners))
	for i, o := range owners {
		names[i] = o.owner
	}
	return strings.Join(names, ", ")
}

// MigrateUp applies every pending migration of every owner, owner by owner in name order,
// each migration in its own transaction. It returns what it applied, also when it fails
// partway.
func (db *DB) MigrateUp(ctx context.Context) ([]MigrationResult, error) {
	owners, err := db.migrations.list()
	if err != nil {
		return nil, err
	}
	var done []MigrationResult
	for _, o := range owners {
		p, err := db.provider(o)
		if err != nil {
			return done, err
		}
		res, err := p.Up(ctx)
		var partial *goose.PartialError
		if errors.As(err, &partial) {
			res = partial.Applied
		}
		done = append(done, results(o.owner, res)...)
		if err != nil {
			return done, fmt.Errorf("database: migrate %q up: %w", o.owner, err)
		}
	}
	return done, nil
}

// MigrateDown rolls back the most recent migration of owner.
func (db *DB) MigrateDown(ctx context.Context, owner string) (MigrationResult, error) {
	o, _, err := db.findOwner(owner)
	if err != nil {
		return MigrationResult{}, err
	}
	p, err := db.provider(o)
	if err != nil {
		return MigrationResult{}, err
	}
	res, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return MigrationResult{}, fmt.Errorf("database: migrate %q down: %w", owner, ErrNothingApplied)
	}
	if err != nil {
		return MigrationResult{}, downError(owner, err)
	}
	return results(owner, []*goose.MigrationResult{res})[0], nil
}

// MigrateDownAll rolls back every applied migration of owner, newest first: what taking a
// part out of an app needs before its tables go. On a failure it returns what was rolled back.
func (db *DB) MigrateDownAll(ctx context.Context, owner string) ([]MigrationResult, error) {
	o, _, err := db.findOwner(owner)
	if err != nil {
		return nil, err
	}
	p, err := db.provider(o)
	if err != nil {
		return nil, err
	}
	res, err := p.DownTo(ctx, 0)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		res = partial.Applied
	}
	done := results(owner, res)
	if err != nil {
		return done, downError(owner, err)
	}
	return done, nil
}

// dependentTable finds the tables in PostgreSQL's detail of a refused DROP ("constraint x on
// table y depends on table z", a line each).
var dependentTable = regexp.MustCompile(`on table (\S+) depends on`)

// downError words a failed roll back of owner. PostgreSQL refuses to drop a table another
// owner's table refers to (auth's users, a token table of another part): goose's "partial
// migration error ... cannot drop table" says neither which tables stand in the way nor that
// their owner must be rolled back first, so this error says both.
func downError(owner string, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "2BP01" { // dependent_objects_still_exist
		return fmt.Errorf("database: migrate %q down: %w", owner, err)
	}
	file := ""
	var partial *goose.PartialError
	if errors.As(err, &partial) && partial.Failed != nil && partial.Failed.Source != nil {
		file = path.Base(partial.Failed.Source.Path) + ": "
	}
	var tables []string
	for _, m := range dependentTable.FindAllStringSubmatch(pgErr.Detail, -1) {
		if !slices.Contains(tables, m[1]) {
			tables = append(tables, m[1])
		}
	}
	slices.Sort(tables)
	what, whose := "other owners' tables depend", "their owners"
	switch len(tables) {
	case 0:
	case 1:
		what, whose = "table "+tables[0]+" depends", "its owner"
	default:
		what = "tables " + strings.Join(tables, ", ") + " depend"
	}
	return fmt.Errorf("database: migrate %q down: %s%s on this owner's tables; roll back %s first (migrate down --owner OWNER --all, 'migrate status' lists them)", owner, file, what, whose)
}

// MigrationStatus returns every owner's migrations and whether each is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]OwnerStatus, error) {
	owners, err := db.migrations.list()
	if err != nil {
		return nil, err
	}
	out := make([]OwnerStatus, 0, len(owners))
	for _, o := range owners {
		p, err := db.provider(o)
		if err != nil {
			return nil, err
		}
		st, err := p.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("database: status of %q migrations: %w", o.owner, err)
		}
		s := OwnerStatus{Owner: o.owner}
		for _, m := range st {
			s.Migrations = append(s.Migrations, Migration{
				Owner:     o.owner,
				Version:   m.Source.Version,
				File:      path.Base(m.Source.Path),
				Applied:   m.State == goose.StateApplied,
				AppliedAt: m.AppliedAt,
			})
		}
		out = append(out, s)
	}
	return out, nil
}

func results(owner string, in []*goose.MigrationResult) []MigrationResult {
	out := make([]MigrationResult, 0, len(in))
	for _, r := range in {
		if r == nil || r.Source == nil {
			continue
		}
		out = append(out, MigrationResult{Owner: owner, Version: r.Source.Version, File: path.Base(r.Source.Path), Duration: r.Duration})
	}
	return out
}

// pendingError returns nil when nothing is pending, else the one-line refusal that names the
// command to run.
func pendingError(status []OwnerStatus, binary string) error {
	e := &PendingError{Binary: binary}
	for _, s := range status {
		if _, pending := s.Counts(); pending > 0 {
			e.Owners = append(e.Owners, s.Owner)
			e.Total += pending
		}
	}
	if e.Total == 0 {
		return nil
	}
	return e
}

// PendingError is Start's refusal to run on a database that lacks migrations (with
// AUTO_MIGRATE=false). It matches ErrPendingMigrations with errors.Is.
type PendingError struct {
	Total  int      // migrations pending, all owners together
	Owners []string // owners with pending migrations
	Binary string   // the app's binary, for the command to run
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("database: %d migration(s) pending (%s); run '%s migrate up', or set AUTO_MIGRATE=true to migrate on start",
		e.Total, strings.Join(e.Owners, ", "), e.Binary)
}

// Is makes errors.Is(err, ErrPendingMigrations) true.
func (e *PendingError) Is(target error) bool { return target == ErrPendingMigrations }

// Standalone tells the registry that the message is complete for the person running the app
// (registry.StandaloneError): a command started on an unmigrated database then fails with
// this line alone, not behind "start database (registered at <source path>)".
func (e *PendingError) Standalone() bool { return true }
