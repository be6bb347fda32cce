package cli

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMigrationNotices: add and remove name migration owners as the app's migrate command knows
// them (commsdb, not the catalog's comms+database), the worker's River tables included, and
// remove prints one DROP TABLE IF EXISTS per table, a table before those it references, and the
// PostgreSQL extensions a part's migrations created (auth's pg_trgm) apart, only for that part.
func TestMigrationNotices(t *testing.T) {
	env := Env{}
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	aegisOK(t, env, "init", "app", "-o", root, "--no-interactive", "-c", "database")

	out := aegisOK(t, env, "add", "comms", "worker", "auth", "-p", dir, "--yes")
	if want := "The migrations of auth, authcomms, commsdb, worker run with the next 'go run ./cmd/app migrate up'"; !strings.Contains(out, want) {
		t.Errorf("add output lacks %q:\n%s", want, out)
	}

	tests := []struct {
		remove string
		git    bool     // the project is put in git before the removal
		want   []string // in this order
		not    []string
	}{
		{
			remove: "comms",
			want: []string{
				"Database tables of 'commsdb' (from comms+database) were not dropped: comms_messages, and its version table goose_db_version_commsdb.",
				// Outside git there is no previous commit to restore the down steps from.
				"To drop them, add back what was removed (aegis add comms), run 'go run ./cmd/app migrate down --owner commsdb --all'",
				"    DROP TABLE IF EXISTS comms_messages;\n    DROP TABLE IF EXISTS goose_db_version_commsdb;\n",
				// auth+comms goes with comms; its owner sorts first, so it is dropped after.
				"Database tables of 'authcomms' (from auth+comms) were not dropped: authcomms_tokens,",
				"    DROP TABLE IF EXISTS authcomms_tokens;\n",
			},
			not: []string{"comms+database migrate", "goose_db_version_comms+", "EXTENSION"},
		},
		{
			remove: "auth",
			git:    true,
			want: []string{
				"Database tables of 'auth' were not dropped: auth_users, auth_refresh_tokens, auth_dashboard_sessions, and its version table goose_db_version_auth.",
				"To drop them, restore the previous commit, run 'go run ./cmd/app migrate down --owner auth --all'",
				"    DROP TABLE IF EXISTS auth_dashboard_sessions;\n    DROP TABLE IF EXISTS auth_refresh_tokens;\n    DROP TABLE IF EXISTS auth_users;\n    DROP TABLE IF EXISTS goose_db_version_auth;\n",
				// Its search index's extension, database-wide, with the condition to drop it.
				"  On PostgreSQL its migrations also created the extension pg_trgm, which was kept: it serves the whole database,\n" +
					"  so drop it only if nothing else uses it (without CASCADE, PostgreSQL refuses while an index or column needs it):\n" +
					"    DROP EXTENSION IF EXISTS pg_trgm;\n",
			},
		},
		{
			remove: "worker",
			want: []string{
				"Database tables of 'worker' were not dropped: river_migration, river_job, river_leader, river_queue, river_notification, and its version table goose_db_version_worker.",
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
			out := aegisOK(t, env, "remove", tt.remove, "-p", dir, "--yes")
			rest := out
			for _, want := range tt.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("remove output lacks %q (or not in order):\n%s", want, out)
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
