package onboarding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// Step is one thing done for a new account after it is created.
type Step string

// The steps, in the order they run.
const (
	StepProfile Step = "profile" // the profile stored in the cache
	StepEvent   Step = "event"   // user_created tracked in analytics
	StepWelcome Step = "welcome" // the welcome email handed to comms
)

// EventUserCreated is the analytics event of a new account; WelcomeTemplate is the comms
// template sent to it.
const (
	EventUserCreated = "user_created"
	WelcomeTemplate  = "welcome"
)

// lease is how long one caller owns a pending row: longer than a creation and its steps
// take, so a retry never runs the steps of an account its creating call is still working on.
const lease = 5 * time.Minute

// Backoff of an account's retries: retryBase after the first failure, doubling up to
// retryMax.
const (
	retryBase = time.Minute
	retryMax  = 6 * time.Hour
)

// retryBatch is how many pending rows one query of Retry reads.
const retryBatch = 100

// errEventDropped is the event step's failure: analytics keeps no event it cannot buffer.
var errEventDropped = errors.New("onboarding: analytics dropped the user_created event (buffer full or service stopped)")

// Users creates and reads accounts: AccountsOf(*auth.AuthService), so that auth's hooks hear of
// every account created (a *auth.UserService creates without them).
type Users interface {
	Create(ctx context.Context, p auth.CreateUserParams) (*auth.User, error)
	Get(ctx context.Context, id int64) (*auth.User, error)
	GetByEmail(ctx context.Context, email string) (*auth.User, error)
}

// Mailer sends the welcome email: *comms.Service. SendTemplate records the message and
// delivers it, or hands it to the worker; a failed delivery returns the message's ID with
// the error. Deliver attempts a recorded message again and never sends a sent one twice.
type Mailer interface {
	SendTemplate(ctx context.Context, name, to string, data any) (comms.ID, error)
	Deliver(ctx context.Context, id comms.ID) error
}

// Tracker records analytics events: *analytics.Service. TrackEvent never blocks and reports
// false when the event was not kept.
type Tracker interface {
	TrackEvent(e analytics.Event) bool
}

// Collaborators are the services the Service composes; every one is required.
type Collaborators struct {
	Users   Users
	Mailer  Mailer
	Tracker Tracker
	Cache   *cache.Cache
}

// Opts adjust New; nil means defaults.
type Opts struct {
	// Logger receives the failed steps; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service onboards accounts: CreateUserWithWelcome, Retry, Pending and Profile. It is safe
// for concurrent use, across instances too (a pending row is worked on by one caller at a
// time).
type Service struct {
	db       *database.DB
	users    Users
	mail     Mailer
	events   Tracker
	cache    *cache.Cache
	settings Settings
	logger   *slog.Logger
	now      func() time.Time

	created, completed, removed            atomic.Int64
	profileFails, eventFails, welcomeFails atomic.Int64
}

// New returns the Service storing its pending steps in db, composing c, with settings s
// (defaults filled in).
func New(db *database.DB, c Collaborators, s Settings, opts *Opts) (*Service, error) {
	if db == nil || c.Users == nil || c.Mailer == nil || c.Tracker == nil || c.Cache == nil {
		return nil, errors.New("onboarding: new service: nil database, users, mailer, tracker or cache")
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{db: db, users: c.Users, mail: c.Mailer, events: c.Tracker, cache: c.Cache,
		settings: s, logger: o.Logger, now: o.Now}, nil
}

// NewUser is the account to create. Role defaults to user.
type NewUser struct {
	Email    string
	Username string
	Password string
	FullName string
	Role     string
}

// Result is a created account and what is left to do for it.
type Result struct {
	User *auth.User
	// Pending are the steps that failed; the service retries them. Empty when all are done.
	Pending []Step
	// WelcomeID is the welcome email's ID in comms; "" when comms did not record it.
	WelcomeID comms.ID
	// Err says why the Pending steps failed; nil when none is pending.
	Err error
}

// CreateUserWithWelcome creates the account u, stores its profile in the cache, tracks
// user_created and sends it the welcome email.
//
// The error is non-nil only when the account was not created (auth's errors, such as
// auth.ErrEmailTaken or an *auth.ValidationError, are wrapped as they are), or auth could
// not tell (a cancellation: the retry settles it); then nothing else happened. Once the
// account exists the call succeeds: a step that fails is logged, counted in the health
// check and named in Result.Pending, and Retry does it later.
func (s *Service) CreateUserWithWelcome(ctx context.Context, u NewUser) (Result, error) {
	// The row comes first, so that a crash after the account is created leaves a trace the
	// retry completes; the lease keeps the retry off it while this call works.
	now := s.now()
	row := &pending{Email: u.Email, CreatedMS: ms(now), UpdatedMS: ms(now), NextMS: ms(now.Add(lease)), LeaseMS: ms(now.Add(lease))}
	if err := s.insert(ctx, row); err != nil {
		return Result{}, err
	}
	user, err := s.users.Create(ctx, auth.CreateUserParams{Email: u.Email, Username: u.Username,
		Password: u.Password, FullName: u.FullName, Role: u.Role})
	if err != nil {
		return Result{}, s.creationFailed(ctx, row, err)
	}
	s.created.Add(1)
	row.UserID = user.ID
	return s.runSteps(ctx, row, user), nil
}

// creationFailed settles the row of a creation auth failed, and returns the call's error.
// Without the account there is nothing to onboard: the row goes. Should that delete fail,
// the retry removes the row once its lease ends (no account was created after it). When
// auth's error does not say the account was refused, it may exist all the same (an insert
// committed before the caller's context ended, or the connection dropped): the row is left
// to the next retry pass, due now, which onboards the account if one was created after the
// row and removes the row otherwise.
func (s *Service) creationFailed(ctx context.Context, row *pending, err error) error {
	bctx := context.WithoutCancel(ctx)
	if refused(err) {
		if derr := s.remove(bctx, row.ID); derr != nil {
			s.logger.ErrorContext(ctx, "onboarding: remove the row of a creation that failed", "error", derr)
		}
	} else {
		now := s.now()
		row.LastError, row.UpdatedMS, row.NextMS, row.LeaseMS = "create the account: "+err.Error(), ms(now), ms(now), 0
		if serr := s.save(bctx, row); serr != nil {
			s.logger.ErrorContext(ctx, "onboarding: release the row of a creation that failed", "error", serr)
		}
	}
	return fmt.Errorf("onboarding: create user: %w", err)
}

// refused reports whether auth's error says the account was not created: invalid, taken,
// or refused before hashing. Any other error (a cancellation, the database) leaves it unknown.
func refused(err error) bool {
	var (
		ve   *auth.ValidationError
		busy *auth.BusyError
	)
	return errors.As(err, &ve) || errors.As(err, &busy) || errors.Is(err, auth.ErrEmailTaken) || errors.Is(err, auth.ErrUsernameTaken)
}

// runSteps runs the steps of row that are not done, then deletes row when all are, or
// records what is left and when to retry it, releasing the lease.
func (s *Service) runSteps(ctx context.Context, row *pending, user *auth.User) Result {
	var errs []error
	if !row.ProfileCached {
		if err := s.cacheProfile(ctx, user); err != nil {
			s.profileFails.Add(1)
			errs = append(errs, err)
		} else {
			row.ProfileCached = true
		}
	}
	if !row.EventTracked {
		e := analytics.Event{Name: EventUserCreated, UserID: strconv.FormatInt(user.ID, 10),
			Props: map[string]any{"role": user.Role}, At: user.CreatedAt}
		if s.events.TrackEvent(e) {
			row.EventTracked = true
		} else {
			s.eventFails.Add(1)
			errs = append(errs, errEventDropped)
		}
	}
	if !row.WelcomeSent {
		id, err := s.sendWelcome(ctx, row, user)
		if id != "" {
			row.WelcomeID = string(id)
		}
		if err != nil {
			s.welcomeFails.Add(1)
			errs = append(errs, fmt.Errorf("onboarding: send the welcome email: %w", err))
		} else {
			row.WelcomeSent = true
		}
	}
	res := Result{User: user, Pending: row.steps(), WelcomeID: comms.ID(row.WelcomeID), Err: errors.Join(errs...)}
	// The bookkeeping must happen even when the caller's ctx is done: it decides the retry.
	bctx := context.WithoutCancel(ctx)
	if len(res.Pending) == 0 {
		s.completed.Add(1)
		if err := s.remove(bctx, row.ID); err != nil {
			// The retry finds every step done and removes the row then.
			s.logger.ErrorContext(ctx, "onboarding: remove a completed row", "user_id", user.ID, "error", err)
		}
		return res
	}
	now := s.now()
	row.Attempts++
	row.LastError = res.Err.Error()
	row.UpdatedMS, row.NextMS, row.LeaseMS = ms(now), ms(now.Add(backoff(row.Attempts))), 0
	s.logger.WarnContext(ctx, "onboarding: steps failed; they will be retried", "user_id", user.ID,
		"pending", res.Pending, "attempts", row.Attempts, "error", res.Err)
	if err := s.save(bctx, row); err != nil {
		// The row keeps its lease and its former state: the retry runs these steps again
		// once the lease ends.
		s.logger.ErrorContext(ctx, "onboarding: record the pending steps", "user_id", user.ID, "error", err)
	}
	return res
}

// backoff is the wait before retry number attempts+1.
func backoff(attempts int) time.Duration {
	d := retryBase
	for i := 1; i < attempts && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// sendWelcome hands the welcome email to comms, or, when comms recorded it already (a
// delivery that failed), attempts that same message again.
func (s *Service) sendWelcome(ctx context.Context, row *pending, user *auth.User) (comms.ID, error) {
	if row.WelcomeID != "" {
		id := comms.ID(row.WelcomeID)
		err := s.mail.Deliver(ctx, id)
		if !errors.Is(err, comms.ErrNotFound) {
			return id, err
		}
		// comms lost it (its in-memory outbox restarted): send it anew.
	}
	name := user.FullName
	if name == "" {
		name = user.Username
	}
	return s.mail.SendTemplate(ctx, WelcomeTemplate, user.Email, map[string]any{"Name": name, "LoginURL": s.settings.LoginURL})
}

// Profile is the public part of an account, as the cache keeps it.
type Profile struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Username  string    `json:"username"`
	FullName  string    `json:"full_name"`
	Role      string    `json:"role"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

func profileOf(u *auth.User) Profile {
	return Profile{ID: u.ID, Email: u.Email, Username: u.Username, FullName: u.FullName, Role: u.Role,
		Active: u.Active, CreatedAt: u.CreatedAt}
}

// ProfileKey is the cache key of the profile of account id.
func ProfileKey(id int64) string { return "onboarding:profile:v1:" + strconv.FormatInt(id, 10) }

// cacheProfile stores u's profile through the cache's Store, which reports the failures
// that Cache.Set would only log: a failed write is a step to retry.
func (s *Service) cacheProfile(ctx context.Context, u *auth.User) error {
	b, err := json.Marshal(profileOf(u))
	if err != nil {
		return fmt.Errorf("onboarding: encode profile: %w", err)
	}
	if err := s.cache.Store().Set(ctx, ProfileKey(u.ID), b, s.settings.ProfileTTL); err != nil {
		return fmt.Errorf("onboarding: cache profile: %w", err)
	}
	return nil
}

// Profile returns the profile of account id from the cache, reading the account (and caching
// it) on a miss. It may be up to ONBOARDING_PROFILE_TTL old: read auth for decisions.
func (s *Service) Profile(ctx context.Context, id int64) (Profile, error) {
	return cache.GetOrCompute(ctx, s.cache, ProfileKey(id), s.settings.ProfileTTL, func(ctx context.Context) (Profile, error) {
		u, err := s.users.Get(ctx, id)
		if err != nil {
			return Profile{}, fmt.Errorf("onboarding: profile of user %d: %w", id, err)
		}
		return profileOf(u), nil
	})
}

// RetryResult counts what a Retry did.
type RetryResult struct {
	Completed int // accounts whose steps are all done now
	Pending   int // accounts with steps still failing
	Removed   int // rows of accounts that were never created, or deleted since
}

// Retry runs the pending steps of every account nobody is working on: only those whose
// backoff has passed, unless all. Accounts whose steps fail again stay pending, with a longer
// backoff; the error is about the table only.
func (s *Service) Retry(ctx context.Context, all bool) (RetryResult, error) {
	var res RetryResult
	var after int64
	for {
		now := s.now()
		ids, err := s.candidates(ctx, now, after, all, retryBatch)
		if err != nil || len(ids) == 0 {
			return res, err
		}
		for _, id := range ids {
			after = id
			if err := ctx.Err(); err != nil {
				return res, err
			}
			row, ok, err := s.claim(ctx, id, now, s.now().Add(lease))
			if err != nil {
				return res, err
			}
			if ok {
				s.retryRow(ctx, row, &res)
			}
		}
	}
}

// retryRow finds row's account and runs its pending steps.
func (s *Service) retryRow(ctx context.Context, row *pending, res *RetryResult) {
	user, err := s.account(ctx, row)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		res.Removed++
		s.removed.Add(1)
		if err := s.remove(context.WithoutCancel(ctx), row.ID); err != nil {
			s.logger.ErrorContext(ctx, "onboarding: remove the row of a missing account", "email", row.Email, "error", err)
		}
		return
	case err != nil:
		// The account could not be read (database trouble): try again at the next pass.
		res.Pending++
		row.LastError, row.LeaseMS = err.Error(), 0
		if err := s.save(context.WithoutCancel(ctx), row); err != nil {
			s.logger.ErrorContext(ctx, "onboarding: release a pending row", "id", row.ID, "error", err)
		}
		return
	}
	row.UserID = user.ID
	if r := s.runSteps(ctx, row, user); len(r.Pending) > 0 {
		res.Pending++
	} else {
		res.Completed++
	}
}

// account returns the account of row; auth.ErrNotFound when there is none to onboard. A row
// without a user ID was left by a creation that crashed or failed: its account is the one
// with its email created after it, if any.
func (s *Service) account(ctx context.Context, row *pending) (*auth.User, error) {
	if row.UserID != 0 {
		return s.users.Get(ctx, row.UserID)
	}
	u, err := s.users.GetByEmail(ctx, row.Email)
	if err != nil {
		return nil, err
	}
	if ms(u.CreatedAt) < row.CreatedMS {
		// An older account with that email: the creation failed as a duplicate.
		return nil, auth.ErrNotFound
	}
	return u, nil
}

// PendingAccount is an account with steps left to do.
type PendingAccount struct {
	UserID    int64     `json:"user_id"` // 0: creation in progress, crashed, or failed without saying whether it was made
	Email     string    `json:"email"`
	Steps     []Step    `json:"steps"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	NextRetry time.Time `json:"next_retry"`
	Since     time.Time `json:"since"`
}

// Pending lists up to limit accounts with steps left to do, oldest first.
func (s *Service) Pending(ctx context.Context, limit int) ([]PendingAccount, error) {
	var rows []pending
	if err := s.db.Bun().NewSelect().Model(&rows).OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("onboarding: list pending accounts: %w", err)
	}
	out := make([]PendingAccount, 0, len(rows))
	for _, r := range rows {
		out = append(out, PendingAccount{UserID: r.UserID, Email: r.Email, Steps: r.steps(), Attempts: r.Attempts,
			LastError: r.LastError, NextRetry: time.UnixMilli(r.NextMS).UTC(), Since: time.UnixMilli(r.CreatedMS).UTC()})
	}
	return out, nil
}

// CheckHealth is degraded while accounts have steps pending (the service is registered as
// optional, so it never makes the app unhealthy), with the counters of failed steps.
func (s *Service) CheckHealth(ctx context.Context) registry.Health {
	details := map[string]any{
		"created": s.created.Load(), "completed": s.completed.Load(), "removed": s.removed.Load(),
		"failed_profile": s.profileFails.Load(), "failed_event": s.eventFails.Load(), "failed_welcome": s.welcomeFails.Load(),
	}
	n, err := s.db.Bun().NewSelect().Model((*pending)(nil)).Where("user_id <> 0").Count(ctx)
	if err != nil {
		return registry.Health{Status: registry.StatusUnhealthy, Message: fmt.Sprintf("count pending accounts: %v", err), Details: details}
	}
	details["pending"] = n
	if n > 0 {
		return registry.Health{Status: registry.StatusDegraded, Details: details,
			Message: fmt.Sprintf("%d account(s) with onboarding steps pending; see `onboarding pending`", n)}
	}
	return registry.Health{Status: registry.StatusHealthy, Message: "no onboarding steps pending", Details: details}
}

// stepNames joins steps for messages.
func stepNames(steps []Step) string {
	out := make([]string, len(steps))
	for i, st := range steps {
		out[i] = string(st)
	}
	return strings.Join(out, ", ")
}

var (
	_ registry.HealthChecker = (*Service)(nil)
	_ Users                  = (*auth.UserService)(nil)
	_ Mailer                 = (*comms.Service)(nil)
	_ Tracker                = (*analytics.Service)(nil)
)
