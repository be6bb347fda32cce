package onboarding

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults of the ONBOARDING_* settings; the env tags below repeat them as text.
const (
	DefaultLoginURL      = "http://localhost:8000/"
	DefaultProfileTTL    = 10 * time.Minute
	DefaultRetryInterval = time.Minute
)

// Settings configure the service. The container loads them from the environment (and .env)
// through config.Provide; a literal needs WithDefaults.
type Settings struct {
	LoginURL      string        `env:"ONBOARDING_LOGIN_URL" envDefault:"" doc:"Where the welcome email's Sign in button points: the app's sign-in page. Empty means BASE_URL + /; with BASE_URL empty too, http://localhost:$PORT/ in development and http://localhost:8000/ in production (set BASE_URL there)."`
	ProfileTTL    time.Duration `env:"ONBOARDING_PROFILE_TTL" envDefault:"10m" doc:"How long a new account's profile stays in the cache (the profile is not refreshed when the account changes)."`
	RetryInterval time.Duration `env:"ONBOARDING_RETRY_INTERVAL" envDefault:"1m" doc:"How often each instance retries onboarding steps that failed (each account backs off up to 6h); 0 retries only at start and with the onboarding retry command."`
}

// WithDefaults returns a copy of s with the zero LoginURL and ProfileTTL set to their
// defaults. RetryInterval keeps its zero, which means no periodic retry (the environment's
// default is DefaultRetryInterval), so a literal Settings{} in a test retries only when told.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.LoginURL, DefaultLoginURL)
	config.Default(&s.ProfileTTL, DefaultProfileTTL)
	return s
}

// Validate reports a setting the service cannot run with, naming it. An empty LoginURL is
// the default.
func (s Settings) Validate() error {
	if s.LoginURL == "" {
		// Resolved from BASE_URL and PORT when the service is built (resolveLoginURL).
	} else if u, err := url.Parse(s.LoginURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("onboarding: ONBOARDING_LOGIN_URL %q is not an http(s) URL", s.LoginURL)
	}
	if s.ProfileTTL < 0 {
		return fmt.Errorf("onboarding: ONBOARDING_PROFILE_TTL %s is negative", s.ProfileTTL)
	}
	if s.RetryInterval < 0 {
		return fmt.Errorf("onboarding: ONBOARDING_RETRY_INTERVAL %s is negative", s.RetryInterval)
	}
	return nil
}

// loadSettings loads the settings from the environment and resolves the default LoginURL
// against BASE_URL and PORT (backend.Settings.LinkOrigin).
func loadSettings(_ context.Context, bs backend.Settings, core config.Core) (Settings, error) {
	s, err := config.Load[Settings]()
	if err != nil {
		return s, err
	}
	return resolveLoginURL(s, bs, core.Production(), slog.Default()), nil
}

// resolveLoginURL fills an empty LoginURL: the app's own origin and /, or, when there is none
// (production without BASE_URL), DefaultLoginURL with a warning, since localhost there is the
// reader's machine.
func resolveLoginURL(s Settings, bs backend.Settings, production bool, logger *slog.Logger) Settings {
	if s.LoginURL != "" {
		return s
	}
	if origin := bs.LinkOrigin(production); origin != "" {
		s.LoginURL = origin + "/"
		return s
	}
	if production {
		logger.Warn("onboarding: BASE_URL is empty in production, so the welcome email's Sign in button links to " +
			DefaultLoginURL + "; set BASE_URL to the app's public URL (or ONBOARDING_LOGIN_URL)")
	}
	s.LoginURL = DefaultLoginURL
	return s
}
