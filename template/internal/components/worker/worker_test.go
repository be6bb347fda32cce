package worker

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func TestParseQueues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		want map[string]int
		err  string
	}{
		{"default=10,system=2", map[string]int{"default": 10, "system": 2}, ""},
		{" default = 3 ", map[string]int{"default": 3}, ""},
		{"", nil, "lists no queue"},
		{"default", nil, `"default" is not name=concurrency`}, // the value once, not twice
		{"system=2,default", nil, `"default" is not name=concurrency`},
		{"default=0", nil, "name=concurrency"},
		{"default=x", nil, "name=concurrency"},
		{"=3", nil, "not a valid queue name"},
		{"a=1,a=2", nil, "listed twice"},
		{"email-out=2,bulk_mail=1", map[string]int{"email-out": 2, "bulk_mail": 1}, ""},
		// River refuses these names, in a message that does not name the variable.
		{"Default=10", nil, `"Default" is not a valid queue name`},
		{"default=10,mail.out=2", nil, `"mail.out" is not a valid queue name`},
		{"a--b=1", nil, "not a valid queue name"},
		{strings.Repeat("q", 65) + "=1", nil, "not a valid queue name"},
	}
	for _, tt := range tests {
		got, err := ParseQueues(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "WORKER_QUEUES") ||
				strings.Count(err.Error(), `"default"`) > 1 {
				t.Errorf("ParseQueues(%q) error = %v, want one naming WORKER_QUEUES with %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ParseQueues(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseQueues(%q)[%s] = %d, want %d", tt.spec, k, got[k], v)
			}
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	if err := (Settings{}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := Settings{MaxAttempts: -1}.WithDefaults()
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "WORKER_MAX_ATTEMPTS") {
		t.Errorf("Validate = %v, want an error naming WORKER_MAX_ATTEMPTS", err)
	}
}

// River's schema is the worker's goose migrations: applied by databasetest like everyone's,
// and reversible.
func TestMigrations(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_migration`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		status, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var applied int
		for _, s := range status {
			if s.Owner == Name {
				applied, _ = s.Counts()
			}
		}
		if applied == 0 || n != applied {
			t.Fatalf("river_migration has %d rows, goose applied %d worker migrations", n, applied)
		}
		// All the way down and up again.
		for range applied {
			if _, err := db.MigrateDown(ctx, Name); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().ExecContext(ctx, `SELECT 1 FROM river_job`); err == nil {
			t.Fatal("river_job still exists after migrating the worker all the way down")
		}
		if _, err := db.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_migration WHERE line = 'main'`).Scan(&n); err != nil || n != applied {
			t.Fatalf("after down and up: river_migration has %d rows (%v), want %d", n, err, applied)
		}
	})
}

func TestEnqueueRunsInScope(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		tok := token(t)
		res, err := c.Enqueue(t.Context(), scopedArgs{Token: tok}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, res.Job.ID, rivertype.JobStateCompleted, 10*time.Second)
		v, ok := closedLogs.Load(tok)
		if !ok || !v.(*atomic.Bool).Load() {
			t.Error("the job's scoped service was not closed with its scope")
		}
	})
}

// A panicking job is retried, then discarded with the panic recorded, and the worker goes on.
func TestPanicRetriedThenDiscarded(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		tok := token(t)
		res, err := c.Enqueue(t.Context(), panicArgs{Token: tok}, &river.InsertOpts{MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		j := waitState(t, c, res.Job.ID, rivertype.JobStateDiscarded, 20*time.Second)
		if got := runCount(tok).Load(); got != 2 {
			t.Errorf("ran %d times, want 2 (one retry)", got)
		}
		if len(j.Errors) != 2 || !strings.Contains(j.Errors[1].Error, "boom "+tok) || j.Errors[1].Trace == "" {
			t.Errorf("errors %+v, want two attempts recording the panic and its stack", j.Errors)
		}
		// Discarded jobs stay visible, and can be run again.
		list, err := c.Jobs(t.Context(), river.NewJobListParams().States(rivertype.JobStateDiscarded).Kinds("test_panic"))
		if err != nil || len(list.Jobs) == 0 {
			t.Fatalf("discarded jobs: %v, %v", list, err)
		}
		if _, err := c.Retry(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
		waitState(t, c, j.ID, rivertype.JobStateDiscarded, 20*time.Second)
		if got := runCount(tok).Load(); got != 3 {
			t.Errorf("after retry ran %d times, want 3", got)
		}
		// The worker keeps working.
		ok, err := c.Enqueue(t.Context(), okArgs{Token: tok + "-after"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, ok.Job.ID, rivertype.JobStateCompleted, 10*time.Second)
	})
}

// A task's timeout cancels its context; the attempt fails and is retried.
func TestTimeoutFailsAttempt(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		tok := token(t)
		res, err := c.Enqueue(t.Context(), blockArgs{Token: tok}, &river.InsertOpts{MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		j := waitState(t, c, res.Job.ID, rivertype.JobStateRetryable, 10*time.Second)
		// The retry may already have run (and timed out) too.
		if len(j.Errors) == 0 || !strings.Contains(j.Errors[0].Error, "deadline") {
			t.Errorf("errors %+v, want attempts that timed out", j.Errors)
		}
		last := j.Errors[len(j.Errors)-1]
		if !j.ScheduledAt.After(last.At) {
			t.Errorf("retry scheduled at %s, not after the failure at %s: no backoff", j.ScheduledAt, last.At)
		}
	})
}

func TestUniqueScheduledAndPriority(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		ctx := t.Context()
		tok := token(t)
		opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}, ScheduledAt: time.Now().Add(time.Hour), Priority: 3, Queue: QueueSystem}
		first, err := c.Enqueue(ctx, okArgs{Token: tok}, opts)
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.Enqueue(ctx, okArgs{Token: tok}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if first.UniqueSkippedAsDuplicate || !second.UniqueSkippedAsDuplicate || second.Job.ID != first.Job.ID {
			t.Errorf("unique: first skipped=%v, second skipped=%v (ids %d, %d)", first.UniqueSkippedAsDuplicate, second.UniqueSkippedAsDuplicate, first.Job.ID, second.Job.ID)
		}
		j := first.Job
		if j.State != rivertype.JobStateScheduled || j.Priority != 3 || j.Queue != QueueSystem {
			t.Errorf("job is %s, priority %d, queue %s; want scheduled, 3, system", j.State, j.Priority, j.Queue)
		}
		time.Sleep(300 * time.Millisecond)
		if n := runCount(tok).Load(); n != 0 {
			t.Errorf("a job scheduled in an hour ran %d times", n)
		}
		// Cancel it; it never runs.
		if j, err = c.Cancel(ctx, j.ID); err != nil || j.State != rivertype.JobStateCancelled {
			t.Errorf("cancel: %v, %v", j, err)
		}
	})
}

func TestExampleTaskIsUnique(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		a, err := c.Enqueue(t.Context(), SendWelcomeArgs{Email: "ada@example.com"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Enqueue(t.Context(), SendWelcomeArgs{Email: "ada@example.com"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !b.UniqueSkippedAsDuplicate {
			t.Error("a second welcome for the same address was enqueued")
		}
		waitState(t, c, a.Job.ID, rivertype.JobStateCompleted, 10*time.Second)
	})
}

// Jobs enqueued in a transaction exist exactly when the transaction commits, with the data.
func TestInTx(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		c, err := NewClient(db, testSettings(), nil) // enqueue only
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE signups (email text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		errRollback := errors.New("roll back")
		var rolledBackID int64
		err = c.InTx(ctx, func(ctx context.Context, tx *Tx) error {
			if _, err := tx.DB().NewRaw(`INSERT INTO signups (email) VALUES (?)`, "grace@example.com").Exec(ctx); err != nil {
				return err
			}
			res, err := tx.Enqueue(ctx, okArgs{Token: "rolled back"}, nil)
			if err != nil {
				return err
			}
			rolledBackID = res.Job.ID
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		if _, err := c.Job(ctx, rolledBackID); !errors.Is(err, river.ErrNotFound) {
			t.Errorf("job of a rolled back transaction: %v, want not found", err)
		}
		var committedID int64
		err = c.InTx(ctx, func(ctx context.Context, tx *Tx) error {
			if _, err := tx.DB().NewRaw(`INSERT INTO signups (email) VALUES (?)`, "ada@example.com").Exec(ctx); err != nil {
				return err
			}
			res, err := c.EnqueueTx(ctx, tx, okArgs{Token: "committed"}, nil)
			if err != nil {
				return err
			}
			committedID = res.Job.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Job(ctx, committedID); err != nil {
			t.Errorf("job of a committed transaction: %v", err)
		}
		var emails []string
		if err := db.Bun().NewRaw(`SELECT email FROM signups`).Scan(ctx, &emails); err != nil {
			t.Fatal(err)
		}
		if len(emails) != 1 || emails[0] != "ada@example.com" {
			t.Errorf("signups %v, want only the committed one", emails)
		}
	})
}

// Stop lets a running job finish within WORKER_SHUTDOWN_TIMEOUT.
func TestGracefulShutdown(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		tok := token(t)
		res, err := c.Enqueue(t.Context(), sleepArgs{Token: tok, For: 700 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, res.Job.ID, rivertype.JobStateRunning, 10*time.Second)
		start := time.Now()
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("stop took %s", d)
		}
		j, err := c.Job(t.Context(), res.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != rivertype.JobStateCompleted {
			t.Errorf("after a graceful stop the running job is %s, want completed", j.State)
		}
	})
}

// A job that outlives WORKER_SHUTDOWN_TIMEOUT is cancelled and left to be retried.
func TestShutdownTimeoutCancels(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		s.ShutdownTimeout = 300 * time.Millisecond
		c := setup(t, db, s)
		tok := token(t)
		res, err := c.Enqueue(t.Context(), sleepArgs{Token: tok, For: time.Hour}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, res.Job.ID, rivertype.JobStateRunning, 10*time.Second)
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		j, err := c.Job(t.Context(), res.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != rivertype.JobStateRetryable && j.State != rivertype.JobStateAvailable {
			t.Errorf("a job cancelled by shutdown is %s, want retryable", j.State)
		}
	})
}

func TestHealth(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		if _, err := c.Enqueue(t.Context(), okArgs{Token: token(t)}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		h := c.CheckHealth(t.Context())
		if h.Status != registry.StatusHealthy {
			t.Fatalf("health %+v", h)
		}
		for _, k := range []string{"queue_depth", "running", "retryable", "discarded_last_hour", "scheduled", "role"} {
			if _, ok := h.Details[k]; !ok {
				t.Errorf("health details lack %q: %v", k, h.Details)
			}
		}
		if h.Details["scheduled"] != 1 || h.Details["role"] != "worker" {
			t.Errorf("details %v, want one scheduled job and role worker", h.Details)
		}
	})
}

func TestTaskErrors(t *testing.T) {
	t.Parallel()
	ok := NewTask(func(context.Context, *river.Job[okArgs]) error { return nil }, nil)
	tests := []struct {
		name  string
		tasks registry.All[Task]
		want  []string
	}{
		{"duplicate kind", registry.All[Task]{{Name: "test_ok", Value: ok, Registered: "x.go:1"}, {Name: "test_ok", Value: ok, Registered: "y.go:2"}},
			[]string{"x.go:1", "y.go:2", "already registered"}},
		{"named after another kind", registry.All[Task]{{Name: "other", Value: ok, Registered: "x.go:1"}},
			[]string{"x.go:1", `task of kind "test_ok" contributed as "other"`}},
		{"nil fn", registry.All[Task]{{Name: "test_ok", Value: NewTask[okArgs](nil, nil), Registered: "x.go:1"}},
			[]string{"x.go:1", "fn is nil"}},
		{"zero Task", registry.All[Task]{{Name: "test_ok", Registered: "x.go:1"}},
			[]string{"x.go:1", "made with NewTask"}},
	}
	for _, tt := range tests {
		_, err := riverWorkers(tt.tasks)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q", tt.name, err, w)
			}
		}
	}
	// Contributed to a registry, the same mistakes fail Build with the file:lines.
	r := registry.New()
	registry.Contribute(r, "test_ok", ok)
	registry.Contribute(r, "test_ok", ok)
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "worker_test.go:") || !strings.Contains(err.Error(), "duplicate name") {
		t.Errorf("Validate = %v, want the duplicate with both file:lines", err)
	}
}

// Arguments for DecodeArgs: nested, a duration, and a Validate with a pointer receiver.
type decodeArgsT struct {
	Name  string        `json:"name"`
	Wait  time.Duration `json:"wait"`
	Inner decodeInner   `json:"inner"`
	At    time.Time     `json:"at,omitzero"`
}

type decodeInner struct {
	Count int `json:"count"`
}

func (decodeArgsT) Kind() string { return "test_decode" }

func (a *decodeArgsT) Validate() error {
	if a.Name == "" {
		return errors.New("name is required")
	}
	return nil
}

// DecodeArgs makes the task's own arguments type from JSON, strictly, with one-line errors
// that name the field and never Go's internals.
func TestTaskDecodeArgs(t *testing.T) {
	t.Parallel()
	task := NewTask(func(context.Context, *river.Job[decodeArgsT]) error { return nil }, nil)
	if got := task.ArgsSample(); got != `{"name":"","wait":0,"inner":{"count":0}}` {
		t.Errorf("ArgsSample = %s", got)
	}
	tests := []struct {
		json string
		want decodeArgsT
		err  string
	}{
		{json: `{"name":"a","wait":1000,"inner":{"count":3}}`, want: decodeArgsT{Name: "a", Wait: 1000, Inner: decodeInner{Count: 3}}},
		{json: ` {"name":"a"}  `, want: decodeArgsT{Name: "a"}},
		{json: `{}`, err: "invalid test_decode arguments: name is required"},
		{json: `{"name":"a","inner":{"count":"3"}}`, err: `field "inner.count": got a JSON string, want an integer`},
		{json: `{"name":"a","wait":"1s"}`, err: `field "wait": got a JSON string, want a number of nanoseconds`},
		{json: `{"name":"a","inner":{"cnt":3}}`, err: `unknown field "cnt"; test_decode takes arguments like {"name":"","wait":0,"inner":{"count":0}}`},
		{json: ``, err: "not a JSON object"},
		{json: `null`, err: "not a JSON object"},
		{json: `{"name":"a"`, err: "not valid JSON"},
		{json: `{"name":"a"}x`, err: "more after the JSON object"},
		{json: `{"name":"a","at":"2026-01-02T03:04:05Z"}`, want: decodeArgsT{Name: "a", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{json: `{"name":"a","at":"notadate"}`, err: `"notadate" is not a time in RFC 3339 form, such as "2026-01-02T15:04:05Z"; test_decode takes arguments like`},
		{json: `{"name":"a","at":"2026-13-01T00:00:00Z"}`, err: `"2026-13-01T00:00:00Z" is not a time in RFC 3339 form`},
		{json: `{"name":"a","at":5}`, err: `a time must be a JSON string in RFC 3339 form`},
	}
	for _, tt := range tests {
		got, err := task.DecodeArgs([]byte(tt.json))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("DecodeArgs(%s) = %v, %v; want one line with %q", tt.json, got, err, tt.err)
			}
			continue
		}
		if a, ok := got.(decodeArgsT); err != nil || !ok || a != tt.want {
			t.Errorf("DecodeArgs(%s) = %#v, %v; want %#v", tt.json, got, err, tt.want)
		}
	}
	if _, err := (Task{}).DecodeArgs([]byte(`{}`)); err == nil {
		t.Error("DecodeArgs of a Task not made with NewTask succeeded")
	}
}

// TestPollOnlySQLiteWakesOnLocalInsert: serve's client on SQLite runs without River's
// notification listener (its 50 ms poll of river_notification was most of an idle app's CPU),
// and a job it enqueues still starts at once rather than at the next poll: with a 10 s poll
// interval, the job completes within 3 s. The first job only proves the client is up (River's
// first fetch at start could have caught it); the second can only be woken by the insert.
func TestPollOnlySQLiteWakesOnLocalInsert(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	s := testSettings()
	s.PollInterval = 10 * time.Second
	client, err := NewClient(db, s, &ClientOpts{Work: true, PollOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if eng, ok := client.eng.(*riverEngine[*sql.Tx]); !ok || eng.c.Driver().SupportsListener() {
		t.Fatal("River's client on SQLite with PollOnly still has a listener")
	}
	if err := client.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := client.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	first, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, client, first.Job.ID, rivertype.JobStateCompleted, 8*time.Second)
	second, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, client, second.Job.ID, rivertype.JobStateCompleted, 3*time.Second)
}

// TestComponentPollOnly: serve's client (working in-process or only enqueueing) goes without
// the listener on SQLite; the worker command, whose jobs come from other processes, keeps it.
func TestComponentPollOnly(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	for role, listens := range map[command.Role]bool{command.RoleServe: false, Role: true} {
		c, err := newComponent(t.Context(), db, testSettings(), role, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.eng.(*riverEngine[*sql.Tx]).c.Driver().SupportsListener(); got != listens {
			t.Errorf("role %s: River's driver has a listener: %v, want %v", role, got, listens)
		}
	}
}

func TestQueueConfigs(t *testing.T) {
	queues := map[string]int{QueueDefault: 10, QueueSystem: 2}
	tests := []struct {
		name       string
		poll       time.Duration
		pollOnly   bool
		wantSystem time.Duration // the system queue's FetchPollInterval (0: the client's)
	}{
		{"listener", time.Second, false, 0},
		{"poll-only", time.Second, true, SystemPollInterval},
		{"poll-only, longer poll already", 10 * time.Second, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Settings{PollInterval: tt.poll}.WithDefaults()
			got := queueConfigs(queues, s, tt.pollOnly)
			if len(got) != 2 || got[QueueDefault].MaxWorkers != 10 || got[QueueSystem].MaxWorkers != 2 {
				t.Fatalf("queue configs = %+v, want default=10 and system=2 workers", got)
			}
			if got[QueueDefault].FetchPollInterval != 0 {
				t.Errorf("default queue polls every %s, want the client's interval (0)", got[QueueDefault].FetchPollInterval)
			}
			if got[QueueSystem].FetchPollInterval != tt.wantSystem {
				t.Errorf("system queue polls every %s, want %s", got[QueueSystem].FetchPollInterval, tt.wantSystem)
			}
		})
	}
}

// staleOkArgs is what an older (or newer) build might have stored for test_ok: a token that
// is a number, which okArgs cannot decode.
type staleOkArgs struct {
	Token int `json:"token"`
}

func (staleOkArgs) Kind() string { return "test_ok" }

// TestUndecodableArgsError: a job whose stored arguments do not decode into its kind's type
// (written by another build, or edited in the database) fails with one line that says so and
// which field is wrong, as 'jobs list', the panel and the API show it, not encoding/json's
// wording with Go type names.
func TestUndecodableArgsError(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c := setup(t, db, testSettings())
		res, err := c.Enqueue(t.Context(), staleOkArgs{Token: 7}, &river.InsertOpts{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		j := waitState(t, c, res.Job.ID, rivertype.JobStateDiscarded, 20*time.Second)
		if len(j.Errors) != 1 {
			t.Fatalf("errors %+v, want one attempt", j.Errors)
		}
		got := j.Errors[0].Error
		for _, want := range []string{`arguments do not match job kind "test_ok"`, `field "token": got a JSON number, want a string`} {
			if !strings.Contains(got, want) {
				t.Errorf("error %q, want it to contain %q", got, want)
			}
		}
		for _, bad := range []string{"json:", "Go struct", "okArgs", "\n"} {
			if strings.Contains(got, bad) {
				t.Errorf("error %q contains %q", got, bad)
			}
		}
	})
}
