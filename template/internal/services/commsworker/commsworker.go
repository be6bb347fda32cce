// Package commsworker is the glue between the comms service and the worker component (owned
// by the pair): durable delivery. With it, Send, SendTemplate and SendSMS store the message
// as queued together with a worker job (kind "comms_deliver") in one database transaction,
// the caller's when the context carries one (WithTx), and return at once. The job makes one
// delivery attempt (comms.Service.DeliverWith): a temporary failure (server down, rate limit,
// SMTP 4xx) is an error, so River retries it with backoff, or snoozes it for the provider's
// Retry-After; a permanent one (a refused address, refused credentials) cancels the job,
// which River keeps with the reason, and marks the message failed. A message already sent is
// never sent again, so a job that runs twice, or one retried by hand, is harmless.
package commsworker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// Name is the glue's name: its service's name.
const Name = "commsworker"

func init() {
	registry.Contribute(registry.Default, DeliverArgs{}.Kind(), worker.NewTask(deliver, nil))
	// comms takes the Dispatcher as an optional dependency, so the container starts the worker
	// (and the message store) before the service and stops them after it.
	_ = registry.Provide2(registry.Default, newDispatcher,
		registry.Name(Name),
		registry.Describe("comms messages delivered by worker jobs: stored with their job, retried with backoff"),
	)
}

func newDispatcher(_ context.Context, w *worker.Client, store comms.Store) (comms.Dispatcher, error) {
	return NewDispatcher(w, store), nil
}

// DeliverArgs is the job that delivers one message.
type DeliverArgs struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
}

// Kind is the job's kind.
func (DeliverArgs) Kind() string { return "comms_deliver" }

// Validate refuses arguments without a message ID ('jobs enqueue comms_deliver').
func (a DeliverArgs) Validate() error {
	if a.ID == "" {
		return errors.New("id: the message's ID is required")
	}
	return nil
}

// deliver runs in the worker, in the job's own registry scope.
func deliver(ctx context.Context, job *river.Job[DeliverArgs]) error {
	res, ok := registry.FromContext(ctx)
	if !ok {
		return errors.New("commsworker: no registry scope in the job's context")
	}
	svc, err := registry.Get[*comms.Service](res)
	if err != nil {
		return fmt.Errorf("commsworker: %w", err)
	}
	return Deliver(ctx, svc, job)
}

// Deliver is the job's work: one delivery attempt of the message, and what River should do
// next. Nil: sent (or sent before). A temporary failure returns an error, retried with
// River's backoff (attempt⁴ seconds) while attempts remain, the message staying queued with
// the error; when the provider said how long to wait (Retry-After), the job is snoozed for
// that long (at most MaxSnooze) instead, as long as the message's attempts stay under the
// job's maximum (a snooze does not count as a River attempt). The last attempt and any permanent failure mark
// the message failed; a permanent failure also cancels the job (River keeps it, with the
// reason: 'jobs retry ID' runs it again once the cause is fixed).
func Deliver(ctx context.Context, svc *comms.Service, job *river.Job[DeliverArgs]) error {
	id := comms.ID(job.Args.ID)
	last := job.Attempt >= job.MaxAttempts
	// The worker logs each failed attempt with the error, which names the message: the
	// service does not log it a second time.
	err := svc.DeliverWith(ctx, id, comms.DeliverOpts{WillRetry: !last, CallerReports: true})
	switch {
	case err == nil:
		return nil
	case !comms.Temporary(err):
		return river.JobCancel(fmt.Errorf("commsworker: message %s failed for good: %w", id, err))
	}
	if wait := comms.RetryAfter(err); wait > 0 && !last {
		if r, gerr := svc.Message(ctx, id); gerr == nil && r.Attempts < job.MaxAttempts {
			return river.JobSnooze(min(wait, MaxSnooze))
		}
	}
	return fmt.Errorf("commsworker: message %s: %w", id, err)
}

// MaxSnooze is the longest a provider's Retry-After holds a message: a transactional message
// (a password reset, a sign-in code) is of no use days late, and a wait that long is a
// quota's or a misbehaving proxy's. The next attempt asks the provider again, and snoozes
// again if it is still told to wait.
const MaxSnooze = time.Hour

// TxStore is a comms.Store that can add a message in a database transaction of the caller's:
// the commsdb glue's Store, which the comms service uses whenever the app has the database
// (as it has with the worker).
type TxStore interface {
	comms.Store
	AddTx(ctx context.Context, tx bun.IDB, r comms.Record) error
}

// Dispatcher stores each message with its delivery job in one transaction: a comms.Dispatcher
// and comms.RecordDispatcher.
type Dispatcher struct {
	w     *worker.Client
	store comms.Store
}

// NewDispatcher returns a dispatcher enqueuing with w and storing messages in store, which
// should be a TxStore (else the message and its job are stored one after the other).
func NewDispatcher(w *worker.Client, store comms.Store) *Dispatcher {
	return &Dispatcher{w: w, store: store}
}

// Dispatch enqueues the delivery of a message already stored: in the transaction ctx carries
// (WithTx), if any.
func (d *Dispatcher) Dispatch(ctx context.Context, id comms.ID, ch comms.Channel) error {
	args := DeliverArgs{ID: string(id), Channel: string(ch)}
	var err error
	if tx, ok := TxFrom(ctx); ok {
		_, err = tx.Enqueue(ctx, args, nil)
	} else {
		_, err = d.w.Enqueue(ctx, args, nil)
	}
	if err != nil {
		return fmt.Errorf("commsworker: %w", err)
	}
	return nil
}

// RecordAndDispatch stores r and its job in the transaction ctx carries (WithTx), else in one
// of its own: both exist once it returns nil, and neither if the transaction rolls back.
func (d *Dispatcher) RecordAndDispatch(ctx context.Context, r comms.Record) error {
	ts, ok := d.store.(TxStore)
	if !ok {
		if _, inTx := TxFrom(ctx); inTx {
			return fmt.Errorf("commsworker: the comms store (%T) cannot join a transaction", d.store)
		}
		if err := d.store.Add(ctx, r); err != nil {
			return err
		}
		return d.Dispatch(ctx, r.ID, r.Channel)
	}
	if tx, ok := TxFrom(ctx); ok {
		return d.record(ctx, ts, tx, r)
	}
	return d.w.InTx(ctx, func(ctx context.Context, tx *worker.Tx) error { return d.record(ctx, ts, tx, r) })
}

func (d *Dispatcher) record(ctx context.Context, ts TxStore, tx *worker.Tx, r comms.Record) error {
	if err := ts.AddTx(ctx, tx.DB(), r); err != nil {
		return err
	}
	if _, err := tx.Enqueue(ctx, DeliverArgs{ID: string(r.ID), Channel: string(r.Channel)}, nil); err != nil {
		return fmt.Errorf("commsworker: %w", err)
	}
	return nil
}

type txKey struct{}

// WithTx returns a context that makes the comms service's Send, SendTemplate, SendSMS and
// Resend store the message and its delivery job in tx, so they commit or roll back with the
// caller's own writes:
//
//	err := w.InTx(ctx, func(ctx context.Context, tx *worker.Tx) error {
//		if _, err := tx.DB().NewInsert().Model(&user).Exec(ctx); err != nil {
//			return err
//		}
//		_, err := mail.SendTemplate(commsworker.WithTx(ctx, tx), "welcome", user.Email, data)
//		return err
//	})
//
// Use the context only inside the transaction: once it has ended, sending with it fails.
func WithTx(ctx context.Context, tx *worker.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction WithTx put in ctx.
func TxFrom(ctx context.Context) (*worker.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(*worker.Tx)
	return tx, ok && tx != nil
}

var (
	_ comms.RecordDispatcher = (*Dispatcher)(nil)
	_ worker.ArgsValidator   = DeliverArgs{}
)
