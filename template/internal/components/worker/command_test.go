package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// runJobs runs 'jobs ARGS' against the database DATABASE_URL names, as the binary would: a
// registry with the database and worker components and every task of registry.Default (plus
// test_valid, whose arguments validate themselves).
func runJobs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	r := registry.New()
	if err := database.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := AddTo(r); err != nil {
		t.Fatal(err)
	}
	for _, c := range registry.Contributions[Task](registry.Default) {
		registry.Contribute(r, c.Name, c.Value)
	}
	registry.Contribute(r, validArgs{}.Kind(), NewTask(func(context.Context, *river.Job[validArgs]) error { return nil }, nil))
	return commandtest.Run(context.Background(), r, jobsCmd, args...)
}

// validArgs has a Validate method, which 'jobs enqueue' must run.
type validArgs struct {
	Email string `json:"email"`
}

func (validArgs) Kind() string { return "test_valid" }

func (a validArgs) Validate() error {
	if !strings.Contains(a.Email, "@") {
		return fmt.Errorf("email %q has no @", a.Email)
	}
	return nil
}

// The jobs command lists, cancels and retries jobs of the app's database.
func TestJobsCommand(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "app.db")
	t.Setenv("DATABASE_URL", url)
	t.Setenv("AUTO_MIGRATE", "true")
	run := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := runJobs(t, args...)
		return out, err
	}
	if out, err := run("list"); err != nil || !strings.Contains(out, "no jobs") {
		t.Fatalf("list of an empty queue: %q, %v", out, err)
	}
	db, err := database.Open(t.Context(), database.Settings{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() }) // after the working client below stops
	c, err := NewClient(db, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(res.Job.ID, 10)
	out, err := run("list", "--state", "available")
	if err != nil || !strings.Contains(out, "test_ok") || !strings.Contains(out, "available") {
		t.Errorf("list: %q, %v", out, err)
	}
	if out, err := run("show", id); err != nil || !strings.Contains(out, "kind:      test_ok") {
		t.Errorf("show: %q, %v", out, err)
	}
	if out, err := run("cancel", id); err != nil || !strings.HasSuffix(out, "(test_ok) cancelled\n") {
		t.Errorf("cancel: %q, %v", out, err)
	}
	if out, err := run("retry", id); err != nil || !strings.Contains(out, "now available") {
		t.Errorf("retry: %q, %v", out, err)
	}
	if _, err := run("retry", "99"); err == nil || !strings.Contains(err.Error(), "no job 99") {
		t.Errorf("retry of a missing job: %v", err)
	}
	if _, err := run("retry", id); err == nil || !strings.Contains(err.Error(), "is available, so it is not retried") {
		t.Errorf("retry of an available job: %v", err)
	}

	// A completed job is refused, as in the panel (its work would run again), unless --force.
	worked := setup(t, db, testSettings())
	res, err = worked.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	workedRow := waitState(t, worked, res.Job.ID, rivertype.JobStateCompleted, 10*time.Second)
	done := strconv.FormatInt(res.Job.ID, 10)
	// Several instances work one database: show names the client that worked the job.
	if len(workedRow.AttemptedBy) != 1 {
		t.Fatalf("attempted by %q, want one client", workedRow.AttemptedBy)
	}
	if out, err := run("show", done); err != nil || !strings.Contains(out, "worked by: "+workedRow.AttemptedBy[0]+"\n") {
		t.Errorf("show of a worked job: %q, %v; want worked by: %s", out, err, workedRow.AttemptedBy[0])
	}
	if _, err := run("retry", done); err == nil || !strings.Contains(err.Error(), "completed successfully, so it is not retried") ||
		!strings.Contains(err.Error(), "--force") {
		t.Errorf("retry of a completed job: %v, want a refusal naming --force", err)
	}
	if j := waitState(t, worked, res.Job.ID, rivertype.JobStateCompleted, time.Second); j.Attempt != 1 {
		t.Errorf("the refused retry changed the job: attempt %d", j.Attempt)
	}
	if out, err := run("retry", "--force", done); err != nil || !strings.Contains(out, "queued to run again") {
		t.Errorf("retry --force of a completed job: %q, %v", out, err)
	}
	waitState(t, worked, res.Job.ID, rivertype.JobStateCompleted, 10*time.Second)
	// Cancelling a job that already ended is refused: it read "cancelled: now completed".
	if out, err := run("cancel", done); err == nil || !strings.Contains(err.Error(), "is completed, so there is nothing to cancel") {
		t.Errorf("cancel of a completed job: %q, %v; want a refusal", out, err)
	}

	// Cancelling a running job says it was asked to stop (it read "cancelled: now running").
	res, err = worked.Enqueue(t.Context(), sleepArgs{Token: token(t), For: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, worked, res.Job.ID, rivertype.JobStateRunning, 10*time.Second)
	if out, err := run("cancel", strconv.FormatInt(res.Job.ID, 10)); err != nil || !strings.Contains(out, "is running: cancel requested") {
		t.Errorf("cancel of a running job: %q, %v", out, err)
	}
	waitState(t, worked, res.Job.ID, rivertype.JobStateCancelled, 10*time.Second)
	if _, err := run("list", "--state", "bogus"); err == nil {
		t.Error("list --state bogus succeeded")
	}
}

var enqueuedLine = regexp.MustCompile(`^enqueued job (\d+) \((\w+)\) on queue (\S+), runs at (\S+)\n$`)

// jobs enqueue stores one job of a registered task from the command line, on each engine,
// without working it; every mistake is a one-line usage error and stores nothing.
func TestJobsEnqueue(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		s := databasetest.Settings(t, engine)
		t.Setenv("DATABASE_URL", s.URL)
		t.Setenv("AUTO_MIGRATE", "true")
		// The first command migrates the empty database; the checks below read it directly.
		if out, _, err := runJobs(t, "list"); err != nil || !strings.Contains(out, "no jobs") {
			t.Fatalf("list of an empty queue: %q, %v", out, err)
		}
		db, err := database.Open(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		client, err := NewClient(db, testSettings(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// River keeps args as jsonb on both engines: SQLite's is binary, json() makes it text.
		argsText := "args::text"
		if engine == database.SQLite {
			argsText = "json(args)"
		}
		count := func(kind string) int {
			t.Helper()
			var n int
			if err := db.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job WHERE kind = '`+kind+`'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		t.Run("stores the job", func(t *testing.T) {
			tests := []struct {
				name               string
				args               []string
				kind, queue, state string
				priority           int
				in                 time.Duration
				wantArgs           map[string]any
			}{
				{name: "defaults", args: []string{"test_ok", "--args", `{"token":"defaults","n":7}`},
					kind: "test_ok", queue: QueueDefault, priority: 1, state: "available", wantArgs: map[string]any{"token": "defaults", "n": 7.0}},
				{name: "no --args is {}", args: []string{"test_noop"},
					kind: "test_noop", queue: QueueDefault, priority: 1, state: "available", wantArgs: map[string]any{}},
				{name: "queue, priority, in", args: []string{"test_ok", "--args", `{"token":"later"}`, "--queue", QueueSystem, "--priority", "3", "--in", "90m"},
					kind: "test_ok", queue: QueueSystem, priority: 3, in: 90 * time.Minute, state: "scheduled", wantArgs: map[string]any{"token": "later"}},
				{name: "the example task", args: []string{"send_welcome", "--args", `{"email":"ada@example.com"}`},
					kind: "send_welcome", queue: QueueDefault, priority: 1, state: "available", wantArgs: map[string]any{"email": "ada@example.com"}},
				{name: "arguments that validate", args: []string{"test_valid", "--args", ` {"email":"ada@example.com"} `, "--priority", "4"},
					kind: "test_valid", queue: QueueDefault, priority: 4, state: "available", wantArgs: map[string]any{"email": "ada@example.com"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := count(tt.kind)
					start := time.Now()
					out, errOut, err := runJobs(t, append([]string{"enqueue"}, tt.args...)...)
					if err != nil {
						t.Fatalf("enqueue %v: %v", tt.args, err)
					}
					if errOut != "" {
						t.Errorf("stderr: %q", errOut)
					}
					m := enqueuedLine.FindStringSubmatch(out)
					if m == nil {
						t.Fatalf("output %q is not one 'enqueued job ...' line", out)
					}
					if m[2] != tt.kind || m[3] != tt.queue {
						t.Errorf("output %q: want kind %s on queue %s", out, tt.kind, tt.queue)
					}
					if n := count(tt.kind); n != before+1 {
						t.Fatalf("%d %s rows in river_job, want %d", n, tt.kind, before+1)
					}
					var (
						kind, queue, state string
						priority           int
						args               []byte
					)
					row := db.SQL().QueryRowContext(t.Context(), `SELECT kind, queue, state, priority, `+argsText+` FROM river_job WHERE id = `+m[1])
					if err := row.Scan(&kind, &queue, &state, &priority, &args); err != nil {
						t.Fatalf("job %s: %v", m[1], err)
					}
					if kind != tt.kind || queue != tt.queue || state != tt.state || priority != tt.priority {
						t.Errorf("row: kind %s, queue %s, state %s, priority %d; want %s, %s, %s, %d", kind, queue, state, priority, tt.kind, tt.queue, tt.state, tt.priority)
					}
					var got map[string]any
					if err := json.Unmarshal(args, &got); err != nil {
						t.Fatalf("args %s: %v", args, err)
					}
					if !maps.Equal(got, tt.wantArgs) {
						t.Errorf("args %s, want %v", args, tt.wantArgs)
					}
					id, _ := strconv.ParseInt(m[1], 10, 64)
					j, err := client.Job(t.Context(), id)
					if err != nil {
						t.Fatal(err)
					}
					want := start.Add(tt.in)
					if d := j.ScheduledAt.Sub(want); d < -2*time.Second || d > 5*time.Second {
						t.Errorf("scheduled at %s, want about %s", j.ScheduledAt, want)
					}
					if m[4] != j.ScheduledAt.UTC().Format(time.RFC3339) {
						t.Errorf("output says runs at %s, the row %s", m[4], j.ScheduledAt.UTC().Format(time.RFC3339))
					}
				})
			}
		})

		t.Run("unique", func(t *testing.T) {
			args := []string{"enqueue", "test_ok", "--args", `{"token":"once"}`, "--unique"}
			before := count("test_ok")
			first, _, err := runJobs(t, args...)
			m := enqueuedLine.FindStringSubmatch(first)
			if err != nil || m == nil {
				t.Fatalf("first enqueue: %q, %v", first, err)
			}
			second, _, err := runJobs(t, args...)
			if err != nil {
				t.Fatalf("second enqueue: %v", err)
			}
			if want := "skipped: an identical test_ok job already exists (job " + m[1] + ", available)\n"; second != want {
				t.Errorf("second enqueue said %q, want %q", second, want)
			}
			if n := count("test_ok"); n != before+1 {
				t.Errorf("%d new test_ok rows after two --unique enqueues, want 1", n-before)
			}
			// Uniqueness is by queue too, and only asked for with --unique.
			if out, _, err := runJobs(t, "enqueue", "test_ok", "--args", `{"token":"once"}`, "--unique", "--queue", QueueSystem); err != nil || !enqueuedLine.MatchString(out) {
				t.Errorf("--unique on another queue: %q, %v", out, err)
			}
			if out, _, err := runJobs(t, args[:4]...); err != nil || !enqueuedLine.MatchString(out) {
				t.Errorf("without --unique: %q, %v", out, err)
			}
			if n := count("test_ok"); n != before+3 {
				t.Errorf("%d new test_ok rows, want 3", n-before)
			}
		})

		t.Run("usage errors", func(t *testing.T) {
			tests := []struct {
				name string
				args []string
				want string
			}{
				{"unknown kind", []string{"nope"}, `unknown job kind "nope": registered kinds are `},
				{"bad JSON", []string{"test_ok", "--args", `{"token":`}, "--args: not valid JSON"},
				{"bad JSON character", []string{"test_ok", "--args", `{token}`}, "--args: not valid JSON: invalid character"},
				{"unknown field", []string{"test_ok", "--args", `{"tokn":"x"}`}, `--args: unknown field "tokn"; test_ok takes arguments like {"token":""}`},
				{"wrong type", []string{"test_ok", "--args", `{"n":"seven"}`}, `--args: field "n": got a JSON string, want an integer`},
				{"not an object", []string{"test_ok", "--args", `["x"]`}, "--args: not a JSON object"},
				{"two objects", []string{"test_ok", "--args", `{} {}`}, "--args: more after the JSON object"},
				{"Validate fails", []string{"test_valid", "--args", `{"email":"ada"}`}, `--args: invalid test_valid arguments: email "ada" has no @`},
				{"example task without arguments", []string{"send_welcome"}, `--args: invalid send_welcome arguments: email: the new user's address is required`},
				{"example task, not an address", []string{"send_welcome", "--args", `{"email":"ada"}`}, `--args: invalid send_welcome arguments: email: the new user's address is required`},
				{"priority 0", []string{"test_ok", "--priority", "0"}, "--priority 0 is out of range: use 1 (first) to 4 (last)"},
				{"priority 5", []string{"test_ok", "--priority", "5"}, "--priority 5 is out of range"},
				{"negative --in", []string{"test_ok", "--in", "-5m"}, "--in -5m0s is negative"},
				{"bad queue", []string{"test_ok", "--queue", "Not A Queue"}, `--queue "Not A Queue" is not a queue name`},
			}
			before := count("test_ok") + count("test_valid") + count("send_welcome")
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					out, _, err := runJobs(t, append([]string{"enqueue"}, tt.args...)...)
					var usage *command.Usage
					if !errors.As(err, &usage) {
						t.Fatalf("enqueue %v = %v, want a usage error", tt.args, err)
					}
					msg := err.Error()
					if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || !strings.HasSuffix(msg, "(see 'app jobs enqueue --help')") {
						t.Errorf("error %q, want one line containing %q and the help pointer", msg, tt.want)
					}
					if out != "" {
						t.Errorf("stdout %q, want nothing", out)
					}
				})
			}
			if n := count("test_ok") + count("test_valid") + count("send_welcome"); n != before {
				t.Errorf("usage errors stored %d jobs", n-before)
			}
			// The unknown kind's message lists what is registered, the example task included.
			_, _, err := runJobs(t, "enqueue", "nope")
			if err == nil || !strings.Contains(err.Error(), "send_welcome") || !strings.Contains(err.Error(), "test_ok, test_panic") {
				t.Errorf("unknown kind: %v, want the sorted registered kinds", err)
			}
		})
	})
}

// Missing or extra arguments name what the command takes, and --limit its range, as usage
// errors (exit 2) the way the binary reports them; nothing connects before they are refused.
func TestJobsUsageErrors(t *testing.T) {
	// Should a check be missing, the command would reach a throwaway database, not ./data.
	t.Setenv("DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "app.db"))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"show"}, "jobs show needs ID (see 'app jobs show --help')"},
		{[]string{"show", "1", "2"}, "jobs show takes only ID; got 2 arguments (see 'app jobs show --help')"},
		{[]string{"retry"}, "jobs retry needs ID (see 'app jobs retry --help')"},
		{[]string{"cancel", "1", "2", "3"}, "jobs cancel takes only ID; got 3 arguments (see 'app jobs cancel --help')"},
		{[]string{"enqueue"}, "jobs enqueue needs KIND (see 'app jobs enqueue --help')"},
		{[]string{"list", "--limit", "0"}, "--limit must be from 1 to 10000 (got 0) (see 'app jobs list --help')"},
		{[]string{"list", "--limit", "-1"}, "--limit must be from 1 to 10000 (got -1) (see 'app jobs list --help')"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, err := runJobs(t, tt.args...)
			commandtest.WantUsage(t, err, tt.want)
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}
