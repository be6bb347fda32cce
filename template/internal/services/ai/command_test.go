package ai

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/command"
	"github.com/aegisgo/aegis/template/internal/runtime/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// testRegistry holds what the service needs, as registry.Default does in an app without auth
// (commands add config.Core themselves).
func testRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := registry.New()
	for _, reg := range []func(*registry.Registry) error{database.Register, backend.Register, httpclient.Register, worker.AddTo, Register} {
		if err := reg(r); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestRegister builds the real graph.
func TestRegister(t *testing.T) {
	r := testRegistry(t)
	if err := errors.Join(registry.Value(r, config.Core{Env: config.EnvDevelopment}), registry.Value(r, command.RoleServe)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err != nil {
		t.Fatal(err)
	}
}

// run runs "<app> ai args..." with stdin and returns its output.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	out, _, err := commandtest.RunWithInput(t.Context(), testRegistry(t), aiCommand, strings.NewReader(stdin), args...)
	return out, err
}

// TestCommands: a chat session against a local (OpenAI-compatible) server keeps its
// conversation, switches models and starts over; models and usage read what it did.
func TestCommands(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		s := databasetest.Settings(t, engine)
		f := newFakeOpenAI(t, fakeOK)
		t.Setenv("DATABASE_URL", s.URL)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("AI_PROVIDER", "local")
		t.Setenv("AI_MODEL", "llama3.2")
		t.Setenv("AI_PROFILES", "big=local/llama3.3")
		t.Setenv("AI_LOCAL_BASE_URL", f.srv.URL+"/v1")

		out, err := run(t, "hi\nmore\n/model big\nagain\n/new\nfresh\n/model nope\n/exit\n", "chat")
		if err != nil {
			t.Fatalf("chat: %v\n%s", err, out)
		}
		for _, want := range []string{"Chatting with default (local/llama3.2)", "Hello, world", "[12 in, 3 out tokens", "(now big: local/llama3.3)", "(new conversation)", "profiles: default (llama3.2), big (llama3.3)"} {
			if !strings.Contains(out, want) {
				t.Errorf("chat printed:\n%s\nwant %q", out, want)
			}
		}
		if f.count() != 4 {
			t.Fatalf("%d provider calls, want 4", f.count())
		}
		// "again" continued the conversation (2 earlier turns) on the other model; "fresh" did not.
		f.mu.Lock()
		again, fresh := f.requests[2], f.requests[3]
		f.mu.Unlock()
		if msgs, _ := again["messages"].([]any); len(msgs) != 5 || again["model"] != "llama3.3" {
			t.Errorf("again sent %d messages to %v", len(msgs), again["model"])
		}
		if msgs, _ := fresh["messages"].([]any); len(msgs) != 1 {
			t.Errorf("fresh sent %d messages", len(msgs))
		}

		out, err = run(t, "", "models", "--remote")
		if err != nil || !strings.Contains(out, "big      local     llama3.3") || !strings.Contains(out, "gpt-4o-mini") {
			t.Fatalf("models: %v\n%s", err, out)
		}
		out, err = run(t, "", "usage")
		if err != nil || !strings.Contains(out, "llama3.2") || !strings.Contains(out, "total") {
			t.Fatalf("usage: %v\n%s", err, out)
		}
		if _, err := run(t, "", "usage", "--days", "0"); err == nil {
			t.Fatal("usage --days 0 passed")
		}
	})
}

// usage --days outside 1 to 366 is a usage error naming the range, refused before the
// service starts (no database needed).
func TestUsageDays(t *testing.T) {
	// Should a check be missing, the command would reach a throwaway database, not ./data.
	t.Setenv("DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "app.db"))
	tests := []struct {
		days string
		want string
	}{
		{"0", "--days must be from 1 to 366 (got 0) (see 'app ai usage --help')"},
		{"-1", "--days must be from 1 to 366 (got -1) (see 'app ai usage --help')"},
		{"367", "--days must be from 1 to 366 (got 367) (see 'app ai usage --help')"},
	}
	for _, tt := range tests {
		t.Run(tt.days, func(t *testing.T) {
			_, err := run(t, "", "usage", "--days", tt.days)
			commandtest.WantUsage(t, err, tt.want)
		})
	}
}
