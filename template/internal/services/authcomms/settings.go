package authcomms

import (
	"errors"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults of Settings; the env tags repeat them as text.
const (
	DefaultVerifyTokenTTL     = 24 * time.Hour
	DefaultResetTokenTTL      = time.Hour
	DefaultVerifyPath         = "/verify-email"
	DefaultResetPath          = "/reset-password"
	DefaultMailIPLimit        = 10
	DefaultMailIPWindow       = time.Hour
	DefaultMailAccountLimit   = 3
	DefaultMailAccountWindow  = time.Hour
	DefaultTokenIPLimit       = 20
	DefaultTokenIPWindow      = time.Minute
	DefaultMailQueue          = 256
	DefaultFallbackLinkOrigin = "http://localhost:8000"
)

// Settings configure the account emails. The zero value, after WithDefaults, sends
// verification and reset links to BASE_URL (or, without it, http://localhost:$PORT in
// development and http://localhost:8000 in production) and lets unconfirmed accounts log in.
type Settings struct {
	VerifyTokenTTL       time.Duration `env:"AUTH_VERIFY_TOKEN_TTL" envDefault:"24h" doc:"How long an email verification link works (once)."`
	ResetTokenTTL        time.Duration `env:"AUTH_RESET_TOKEN_TTL" envDefault:"1h" doc:"How long a password reset link works (once)."`
	RequireVerifiedEmail bool          `env:"AUTH_REQUIRE_VERIFIED_EMAIL" envDefault:"false" doc:"Refuse API logins and session refreshes (403) until the account's email address is confirmed through the link sent to it; the answer says how to get a new link."`
	VerifyURL            string        `env:"AUTH_VERIFY_EMAIL_URL" doc:"Page of your front end that confirms an address: the verification email links to it with ?token=..., and it POSTs the token to /api/v1/auth/email/verify. Empty means BASE_URL + /verify-email, a page the app serves itself; with BASE_URL empty too, the origin is http://localhost:$PORT in development and http://localhost:8000 in production (set BASE_URL there)."`
	ResetURL             string        `env:"AUTH_RESET_PASSWORD_URL" doc:"Page of your front end that sets a new password: the reset email links to it with ?token=..., and it POSTs the token and the new password to /api/v1/auth/password/reset. Empty means BASE_URL + /reset-password, a page the app serves itself; with BASE_URL empty too, the origin is http://localhost:$PORT in development and http://localhost:8000 in production (set BASE_URL there)."`
	SupportEmail         string        `env:"AUTH_SUPPORT_EMAIL" doc:"Address the password-changed email tells users to write to when they did not change it; empty means the address of COMMS_FROM."`
	MailIPLimit          int           `env:"AUTH_MAIL_IP_LIMIT" envDefault:"10" doc:"Requests for an account email (forgot password, resend verification) allowed per client IP within AUTH_MAIL_IP_WINDOW, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	MailIPWindow         time.Duration `env:"AUTH_MAIL_IP_WINDOW" envDefault:"1h" doc:"Sliding window for AUTH_MAIL_IP_LIMIT."`
	MailAccountLimit     int           `env:"AUTH_MAIL_ACCOUNT_LIMIT" envDefault:"3" doc:"Requests for an account email allowed per email address within AUTH_MAIL_ACCOUNT_WINDOW, whether or not an account has it, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	MailAccountWindow    time.Duration `env:"AUTH_MAIL_ACCOUNT_WINDOW" envDefault:"1h" doc:"Sliding window for AUTH_MAIL_ACCOUNT_LIMIT."`
	TokenIPLimit         int           `env:"AUTH_TOKEN_IP_LIMIT" envDefault:"20" doc:"Verification and reset tokens submitted per client IP within AUTH_TOKEN_IP_WINDOW, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	TokenIPWindow        time.Duration `env:"AUTH_TOKEN_IP_WINDOW" envDefault:"1m" doc:"Sliding window for AUTH_TOKEN_IP_LIMIT."`
	MailQueue            int           `env:"AUTH_MAIL_QUEUE" envDefault:"256" doc:"Account emails being prepared and handed to the comms service at once, in the background; past it requests for one get 503 with Retry-After."`
}

// WithDefaults returns a copy of s with every zero field set to its default.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.VerifyTokenTTL, DefaultVerifyTokenTTL)
	config.Default(&s.ResetTokenTTL, DefaultResetTokenTTL)
	config.Default(&s.MailIPLimit, DefaultMailIPLimit)
	config.Default(&s.MailIPWindow, DefaultMailIPWindow)
	config.Default(&s.MailAccountLimit, DefaultMailAccountLimit)
	config.Default(&s.MailAccountWindow, DefaultMailAccountWindow)
	config.Default(&s.TokenIPLimit, DefaultTokenIPLimit)
	config.Default(&s.TokenIPWindow, DefaultTokenIPWindow)
	config.Default(&s.MailQueue, DefaultMailQueue)
	return s
}

// Validate reports every out-of-range value, naming its variable.
func (s Settings) Validate() error {
	const duration = "use a duration such as 1h or 24h"
	return errors.Join(
		config.Positive("AUTH_VERIFY_TOKEN_TTL", s.VerifyTokenTTL, duration),
		config.Positive("AUTH_RESET_TOKEN_TTL", s.ResetTokenTTL, duration),
		config.Positive("AUTH_MAIL_IP_WINDOW", s.MailIPWindow, duration),
		config.Positive("AUTH_MAIL_ACCOUNT_WINDOW", s.MailAccountWindow, duration),
		config.Positive("AUTH_TOKEN_IP_WINDOW", s.TokenIPWindow, duration),
		config.AtLeast("AUTH_MAIL_IP_LIMIT", s.MailIPLimit, 1, "use a count such as 10"),
		config.AtLeast("AUTH_MAIL_ACCOUNT_LIMIT", s.MailAccountLimit, 1, "use a count such as 3"),
		config.AtLeast("AUTH_TOKEN_IP_LIMIT", s.TokenIPLimit, 1, "use a count such as 20"),
		config.AtLeast("AUTH_MAIL_QUEUE", s.MailQueue, 1, "use a count such as 256"),
		checkPageURL("AUTH_VERIFY_EMAIL_URL", s.VerifyURL),
		checkPageURL("AUTH_RESET_PASSWORD_URL", s.ResetURL),
	)
}

// checkPageURL accepts an empty value or an absolute http(s) URL without a fragment (the token
// goes in the query) or credentials (every email would carry them).
func checkPageURL(name, raw string) error {
	return config.HTTPURL{Fix: "use a page of your front end such as https://app.example.com/verify-email", AllowQuery: true}.Check(name, raw)
}
