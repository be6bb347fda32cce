package commsworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"
	"github.com/aegisgo/aegis/template/internal/services/commsdb"
)

// env is a comms service whose messages go through a working, in-process worker: the glue as
// the app wires it, on one database.
type env struct {
	db  *database.DB
	svc *comms.Service
	w   *worker.Client
}

// testSettings are fast worker settings: quick polls and fetches, 20 jobs at once.
func testSettings() worker.Settings {
	return worker.Settings{Queues: "default=20", PollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second}
}

// setup starts the env on db with the email provider (nil: the outbox), stopped when the
// test ends.
func setup(t testing.TB, db *database.DB, email comms.EmailProvider, ws worker.Settings) *env {
	t.Helper()
	return setupLogged(t, db, email, ws, slog.New(slog.DiscardHandler))
}

// setupLogged is setup with the service and the worker writing to logger.
func setupLogged(t testing.TB, db *database.DB, email comms.EmailProvider, ws worker.Settings, logger *slog.Logger) *env {
	t.Helper()
	quiet := logger
	store := commsdb.NewStore(db)
	// The service needs the dispatcher, the dispatcher the worker, and the worker's jobs the
	// service (from their scope): the worker is set last, before anything is sent.
	d := &Dispatcher{store: store}
	svc, err := comms.New(comms.Settings{}, &comms.Opts{Store: store, Dispatcher: d, Email: email, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r := registry.New()
	if err := registry.Value(r, svc); err != nil {
		t.Fatal(err)
	}
	c := registrytest.Start(t, r)
	w, err := worker.NewClient(db, ws, &worker.ClientOpts{Work: true, Container: c, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	d.w = w
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &env{db: db, svc: svc, w: w}
}

// smtpTo is the SMTP provider for mp.
func smtpTo(t testing.TB, mp *mailpittest.Server, user, password string) comms.EmailProvider {
	t.Helper()
	p, err := comms.NewSMTP(comms.SMTPParams{Host: "127.0.0.1", Port: mp.SMTPPort, TLSPolicy: comms.TLSNone,
		Username: user, Password: password, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor polls cond until it holds, failing the test with what() after timeout.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// messages returns every recorded message.
func (e *env) messages(t testing.TB) []comms.Record {
	t.Helper()
	list, err := e.svc.Messages(context.Background(), comms.ListParams{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (e *env) message(t testing.TB, id comms.ID) comms.Record {
	t.Helper()
	r, err := e.svc.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// jobOf returns the delivery job of message id, or nil.
func (e *env) jobOf(t testing.TB, id comms.ID) *rivertype.JobRow {
	t.Helper()
	res, err := e.w.Jobs(context.Background(), river.NewJobListParams().Kinds(DeliverArgs{}.Kind()).States().First(10000))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		var a DeliverArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if a.ID == string(id) {
			return j
		}
	}
	return nil
}

func statusCounts(list []comms.Record) string {
	n := map[comms.Status]int{}
	for _, r := range list {
		n[r.Status]++
	}
	return fmt.Sprint(n)
}

// The SMTP server is down while 100 messages are sent: each is stored and its first attempt
// fails; once the server is back, every one arrives exactly once.
func TestServerDownEveryMessageArrivesOnce(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		mp := mailpittest.Start(t)
		e := setup(t, db, smtpTo(t, mp, "", ""), testSettings())
		mp.Stop()

		const n = 100
		subjects := map[comms.ID]string{}
		for i := range n {
			subject := fmt.Sprintf("Down %03d", i)
			id, err := e.svc.Send(ctx, comms.Message{To: []string{"ada@example.com"}, Subject: subject, Text: "body " + subject})
			if err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			subjects[id] = subject
		}
		// Every message was attempted while the server was down, and waits for a retry.
		waitFor(t, 60*time.Second, func() bool {
			for _, r := range e.messages(t) {
				if r.Status != comms.StatusQueued || r.Attempts < 1 {
					return false
				}
			}
			return true
		}, func() string { return "not every message failed once: " + statusCounts(e.messages(t)) })
		if r := e.messages(t)[0]; !strings.Contains(r.Error, "unreachable") {
			t.Errorf("a message queued for a retry has error %q, want the server unreachable", r.Error)
		}

		mp.Start()
		waitFor(t, 90*time.Second, func() bool {
			for _, r := range e.messages(t) {
				if r.Status != comms.StatusSent {
					return false
				}
			}
			return true
		}, func() string { return "not every message was sent: " + statusCounts(e.messages(t)) })
		time.Sleep(300 * time.Millisecond) // room for a duplicate, were one on its way
		got := mp.Summaries()
		if len(got) != n {
			t.Fatalf("mailpit has %d messages, want %d", len(got), n)
		}
		arrived := map[string]string{} // Message-ID -> subject
		for _, m := range got {
			if prev, dup := arrived[m.MessageID]; dup {
				t.Errorf("Message-ID %s arrived twice (%q, %q)", m.MessageID, prev, m.Subject)
			}
			arrived[m.MessageID] = m.Subject
		}
		for id, subject := range subjects {
			r := e.message(t, id)
			if arrived[r.ProviderID] != subject {
				t.Errorf("message %s (%q): provider ID %q arrived as %q", id, subject, r.ProviderID, arrived[r.ProviderID])
			}
			if r.Error != "" || r.Attempts < 2 {
				t.Errorf("message %s: attempts %d, error %q; want 2 or more attempts and no error once sent", id, r.Attempts, r.Error)
			}
		}
	})
}

// A permanent failure (a refused recipient, refused credentials) is not retried: the message
// is failed with the reason and the job cancelled, kept with the error; once the cause is
// fixed, retrying the job delivers the message.
func TestPermanentFailure(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		auth := t.TempDir() + "/auth"
		if err := writeFile(auth, "ada:right-password\n"); err != nil {
			t.Fatal(err)
		}
		mp := mailpittest.Start(t, "--smtp-allowed-recipients", `@ok\.test$`, "--smtp-auth-file", auth, "--smtp-auth-allow-insecure")
		p := &switchable{}
		p.set(smtpTo(t, mp, "ada", "right-password"))
		e := setup(t, db, p, testSettings())

		for _, tt := range []struct {
			name, to string
			provider comms.EmailProvider
			want     string
		}{
			{"refused recipient", "bob@elsewhere.test", nil, "rejected"},
			{"refused credentials", "bob@ok.test", smtpTo(t, mp, "ada", "wrong-password"), "authentication failed"},
		} {
			if tt.provider != nil {
				p.set(tt.provider)
			}
			id, err := e.svc.Send(ctx, comms.Message{To: []string{tt.to}, Subject: tt.name, Text: "x"})
			if err != nil {
				t.Fatal(err)
			}
			var job *rivertype.JobRow
			waitFor(t, 20*time.Second, func() bool {
				job = e.jobOf(t, id)
				return job != nil && job.State == rivertype.JobStateCancelled
			}, func() string { return fmt.Sprintf("%s: job %+v, message %+v", tt.name, job, e.message(t, id)) })
			r := e.message(t, id)
			if r.Status != comms.StatusFailed || r.Attempts != 1 || !strings.Contains(r.Error, tt.want) {
				t.Errorf("%s: message %s after %d attempt(s), error %q; want failed after 1 with %q", tt.name, r.Status, r.Attempts, r.Error, tt.want)
			}
			if job.Attempt != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, tt.want) {
				t.Errorf("%s: job attempt %d, errors %+v", tt.name, job.Attempt, job.Errors)
			}
		}
		if n := len(mp.Summaries()); n != 0 {
			t.Fatalf("%d messages arrived, want none", n)
		}

		// Both show in the dashboard: the messages failed with the reason in the Comms panel,
		// their jobs among the failed ones of the Jobs panel, with a Retry button.
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return errors.Join(registry.Value(r, e.w, registry.Component(worker.Name)), registry.Value(r, e.svc))
		})
		b := frontendtest.NewBrowser(t, h)
		jobs := b.Get("/dashboard/panels/jobs")
		failed := jobs[strings.Index(jobs, "<h2>Failed jobs</h2>"):strings.Index(jobs, "<h2>Recent jobs</h2>")]
		msgs := b.Get("/dashboard/panels/comms")
		if !strings.Contains(msgs, "0 queued, 0 sent, 2 failed") {
			t.Errorf("the Comms panel does not count 2 failed messages:\n%s", msgs)
		}
		var id comms.ID
		for _, r := range e.messages(t) {
			if r.Email.Subject == "refused credentials" {
				id = r.ID
			}
			job := e.jobOf(t, r.ID)
			for _, want := range []string{fmt.Sprintf(`<th scope="row">%d</th><td><code>comms_deliver</code></td>`, job.ID),
				fmt.Sprintf(`Retry<span class="visually-hidden"> job %d</span>`, job.ID)} {
				if !strings.Contains(failed, want) {
					t.Errorf("the Jobs panel's failed jobs lack %q:\n%s", want, failed)
				}
			}
			if !strings.Contains(msgs, template.HTMLEscapeString(r.Error)) {
				t.Errorf("the Comms panel lacks the error %q", r.Error)
			}
		}

		// The credentials are fixed: retrying the job from the Jobs panel (or jobs retry ID)
		// delivers the message.
		p.set(smtpTo(t, mp, "ada", "right-password"))
		b.Submit("/dashboard/panels/jobs/actions/retry", url.Values{"id": {fmt.Sprint(e.jobOf(t, id).ID)}})
		waitFor(t, 20*time.Second, func() bool { return e.message(t, id).Status == comms.StatusSent },
			func() string { return fmt.Sprintf("after jobs retry: %+v", e.message(t, id)) })
		if got := mp.Message("refused credentials"); got.To[0].Address != "bob@ok.test" {
			t.Errorf("arrived to %+v", got.To)
		}
	})
}

// A temporary failure is retried and the message sent once; running its job again (a retry by
// hand, a job rescued after its worker died) sends nothing more.
func TestRetriedAfterTransientFailureSendsOnce(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		mp := mailpittest.Start(t)
		e := setup(t, db, smtpTo(t, mp, "", ""), testSettings())
		mp.Stop()
		id, err := e.svc.Send(ctx, comms.Message{To: []string{"ada@example.com"}, Subject: "once", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() bool { return e.message(t, id).Attempts == 1 },
			func() string { return fmt.Sprintf("%+v", e.message(t, id)) })
		if r := e.message(t, id); r.Status != comms.StatusQueued || r.Error == "" {
			t.Errorf("after a failed attempt the message is %s with error %q, want queued with the error", r.Status, r.Error)
		}
		mp.Start()
		waitFor(t, 30*time.Second, func() bool { return e.message(t, id).Status == comms.StatusSent },
			func() string { return fmt.Sprintf("%+v", e.message(t, id)) })
		job := e.jobOf(t, id)
		waitFor(t, 10*time.Second, func() bool { job = e.jobOf(t, id); return job.State == rivertype.JobStateCompleted },
			func() string { return fmt.Sprintf("job %+v", job) })
		if job.Attempt != 2 || len(job.Errors) != 1 {
			t.Errorf("job attempt %d with errors %+v; want the second attempt to succeed", job.Attempt, job.Errors)
		}

		if _, err := e.w.Retry(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, func() bool { j := e.jobOf(t, id); return j.State == rivertype.JobStateCompleted && j.Attempt == 3 },
			func() string { return fmt.Sprintf("job %+v", e.jobOf(t, id)) })
		time.Sleep(200 * time.Millisecond)
		if n := len(mp.Summaries()); n != 1 {
			t.Errorf("%d messages arrived, want 1", n)
		}
		if r := e.message(t, id); r.Attempts != 2 || r.Status != comms.StatusSent {
			t.Errorf("after the job ran again: %s after %d attempts, want sent after 2", r.Status, r.Attempts)
		}
	})
}

// A provider's Retry-After snoozes the job for that long; the snooze is no River attempt.
func TestRetryAfterSnoozes(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		p := &limited{wait: time.Second}
		e := setup(t, db, p, testSettings())
		start := time.Now()
		id, err := e.svc.Send(t.Context(), comms.Message{To: []string{"ada@example.com"}, Subject: "limited", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() bool { return e.message(t, id).Status == comms.StatusSent },
			func() string { return fmt.Sprintf("%+v", e.message(t, id)) })
		if took := time.Since(start); took < time.Second {
			t.Errorf("sent after %s, before the provider's Retry-After of 1s", took)
		}
		r := e.message(t, id)
		job := e.jobOf(t, id)
		if r.Attempts != 2 || p.calls() != 2 || job.Attempt != 1 || len(job.Errors) != 0 {
			t.Errorf("message attempts %d, provider calls %d, job attempt %d, job errors %+v; want 2, 2, 1 (snoozed), none",
				r.Attempts, p.calls(), job.Attempt, job.Errors)
		}
	})
}

// A Retry-After of days (a quota's, a misbehaving proxy's: httpclient reads up to a year)
// snoozed the job that long, holding a password reset or a sign-in code until it was
// useless; the snooze is at most MaxSnooze, and the next attempt asks the provider again.
func TestRetryAfterCapped(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, &limited{wait: 365 * 24 * time.Hour}, testSettings())
		id, err := e.svc.Send(t.Context(), comms.Message{To: []string{"ada@example.com"}, Subject: "limited", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() bool { return e.jobOf(t, id).State == rivertype.JobStateScheduled },
			func() string { return fmt.Sprintf("job %+v", e.jobOf(t, id)) })
		job := e.jobOf(t, id)
		if wait := time.Until(job.ScheduledAt); wait > MaxSnooze || wait < MaxSnooze-time.Minute {
			t.Errorf("snoozed for %s, want %s", wait.Round(time.Second), MaxSnooze)
		}
		if r := e.message(t, id); r.Status != comms.StatusQueued || r.Attempts != 1 {
			t.Errorf("message %s after %d attempts, want queued after 1", r.Status, r.Attempts)
		}
	})
}

// In the caller's transaction: a rollback leaves neither the message nor its job, a commit
// both.
func TestInCallersTransaction(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		// A worker that does not work, so the committed job stays to be seen.
		idle, err := worker.NewClient(db, testSettings(), nil)
		if err != nil {
			t.Fatal(err)
		}
		store := commsdb.NewStore(db)
		svc, err := comms.New(comms.Settings{}, &comms.Opts{Store: store, Dispatcher: NewDispatcher(idle, store), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{db: db, svc: svc, w: idle}

		var rolledBack comms.ID
		errRollback := errors.New("the caller's write failed")
		err = idle.InTx(ctx, func(ctx context.Context, tx *worker.Tx) error {
			id, err := e.svc.SendTemplate(WithTx(ctx, tx), "welcome", "ada@example.com", map[string]any{"Name": "Ada", "LoginURL": "https://x.test"})
			if err != nil {
				return err
			}
			rolledBack = id
			if r, err := commsdb.NewStore(db).Get(ctx, id); err == nil {
				t.Errorf("message %s is visible outside its transaction: %+v", id, r)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) || rolledBack == "" {
			t.Fatalf("InTx = %v, id %q", err, rolledBack)
		}
		if _, err := e.svc.Message(ctx, rolledBack); !errors.Is(err, comms.ErrNotFound) {
			t.Errorf("after rollback the message is there: %v", err)
		}
		if j := e.jobOf(t, rolledBack); j != nil {
			t.Errorf("after rollback its job is there: %+v", j)
		}

		var committed comms.ID
		err = idle.InTx(ctx, func(ctx context.Context, tx *worker.Tx) error {
			committed, err = e.svc.SendSMS(WithTx(ctx, tx), "+14155550123", "Your code is 123456")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := e.message(t, committed); r.Status != comms.StatusQueued || r.SMS == nil {
			t.Errorf("after commit: %+v", r)
		}
		j := e.jobOf(t, committed)
		if j == nil || j.State != rivertype.JobStateAvailable {
			t.Fatalf("after commit the job is %+v", j)
		}
		var args DeliverArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil || args != (DeliverArgs{ID: string(committed), Channel: "sms"}) {
			t.Errorf("job arguments %s (%v)", j.EncodedArgs, err)
		}

		// The context is no use once its transaction has ended.
		var stale context.Context
		_ = idle.InTx(ctx, func(ctx context.Context, tx *worker.Tx) error { stale = WithTx(ctx, tx); return nil })
		if _, err := e.svc.SendSMS(stale, "+14155550123", "late"); err == nil {
			t.Error("sending in a finished transaction succeeded")
		}
	})
}

// switchable is an email provider whose target can change during a test.
type switchable struct {
	mu sync.Mutex
	p  comms.EmailProvider
}

func (s *switchable) set(p comms.EmailProvider) { s.mu.Lock(); s.p = p; s.mu.Unlock() }
func (s *switchable) Name() string              { return "smtp" }
func (s *switchable) SendEmail(ctx context.Context, m *comms.Message) (string, error) {
	s.mu.Lock()
	p := s.p
	s.mu.Unlock()
	return p.SendEmail(ctx, m)
}

// limited answers its first call like a rate-limited API (429, Retry-After) and then sends.
type limited struct {
	wait time.Duration
	mu   sync.Mutex
	n    int
}

func (l *limited) Name() string { return "limited" }
func (l *limited) calls() int   { l.mu.Lock(); defer l.mu.Unlock(); return l.n }
func (l *limited) SendEmail(context.Context, *comms.Message) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.n == 1 {
		return "", &comms.ProviderError{Provider: "limited", StatusCode: 429, Message: "slow down", RetryAfter: l.wait}
	}
	return fmt.Sprintf("limited-%d", l.n), nil
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// A sensitive message that waits for a retry keeps its body (it must still be sent); once the
// worker has delivered it, neither the table nor the job holds its secret, and the recipient
// got it.
func TestSensitiveThroughWorker(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		mp := mailpittest.Start(t)
		e := setup(t, db, smtpTo(t, mp, "", ""), testSettings())
		mp.Stop()
		const secret = "https://app.test/verify?token=s3cr3t-w0rker"
		id, err := e.svc.SendTemplate(ctx, "verify-email", "ada@example.com", map[string]any{"Name": "Ada", "Email": "ada@example.com",
			"VerifyURL": secret, "ExpiresIn": "24 hours"})
		if err != nil {
			t.Fatal(err)
		}
		payloads := func() string {
			var rows []string
			if err := db.Bun().NewRaw(`SELECT payload FROM comms_messages`).Scan(ctx, &rows); err != nil {
				t.Fatal(err)
			}
			return strings.Join(rows, "\n")
		}
		waitFor(t, 20*time.Second, func() bool { return e.message(t, id).Attempts == 1 },
			func() string { return fmt.Sprintf("%+v", e.message(t, id)) })
		if r := e.message(t, id); r.Status != comms.StatusQueued || r.Email.Redacted || !strings.Contains(payloads(), secret) {
			t.Fatalf("waiting for a retry: %s, redacted %v; the body must stay until delivered", r.Status, r.Email.Redacted)
		}
		mp.Start()
		waitFor(t, 30*time.Second, func() bool { return e.message(t, id).Status == comms.StatusSent },
			func() string { return fmt.Sprintf("%+v", e.message(t, id)) })
		if m := mp.MessageTo("ada@example.com", "Confirm your email address for App"); !strings.Contains(m.Text, secret) {
			t.Errorf("the mail lacks the link:\n%s", m.Text)
		}
		if r := e.message(t, id); !r.Email.Redacted || r.Email.Sensitive != "the email verification link" || strings.Contains(payloads(), "s3cr3t") {
			t.Errorf("after delivery: %+v; payload %s", r.Email, payloads())
		}
		if job := e.jobOf(t, id); job == nil || strings.Contains(string(job.EncodedArgs), "s3cr3t") {
			t.Errorf("job %+v", job)
		}
	})
}

// linesWith returns the lines of logs that hold substr.
func linesWith(logs *logtest.Buffer, substr string) []string {
	var out []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// A delivery that fails for good makes one log line, not one of the service and another of
// the worker for the same failure: a rejected recipient (cancelled at once) and a server that
// is down at the job's only attempt (discarded).
func TestFailureLoggedOnce(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		mp := mailpittest.Start(t, "--smtp-allowed-recipients", `@ok\.test$`)
		logs := &logtest.Buffer{}
		ws := testSettings()
		ws.MaxAttempts = 1
		e := setupLogged(t, db, smtpTo(t, mp, "", ""), ws, slog.New(slog.NewTextHandler(logs, nil)))

		rejected, err := e.svc.Send(ctx, comms.Message{To: []string{"bob@elsewhere.test"}, Subject: "rejected", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() bool { return e.message(t, rejected).Status == comms.StatusFailed },
			func() string { return fmt.Sprintf("rejected: %+v", e.message(t, rejected)) })

		mp.Stop()
		down, err := e.svc.Send(ctx, comms.Message{To: []string{"ada@ok.test"}, Subject: "down", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() bool { return e.message(t, down).Status == comms.StatusFailed },
			func() string { return fmt.Sprintf("down: %+v", e.message(t, down)) })
		// The job's end is logged once River has its outcome, just after the message's.
		for _, tt := range []struct {
			id   comms.ID
			want string
		}{{rejected, "rejected"}, {down, "unreachable"}} {
			waitFor(t, 20*time.Second, func() bool { return len(linesWith(logs, string(tt.id))) > 0 },
				func() string { return fmt.Sprintf("no log line names %s", tt.id) })
			if j := e.jobOf(t, tt.id); j == nil || j.FinalizedAt == nil {
				waitFor(t, 20*time.Second, func() bool { j := e.jobOf(t, tt.id); return j != nil && j.FinalizedAt != nil },
					func() string { return fmt.Sprintf("job of %s not finalized", tt.id) })
			}
			lines := linesWith(logs, string(tt.id))
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("%s: %d log lines name the message, want 1 saying %q:\n%s", tt.want, len(lines), tt.want, strings.Join(lines, ""))
			}
		}
	})
}
