package ai

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Job statuses.
const (
	JobQueued = "queued"
	JobDone   = "done"
	JobFailed = "failed"
)

// JobMaxAttempts is how often a generation is tried: provider errors are retried with
// River's backoff, then the job is discarded and marked failed.
const JobMaxAttempts = 5

// Job is a generation run in the background (POST /api/v1/ai/jobs), its result fetched by ID.
type Job struct {
	bun.BaseModel `bun:"table:ai_jobs" json:"-"`

	ID         int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID     string     `bun:"user_id,notnull" json:"-"`
	Profile    string     `bun:"profile,notnull" json:"profile"`
	Prompt     string     `bun:"prompt,notnull" json:"-"`
	System     string     `bun:"system,notnull" json:"-"`
	Status     string     `bun:"status,notnull" json:"status" enum:"queued,done,failed"`
	Result     string     `bun:"result,notnull" json:"result,omitempty"`
	Error      string     `bun:"error,notnull" json:"error,omitempty"`
	Attempts   int        `bun:"attempts,notnull" json:"attempts"`
	CreatedAt  time.Time  `bun:"created_at,notnull" json:"created_at"`
	FinishedAt *time.Time `bun:"finished_at" json:"finished_at,omitempty"`
}

// GenerateArgs are the arguments of the ai_generate task: the job's row.
type GenerateArgs struct {
	JobID int64 `json:"job_id"`
}

// Kind is the task's name in the database: never change it while jobs of it may be queued.
func (GenerateArgs) Kind() string { return "ai_generate" }

// Validate refuses, for `jobs enqueue ai_generate`, arguments naming no job: the job's row
// is made by POST /api/v1/ai/jobs, which enqueues it.
func (a GenerateArgs) Validate() error {
	if a.JobID <= 0 {
		return errors.New("job_id: the id of an ai job is required (POST /api/v1/ai/jobs makes the job and enqueues it)")
	}
	return nil
}

// InsertOpts: the default queue, JobMaxAttempts tries.
func (GenerateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: worker.QueueDefault, MaxAttempts: JobMaxAttempts}
}

// Jobs runs generations as River jobs. It is safe for concurrent use.
type Jobs struct {
	svc *Service
	enq worker.Enqueuer
}

// NewJobs is the registry constructor.
func NewJobs(_ context.Context, svc *Service, enq worker.Enqueuer) (*Jobs, error) {
	if svc == nil || enq == nil {
		return nil, errors.New("ai: new jobs: nil service or enqueuer")
	}
	return &Jobs{svc: svc, enq: enq}, nil
}

// Submit checks the prompt and the caller's quota, stores the job and enqueues it.
func (j *Jobs) Submit(ctx context.Context, p GenerateParams) (*Job, error) {
	if err := j.svc.Prepare(ctx, ChatParams{Prompt: p.Prompt, System: p.System, Model: p.Model}); err != nil {
		return nil, err
	}
	profile, _, _ := j.svc.Provider(p.Model)
	job := &Job{UserID: j.svc.userID(ctx), Profile: profile.Name, Prompt: p.Prompt, System: p.System, Status: JobQueued, CreatedAt: j.svc.now().UTC()}
	if _, err := j.svc.store.db.NewInsert().Model(job).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("ai: store job: %w", err)
	}
	if _, err := j.enq.Enqueue(ctx, GenerateArgs{JobID: job.ID}, nil); err != nil {
		return nil, fmt.Errorf("ai: enqueue job: %w", err)
	}
	return job, nil
}

// Get returns a job of the caller's.
func (j *Jobs) Get(ctx context.Context, id int64) (*Job, error) {
	job := new(Job)
	err := j.svc.store.db.NewSelect().Model(job).Where("id = ?", id).Where("user_id = ?", j.svc.userID(ctx)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrJobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ai: get job: %w", err)
	}
	return job, nil
}

// ErrJobNotFound is returned for a job that does not exist or is not the caller's.
var ErrJobNotFound = errors.New("ai: job not found")

// Run is one attempt of a job: it calls the model (recorded in the ledger as the job's
// user's) and stores the answer. A provider error fails the attempt, which River retries;
// the last attempt's error marks the job failed. A job already done is not run again.
func (j *Jobs) Run(ctx context.Context, jobID int64, attempt, maxAttempts int) error {
	job := new(Job)
	if err := j.svc.store.db.NewSelect().Model(job).Where("id = ?", jobID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return river.JobCancel(fmt.Errorf("ai: job %d is gone", jobID))
		}
		return fmt.Errorf("ai: load job: %w", err)
	}
	if job.Status != JobQueued {
		return nil
	}
	profile, prov, err := j.svc.Provider(job.Profile)
	if err != nil {
		return j.finish(ctx, job, "", err, attempt, true)
	}
	req := Request{Model: profile.Model, System: job.System, Messages: []Message{{Role: RoleUser, Content: job.Prompt}}}
	// The quota is checked again at each attempt, as for a chat: Submit's check alone let a
	// user queue jobs while the quota had room and have them all run after it was spent.
	used, ended, err := j.svc.checkQuota(ctx, job.UserID)
	var resp *Response
	if err == nil {
		ci := &callInfo{kind: "job", profile: profile, prov: prov, user: job.UserID, prep: &preparation{quotaUsed: used, quotaEnded: ended}}
		resp, err = j.svc.call(ctx, ci, &req, nil)
	}
	if err != nil {
		final := attempt >= maxAttempts || !retryable(err)
		if ferr := j.finish(ctx, job, "", err, attempt, final); ferr != nil || !final {
			return ferr
		}
		// The job is marked failed; River is told too, so that 'jobs list' and the jobs panel
		// show it with its reason instead of completed: discarded after the last attempt,
		// cancelled when retrying cannot help.
		failed := fmt.Errorf("ai: job %d failed: %s", job.ID, jobReason(err))
		if attempt < maxAttempts {
			return river.JobCancel(failed)
		}
		return failed
	}
	return j.finish(ctx, job, resp.Content, nil, attempt, true)
}

// retryable reports whether another attempt may succeed: not when the provider refused the
// key, the model or the request itself, which only a change of settings fixes (retrying
// would keep the job queued for minutes of River's backoff before it fails all the same).
func retryable(err error) bool {
	// A spent quota renews at midnight UTC, past River's backoff; one held by calls under
	// way frees up as they end.
	var qe *QuotaError
	if errors.As(err, &qe) {
		return qe.Held()
	}
	var pe *ProviderError
	if !errors.As(err, &pe) {
		return true
	}
	switch pe.Status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		return false
	}
	return true
}

// finish records an attempt; final marks the job done or failed.
func (j *Jobs) finish(ctx context.Context, job *Job, result string, callErr error, attempt int, final bool) error {
	q := j.svc.store.db.NewUpdate().Model((*Job)(nil)).Where("id = ?", job.ID).Set("attempts = ?", attempt)
	if callErr != nil {
		q = q.Set("error = ?", safeReason(callErr))
	}
	if final {
		status := JobDone
		if callErr != nil {
			status = JobFailed
		}
		q = q.Set("status = ?", status).Set("result = ?", result).Set("finished_at = ?", j.svc.now().UTC())
	}
	updCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := q.Exec(updCtx); err != nil {
		return fmt.Errorf("ai: update job: %w", err)
	}
	if callErr != nil && !final {
		return fmt.Errorf("ai: job %d: %s", job.ID, jobReason(callErr))
	}
	return nil
}

// jobReason is a failed attempt's safe reason without its own "ai: " prefix: the job's error
// has one already ("ai: job 3: local: ...", not "ai: job 3: ai: local: ...").
func jobReason(err error) string { return strings.TrimPrefix(safeReason(err), "ai: ") }

// runGenerate is the ai_generate task: it resolves Jobs from the job's scope.
func runGenerate(ctx context.Context, job *river.Job[GenerateArgs]) error {
	res, ok := registry.FromContext(ctx)
	if !ok {
		return errors.New("ai: ai_generate: no registry scope in the job's context")
	}
	jobs, err := registry.Get[*Jobs](res)
	if err != nil {
		return fmt.Errorf("ai: ai_generate: %w", err)
	}
	return jobs.Run(ctx, job.Args.JobID, job.Attempt, job.MaxAttempts)
}
