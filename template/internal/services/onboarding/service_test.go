package onboarding

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

var ada = NewUser{Email: "Ada@Example.com", Username: "ada", Password: password, FullName: "Ada Lovelace"}

// TestCreateUserWithWelcome: with the real services (comms in its development outbox), one
// call has the four effects and leaves nothing pending.
func TestCreateUserWithWelcome(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, true)
		ctx := t.Context()
		res, err := b.svc.CreateUserWithWelcome(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Pending) != 0 || res.Err != nil || res.WelcomeID == "" {
			t.Fatalf("result %+v", res)
		}
		// 1. The account.
		u, err := b.users.GetByEmail(ctx, "ada@example.com")
		if err != nil || u.ID != res.User.ID || u.Role != auth.RoleUser {
			t.Fatalf("account %+v, %v", u, err)
		}
		// 2. Its profile, in the cache.
		if !b.cached(t, u.ID) {
			t.Error("the profile is not in the cache")
		}
		if p, err := b.svc.Profile(ctx, u.ID); err != nil || p.Email != "ada@example.com" || p.FullName != "Ada Lovelace" {
			t.Errorf("profile %+v, %v", p, err)
		}
		// 3. user_created, stored by analytics.
		if n := b.userCreated(t, strconv.FormatInt(u.ID, 10)); n != 1 {
			t.Errorf("%d user_created events, want 1", n)
		}
		// 4. The welcome email, sent through the outbox.
		msgs := b.messages(t)
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if m.ID != res.WelcomeID || m.Status != comms.StatusSent || m.Provider != comms.ProviderOutbox || m.Email.Template != WelcomeTemplate ||
			!slices.Equal(m.Email.To, []string{"ada@example.com"}) || m.Email.Subject != "Welcome to App, Ada Lovelace" {
			t.Errorf("welcome %+v", m)
		}
		if !strings.Contains(m.Email.HTML, `href="https://app.example.com/login"`) || !strings.Contains(m.Email.Text, "https://app.example.com/login") {
			t.Errorf("the welcome does not link to ONBOARDING_LOGIN_URL:\n%s\n%s", m.Email.HTML, m.Email.Text)
		}
		if n := b.pendingRows(t); n != 0 {
			t.Errorf("%d pending rows left", n)
		}
		if h := b.svc.CheckHealth(ctx); h.Status != registry.StatusHealthy || h.Details["created"] != int64(1) {
			t.Errorf("health %+v", h)
		}
	})
}

// TestWelcomeRetried: a provider that fails leaves the account created and the welcome
// pending (recorded by comms as failed); the retry delivers that same message, exactly once,
// whether it runs from the command (Retry) or at the next start.
func TestWelcomeRetried(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, false)
		b.email.fail(errors.New("550 mailbox unavailable"))

		res, err := b.svc.CreateUserWithWelcome(ctx, ada)
		if err != nil {
			t.Fatalf("a failed welcome failed the call: %v", err)
		}
		if !slices.Equal(res.Pending, []Step{StepWelcome}) || res.WelcomeID == "" || res.Err == nil {
			t.Fatalf("result %+v", res)
		}
		if _, err := b.users.Get(ctx, res.User.ID); err != nil {
			t.Fatalf("the account is gone: %v", err)
		}
		if r, _ := b.comms.Message(ctx, res.WelcomeID); r.Status != comms.StatusFailed {
			t.Errorf("comms status %q, want failed", r.Status)
		}
		list, err := b.svc.Pending(ctx, 10)
		if err != nil || len(list) != 1 || list[0].UserID != res.User.ID || !slices.Equal(list[0].Steps, []Step{StepWelcome}) ||
			list[0].Attempts != 1 || list[0].LastError == "" {
			t.Fatalf("pending %+v, %v", list, err)
		}
		if h := b.svc.CheckHealth(ctx); h.Status != registry.StatusDegraded || h.Details["failed_welcome"] != int64(1) {
			t.Errorf("health %+v", h)
		}

		// Still failing: the retry keeps it pending, with one more attempt.
		if r, err := b.svc.Retry(ctx, true); err != nil || r != (RetryResult{Pending: 1}) {
			t.Fatalf("retry while failing: %+v, %v", r, err)
		}
		// Not due yet (backoff): a periodic pass leaves it alone.
		if r, err := b.svc.Retry(ctx, false); err != nil || r != (RetryResult{}) {
			t.Fatalf("retry before the backoff: %+v, %v", r, err)
		}

		// The provider is back; the next start retries.
		b.email.fail(nil)
		restarted := NewRetrier(b.compose(t, b.cache, b.events, nil), 0)
		if err := restarted.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for b.pendingRows(t) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the start did not retry the welcome")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := restarted.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if r, err := b.svc.Retry(ctx, true); err != nil || r != (RetryResult{}) {
			t.Errorf("retry with nothing pending: %+v, %v", r, err)
		}
		if got := b.email.sentTo(); !slices.Equal(got, []string{"ada@example.com"}) {
			t.Errorf("delivered to %v, want ada@example.com once", got)
		}
		msgs := b.messages(t)
		if len(msgs) != 1 || msgs[0].ID != res.WelcomeID || msgs[0].Status != comms.StatusSent || msgs[0].Attempts != 3 {
			t.Errorf("messages %+v, want the one welcome, sent at the third attempt", msgs)
		}
		if n := b.userCreated(t, ""); n != 1 {
			t.Errorf("%d user_created events, want 1 (the retry does only what failed)", n)
		}
	})
}

// TestCacheAndAnalyticsFailures: a cache that is down and an analytics service that drops
// events fail no call; both steps are pending and done by the retry once they are back.
func TestCacheAndAnalyticsFailures(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, true)
		down := cache.New(failingStore{}, &cache.Opts{Logger: quiet})
		stopped := setup(t, db, true).events // a stopped service drops every event
		if err := stopped.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		svc := b.compose(t, down, stopped, nil)

		res, err := svc.CreateUserWithWelcome(ctx, ada)
		if err != nil {
			t.Fatalf("cache and analytics failures failed the call: %v", err)
		}
		if !slices.Equal(res.Pending, []Step{StepProfile, StepEvent}) || !errors.Is(res.Err, errCacheDown) || !errors.Is(res.Err, errEventDropped) {
			t.Fatalf("result %+v", res)
		}
		if len(b.messages(t)) != 1 {
			t.Error("the welcome was not sent")
		}
		if h := svc.CheckHealth(ctx); h.Status != registry.StatusDegraded || h.Details["failed_profile"] != int64(1) || h.Details["failed_event"] != int64(1) {
			t.Errorf("health %+v", h)
		}

		// Back: the retry caches the profile and tracks the event; the welcome is not sent again.
		if r, err := b.svc.Retry(ctx, true); err != nil || r != (RetryResult{Completed: 1}) {
			t.Fatalf("retry: %+v, %v", r, err)
		}
		if !b.cached(t, res.User.ID) || b.userCreated(t, strconv.FormatInt(res.User.ID, 10)) != 1 || len(b.messages(t)) != 1 || b.pendingRows(t) != 0 {
			t.Errorf("after the retry: cached %v, events %d, messages %d, pending %d", b.cached(t, res.User.ID),
				b.userCreated(t, ""), len(b.messages(t)), b.pendingRows(t))
		}
	})
}

// TestCreateFails: an account that cannot be created (a taken email, a bad password) has no
// side effect: no profile, no event, no email, no pending row.
func TestCreateFails(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, true)
		first, err := b.svc.CreateUserWithWelcome(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		dup := NewUser{Email: "ADA@example.com", Username: "ada2", Password: password}
		if _, err := b.svc.CreateUserWithWelcome(ctx, dup); !errors.Is(err, auth.ErrEmailTaken) {
			t.Fatalf("duplicate email: %v, want ErrEmailTaken", err)
		}
		var ve *auth.ValidationError
		if _, err := b.svc.CreateUserWithWelcome(ctx, NewUser{Email: "bob@example.com", Username: "bob", Password: "short"}); !errors.As(err, &ve) {
			t.Fatalf("short password: %v, want a ValidationError", err)
		}
		if n := b.pendingRows(t); n != 0 {
			t.Errorf("%d pending rows", n)
		}
		if msgs := b.messages(t); len(msgs) != 1 || msgs[0].ID != first.WelcomeID {
			t.Errorf("messages %+v, want the first account's welcome only", msgs)
		}
		if n := b.userCreated(t, ""); n != 1 {
			t.Errorf("%d user_created events, want 1", n)
		}
		if b.cached(t, first.User.ID+1) {
			t.Error("a profile was cached for an account that does not exist")
		}
	})
}

// TestCrashRecovery: rows left by a process that died mid-creation. One whose account was
// created is completed; one whose account never was, or whose email belongs to an older
// account (a failed duplicate), is removed without sending anything.
func TestCrashRecovery(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, true)
		older, err := b.users.Create(ctx, auth.CreateUserParams{Email: "old@example.com", Username: "old", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // the rows are younger than the old account
		start := time.Now()
		for _, email := range []string{"ada@example.com", "never@example.com", "old@example.com"} {
			row := &pending{Email: email, CreatedMS: ms(start), UpdatedMS: ms(start), NextMS: ms(start.Add(lease)), LeaseMS: ms(start.Add(lease))}
			if err := b.svc.insert(ctx, row); err != nil {
				t.Fatal(err)
			}
		}
		ada, err := b.users.Create(ctx, auth.CreateUserParams{Email: "ada@example.com", Username: "ada", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		// Leased: nobody may touch them yet, as their creating call might still run.
		if r, err := b.svc.Retry(ctx, true); err != nil || r != (RetryResult{}) {
			t.Fatalf("retry within the lease: %+v, %v", r, err)
		}
		later := b.compose(t, b.cache, b.events, func() time.Time { return time.Now().Add(lease + time.Minute) })
		if r, err := later.Retry(ctx, false); err != nil || r != (RetryResult{Completed: 1, Removed: 2}) {
			t.Fatalf("retry after the lease: %+v, %v", r, err)
		}
		msgs := b.messages(t)
		if len(msgs) != 1 || !slices.Equal(msgs[0].Email.To, []string{"ada@example.com"}) {
			t.Errorf("messages %+v, want one welcome to ada", msgs)
		}
		if !b.cached(t, ada.ID) || b.cached(t, older.ID) || b.pendingRows(t) != 0 {
			t.Errorf("cached ada %v, cached old %v, pending %d", b.cached(t, ada.ID), b.cached(t, older.ID), b.pendingRows(t))
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		attempts int
		want     time.Duration
	}{{1, time.Minute}, {2, 2 * time.Minute}, {5, 16 * time.Minute}, {9, 256 * time.Minute}, {10, retryMax}, {100, retryMax}} {
		if got := backoff(tt.attempts); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.attempts, got, tt.want)
		}
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	if err := (Settings{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, s := range []Settings{{LoginURL: "/login"}, {LoginURL: "ftp://x"}, {ProfileTTL: -1}, {RetryInterval: -1}, {RetryInterval: time.Millisecond},
		{LoginURL: "https://ops:hunter2@app.example.com/login"}, {LoginURL: "https://ops:hunter2@app.example.com/%zz"},
		{LoginURL: "ftp://ops:hunter2@app.example.com/"}} {
		err := s.WithDefaults().Validate()
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%+v: error %v, want one line without the password", s, err)
		}
		// A *config.Error reaches whoever starts the app as it is, not inside the registry's
		// "construct onboarding.Settings (registered at /path/settings.go:153)".
		if ce := (*config.Error)(nil); !errors.As(err, &ce) {
			t.Errorf("%+v: error %v is not a *config.Error", s, err)
		}
	}
	if _, err := New(nil, Collaborators{}, Settings{}, nil); err == nil {
		t.Error("New without collaborators: no error")
	}
}

// Without ONBOARDING_LOGIN_URL the welcome email has no Sign in button: the app itself has
// no page where its users sign in (BASE_URL/ led them to the operators' dashboard).
func TestWelcomeWithoutLoginURL(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, true)
		svc, err := New(b.db, Collaborators{Users: b.users, Mailer: b.comms, Tracker: b.events, Cache: b.cache}, Settings{}, &Opts{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUserWithWelcome(t.Context(), ada); err != nil {
			t.Fatal(err)
		}
		msgs := b.messages(t)
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		if m := msgs[0].Email; strings.Contains(m.HTML, "Sign in") || strings.Contains(m.HTML, "href=") || strings.Contains(m.Text, "Sign in") ||
			!strings.Contains(m.Text, "Your account is ready.") {
			t.Errorf("welcome without ONBOARDING_LOGIN_URL:\n%s\n%s", m.HTML, m.Text)
		}
	})
}

// TestConcurrent pins the exactly-once contracts under concurrency: creations racing for one
// email make one account, one welcome and no row left; retries racing over the same pending
// accounts (the server's loop, `onboarding retry`, another instance) deliver each welcome once.
func TestConcurrent(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, false)
		const racers = 4
		errs := make(chan error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, err := b.svc.CreateUserWithWelcome(ctx, NewUser{Email: "same@example.com", Username: "same" + strconv.Itoa(i), Password: password})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		created := 0
		for err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, auth.ErrEmailTaken):
				t.Errorf("a racing creation failed with %v, want auth.ErrEmailTaken", err)
			}
		}
		if created != 1 || b.pendingRows(t) != 0 || !slices.Equal(b.email.sentTo(), []string{"same@example.com"}) {
			t.Fatalf("%d created, %d rows, delivered to %v; want 1, 0, one welcome", created, b.pendingRows(t), b.email.sentTo())
		}

		// Three accounts whose welcome failed, then retried by racing passes once mail is back.
		b.email.fail(errors.New("421 try later"))
		for _, name := range []string{"ann", "ben", "cyd"} {
			if _, err := b.svc.CreateUserWithWelcome(ctx, NewUser{Email: name + "@example.com", Username: name, Password: password}); err != nil {
				t.Fatal(err)
			}
		}
		b.email.fail(nil)
		for range racers {
			svc := b.compose(t, b.cache, b.events, nil) // each pass as its own instance
			wg.Go(func() {
				if _, err := svc.Retry(ctx, true); err != nil {
					t.Errorf("retry: %v", err)
				}
			})
		}
		wg.Wait()
		got := b.email.sentTo()
		slices.Sort(got)
		want := []string{"ann@example.com", "ben@example.com", "cyd@example.com", "same@example.com"}
		if !slices.Equal(got, want) || b.pendingRows(t) != 0 {
			t.Errorf("delivered to %v with %d rows left, want each of %v once and none", got, b.pendingRows(t), want)
		}
	})
}

// lostAnswer creates the account, or not, and reports err either way: an insert committed
// before the caller's context ended (or the connection dropped) looks like a failure.
type lostAnswer struct {
	Users
	create bool
	err    error
}

func (l lostAnswer) Create(ctx context.Context, p auth.CreateUserParams) (*auth.User, error) {
	if l.create {
		if _, err := l.Users.Create(ctx, p); err != nil {
			return nil, err
		}
	}
	return nil, l.err
}

// TestCreateOutcomeUnknown: when auth fails with an error that does not say the account was
// refused (a cancellation, the database), the row is left to the next retry, which onboards
// the account if the creation went through after all and removes the row if it did not.
func TestCreateOutcomeUnknown(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, true)
		for _, tc := range []struct {
			email   string
			created bool
			err     error
		}{
			{"kept@example.com", true, context.Canceled},
			{"lost@example.com", false, errors.New("auth: insert user: driver: bad connection")},
		} {
			svc, err := New(b.db, Collaborators{Users: lostAnswer{b.users, tc.created, tc.err}, Mailer: b.comms, Tracker: b.events, Cache: b.cache},
				Settings{}, &Opts{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			name, _, _ := strings.Cut(tc.email, "@")
			if _, err := svc.CreateUserWithWelcome(ctx, NewUser{Email: tc.email, Username: name, Password: password}); !errors.Is(err, tc.err) {
				t.Fatalf("%s: %v, want %v", tc.email, err, tc.err)
			}
		}
		// The next periodic pass (not only one after the lease) settles both rows.
		if r, err := b.svc.Retry(ctx, false); err != nil || r != (RetryResult{Completed: 1, Removed: 1}) {
			t.Fatalf("retry: %+v, %v; want one completed, one removed", r, err)
		}
		msgs := b.messages(t)
		if len(msgs) != 1 || !slices.Equal(msgs[0].Email.To, []string{"kept@example.com"}) || b.pendingRows(t) != 0 {
			t.Errorf("messages %+v, %d rows; want one welcome to kept@example.com and no row", msgs, b.pendingRows(t))
		}
	})
}
