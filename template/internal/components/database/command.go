package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// binaryName is the app's binary as the command line knows it, remembered when the migrate
// command is built so Start's refusal can name the command to run.
var binaryName atomic.Pointer[string]

// CommandName returns the app binary's name, for messages that tell the user what to run.
func CommandName() string {
	if n := binaryName.Load(); n != nil {
		return *n
	}
	return filepath.Base(os.Args[0])
}

// helpOwners returns two owners for the help's examples: this app's first and last owners with
// migrations, so that an example copied from the help runs here (fixed names such as auth
// would name an owner the app may not have), or OWNER when it has none.
func helpOwners(r *registry.Registry) [2]string {
	owners, err := newMigrationSet(registry.Contributions[Migrations](r)).names()
	if err != nil || len(owners) == 0 {
		return [2]string{"OWNER", "OWNER"}
	}
	return [2]string{owners[0], owners[len(owners)-1]}
}

func loadSettings() (Settings, error) {
	s, err := config.Load[Settings]()
	if err != nil {
		return Settings{}, err
	}
	return s.WithDefaults(), nil
}

func migrateCmd(env *command.Env) *cobra.Command {
	binaryName.Store(&env.Name)
	exampleOwners := helpOwners(env.Registry)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list database migrations",
		Long: `Apply, roll back or list database migrations.

Each part of the app that stores data (a component or service: its "owner")
ships its own migrations and has its own version table, so owners are migrated
and rolled back independently. The database is the one DATABASE_URL names.

With AUTO_MIGRATE=true (the development default) serve migrates on start; in
production set AUTO_MIGRATE=false and run 'migrate up' as a deploy step: serve
then refuses to start on a database that lacks migrations.`,
		Example: fmt.Sprintf(`  %[1]s migrate up
  %[1]s migrate status
  %[1]s migrate down --owner %[2]s`, env.Name, exampleOwners[0]),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}

	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration of every owner",
		Example: fmt.Sprintf(`  %[1]s migrate up

  # Production: migrate as a deploy step, then serve with AUTO_MIGRATE=false
  %[1]s migrate up && AUTO_MIGRATE=false %[1]s serve`, env.Name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd.Context(), env, func(ctx context.Context, db *DB) error {
				done, err := db.MigrateUp(ctx)
				for _, r := range done {
					fmt.Fprintf(env.Stdout, "applied %s %s (%s)\n", r.Owner, r.File, r.Duration.Round(time.Microsecond))
				}
				if err != nil {
					return err
				}
				if len(done) == 0 {
					fmt.Fprintln(env.Stdout, "nothing to apply: the database is up to date")
				}
				return nil
			})
		},
	}

	var owner string
	var all bool
	down := &cobra.Command{
		Use:   "down --owner OWNER [--all]",
		Short: "Roll back the latest migration of one owner (or all of them)",
		Long: `Roll back the latest migration of one owner (see 'migrate status' for the
owners). Run it again to go back further, or pass --all to roll back every
applied migration of the owner, newest first (before taking its part out of
the app: its tables go with its first migration's down step).`,
		Example: fmt.Sprintf(`  %[1]s migrate down --owner %[2]s
  %[1]s migrate down --owner %[3]s --all`, env.Name, exampleOwners[0], exampleOwners[1]),
		RunE: func(cmd *cobra.Command, _ []string) error {
			owners, err := newMigrationSet(registry.Contributions[Migrations](env.Registry)).names()
			if err != nil {
				return err
			}
			if owner == "" {
				return command.UsageError(cmd, "--owner is required; owners with migrations: %s", listOrNone(owners))
			}
			if !slices.Contains(owners, owner) {
				return command.UsageError(cmd, "no migrations registered for owner %q; owners with migrations: %s", owner, listOrNone(owners))
			}
			if all {
				return withDB(cmd.Context(), env, func(ctx context.Context, db *DB) error {
					done, err := db.MigrateDownAll(ctx, owner)
					for _, r := range done {
						fmt.Fprintf(env.Stdout, "rolled back %s %s (%s)\n", r.Owner, r.File, r.Duration.Round(time.Microsecond))
					}
					if err == nil && len(done) == 0 {
						fmt.Fprintf(env.Stdout, "nothing to roll back: no migration of %s is applied\n", owner)
					}
					return err
				})
			}
			return withDB(cmd.Context(), env, func(ctx context.Context, db *DB) error {
				r, err := db.MigrateDown(ctx, owner)
				if errors.Is(err, ErrNothingApplied) {
					// Nothing to do is not a failure: a script rolling back until done stops here.
					fmt.Fprintf(env.Stdout, "nothing to roll back: no migration of %s is applied\n", owner)
					return nil
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "rolled back %s %s (%s)\n", r.Owner, r.File, r.Duration.Round(time.Microsecond))
				return nil
			})
		},
	}
	down.Flags().StringVar(&owner, "owner", "", "owner whose latest migration to roll back (required)")
	down.Flags().BoolVar(&all, "all", false, "roll back every applied migration of the owner, newest first")

	status := &cobra.Command{
		Use:   "status",
		Short: "List every owner's migrations, applied and pending",
		Example: fmt.Sprintf(`  %[1]s migrate status
  DATABASE_URL=postgres://app@db.internal:5432/app %[1]s migrate status`, env.Name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd.Context(), env, func(ctx context.Context, db *DB) error {
				st, err := db.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				printStatus(env.Stdout, st)
				return nil
			})
		},
	}

	cmd.AddCommand(up, down, status)
	return cmd
}

// withDB opens the database without starting the app: migrating must work while the rest
// of the app could not start (its tables missing), and must not itself migrate on start.
func withDB(ctx context.Context, env *command.Env, fn func(context.Context, *DB) error) (err error) {
	s, err := loadSettings()
	if err != nil {
		return err
	}
	db, err := OpenWith(ctx, s, registry.Contributions[Migrations](env.Registry))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	pingCtx, cancel := context.WithTimeout(ctx, s.ConnectTimeout)
	err = db.Ping(pingCtx)
	cancel()
	if err != nil {
		return db.unreachable(err)
	}
	fmt.Fprintf(env.Stdout, "database: %s\n", db)
	return fn(ctx, db)
}

func printStatus(out io.Writer, st []OwnerStatus) {
	if len(st) == 0 {
		fmt.Fprintln(out, "no migrations registered")
		return
	}
	// Aligned in a buffer, then each line's trailing blanks cut: a pending migration's empty
	// time column would otherwise pad its line out to the applied ones' width.
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range st {
		applied, pending := s.Counts()
		fmt.Fprintf(tw, "%s: %d applied, %d pending\n", s.Owner, applied, pending)
		for _, m := range s.Migrations {
			if m.Applied {
				fmt.Fprintf(tw, "  applied\t%s\t%s\n", m.File, m.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
			} else {
				fmt.Fprintf(tw, "  pending\t%s\t\n", m.File)
			}
		}
	}
	_ = tw.Flush()
	for line := range strings.Lines(b.String()) {
		fmt.Fprintln(out, strings.TrimRight(line, " \n"))
	}
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
