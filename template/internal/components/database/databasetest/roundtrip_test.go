// This test lives here, in a package only tests import, because it needs every part of the
// app linked in (the blank imports below): the database package's own tests register a test
// owner on registry.Default and expect it to be the only one.
package databasetest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"

	_ "github.com/aegisgo/aegis/template/internal/components"
	_ "github.com/aegisgo/aegis/template/internal/services"
)

// TestMigrationsRoundTrip takes the whole app's migrations, every part this app has, down and
// up again through the migrate command: each Down must remove what its Up made (a table or
// index left behind makes the next up fail, or leaves a schema that differs from a fresh one),
// so that taking a part out of an app, or rolling back a release, leaves a clean database.
func TestMigrationsRoundTrip(t *testing.T) {
	owners, err := database.Owners()
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) == 0 {
		t.Skip("no part of this app has migrations")
	}
	build := migrateBuilder(t)
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		s := databasetest.Settings(t, engine)
		t.Setenv("DATABASE_URL", s.URL)
		t.Setenv("AUTO_MIGRATE", "")
		run := func(args ...string) string {
			t.Helper()
			out, logs, err := commandtest.Run(t.Context(), registry.Default, build, args...)
			if err != nil {
				t.Fatalf("migrate %s: %v\n%s%s", strings.Join(args, " "), err, out, logs)
			}
			return out + logs
		}
		db, err := database.Open(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })

		run("up")
		top := schemaOf(t, db)
		if len(top) == 0 {
			t.Fatal("migrate up made no tables")
		}

		// One step down and up again, owner by owner, newest owner first.
		for _, o := range slices.Backward(owners) {
			run("down", "--owner", o)
			run("up")
			if diff := compare(top, schemaOf(t, db)); diff != "" {
				t.Errorf("after rolling back %s's latest migration and migrating up again:\n%s", o, diff)
			}
		}

		// All the way down, in the reverse of the order up applies the owners.
		for _, o := range slices.Backward(owners) {
			run("down", "--owner", o, "--all")
		}
		if left := schemaOf(t, db); len(left) != 0 {
			t.Errorf("after rolling back every migration of every owner, left behind:\n%s", strings.Join(left, "\n"))
		}
		st := run("status")
		for _, o := range owners {
			if !strings.Contains(st, o+": 0 applied,") {
				t.Errorf("status after rolling back everything, want %q applied none:\n%s", o, st)
			}
		}
		// Going below zero is nothing to do, said in one line naming the owner (not goose's
		// internals), and not a failure.
		out, _, err := commandtest.Run(t.Context(), registry.Default, build, "down", "--owner", owners[0])
		if want := "nothing to roll back: no migration of " + owners[0] + " is applied\n"; err != nil || !strings.HasSuffix(out, "\n"+want) {
			t.Errorf("migrate down with nothing applied = %q, %v; want %q", out, err, want)
		}

		run("up")
		if diff := compare(top, schemaOf(t, db)); diff != "" {
			t.Errorf("schema after down to zero and up again differs from the first up:\n%s", diff)
		}
	})
}

// migrateBuilder returns the migrate command as the app's command line gets it: the database
// component's contribution to registry.Default.
func migrateBuilder(t *testing.T) command.Builder {
	t.Helper()
	for _, c := range registry.Contributions[command.Builder](registry.Default) {
		if c.Name == "migrate" {
			return c.Value
		}
	}
	t.Fatal("no migrate command registered")
	return nil
}

// schemaOf lists the database's own objects (tables with their columns, indexes, constraints,
// sequences, types, functions, triggers, views), one sorted line each. Left out: goose's
// version tables, which rolling back keeps, and the objects of extensions (auth's pg_trgm),
// which a down step keeps on purpose: other tables may use them, and dropping one may need a
// privilege the migration lacks.
func schemaOf(t *testing.T, db *database.DB) []string {
	t.Helper()
	var queries []string
	if db.Engine() == database.SQLite {
		queries = []string{
			`SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '')
			   FROM sqlite_master
			  WHERE name NOT LIKE 'sqlite_%' AND tbl_name NOT LIKE 'goose_db_version_%'`,
			`SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p."notnull" ||
			        ' default=' || COALESCE(p.dflt_value, 'NULL') || ' pk=' || p.pk
			   FROM sqlite_master m, pragma_table_info(m.name) p
			  WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'goose_db_version_%'`,
		}
	} else {
		queries = []string{
			`SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type ||
			        ' nullable=' || is_nullable || ' default=' || COALESCE(column_default, 'NULL')
			   FROM information_schema.columns
			  WHERE table_schema = current_schema() AND table_name NOT LIKE 'goose_db_version_%'`,
			`SELECT 'index ' || indexdef FROM pg_indexes
			  WHERE schemaname = current_schema() AND tablename NOT LIKE 'goose_db_version_%'`,
			`SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
			   FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
			  WHERE n.nspname = current_schema() AND c.conrelid::regclass::text NOT LIKE 'goose_db_version_%'`,
			`SELECT 'relation ' || c.relkind::text || ' ' || c.relname
			   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE n.nspname = current_schema() AND c.relname NOT LIKE 'goose_db_version_%'`,
			`SELECT 'type ' || t.typname || ' ' || t.typtype::text
			   FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
			  WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'c')
			    AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')`,
			`SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || md5(pg_get_functiondef(p.oid))
			   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			  WHERE n.nspname = current_schema() AND p.prokind = 'f'
			    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
			`SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' ' || md5(pg_get_triggerdef(t.oid))
			   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE n.nspname = current_schema() AND NOT t.tgisinternal`,
		}
	}
	var out []string
	for _, q := range queries {
		out = append(out, lines(t.Context(), t, db, q)...)
	}
	slices.Sort(out)
	return out
}

func lines(ctx context.Context, t *testing.T, db *database.DB, q string) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// compare returns the lines only one schema has, marked - (missing) and + (extra), or "".
func compare(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "- %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "+ %s\n", g)
		}
	}
	return b.String()
}
