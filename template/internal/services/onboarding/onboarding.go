// Package onboarding is the glue of the auth and comms services, the analytics service and
// the cache component (owned by the four, generated only when all of them are selected): the
// composite service that onboards an account in one call. CreateUserWithWelcome creates the
// user (auth), caches the profile (cache), tracks user_created (analytics) and sends the
// welcome template (comms).
//
// Creating the account is the step that decides: when it fails nothing else happens and the
// caller gets the error. The other steps never fail the call: a step that fails is logged,
// counted in the health check, named in Result.Pending and recorded in the
// onboarding_pending table, and the Retrier retries it (when the server starts, then every
// ONBOARDING_RETRY_INTERVAL; `<app> onboarding retry` on demand) until it is done. The row is
// written before the account is created, so a crash between the two leaves a row the retry
// completes (or removes, when the account was never created): no account is ever left
// half-onboarded without a trace.
//
// With the comms+worker glue, comms records the welcome and enqueues its delivery: the
// welcome step is done once comms has it, and the worker retries the delivery. Without it,
// comms delivers at once and a failure leaves the message recorded as failed; this service
// then retries that same message (comms.Service.Deliver never sends a sent message again).
//
// Admins create onboarded accounts with POST /api/v1/onboarding/users. Self-registration
// (POST /api/v1/auth/register) stays auth's own: it sends no welcome.
package onboarding

import (
	"context"
	"embed"
	"errors"
	"log/slog"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// Name is the glue's name: its settings', migrations' and command's.
const Name = "onboarding"

//go:embed migrations
var migrationFiles embed.FS

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds the Service and its Retrier to r with their settings, table, route and
// command. init() does it
// for registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, database.MigrationsFrom(migrationFiles))
	registry.Contribute(r, Name, backend.Routes(mount))
	registry.Contribute(r, Name, command.Builder(onboardingCommand))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide6(r, NewService,
			registry.Describe("creates an account with its cached profile, user_created event and welcome email; retries the steps that failed"),
			// A step waiting for its retry makes the app degraded, not unhealthy.
			registry.Optional()),
		registry.Provide3(r, newRetrier, registry.Describe("retries the failed onboarding steps: at start, then every ONBOARDING_RETRY_INTERVAL (serve only)")),
	)
}

// NewService is the registry constructor. The collaborators come in as parameters, concrete
// types from their owners; New takes them as the small interfaces this service uses, so a
// test can pass a fake for any of them.
func NewService(_ context.Context, db *database.DB, a *auth.AuthService, mail *comms.Service,
	events *analytics.Service, c *cache.Cache, s Settings) (*Service, error) {
	return New(db, Collaborators{Users: AccountsOf(a), Mailer: mail, Tracker: events, Cache: c}, s, &Opts{Logger: slog.Default()})
}

// AccountsOf returns the Users of a: accounts are created through a.CreateUser, so auth's
// hooks hear of them as of a registration and, with the auth+comms glue, the new address
// gets its verification link beside the welcome (without it, AUTH_REQUIRE_VERIFIED_EMAIL
// refused the account's logins, asking it to open a link that was never sent).
func AccountsOf(a *auth.AuthService) Users { return accounts{UserService: a.Users(), auth: a} }

// accounts creates through the AuthService and reads through its UserService.
type accounts struct {
	*auth.UserService
	auth *auth.AuthService
}

func (u accounts) Create(ctx context.Context, p auth.CreateUserParams) (*auth.User, error) {
	return u.auth.CreateUser(ctx, p)
}
