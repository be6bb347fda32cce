package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMigrationNotices: add and remove name migration owners as the app's migrate command knows
// them (commsdb, not the catalog's comms+database), the worker's River tables included. Remove
// names the tables it keeps before it asks (a user deciding whether to remove should know), in
// a dry run too, and once it has run prints how to drop them, without naming them twice: one
// DROP TABLE IF EXISTS per table, a table before those it references, and the PostgreSQL
// extensions a part's migrations created (auth's pg_trgm) apart, only for that part.
func TestMigrationNotices(t *testing.T) {
	env := Env{}
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	aegisOK(t, env, "init", "app", "-o", root, "--no-interactive", "-c", "database")

	out := aegisOK(t, env, "add", "comms", "worker", "auth", "-p", dir, "--yes")
	if want := "The migrations of auth, authcomms, commsdb, worker run with the next 'go run ./cmd/app migrate up'"; !strings.Contains(out, want) {
		t.Errorf("add output lacks %q:\n%s", want, out)
	}

	const stay = "Database tables stay: remove drops none of them (once it has run, it prints how to drop them):\n"
	tests := []struct {
		remove string
		git    bool     // the project is put in git before the removal
		notice string   // before the question
		want   []string // once it has run, in this order
		not    []string
	}{
		{
			remove: "comms",
			// auth+comms goes with comms; its owner sorts first, so it is dropped after.
			notice: stay +
				"  'commsdb' (from comms+database): comms_messages, goose_db_version_commsdb\n" +
				"  'authcomms' (from auth+comms): authcomms_tokens, goose_db_version_authcomms\n",
			want: []string{
				// Outside git there is no previous commit to restore the down steps from.
				"To drop the tables of 'commsdb' (from comms+database), add back what was removed (aegis add comms), run 'go run ./cmd/app migrate down --owner commsdb --all'",
				"    DROP TABLE IF EXISTS comms_messages;\n    DROP TABLE IF EXISTS goose_db_version_commsdb;\n",
				"To drop the tables of 'authcomms' (from auth+comms),",
				"    DROP TABLE IF EXISTS authcomms_tokens;\n",
			},
			not: []string{"comms+database migrate", "goose_db_version_comms+", "EXTENSION"},
		},
		{
			remove: "auth",
			git:    true,
			// Its search index's extension, database-wide, named before and, once removed, with
			// the condition to drop it.
			notice: stay + "  'auth': auth_users, auth_refresh_tokens, auth_dashboard_sessions, goose_db_version_auth; on PostgreSQL also EXTENSION pg_trgm\n",
			want: []string{
				"To drop the tables of 'auth', restore the previous commit, run 'go run ./cmd/app migrate down --owner auth --all'",
				"    DROP TABLE IF EXISTS auth_dashboard_sessions;\n    DROP TABLE IF EXISTS auth_refresh_tokens;\n    DROP TABLE IF EXISTS auth_users;\n    DROP TABLE IF EXISTS goose_db_version_auth;\n",
				"  On PostgreSQL its migrations also created the extension pg_trgm, which was kept: it serves the whole database,\n" +
					"  so drop it only if nothing else uses it (without CASCADE, PostgreSQL refuses while an index or column needs it):\n" +
					"    DROP EXTENSION IF EXISTS pg_trgm;\n",
			},
		},
		{
			remove: "worker",
			notice: stay + "  'worker': river_migration, river_job, river_leader, river_queue, river_notification, goose_db_version_worker; on PostgreSQL also FUNCTION river_job_state_in_bitmask, TYPE river_job_state\n",
			want: []string{
				"'go run ./cmd/app migrate down --owner worker --all'",
				"    DROP TABLE IF EXISTS river_notification;\n",
				"    DROP TABLE IF EXISTS river_migration;\n    DROP TABLE IF EXISTS goose_db_version_worker;\n",
				"on PostgreSQL also:\n    DROP FUNCTION IF EXISTS river_job_state_in_bitmask;\n    DROP TYPE IF EXISTS river_job_state;\n",
			},
			not: []string{"EXTENSION"},
		},
	}
	list := regexp.MustCompile(`DROP TABLE [^;]*,`)
	for _, tt := range tests {
		t.Run(tt.remove, func(t *testing.T) {
			if tt.git {
				for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "app"}} {
					if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
						t.Skipf("git %s: %v: %s", args[0], err, out)
					}
				}
			}
			// Asked and refused: the notice comes before the question, and nothing is dropped
			// or changed yet, so there is nothing to drop either.
			r := run(t, env, "n\n", "remove", tt.remove, "-p", dir)
			if i, j := strings.Index(r.stdout, tt.notice), strings.Index(r.stdout, "Change these files?"); r.code != 0 || i < 0 || j < i {
				t.Fatalf("remove answered n: exit %d, stdout lacks %q before the question:\n%s%s", r.code, tt.notice, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "Cancelled; nothing was changed.") || strings.Contains(r.stdout, "To drop") {
				t.Errorf("remove answered n: stdout %q; want it cancelled, with no way to drop tables yet", r.stdout)
			}
			if out := aegisOK(t, env, "remove", tt.remove, "-p", dir, "--dry-run"); !strings.Contains(out, tt.notice+"Dry run: nothing was changed.\n") {
				t.Errorf("remove --dry-run output lacks %q before its last line:\n%s", tt.notice, out)
			}

			out := aegisOK(t, env, "remove", tt.remove, "-p", dir, "--yes")
			if strings.Count(out, stay) != 1 || !strings.Contains(out, tt.notice) {
				t.Errorf("remove --yes output does not name the tables once, as %q:\n%s", tt.notice, out)
			}
			rest := out[strings.Index(out, "Removed "):]
			for _, want := range tt.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("remove output lacks %q after the removal (or not in order):\n%s", want, out)
				}
				rest = rest[i+len(want):]
			}
			for _, not := range tt.not {
				if strings.Contains(out, not) {
					t.Errorf("remove output has %q:\n%s", not, out)
				}
			}
			if m := list.FindString(out); m != "" {
				t.Errorf("remove output drops a list of tables in one statement (%q), which SQLite refuses:\n%s", m, out)
			}
		})
	}
}

// TestRemoveNamesUserMigrationsOnce: a migration of the user's in a removed part's folder is
// kept, as every file of theirs, and ran under the part's owner: remove counts its tables among
// those it keeps and names the file once, with the tables (not among the kept files, whose advice
// to delete them would lose its down step, nor again through the folder above it).
func TestRemoveNamesUserMigrationsOnce(t *testing.T) {
	env := Env{}
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	aegisOK(t, env, "init", "app", "-o", root, "--no-interactive", "-c", "database", "-s", "comms")
	migrations := "internal/services/commsdb/migrations/"
	sql := "-- +goose Up\nCREATE TABLE comms_extra (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE comms_extra;\n"
	files := map[string]string{
		migrations + "postgres/00002_extra.sql": sql,
		migrations + "sqlite/00002_extra.sql":   sql,
		migrations + "NOTES.md":                 "mine\n",
	}
	for rel, data := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := aegisOK(t, env, "remove", "comms", "-p", dir, "--yes")

	tests := []struct {
		text  string
		after string // the line it must follow ("" for any)
	}{
		{migrations + "postgres/00002_extra.sql", "To drop the tables of 'commsdb'"},
		{migrations + "sqlite/00002_extra.sql", "To drop the tables of 'commsdb'"},
		{migrations + "NOTES.md", "Kept files aegis did not generate"},
		{"  'commsdb' (from comms+database): comms_messages, comms_extra, goose_db_version_commsdb\n", ""},
		{"    DROP TABLE IF EXISTS comms_extra;\n    DROP TABLE IF EXISTS comms_messages;\n", ""},
	}
	for _, tt := range tests {
		if n := strings.Count(out, tt.text); n != 1 {
			t.Errorf("remove output has %q %d times, want once:\n%s", tt.text, n, out)
			continue
		}
		if tt.after != "" && strings.Index(out, tt.after) > strings.Index(out, tt.text) {
			t.Errorf("remove output names %q before %q:\n%s", tt.text, tt.after, out)
		}
	}
	if strings.Contains(out, migrations+",") || strings.Contains(out, migrations+"\n") {
		t.Errorf("remove output names the folder %s of aegis's as the user's:\n%s", migrations, out)
	}
	for rel := range files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			t.Errorf("remove deleted the user's %s: %v", rel, err)
		}
	}
}
