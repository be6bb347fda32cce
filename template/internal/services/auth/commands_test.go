package auth

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestRegister builds the real graph: the database component, the backend
// and both auth services, as registry.Default holds them in the app.
func TestRegister(t *testing.T) {
	t.Parallel()
	r := registry.New()
	if err := database.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := backend.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	// The app's commands provide the core settings; see command.Env.Build.
	if err := registry.Value(r, config.Core{Env: config.EnvDevelopment}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err != nil {
		t.Fatal(err)
	}
}

// users runs "<app> users args..." with stdin and returns its output.
func users(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	r := registry.New()
	if err := database.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	out, _, err := commandtest.RunWithInput(t.Context(), r, usersCommand, strings.NewReader(stdin), args...)
	return out, err
}

func TestUsersCommand(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		url := databasetest.Settings(t, engine).URL
		t.Setenv("DATABASE_URL", url)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("AUTH_ARGON2_MEMORY_KIB", "64")
		t.Setenv("AUTH_ARGON2_ITERATIONS", "1")
		steps := []struct {
			stdin   string
			args    []string
			want    []string
			wantErr string
		}{
			{"", []string{"create-admin", "--email", "Root@Example.com", "--username", "root", "--password", goodPassword, "--full-name", "Rö Öt"},
				[]string{"created admin root <root@example.com>"}, ""},
			{"piped passphrase here\n", []string{"create-admin", "--email", "ops@example.com", "--username", "ops"},
				[]string{"created admin ops <ops@example.com>"}, ""},
			{"", []string{"create-admin", "--email", "x@example.com", "--username", "xuser"}, nil, "no password given"},
			{"", []string{"create-admin", "--email", "root@example.com", "--username", "other", "--password", goodPassword}, nil, "email is already registered: to make that account an admin, run: app users set-role root@example.com admin"},
			{"", []string{"create-admin", "--email", "weak@example.com", "--username", "weak", "--password", "password"}, nil, "password is one of the most common"},
			{"", []string{"create-admin", "--username", "nomail", "--password", goodPassword}, nil, "--email and --username are required"},
			{"", []string{"list"}, []string{"root", "root@example.com", "Rö Öt", "ops@example.com", "admin", "2 of 2 users"}, ""},
			{"", []string{"list", "-q", "OPS"}, []string{"ops@example.com", "1 of 1 users"}, ""},
			{"", []string{"list", "--role", "user"}, []string{"0 of 0 users"}, ""},
			{"", []string{"list", "--active", "maybe"}, nil, "--active must be true or false"},
			{"", []string{"list", "--role", "root"}, nil, "--role must be user or admin"},
			// Roles and activation: the last active admin stays one.
			{"", []string{"set-role", "ops@example.com", "user"}, []string{"ops <ops@example.com> is now a user"}, ""},
			{"", []string{"set-role", "ROOT@example.com", "user"}, nil, "last active admin"},
			{"", []string{"set-role", "ops@example.com", "admin"}, []string{"ops <ops@example.com> is now an admin"}, ""},
			{"", []string{"set-role", "ops@example.com", "root"}, nil, "ROLE must be user or admin"},
			{"", []string{"set-role", "nobody@example.com", "user"}, nil, "no account has the email nobody@example.com: 'users list' shows them"},
			{"", []string{"set-role", "ops", "user"}, nil, "ops is not an email address: give the account's email, as 'users list' shows it"},
			{"", []string{"deactivate", "2"}, nil, "2 is not an email address: give the account's email"},
			{"", []string{"set-role", "ops@example.com"}, nil, "users set-role needs EMAIL and ROLE"},
			{"", []string{"deactivate", "ops@example.com"}, []string{"ops <ops@example.com> is deactivated"}, ""},
			{"", []string{"deactivate", "root@example.com"}, nil, "root@example.com is the last active admin, who cannot be deactivated or demoted: make another account an admin first"},
			{"", []string{"activate"}, nil, "users activate needs EMAIL"},
			{"", []string{"activate", "ops@example.com", "root@example.com"}, nil, "users activate takes only EMAIL; got 2 arguments"},
			{"", []string{"activate", "ops@example.com"}, []string{"ops <ops@example.com> is active"}, ""},
			{"", []string{"list", "--role", "admin", "--active", "true"}, []string{"2 of 2 users"}, ""},
		}
		for _, s := range steps {
			out, err := users(t, s.stdin, s.args...)
			switch {
			case s.wantErr == "" && err != nil:
				t.Fatalf("users %v: %v\n%s", s.args, err, out)
			case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
				t.Fatalf("users %v: error %v, want %q", s.args, err, s.wantErr)
			case err != nil && (strings.Contains(err.Error(), "auth:") || strings.Contains(err.Error(), "\n")):
				// The binary prints "<app>: " and the error: one line, no package prefix.
				t.Errorf("users %v: error %q is not one line without the package prefix", s.args, err)
			}
			for _, w := range s.want {
				if !strings.Contains(out, w) {
					t.Errorf("users %v printed:\n%s\nwant %q", s.args, out, w)
				}
			}
		}
		// The admins can log in with the passwords given.
		db, err := database.Open(t.Context(), database.Settings{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		svc, err := NewUserServiceWith(db, testSettings())
		if err != nil {
			t.Fatal(err)
		}
		for login, password := range map[string]string{"ops": "piped passphrase here", "ROOT@example.com": goodPassword} {
			if u, err := svc.VerifyPassword(t.Context(), login, password); err != nil || u.Role != RoleAdmin {
				t.Errorf("log in as %s: %v", login, err)
			}
		}
	})
}

// create-admin's bad values are usage errors (exit 2, a pointer to the help), as the other
// commands' are: they exited 1, like a database that could not be reached.
func TestCreateAdminUsageErrors(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Setenv("DATABASE_URL", databasetest.Settings(t, engine).URL)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("AUTH_ARGON2_MEMORY_KIB", "64")
		t.Setenv("AUTH_ARGON2_ITERATIONS", "1")
		for _, tc := range []struct {
			name, stdin string
			args        []string
			want        string
		}{
			{"bad email", "", []string{"--email", "not-an-email", "--username", "bademail", "--password", goodPassword}, "email "},
			{"short password", "", []string{"--email", "short@example.com", "--username", "short", "--password", "abc"}, "password "},
			{"common password", "", []string{"--email", "weak@example.com", "--username", "weak", "--password", "password"}, "password is one of the most common"},
			{"no password", "", []string{"--email", "none@example.com", "--username", "none"}, "no password given"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := users(t, tc.stdin, append([]string{"create-admin"}, tc.args...)...)
				var usage *command.Usage
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "auth:") {
					t.Errorf("create-admin %v = %v, want a usage error saying %q", tc.args, err, tc.want)
				}
			})
		}
	})
}

// Every users subcommand runs with the arguments its help shows (the first
// line of its Example, or none), the way the binary parses them: a command
// that forgets Args refuses its own EMAIL as an unknown subcommand.
func TestUsersCommandExamples(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Setenv("DATABASE_URL", databasetest.Settings(t, engine).URL)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("AUTH_ARGON2_MEMORY_KIB", "64")
		t.Setenv("AUTH_ARGON2_ITERATIONS", "1")
		// The examples name admin@example.com and ada@example.com; ada is an
		// admin too, so that deactivating her leaves one active admin.
		if _, err := users(t, "", "create-admin", "--email", "ada@example.com", "--username", "ada", "--password", goodPassword); err != nil {
			t.Fatal(err)
		}
		// Each in the order a reader would try them; stdin answers create-admin's prompt.
		tests := []struct {
			name string
			want string
		}{
			{"create-admin", "created admin admin <admin@example.com>"},
			{"list", "2 of 2 users"},
			{"set-role", "ada <ada@example.com> is now an admin"},
			{"deactivate", "ada <ada@example.com> is deactivated"},
			{"activate", "ada <ada@example.com> is active"},
		}
		subs := map[string]*cobra.Command{}
		for _, c := range usersCommand(&command.Env{Name: "app"}).Commands() {
			subs[c.Name()] = c
		}
		if len(subs) != len(tests) {
			t.Fatalf("users has %d subcommands, the test runs %d: add the new one", len(subs), len(tests))
		}
		for _, tt := range tests {
			c, ok := subs[tt.name]
			if !ok {
				t.Fatalf("no users %s", tt.name)
			}
			args := []string{tt.name}
			if c.Example != "" {
				line, _, _ := strings.Cut(strings.TrimSpace(c.Example), "\n")
				args = strings.Fields(strings.TrimPrefix(line, "app users "))
			}
			out, err := users(t, goodPassword+"\n", args...)
			if err != nil || !strings.Contains(out, tt.want) {
				t.Errorf("app users %s: %v\n%s\nwant %q", strings.Join(args, " "), err, out, tt.want)
			}
		}
	})
}

// Wrong arguments and out-of-range numbers are usage errors (exit 2) naming what is wrong,
// refused before anything connects: 'list --page 0' used to show page 1 without a word.
func TestUsersCommandUsageErrors(t *testing.T) {
	// Should a check be missing, the command would reach a throwaway database, not ./data.
	t.Setenv("DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "app.db"))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"list", "--page", "0"}, "--page must be from 1 to 1000000 (got 0) (see 'app users list --help')"},
		{[]string{"list", "--page", "-2"}, "--page must be from 1 to 1000000 (got -2) (see 'app users list --help')"},
		{[]string{"list", "--page", "1000001"}, "--page must be from 1 to 1000000 (got 1000001) (see 'app users list --help')"},
		{[]string{"list", "--per-page", "0"}, "--per-page must be from 1 to 100 (got 0) (see 'app users list --help')"},
		{[]string{"list", "--per-page", "101"}, "--per-page must be from 1 to 100 (got 101) (see 'app users list --help')"},
		{[]string{"activate"}, "users activate needs EMAIL (see 'app users activate --help')"},
		{[]string{"deactivate", "a@example.com", "b@example.com"}, "users deactivate takes only EMAIL; got 2 arguments (see 'app users deactivate --help')"},
		{[]string{"set-role", "a@example.com"}, "users set-role needs EMAIL and ROLE (see 'app users set-role --help')"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := users(t, "", tt.args...)
			commandtest.WantUsage(t, err, tt.want)
		})
	}
}

// Without AUTH_SECRET in development, `users list` (like every command that builds the
// container for no role) says nothing about the ephemeral key: it issues and checks no token.
// serve, which does, still warns at start. Before, every such command warned. Through the
// registry, as the binary builds it: command.Env provides the role.
func TestEphemeralSecretWarningByRole(t *testing.T) {
	t.Setenv("DATABASE_URL", databasetest.Settings(t, database.SQLite).URL)
	t.Setenv("AUTO_MIGRATE", "true")
	t.Setenv("AUTH_SECRET", "")
	const warning = "AUTH_SECRET is missing, short or the placeholder"
	r := registry.New()
	if err := database.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := commandtest.Run(t.Context(), r, usersCommand, "list")
	if err != nil || !strings.Contains(out, "users (page 1)") {
		t.Fatalf("users list: %v\n%s", err, out)
	}
	if strings.Contains(stderr, warning) {
		t.Errorf("users list warned about the ephemeral key:\n%s", stderr)
	}
	for _, tt := range []struct {
		role command.Role
		warn bool
	}{{command.RoleNone, false}, {command.RoleServe, true}} {
		var logs strings.Builder
		env := &command.Env{Name: "app", Stdout: &logs, Stderr: &logs, Registry: r}
		c, _, err := env.Start(t.Context(), tt.role)
		if err != nil {
			t.Fatalf("role %q: %v", tt.role, err)
		}
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), warning); got != tt.warn {
			t.Errorf("role %q: warned = %v, want %v:\n%s", tt.role, got, tt.warn, logs.String())
		}
	}
}
