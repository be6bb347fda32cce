package onboarding

import (
	"errors"
	"fmt"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults of the ONBOARDING_* settings; the env tags below repeat them as text.
const (
	DefaultProfileTTL    = 10 * time.Minute
	DefaultRetryInterval = time.Minute
	// MinRetryInterval is the shortest ONBOARDING_RETRY_INTERVAL but 0.
	MinRetryInterval = time.Second
)

// Settings configure the service. The container loads them from the environment (and .env)
// through config.Provide; a literal needs WithDefaults.
type Settings struct {
	// Empty by default: the app serves an API and an operators' dashboard, not a page where the
	// users of the app sign in, so only the operator knows where such a page is.
	LoginURL      string        `env:"ONBOARDING_LOGIN_URL" envDefault:"" doc:"The sign-in page of the app's front end, linked from the welcome email's Sign in button. Empty sends the welcome email without the button."`
	ProfileTTL    time.Duration `env:"ONBOARDING_PROFILE_TTL" envDefault:"10m" doc:"How long a new account's profile stays in the cache (the profile is not refreshed when the account changes)."`
	RetryInterval time.Duration `env:"ONBOARDING_RETRY_INTERVAL" envDefault:"1m" doc:"How often each instance retries onboarding steps that failed (each account backs off up to 6h); 0 retries only at start and with the onboarding retry command."`
}

// WithDefaults returns a copy of s with the zero ProfileTTL set to its default. LoginURL
// keeps its zero (no button), and so does RetryInterval, which means no periodic retry (the
// environment's default is DefaultRetryInterval), so a literal Settings{} in a test retries
// only when told.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.ProfileTTL, DefaultProfileTTL)
	return s
}

// Validate reports a setting the service cannot run with, naming it. Its errors are
// *config.Error, so the app prints them as they are (variable, what is wrong, the fix) rather
// than inside the registry's account of which constructor failed where.
func (s Settings) Validate() error {
	// A single-page app's sign-in may sit after a # or take a query; credentials would go
	// to every welcome email's recipient.
	login := config.HTTPURL{Fix: "set the full address of your sign-in page or leave it empty", AllowQuery: true, AllowFragment: true}
	if err := login.Check("ONBOARDING_LOGIN_URL", s.LoginURL); err != nil {
		return err
	}
	// A pass reads the pending table: one every few milliseconds (ONBOARDING_RETRY_INTERVAL=1ms,
	// or a unit mistaken for another) would keep the database busy for nothing, since every
	// account backs off a minute at least.
	var retry error
	if s.RetryInterval < 0 || (s.RetryInterval > 0 && s.RetryInterval < MinRetryInterval) {
		retry = config.Invalid("ONBOARDING_RETRY_INTERVAL", s.RetryInterval.String(),
			fmt.Sprintf("must be 0 (retry only at start and with `onboarding retry`) or at least %s", MinRetryInterval), "set a duration such as 1m")
	}
	return errors.Join(
		config.NotNegative("ONBOARDING_PROFILE_TTL", s.ProfileTTL, "set a duration such as 10m"),
		retry,
	)
}
