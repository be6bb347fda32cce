package comms

import (
	"errors"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Email and SMS providers COMMS_EMAIL_PROVIDER and COMMS_SMS_PROVIDER choose from.
const (
	ProviderOutbox   = "outbox"
	ProviderSMTP     = "smtp"
	ProviderResend   = "resend"
	ProviderPostmark = "postmark"
	ProviderTwilio   = "twilio"
)

// TLS policies of COMMS_SMTP_TLS_POLICY, for a connection that starts in plain text.
const (
	TLSRequire       = "require"
	TLSOpportunistic = "opportunistic"
	TLSNone          = "none"
)

// SMTP authentication mechanisms of COMMS_SMTP_AUTH.
const (
	AuthPlain = "plain"
	AuthLogin = "login"
	AuthNone  = "none"
)

// Defaults of Settings; the env tags repeat them as text.
const (
	DefaultEmailProvider      = ProviderOutbox
	DefaultSMSProvider        = ProviderOutbox
	DefaultFrom               = "App <noreply@example.com>"
	DefaultAppName            = "App"
	DefaultMaxAttachmentBytes = 10 << 20 // Postmark's limit for a whole message; Resend allows 40 MB
	DefaultOutboxSize         = 200
	DefaultSMTPHost           = "localhost"
	DefaultSMTPPort           = 587
	DefaultSMTPTLSPolicy      = TLSRequire
	DefaultSMTPAuth           = AuthPlain
	DefaultSMTPTimeout        = 15 * time.Second
	DefaultHTTPTimeout        = 15 * time.Second
	DefaultHealthInterval     = time.Minute
	DefaultResendBaseURL      = "https://api.resend.com"
	DefaultPostmarkBaseURL    = "https://api.postmarkapp.com"
	DefaultPostmarkStream     = "outbound"
	DefaultTwilioBaseURL      = "https://api.twilio.com"
)

// Settings configure the comms service. The zero value, after WithDefaults, keeps every
// email and SMS in the development outbox (shown in the dashboard's Comms panel) and sends
// nothing.
type Settings struct {
	EmailProvider      string        `env:"COMMS_EMAIL_PROVIDER" envDefault:"outbox" doc:"Who delivers email: outbox (kept and shown in the dashboard's Comms panel, never sent; the development default), smtp, resend or postmark."`
	From               string        `env:"COMMS_FROM" envDefault:"App <noreply@example.com>" doc:"Sender of messages that name none, as 'Name <address>' or an address; use a domain your provider has verified."`
	AppName            string        `env:"COMMS_APP_NAME" envDefault:"App" doc:"The app's name as email templates show it (greeting, footer)."`
	MaxAttachmentBytes int64         `env:"COMMS_MAX_ATTACHMENT_BYTES" envDefault:"10485760" doc:"Largest total size of one email's attachments and inline images, in bytes; larger ones are refused before sending (10 MiB: Postmark's limit)."`
	TemplatesDir       string        `env:"COMMS_TEMPLATES_DIR" doc:"Folder whose template files replace or add to the ones built into the binary (same names: welcome.html.tmpl, welcome.txt.tmpl, welcome.json, layout.html.tmpl...); empty means the built-in ones only."`
	OutboxSize         int           `env:"COMMS_OUTBOX_SIZE" envDefault:"200" doc:"Messages kept in memory when the app has no database (the oldest goes first); with the database every message is kept there."`
	HealthInterval     time.Duration `env:"COMMS_HEALTH_INTERVAL" envDefault:"1m" doc:"Least time between two checks that the SMTP server answers; health reports in between reuse the last result."`
	HTTPTimeout        time.Duration `env:"COMMS_HTTP_TIMEOUT" envDefault:"15s" doc:"Longest one call to an HTTP provider (Resend, Postmark, Twilio) may take."`

	SMTPHost      string        `env:"COMMS_SMTP_HOST" envDefault:"localhost" doc:"SMTP server's host name (COMMS_EMAIL_PROVIDER=smtp)."`
	SMTPPort      int           `env:"COMMS_SMTP_PORT" envDefault:"587" doc:"SMTP server's port: 587 for STARTTLS, 465 for implicit TLS, 1025 for a local Mailpit."`
	SMTPImplicit  bool          `env:"COMMS_SMTP_IMPLICIT_TLS" envDefault:"false" doc:"Speak TLS from the first byte (SMTPS, usually port 465) instead of upgrading with STARTTLS."`
	SMTPTLSPolicy string        `env:"COMMS_SMTP_TLS_POLICY" envDefault:"require" doc:"STARTTLS on a plain connection: require (refuse a server without it), opportunistic (use it when offered) or none (never; for a local test server only)."`
	SMTPAuth      string        `env:"COMMS_SMTP_AUTH" envDefault:"plain" doc:"SMTP authentication when COMMS_SMTP_USERNAME is set: plain or login (both only over TLS unless COMMS_SMTP_TLS_POLICY=none), or none."`
	SMTPUsername  string        `env:"COMMS_SMTP_USERNAME" doc:"SMTP user name; empty means no authentication."`
	SMTPPassword  string        `env:"COMMS_SMTP_PASSWORD" doc:"SMTP password; keep it in your secret store, not in git."`
	SMTPTimeout   time.Duration `env:"COMMS_SMTP_TIMEOUT" envDefault:"15s" doc:"Longest an SMTP connection, and each of its commands, may take."`

	ResendAPIKey  string `env:"COMMS_RESEND_API_KEY" doc:"Resend API key (re_...), required with COMMS_EMAIL_PROVIDER=resend."`
	ResendBaseURL string `env:"COMMS_RESEND_BASE_URL" envDefault:"https://api.resend.com" doc:"Resend API's base URL (tests point it at a local server)."`

	PostmarkToken   string `env:"COMMS_POSTMARK_SERVER_TOKEN" doc:"Postmark server API token, required with COMMS_EMAIL_PROVIDER=postmark."`
	PostmarkStream  string `env:"COMMS_POSTMARK_MESSAGE_STREAM" envDefault:"outbound" doc:"Postmark message stream transactional email goes through."`
	PostmarkBaseURL string `env:"COMMS_POSTMARK_BASE_URL" envDefault:"https://api.postmarkapp.com" doc:"Postmark API's base URL (tests point it at a local server)."`

	SMSProvider               string `env:"COMMS_SMS_PROVIDER" envDefault:"outbox" doc:"Who delivers SMS: outbox (kept and shown in the Comms panel, never sent) or twilio."`
	TwilioAccountSID          string `env:"COMMS_TWILIO_ACCOUNT_SID" doc:"Twilio account SID (AC...), required with COMMS_SMS_PROVIDER=twilio."`
	TwilioAuthToken           string `env:"COMMS_TWILIO_AUTH_TOKEN" doc:"Twilio auth token; keep it in your secret store. Or set COMMS_TWILIO_API_KEY_SID and COMMS_TWILIO_API_KEY_SECRET instead (Twilio's advice for production)."`
	TwilioAPIKeySID           string `env:"COMMS_TWILIO_API_KEY_SID" doc:"Twilio API key SID (SK...), with COMMS_TWILIO_API_KEY_SECRET, used instead of COMMS_TWILIO_AUTH_TOKEN; COMMS_TWILIO_ACCOUNT_SID stays the account's AC... SID."`
	TwilioAPIKeySecret        string `env:"COMMS_TWILIO_API_KEY_SECRET" doc:"Secret of the Twilio API key COMMS_TWILIO_API_KEY_SID names (shown once, when the key is created); keep it in your secret store."`
	TwilioFrom                string `env:"COMMS_TWILIO_FROM" doc:"Sender of SMS: a Twilio number in E.164 form (+14155550123), or an alphanumeric sender ID (1 to 11 letters, digits and spaces, at least one letter; not supported in every country); or set COMMS_TWILIO_MESSAGING_SERVICE_SID."`
	TwilioMessagingServiceSID string `env:"COMMS_TWILIO_MESSAGING_SERVICE_SID" doc:"Twilio messaging service (MG...) that picks the sender; used instead of COMMS_TWILIO_FROM when set."`
	TwilioBaseURL             string `env:"COMMS_TWILIO_BASE_URL" envDefault:"https://api.twilio.com" doc:"Twilio API's base URL (tests point it at a local server)."`
}

// WithDefaults returns a copy of s with every zero field that has a default set to it.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.EmailProvider, DefaultEmailProvider)
	config.Default(&s.SMSProvider, DefaultSMSProvider)
	config.Default(&s.From, DefaultFrom)
	config.Default(&s.AppName, DefaultAppName)
	config.Default(&s.MaxAttachmentBytes, DefaultMaxAttachmentBytes)
	config.Default(&s.OutboxSize, DefaultOutboxSize)
	config.Default(&s.HealthInterval, DefaultHealthInterval)
	config.Default(&s.HTTPTimeout, DefaultHTTPTimeout)
	config.Default(&s.SMTPHost, DefaultSMTPHost)
	config.Default(&s.SMTPPort, DefaultSMTPPort)
	config.Default(&s.SMTPTLSPolicy, DefaultSMTPTLSPolicy)
	config.Default(&s.SMTPAuth, DefaultSMTPAuth)
	config.Default(&s.SMTPTimeout, DefaultSMTPTimeout)
	config.Default(&s.ResendBaseURL, DefaultResendBaseURL)
	config.Default(&s.PostmarkBaseURL, DefaultPostmarkBaseURL)
	config.Default(&s.PostmarkStream, DefaultPostmarkStream)
	config.Default(&s.TwilioBaseURL, DefaultTwilioBaseURL)
	return s
}

// Validate reports every bad value, naming its variable; a provider chosen without the
// settings it needs is refused here, at start-up, rather than at the first message.
func (s Settings) Validate() error {
	const duration = "use a duration such as 15s"
	errs := []error{
		config.OneOf("COMMS_EMAIL_PROVIDER", s.EmailProvider, ProviderOutbox, ProviderSMTP, ProviderResend, ProviderPostmark),
		config.OneOf("COMMS_SMS_PROVIDER", s.SMSProvider, ProviderOutbox, ProviderTwilio),
		config.OneOf("COMMS_SMTP_TLS_POLICY", s.SMTPTLSPolicy, TLSRequire, TLSOpportunistic, TLSNone),
		config.OneOf("COMMS_SMTP_AUTH", s.SMTPAuth, AuthPlain, AuthLogin, AuthNone),
		config.Positive("COMMS_MAX_ATTACHMENT_BYTES", s.MaxAttachmentBytes, "use a size in bytes such as 10485760 (10 MiB)"),
		config.AtLeast("COMMS_OUTBOX_SIZE", s.OutboxSize, 1, "use a count such as 200"),
		config.Positive("COMMS_HEALTH_INTERVAL", s.HealthInterval, duration),
		config.Positive("COMMS_HTTP_TIMEOUT", s.HTTPTimeout, duration),
		config.Positive("COMMS_SMTP_TIMEOUT", s.SMTPTimeout, duration),
		config.InRange("COMMS_SMTP_PORT", s.SMTPPort, 1, 65535, "use a port such as 587"),
	}
	if err := checkAddress("COMMS_FROM", s.From); err != nil {
		errs = append(errs, config.Invalid("COMMS_FROM", s.From, "is not an email address", "write it as 'Name <noreply@your-domain>' or an address"))
	}
	switch s.EmailProvider {
	case ProviderSMTP:
		if s.SMTPHost == "" {
			errs = append(errs, config.Invalid("COMMS_SMTP_HOST", "", "is empty", "set the SMTP server's host name"))
		}
	case ProviderResend:
		if s.ResendAPIKey == "" {
			errs = append(errs, config.InvalidSecret("COMMS_RESEND_API_KEY", "is empty and COMMS_EMAIL_PROVIDER=resend", "set it to an API key from resend.com/api-keys"))
		}
	case ProviderPostmark:
		if s.PostmarkToken == "" {
			errs = append(errs, config.InvalidSecret("COMMS_POSTMARK_SERVER_TOKEN", "is empty and COMMS_EMAIL_PROVIDER=postmark", "set it to the server's API token (Servers, API Tokens)"))
		}
	}
	if s.SMSProvider == ProviderTwilio {
		// Each missing value is named at once, not one per start.
		switch {
		case s.TwilioAccountSID == "":
			errs = append(errs, config.Invalid("COMMS_TWILIO_ACCOUNT_SID", "", "is empty and COMMS_SMS_PROVIDER=twilio", "set it to the account SID (AC...) from the Twilio console"))
		case !strings.HasPrefix(s.TwilioAccountSID, "AC"):
			// An API key's SID (SK...) or a messaging service's (MG...) here fails every SMS
			// with a 401 or 404 that names neither setting.
			fix := "copy the Account SID from the Twilio console's account info"
			if strings.HasPrefix(s.TwilioAccountSID, "SK") {
				fix = "an API key's SID goes in COMMS_TWILIO_API_KEY_SID (its secret in COMMS_TWILIO_API_KEY_SECRET); set this to the Account SID (AC...) from the Twilio console"
			}
			errs = append(errs, config.Invalid("COMMS_TWILIO_ACCOUNT_SID", s.TwilioAccountSID, "is not an account SID (they start with AC)", fix))
		}
		if s.TwilioMessagingServiceSID != "" && !strings.HasPrefix(s.TwilioMessagingServiceSID, "MG") {
			errs = append(errs, config.Invalid("COMMS_TWILIO_MESSAGING_SERVICE_SID", s.TwilioMessagingServiceSID, "is not a messaging service SID (they start with MG)", "copy it from Messaging, Services in the Twilio console, or leave it unset and set COMMS_TWILIO_FROM"))
		}
		errs = append(errs, s.twilioCredentials()...)
		switch {
		case s.TwilioFrom == "" && s.TwilioMessagingServiceSID == "":
			errs = append(errs, config.Invalid("COMMS_TWILIO_FROM", "", "is empty, and so is COMMS_TWILIO_MESSAGING_SERVICE_SID", "set one of them"))
		case s.TwilioMessagingServiceSID != "":
		case strings.HasPrefix(s.TwilioFrom, "+") || !hasLetter(s.TwilioFrom):
			// Only a sender with a letter can be an alphanumeric ID: anything else was meant as a number.
			if ValidatePhone(s.TwilioFrom) != nil {
				errs = append(errs, config.Invalid("COMMS_TWILIO_FROM", s.TwilioFrom, "is not in E.164 form", "write it like +14155550123, or use an alphanumeric sender ID such as MyApp"))
			}
		case !validSenderID(s.TwilioFrom):
			errs = append(errs, config.Invalid("COMMS_TWILIO_FROM", s.TwilioFrom, "is neither an E.164 number nor an alphanumeric sender ID (1 to 11 letters A-Z a-z, digits and spaces, at least one letter)", "write a number like +14155550123 or a sender ID such as MyApp"))
		}
	}
	// A base URL without http(s) and a host fails at every message, not here, unless checked.
	// Keys go in their own secret settings, not in the URL, which is logged.
	for _, u := range s.baseURLs() {
		errs = append(errs, config.HTTPURL{Fix: "leave it unset for " + u.def, AllowQuery: true}.Check(u.name, u.value))
	}
	return errors.Join(errs...)
}

// twilioCredentials checks that exactly one way to authenticate with Twilio is set: the
// account's auth token, or an API key (its SID and secret). Both set would leave which one
// signs the requests to guess; half an API key fails every SMS with Twilio's 401.
func (s Settings) twilioCredentials() []error {
	var errs []error
	key := s.TwilioAPIKeySID != "" || s.TwilioAPIKeySecret != ""
	switch {
	case s.TwilioAuthToken != "" && key:
		errs = append(errs, config.InvalidSecret("COMMS_TWILIO_AUTH_TOKEN", "is set, and so is an API key (COMMS_TWILIO_API_KEY_SID, COMMS_TWILIO_API_KEY_SECRET): exactly one way to authenticate with Twilio is allowed", "set either COMMS_TWILIO_AUTH_TOKEN or COMMS_TWILIO_API_KEY_SID and COMMS_TWILIO_API_KEY_SECRET, not both"))
	case !key && s.TwilioAuthToken == "":
		errs = append(errs, config.InvalidSecret("COMMS_TWILIO_AUTH_TOKEN", "is empty and COMMS_SMS_PROVIDER=twilio", "set it to the auth token from the Twilio console, or set COMMS_TWILIO_API_KEY_SID and COMMS_TWILIO_API_KEY_SECRET to use an API key"))
	}
	if !key {
		return errs
	}
	switch {
	case s.TwilioAPIKeySID == "":
		errs = append(errs, config.Invalid("COMMS_TWILIO_API_KEY_SID", "", "is empty and COMMS_TWILIO_API_KEY_SECRET is set: an API key needs both", "set it to the key's SID (SK...) from the Twilio console's API keys, or unset COMMS_TWILIO_API_KEY_SECRET to use COMMS_TWILIO_AUTH_TOKEN"))
	case !strings.HasPrefix(s.TwilioAPIKeySID, "SK"):
		// The account SID here authenticates nothing: Twilio answers 401 at every SMS.
		errs = append(errs, config.Invalid("COMMS_TWILIO_API_KEY_SID", s.TwilioAPIKeySID, "is not an API key SID (they start with SK)", "copy the key's SID from the Twilio console's API keys; the AC... SID goes in COMMS_TWILIO_ACCOUNT_SID"))
	}
	if s.TwilioAPIKeySecret == "" {
		errs = append(errs, config.InvalidSecret("COMMS_TWILIO_API_KEY_SECRET", "is empty and COMMS_TWILIO_API_KEY_SID is set: an API key needs both", "set it to the secret Twilio showed once when the key was created (or create a new key), or unset COMMS_TWILIO_API_KEY_SID to use COMMS_TWILIO_AUTH_TOKEN"))
	}
	return errs
}

// validSenderID reports whether s is an alphanumeric sender ID Twilio accepts in From: 1 to
// 11 characters, letters A-Z a-z, digits and spaces, at least one letter.
func validSenderID(s string) bool {
	if len(s) < 1 || len(s) > 11 || !hasLetter(s) {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ' ') {
			return false
		}
	}
	return true
}

// hasLetter reports whether s holds an ASCII letter.
func hasLetter(s string) bool {
	return strings.ContainsFunc(s, func(c rune) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' })
}

// baseURL is one HTTP provider's base URL setting: its name, value and default, and whether
// the chosen providers use it.
type baseURL struct {
	name, value, def string
	used             bool
}

// baseURLs are the HTTP providers' base URL settings.
func (s Settings) baseURLs() []baseURL {
	return []baseURL{
		{"COMMS_RESEND_BASE_URL", s.ResendBaseURL, DefaultResendBaseURL, s.EmailProvider == ProviderResend},
		{"COMMS_POSTMARK_BASE_URL", s.PostmarkBaseURL, DefaultPostmarkBaseURL, s.EmailProvider == ProviderPostmark},
		{"COMMS_TWILIO_BASE_URL", s.TwilioBaseURL, DefaultTwilioBaseURL, s.SMSProvider == ProviderTwilio},
	}
}

// validateProduction refuses, in production, a base URL of the chosen HTTP provider that is
// not https: a local test server's setting left in place, which would send the key in clear
// and deliver nothing.
func (s Settings) validateProduction() error {
	var errs []error
	for _, u := range s.baseURLs() {
		if p, err := url.Parse(u.value); u.used && (err != nil || p.Scheme != "https") {
			errs = append(errs, config.Invalid(u.name, u.value, "is not https and APP_ENV=production (a test server's setting?)", "leave it unset for "+u.def))
		}
	}
	if s.EmailProvider == ProviderResend || s.EmailProvider == ProviderPostmark {
		// RFC 2606's reserved domains (the default's example.com) can be verified with no
		// API provider: every message would be refused. (An SMTP relay may take them.)
		if a, err := mail.ParseAddress(s.From); err == nil {
			_, domain, _ := strings.Cut(strings.ToLower(a.Address), "@")
			if reservedDomain(domain) {
				errs = append(errs, config.Invalid("COMMS_FROM", s.From, "uses the reserved domain "+domain+" and APP_ENV=production", "set it to an address of a domain "+s.EmailProvider+" has verified"))
			}
		}
	}
	return errors.Join(errs...)
}

// reservedDomain reports whether domain is one RFC 2606 keeps for examples and tests.
func reservedDomain(domain string) bool {
	switch domain {
	case "example.com", "example.net", "example.org":
		return true
	}
	for _, tld := range []string{".example", ".test", ".invalid", ".localhost"} {
		if strings.HasSuffix("."+domain, tld) {
			return true
		}
	}
	return false
}
