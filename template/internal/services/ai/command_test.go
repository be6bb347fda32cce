package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/config"
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

// chatEnv points the commands' environment at a new SQLite database and a fake local
// (OpenAI-compatible) server answering as mode says, with llama3.2 as the default model.
func chatEnv(t *testing.T, mode string) (database.Settings, *fakeProvider) {
	t.Helper()
	s := databasetest.Settings(t, database.SQLite)
	f := newFakeOpenAI(t, mode)
	t.Setenv("DATABASE_URL", s.URL)
	t.Setenv("AUTO_MIGRATE", "true")
	t.Setenv("AI_PROVIDER", "local")
	t.Setenv("AI_MODEL", "llama3.2")
	t.Setenv("AI_LOCAL_BASE_URL", f.srv.URL+"/v1")
	return s, f
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

		out, err := run(t, "hi\nmore\n/model big\nagain\n/new\nfresh\n/model nope\n/exti\n/modelx\n/help\n//etc is a folder\n/exit\n", "chat")
		if err != nil {
			t.Fatalf("chat: %v\n%s", err, out)
		}
		for _, want := range []string{"Chatting with default (local/llama3.2)", "Hello, world", "[12 in, 3 out tokens", "(now big: local/llama3.3)", "(new conversation)", "unknown profile or model \"nope\"; profiles: default (llama3.2), big (llama3.3)",
			"unknown command /exti; /model NAME switches", "unknown command /modelx;", "\n> /model NAME switches the profile or model"} {
			if !strings.Contains(out, want) {
				t.Errorf("chat printed:\n%s\nwant %q", out, want)
			}
		}
		// Mistyped commands and /help are not prompts; "//etc..." is the prompt "/etc...".
		if f.count() != 5 {
			t.Fatalf("%d provider calls, want 5", f.count())
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
		f.mu.Lock()
		slashed, _ := f.requests[4]["messages"].([]any)
		f.mu.Unlock()
		if last, _ := slashed[len(slashed)-1].(map[string]any); last["content"] != "/etc is a folder" {
			t.Errorf("the slashed prompt was sent as %v", last["content"])
		}

		out, err = run(t, "", "models", "--remote")
		if err != nil || !strings.Contains(out, "big      local     llama3.3") || !strings.Contains(out, "gpt-4o-mini") {
			t.Fatalf("models: %v\n%s", err, out)
		}
		out, err = run(t, "", "usage")
		if err != nil || !strings.Contains(out, "llama3.2") || !strings.Contains(out, "total") {
			t.Fatalf("usage: %v\n%s", err, out)
		}
		// --json is GET /usage's summary, its totals and range included: it was the rows alone,
		// without the total the table prints.
		out, err = run(t, "", "usage", "--json", "--days", "7")
		var sum UsageSummary
		if err != nil || json.Unmarshal([]byte(out), &sum) != nil || len(sum.Rows) == 0 || sum.Totals.Calls == 0 || sum.From == "" || sum.To == "" {
			t.Fatalf("usage --json: %v\n%s", err, out)
		}
		var calls int64
		for _, r := range sum.Rows {
			calls += r.Calls
		}
		if calls != sum.Totals.Calls {
			t.Fatalf("usage --json: totals.calls = %d, the rows sum to %d", sum.Totals.Calls, calls)
		}
		if _, err := run(t, "", "usage", "--days", "0"); err == nil {
			t.Fatal("usage --days 0 passed")
		}
		_, err = run(t, "", "chat", "--model", "nope")
		commandtest.WantUsage(t, err, `--model: unknown model or profile "nope"; use one of default (llama3.2), big (llama3.3) (see 'app ai chat --help')`)
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

// interruptingWriter sends the process SIGINT (Ctrl-C) once the answer's first word is
// written, as a user pressing Ctrl-C while it streams.
type interruptingWriter struct {
	buf  strings.Builder // not embedded: its WriteString would bypass Write
	once sync.Once
}

func (w *interruptingWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "word") {
		w.once.Do(func() { _ = syscall.Kill(os.Getpid(), syscall.SIGINT) })
	}
	return w.buf.Write(p)
}

func (w *interruptingWriter) String() string { return w.buf.String() }

// TestChatInterrupt: Ctrl-C while an answer streams cancels that answer, not the program (the
// process used to die, losing the answer and its ledger row): the provider call is
// cancelled, the partial answer stored as such, its tokens recorded, and the REPL goes on.
func TestChatInterrupt(t *testing.T) {
	tests := []struct {
		name    string
		stdin   string
		want    []string
		calls   int
		partial int
	}{
		{"ctrl-c mid-answer, then the REPL goes on", "tell me\n/new\n/exit\n",
			[]string{"word", "(interrupted: the answer so far is kept as partial)", "(new conversation)"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := chatEnv(t, fakeSlow)
			out := new(interruptingWriter)
			root := &cobra.Command{Use: "app", SilenceUsage: true, SilenceErrors: true}
			root.AddCommand(aiCommand(&command.Env{Name: "app", Stdout: out, Stderr: io.Discard, Registry: testRegistry(t)}))
			root.SetArgs([]string{"ai", "chat"})
			root.SetIn(strings.NewReader(tt.stdin))
			root.SetOut(out)
			root.SetErr(io.Discard)
			err := root.ExecuteContext(t.Context())
			if err != nil {
				t.Fatalf("chat: %v\n%s", err, out.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("chat printed:\n%s\nwant %q", out.String(), want)
				}
			}
			if f.count() != tt.calls {
				t.Errorf("%d provider calls, want %d", f.count(), tt.calls)
			}
			db, err := database.Open(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var partial, cancelled int
			if err := db.Bun().NewRaw("SELECT count(*) FROM ai_messages WHERE status = 'partial'").Scan(t.Context(), &partial); err != nil {
				t.Fatal(err)
			}
			if err := db.Bun().NewRaw("SELECT count(*) FROM ai_usage WHERE status = 'cancelled' AND output_tokens > 0").Scan(t.Context(), &cancelled); err != nil {
				t.Fatal(err)
			}
			if partial != tt.partial || cancelled != tt.partial {
				t.Errorf("%d partial answers and %d cancelled calls with tokens in the ledger, want %d", partial, cancelled, tt.partial)
			}
		})
	}
}

// TestUsageTotals: the total line of 'ai usage' sums the errors column too (it was left
// blank, so failed calls showed only per day and model).
func TestUsageTotals(t *testing.T) {
	tests := []struct {
		mode  string
		chat  string
		total []string // the fields of the total line
	}{
		{fake500, "hi\nagain\n/exit\n", []string{"total", "2", "2", "0", "0", "0.000000"}},
		{fakeOK, "hi\n/exit\n", []string{"total", "1", "0", "12", "3", "0.000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			chatEnv(t, tt.mode)
			if out, err := run(t, tt.chat, "chat"); err != nil {
				t.Fatalf("chat: %v\n%s", err, out)
			}
			out, err := run(t, "", "usage")
			if err != nil {
				t.Fatalf("usage: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if got := strings.Fields(lines[len(lines)-1]); strings.Join(got, " ") != strings.Join(tt.total, " ") {
				t.Errorf("usage printed:\n%s\nwant the total line %q", out, tt.total)
			}
		})
	}
}

// TestChatLongLine: a line longer than AI_MAX_PROMPT_BYTES (a large paste) is refused with a
// line saying so and the session goes on; past 64 KiB it used to end the session with
// "bufio.Scanner: token too long".
func TestChatLongLine(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		want  []string
		calls int
	}{
		{"70 KB", strings.Repeat("x", 70000) + "\nhi\n/exit\n", []string{"error: the prompt is larger than AI_MAX_PROMPT_BYTES (32768 bytes)", "Hello, world"}, 1},
		{"just over the limit", strings.Repeat("x", 32769) + "\nhi\n", []string{"error: the prompt is larger than AI_MAX_PROMPT_BYTES (32768 bytes)", "Hello, world"}, 1},
		{"at the limit, no newline at the end", strings.Repeat("x", 32768), []string{"Hello, world"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, f := chatEnv(t, fakeOK)
			out, err := run(t, tt.stdin, "chat")
			if err != nil {
				t.Fatalf("chat: %v\n%.300s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("chat printed:\n%.300s\nwant %q", out, want)
				}
			}
			if f.count() != tt.calls {
				t.Errorf("%d provider calls, want %d", f.count(), tt.calls)
			}
		})
	}
}

// TestChatFailureNotLogged: a failed turn is told once, by the REPL, not also by the service's
// warning, which went to the same terminal in the middle of the streamed answer.
func TestChatFailureNotLogged(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		var logs bytes.Buffer
		f := newFakeAnthropic(t, fakeOverloaded)
		svc, _ := setup(t, db, f, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}, &Opts{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		var out bytes.Buffer
		if err := repl(t.Context(), svc, strings.NewReader("hi\n/exit\n"), &out, "", ""); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Hello, \nerror: anthropic answered 529: the provider is overloaded") {
			t.Errorf("chat printed:\n%s", out.String())
		}
		if logs.Len() != 0 {
			t.Errorf("the service logged in the REPL's terminal:\n%s", logs.String())
		}
	})
}

// TestChatConversationBusy: a turn whose conversation is answering a prompt elsewhere (the
// server, another ai chat on the same database) says so in one line, with what to do, rather
// than the service's error text; /new goes on in a conversation of its own.
func TestChatConversationBusy(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		var calls int
		prov := hookProvider{during: func(ctx context.Context) {
			if calls++; calls > 1 {
				return
			}
			// While the first turn answers, its lease ends and another instance takes the
			// conversation: the turn's end leaves that lease alone.
			if _, err := db.Bun().NewUpdate().Model((*Conversation)(nil)).Set("answering_until = ?", time.Now().Add(time.Minute).UTC()).
				Where("answering_until IS NOT NULL").Exec(ctx); err != nil {
				t.Error(err)
			}
		}}
		svc, err := New(db, Settings{Provider: ProviderLocal, Model: "m"}, &Opts{Providers: map[string]Provider{ProviderLocal: prov}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := repl(t.Context(), svc, strings.NewReader("hi\nagain\n/new\nthird\n/exit\n"), &out, "", ""); err != nil {
			t.Fatal(err)
		}
		want := "> \nerror: this conversation is answering another prompt elsewhere (the server or another ai chat); send yours again once it is done (in about 5s), or /new to start another\n> (new conversation)\n> ok\n"
		if !strings.Contains(out.String(), want) {
			t.Errorf("chat printed:\n%s\nwant it to hold:\n%s", out.String(), want)
		}
	})
}
