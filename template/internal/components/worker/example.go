package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// SendWelcomeArgs is the example task shipped with the component: it "welcomes" a new user by
// logging a line. Copy it to write a real task, then delete it (it lives only in this file).
//
// Like every task it must be idempotent, because a job can run more than once: an attempt
// that fails after doing part of its work is retried, and a worker killed in the middle of a
// job (or cut off from the database before it could record the job as completed) leaves the
// job to be rescued and run again. This one is idempotent because it changes nothing; a real
// one sending mail would record "welcome sent to user 42" in the same transaction as nothing
// else and skip when the record exists, or use a provider's idempotency key. Its InsertOpts
// also make it unique per address for a day, so enqueueing it twice (a double-clicked sign-up
// form) runs it once.
type SendWelcomeArgs struct {
	Email string `json:"email"`
}

// Validate is what `jobs enqueue send_welcome --args ...` checks before storing the job (Go
// code that enqueues builds its arguments itself): without it, a job with no address would
// be stored and run for nothing.
func (a SendWelcomeArgs) Validate() error {
	if _, err := mail.ParseAddress(a.Email); err != nil || strings.ContainsAny(a.Email, "<>") {
		return errors.New(`email: the new user's address is required, such as {"email":"ada@example.com"}`)
	}
	return nil
}

// Kind is the task's name in the database: never change it while jobs of it may be queued.
func (SendWelcomeArgs) Kind() string { return "send_welcome" }

// InsertOpts are the task's defaults for Enqueue: the default queue, a few attempts, and at
// most one job per address per day.
func (SendWelcomeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueDefault,
		MaxAttempts: 5,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByPeriod: 24 * time.Hour},
	}
}

func init() {
	registry.Contribute(registry.Default, SendWelcomeArgs{}.Kind(), NewTask(sendWelcome, &TaskOpts{Timeout: 30 * time.Second}))
}

// sendWelcome would resolve a mailer from the job's scope:
//
//	res, _ := registry.FromContext(ctx)
//	mail, err := registry.Get[services.Mailer](res)
func sendWelcome(ctx context.Context, job *river.Job[SendWelcomeArgs]) error {
	slog.InfoContext(ctx, "worker: example task: would send a welcome mail", "to", job.Args.Email, "job", job.ID, "attempt", job.Attempt)
	return nil
}
