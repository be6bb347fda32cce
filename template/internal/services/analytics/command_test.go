package analytics

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestRegister builds the real graph: the database component, the backend and the service,
// as registry.Default holds them in an app without auth and cache.
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
	if err := registry.Value(r, config.Core{Env: config.EnvDevelopment}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err != nil {
		t.Fatal(err)
	}
}

// run runs "<app> analytics args..." and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r := registry.New()
	if err := database.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	out, _, err := commandtest.Run(t.Context(), r, analyticsCommand, args...)
	return out, err
}

func TestCommands(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		s := databasetest.Settings(t, engine)
		t.Setenv("DATABASE_URL", s.URL)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("ANALYTICS_RETENTION", "48h")
		// Events of now and of three days ago, stored through a service of their own.
		s.AutoMigrate = true
		db, err := database.Open(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		svc := newService(t, db, Settings{}, nil)
		now := time.Now().UTC()
		for _, e := range []Event{
			{Name: "signup", UserID: "a", At: now.Add(-time.Minute)}, {Name: "purchase", UserID: "a", At: now.Add(-30 * time.Second)},
			{Name: "signup", UserID: "b", At: now.Add(-time.Minute)}, {Name: "signup", UserID: "old", At: now.Add(-72 * time.Hour)},
		} {
			svc.TrackEvent(e)
		}
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			args    []string
			want    []string
			wantErr string
		}{
			{[]string{"stats"}, []string{"events:         3 (2 names)", "unique users:   2"}, ""},
			{[]string{"events"}, []string{"signup", "2", "purchase"}, ""},
			{[]string{"events", "--since", "96h", "--json"}, []string{`"name": "signup"`, `"count": 3`}, ""},
			{[]string{"events", "--bucket", "day", "--name", "signup"}, []string{"FROM", "COUNT"}, ""},
			{[]string{"events", "--recent", "2"}, []string{"NAME", "purchase"}, ""},
			{[]string{"events", "--name", "purchase"}, []string{"purchase  1"}, ""},
			{[]string{"events", "--name", "never_seen", "--json"}, []string{`"name": "never_seen"`, `"count": 0`}, ""},
			{[]string{"events", "--name", "Signup", "--bucket", "day"}, nil, `--name "Signup" is not an event name`},
			{[]string{"events", "--name", "signup", "--recent", "2"}, nil, "--name does not go with --recent"},
			{[]string{"events", "--bucket", "day", "--recent", "2"}, nil, "--bucket does not go with --recent: --recent lists events, not counts; leave one of them out"},
			{[]string{"events", "--bucket", "week"}, nil, `--bucket is "hour" or "day"`},
			{[]string{"events", "--since", "-1h"}, nil, "--since must be a positive duration"},
			{[]string{"events", "--since", "1ns", "--json"}, []string{"[]"}, ""},
			{[]string{"funnel", "signup", "purchase", "--window", "-1h"}, nil, "--window must be a positive duration such as 24h, or 0 for the whole range (got -1h0m0s)"},
			// The default week is shortened to ANALYTICS_RETENTION (48h): "old", 72h ago, is past it.
			{[]string{"funnel", "signup", "purchase"}, []string{"signup    2", "purchase  1", "50.0%"}, ""},
			{[]string{"funnel", "signup", "purchase", "--since", "48h"}, []string{"signup    2", "purchase  1", "50.0%"}, ""},
			{[]string{"funnel", "signup", "purchase", "--since", "1h"}, []string{"signup    2", "purchase  1", "50.0%"}, ""},
			{[]string{"funnel", "signup", "Bad"}, nil, "is not an event name"},
			{[]string{"funnel", "signup", "purchase", "signup"}, nil, "signup is given twice"},
			{[]string{"funnel", "signup", "purchase", "--since", "96h"}, nil, "--since 96h0m0s reaches past ANALYTICS_RETENTION (48h0m0s)"},
			{[]string{"prune"}, []string{"deleted 1 events older than 48h0m0s"}, ""},
			{[]string{"stats", "--since", "96h"}, []string{"unique users:   2 (only over the last 48h0m0s, ANALYTICS_RETENTION"}, ""},
		} {
			out, err := run(t, c.args...)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("analytics %v: %v\n%s", c.args, err, out)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("analytics %v: error %v, want %q", c.args, err, c.wantErr)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("analytics %v printed:\n%s\nwant %q", c.args, out, w)
				}
			}
			// A refused flag value is a usage error (exit 2), as the binary's other flag errors are.
			if strings.HasPrefix(c.wantErr, "--") {
				if _, ok := errors.AsType[*command.Usage](err); !ok {
					t.Errorf("analytics %v: error %v is not a usage error", c.args, err)
				}
			}
			// --name lists that event only.
			if len(c.args) == 3 && c.args[0] == "events" && c.args[1] == "--name" && strings.Contains(out, "signup") {
				t.Errorf("analytics %v printed:\n%s\nwant only %s", c.args, out, c.args[2])
			}
		}
	})
}

// funnel with too few or too many steps is a usage error that names the command and what its
// arguments are, not cobra's "accepts between 2 and 10 arg(s), received 0".
func TestFunnelArgs(t *testing.T) {
	// Should a check be missing, the command would reach a throwaway database, not ./data.
	t.Setenv("DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "app.db"))
	for _, args := range [][]string{nil, {"signup"}, strings.Fields("a b c d e f g h i j k")} {
		t.Run(strconv.Itoa(len(args)), func(t *testing.T) {
			_, err := run(t, append([]string{"funnel"}, args...)...)
			commandtest.WantUsage(t, err, fmt.Sprintf("analytics funnel needs 2 to 10 STEP event names, in order, such as: analytics funnel signup purchase (got %d) (see 'app analytics funnel --help')", len(args)))
		})
	}
}

// stats --days outside 1 to 366 is a usage error naming the range, where UserStats would have
// counted it as 1 day; refused before the service starts (no database needed).
func TestStatsDays(t *testing.T) {
	// Should a check be missing, the command would reach a throwaway database, not ./data.
	t.Setenv("DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "app.db"))
	tests := []struct {
		days string
		want string
	}{
		{"0", "--days must be from 1 to 366 (got 0) (see 'app analytics stats --help')"},
		{"-7", "--days must be from 1 to 366 (got -7) (see 'app analytics stats --help')"},
		{"367", "--days must be from 1 to 366 (got 367) (see 'app analytics stats --help')"},
	}
	for _, tt := range tests {
		t.Run(tt.days, func(t *testing.T) {
			_, err := run(t, "stats", "--days", tt.days)
			commandtest.WantUsage(t, err, tt.want)
		})
	}
}
