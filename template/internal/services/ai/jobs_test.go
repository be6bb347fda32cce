package ai

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// enqueued records the jobs a test enqueues instead of running River.
type enqueued struct {
	mu   sync.Mutex
	args []river.JobArgs
}

func (e *enqueued) Enqueue(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.args = append(e.args, args)
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{ID: int64(len(e.args))}}, nil
}

func (e *enqueued) EnqueueTx(ctx context.Context, _ *worker.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return e.Enqueue(ctx, args, opts)
}

// TestJobs: POST /api/v1/ai/jobs stores and enqueues a generation; its attempts retry on
// provider errors and the result (or the last error) is fetched by ID.
func TestJobs(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeFlaky)
		svc, _ := setup(t, db, f, Settings{}, &Opts{Identity: headerIdentity{}})
		enq := &enqueued{}
		jobs, err := NewJobs(t.Context(), svc, enq)
		if err != nil {
			t.Fatal(err)
		}
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return errors.Join(registry.Value(r, svc), registry.Value(r, jobs))
		})
		alice := map[string]string{"X-Test-User": "alice"}
		rec := send(t, h, http.MethodPost, Prefix+"/jobs", map[string]any{"prompt": "write a poem"}, alice)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("submit = %d %s", rec.Code, rec.Body)
		}
		job := decode[Job](t, rec)
		if job.Status != JobQueued || len(enq.args) != 1 || enq.args[0].(GenerateArgs).JobID != job.ID {
			t.Fatalf("job %+v, enqueued %+v", job, enq.args)
		}
		if rec := send(t, h, http.MethodPost, Prefix+"/jobs", map[string]any{"prompt": ""}, alice); rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("empty prompt = %d", rec.Code)
		}
		// The first attempt meets a 500 and fails (River retries it); the second succeeds.
		if err := jobs.Run(t.Context(), job.ID, 1, JobMaxAttempts); err == nil {
			t.Fatal("the failed attempt returned no error")
		}
		if got, _ := jobs.Get(userCtx("alice"), job.ID); got.Status != JobQueued || got.Error == "" || got.Attempts != 1 {
			t.Fatalf("after a failed attempt: %+v", got)
		}
		if err := jobs.Run(t.Context(), job.ID, 2, JobMaxAttempts); err != nil {
			t.Fatal(err)
		}
		got := decode[Job](t, send(t, h, http.MethodGet, Prefix+"/jobs/"+jsonNumber(job.ID), nil, alice))
		if got.Status != JobDone || got.Result != "Hello, world" || got.FinishedAt == nil {
			t.Fatalf("done: %+v", got)
		}
		if rec := send(t, h, http.MethodGet, Prefix+"/jobs/"+jsonNumber(job.ID), nil, map[string]string{"X-Test-User": "bob"}); rec.Code != http.StatusNotFound {
			t.Fatalf("bob reads alice's job: %d", rec.Code)
		}
		// A job that fails its last attempt is marked failed.
		f.mode = fake500
		job2, err := jobs.Submit(userCtx("alice"), GenerateParams{Prompt: "again"})
		if err != nil {
			t.Fatal(err)
		}
		// River is told the last attempt failed (it discards the job, shown with its reason).
		if err := jobs.Run(t.Context(), job2.ID, JobMaxAttempts, JobMaxAttempts); err == nil || !strings.Contains(err.Error(), "the provider failed") {
			t.Fatalf("the last attempt returned %v, want its reason", err)
		}
		if got, _ := jobs.Get(userCtx("alice"), job2.ID); got.Status != JobFailed || got.Error == "" {
			t.Fatalf("after the last attempt: %+v", got)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE kind = 'job' AND user_id = 'alice'"); n != 3 {
			t.Fatalf("%d job calls recorded for alice, want 3", n)
		}
	})
}

func userCtx(user string) context.Context {
	return context.WithValue(context.Background(), testUserKey{}, user)
}

// TestJobNotRetried: a job whose provider refuses the key or the model fails at once (it used
// to stay queued through River's backoff, about six minutes, to fail the same way) and is
// cancelled in River with its reason (it showed as completed); a provider failure or rate
// limit is retried.
func TestJobNotRetried(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			mode   string
			status string
			retry  bool
		}{
			{fake401, JobFailed, false},
			{fakeNoModel, JobFailed, false},
			{fake500, JobQueued, true},
			{fake429, JobQueued, true},
		} {
			jobs, job := submitJob(t, db, tc.mode)
			// Not retried: River cancels the job, shown with its reason; else the attempt fails.
			runErr := jobs.Run(t.Context(), job.ID, 1, JobMaxAttempts)
			var cancelled *river.JobCancelError
			got, _ := jobs.Get(userCtx("alice"), job.ID)
			if runErr == nil || errors.As(runErr, &cancelled) == tc.retry || got.Status != tc.status || got.Error == "" {
				t.Errorf("%s: attempt 1 returned %v, job %+v; want retry %v, status %s", tc.mode, runErr, got, tc.retry, tc.status)
			}
		}
	})
}

// submitJob submits alice's generation to jobs on a fake provider answering as mode says.
func submitJob(t *testing.T, db *database.DB, mode string) (*Jobs, *Job) {
	t.Helper()
	svc, _ := setup(t, db, newFakeOpenAI(t, mode), Settings{}, &Opts{Identity: headerIdentity{}})
	jobs, err := NewJobs(t.Context(), svc, &enqueued{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := jobs.Submit(userCtx("alice"), GenerateParams{Prompt: "write"})
	if err != nil {
		t.Fatal(err)
	}
	return jobs, job
}

// TestJobErrorPrefix: a failed attempt's error says "ai: " once (it read "ai: job 3: ai:
// local: ..."), whether River retries it or not.
func TestJobErrorPrefix(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			mode    string
			attempt int
		}{
			{fake500, 1},                  // retried: "ai: job N: ..."
			{fake500, JobMaxAttempts},     // the last: "ai: job N failed: ..."
			{fake401, 1},                  // not retryable: cancelled with its reason
			{fake429, JobMaxAttempts - 1}, // rate limited, retried
		} {
			jobs, job := submitJob(t, db, tc.mode)
			runErr := jobs.Run(t.Context(), job.ID, tc.attempt, JobMaxAttempts)
			if runErr == nil || strings.Count(runErr.Error(), "ai: ") != 1 {
				t.Errorf("%s attempt %d: error %q, want one \"ai: \" prefix", tc.mode, tc.attempt, runErr)
			}
		}
	})
}

// TestJobQuota: a job's attempt counts against its user's AI_DAILY_TOKEN_QUOTA. Jobs
// submitted while the quota had room used to run all the same once it was spent (each with
// a whole AI_MAX_OUTPUT_TOKENS), so queuing many jobs went around the quota; now an attempt
// that finds it spent fails with the quota's reason, at once and without calling the model.
func TestJobQuota(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		svc, _ := setup(t, db, f, Settings{DailyTokenQuota: 10}, &Opts{Identity: headerIdentity{}})
		jobs, err := NewJobs(t.Context(), svc, &enqueued{})
		if err != nil {
			t.Fatal(err)
		}
		var queued []*Job
		for range 3 {
			job, err := jobs.Submit(userCtx("alice"), GenerateParams{Prompt: "write"})
			if err != nil {
				t.Fatal(err)
			}
			queued = append(queued, job)
		}
		// The first spends 15 tokens of the 10.
		if err := jobs.Run(t.Context(), queued[0].ID, 1, JobMaxAttempts); err != nil {
			t.Fatal(err)
		}
		runErr := jobs.Run(t.Context(), queued[1].ID, 1, JobMaxAttempts)
		var cancelled *river.JobCancelError
		got, _ := jobs.Get(userCtx("alice"), queued[1].ID)
		if !errors.As(runErr, &cancelled) || got.Status != JobFailed || !strings.Contains(got.Error, "quota") {
			t.Fatalf("an attempt past the quota returned %v, job %+v; want it failed, not retried, with the quota's reason", runErr, got)
		}
		if n := f.count(); n != 1 {
			t.Fatalf("the model was called %d times, want 1", n)
		}
		// Another user's job still runs.
		job, err := jobs.Submit(userCtx("bob"), GenerateParams{Prompt: "write"})
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Run(t.Context(), job.ID, 1, JobMaxAttempts); err != nil {
			t.Fatalf("bob's job: %v", err)
		}
	})
}

// An ai_generate job typed on the command line (jobs enqueue ai_generate) names a job row, or
// is refused before it is stored: {} ran for job 0 and failed every attempt.
func TestGenerateArgsDecode(t *testing.T) {
	t.Parallel()
	task := worker.NewTask(runGenerate, nil)
	for _, tt := range []struct{ args, wantErr string }{
		{`{}`, "job_id: the id of an ai job is required"},
		{`{"job_id":-3}`, "job_id: the id of an ai job is required"},
		{`{"job_id":42}`, ""},
	} {
		_, err := task.DecodeArgs([]byte(tt.args))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("DecodeArgs(%s) = %v, want nil", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("DecodeArgs(%s) = %v, want an error containing %q", tt.args, err, tt.wantErr)
		}
	}
}
