// Package authcomms is the glue between the auth and comms services (owned by the pair):
// the emails an account needs. It confirms email addresses (a verify-email link on
// registration and on request), resets forgotten passwords (a password-reset link), and
// tells the owner whenever the password changes (password-changed), through the comms
// service's templates and providers.
//
// It plugs into auth through auth.Hooks, which auth takes from the registry without naming
// this package: UserRegistered sends the verification link, PasswordChanged the notice,
// EmailChanged a verification link to the new address and a notice to the old one, and
// AllowLogin refuses API logins of unconfirmed addresses when
// AUTH_REQUIRE_VERIFIED_EMAIL is set.
//
// Links carry a token that works once and expires (AUTH_VERIFY_TOKEN_TTL, 24h;
// AUTH_RESET_TOKEN_TTL, 1h): 256 random bits signed with a key derived from AUTH_SECRET,
// of which the table authcomms_tokens keeps only a SHA-256. Endpoints (all in
// /openapi.json): POST /api/v1/auth/email/verify, POST /api/v1/auth/email/verify/resend,
// POST /api/v1/auth/password/forgot and POST /api/v1/auth/password/reset.
//
// Requests for an email (forgot, resend) answer 202 with the same body whether or not an
// account has the address, after the same work: the lookup, the token and the sending all
// happen in the background, so neither the answer nor its timing tells who has an account.
package authcomms

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// Name is the glue's name: its settings', migrations' and service's.
const Name = "authcomms"

// The comms templates this package sends.
const (
	TemplateVerify          = "verify-email"
	TemplateReset           = "password-reset"
	TemplatePasswordChanged = "password-changed"
	TemplateEmailChanged    = "email-changed"
)

//go:embed migrations
var migrationFiles embed.FS

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds the Service to r, bound as auth.Hooks, with its settings, migrations and
// routes. init() does it for registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, database.MigrationsFrom(migrationFiles))
	registry.Contribute(r, Name, backend.Routes(mount))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide3(r, newDeps, registry.Hidden()),
		registry.Provide5(r, newService, registry.Describe("account emails: address verification, password reset, password- and email-changed notices")),
		registry.Bind[auth.Hooks, *Service](r),
	)
}

// Opts are the collaborators of New; nil or zero fields mean the defaults.
type Opts struct {
	// Secret is AUTH_SECRET, from which the key that signs tokens is derived; a short or
	// placeholder one means a random key (links then stop working when the process ends;
	// auth refuses to start in production with such a secret anyway).
	Secret string
	// BaseURL is the origin of the links when AUTH_VERIFY_EMAIL_URL or
	// AUTH_RESET_PASSWORD_URL are empty: BASE_URL, or in development http://localhost:$PORT
	// (see backend.Settings.LinkOrigin); empty means http://localhost:8000.
	BaseURL string
	Logger  *slog.Logger
	// Now is the clock of tokens; nil means time.Now.
	Now func() time.Time
	// Limits, when not nil, is the store the mail and token limits count in,
	// so that they hold across instances; nil counts them in this process
	// only.
	Limits ratelimit.Store
}

// Service sends the account emails and spends their tokens. It implements auth.Hooks. It
// is safe for concurrent use.
type Service struct {
	auth.BaseHooks

	settings  Settings
	users     *auth.UserService
	mail      *comms.Service
	tokens    *tokens
	logger    *slog.Logger
	verifyURL string
	resetURL  string
	support   string

	mailIP      *ratelimit.Limiter
	mailAccount *ratelimit.Limiter
	tokenIP     *ratelimit.Limiter

	// slots bounds the emails being prepared in the background (AUTH_MAIL_QUEUE).
	slots   chan struct{}
	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup
}

// deps is what newService takes from other parts: auth's settings (AUTH_SECRET), the
// backend's (BASE_URL) and the store that counts the limits across instances (the cache
// component's on Redis; without it they are per process). The registry builds it as one
// hidden service, as a constructor takes at most six dependencies.
type deps struct {
	auth    auth.Settings
	backend backend.Settings
	limits  ratelimit.Store
}

func newDeps(_ context.Context, as auth.Settings, bs backend.Settings, limits registry.Maybe[ratelimit.Shared]) (deps, error) {
	return deps{auth: as, backend: bs, limits: limits.Value.Store}, nil
}

func newService(_ context.Context, db *database.DB, users *auth.UserService, mail *comms.Service, s Settings, e deps) (*Service, error) {
	return build(db, users, mail, s, e, slog.Default())
}

// build is newService with its logger.
func build(db *database.DB, users *auth.UserService, mail *comms.Service, s Settings, e deps, logger *slog.Logger) (*Service, error) {
	as, bs := e.auth, e.backend
	origin := bs.LinkOrigin(mail.Production())
	if origin == "" && mail.Production() && (s.VerifyURL == "" || s.ResetURL == "") {
		// The links would name the reader's own machine: start, but say so once.
		logger.Warn("authcomms: BASE_URL is empty in production, so the verification and password-reset emails link to " +
			DefaultFallbackLinkOrigin + "; set BASE_URL to the app's public URL (or AUTH_VERIFY_EMAIL_URL and AUTH_RESET_PASSWORD_URL)")
	}
	return New(db, users, mail, s, &Opts{Secret: as.Secret, BaseURL: origin, Logger: logger, Limits: e.limits})
}

// New returns the service for settings s (defaults filled in).
func New(db *database.DB, users *auth.UserService, c *comms.Service, s Settings, opts *Opts) (*Service, error) {
	if db == nil || users == nil || c == nil {
		return nil, errors.New("authcomms: new service: nil database, user service or comms service")
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
	origin := strings.TrimRight(o.BaseURL, "/")
	if origin == "" {
		origin = DefaultFallbackLinkOrigin
	}
	svc := &Service{
		settings:    s,
		users:       users,
		mail:        c,
		tokens:      &tokens{db: db, signer: signer{key: tokenKey(o.Secret)}, now: o.Now, logger: o.Logger},
		logger:      o.Logger,
		verifyURL:   cmp(s.VerifyURL, origin+DefaultVerifyPath),
		resetURL:    cmp(s.ResetURL, origin+DefaultResetPath),
		support:     s.SupportEmail,
		mailIP:      ratelimit.New(s.MailIPLimit, s.MailIPWindow, limiterOpts(o, "authcomms:mail-ip")),
		mailAccount: ratelimit.New(s.MailAccountLimit, s.MailAccountWindow, limiterOpts(o, "authcomms:mail-account")),
		tokenIP:     ratelimit.New(s.TokenIPLimit, s.TokenIPWindow, limiterOpts(o, "authcomms:token-ip")),
		slots:       make(chan struct{}, s.MailQueue),
	}
	if svc.support == "" {
		if a, err := mail.ParseAddress(c.Settings().From); err == nil {
			svc.support = a.Address
		} else {
			svc.support = c.Settings().From
		}
	}
	return svc, nil
}

// cmp returns a unless it is empty, else b.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tokenKey derives the key that signs tokens from AUTH_SECRET, so that it is never the key
// of the access tokens themselves; a secret auth would not accept in production gives a
// random key.
func tokenKey(secret string) []byte {
	secret = strings.TrimSpace(secret)
	if len(secret) < auth.MinSecretBytes || secret == auth.PlaceholderSecret {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		return key
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("aegis authcomms email link tokens v1"))
	return m.Sum(nil)
}

// Settings returns the service's settings, defaults filled in.
func (s *Service) Settings() Settings { return s.settings }

// ErrBusy says AUTH_MAIL_QUEUE account emails are already being prepared; the API answers
// 503 with Retry-After. It does not depend on the address asked for.
var ErrBusy = errors.New("authcomms: too many account emails in progress")

// ErrAlreadyVerified answers a signed-in user who asks for a verification link for an
// address that is already confirmed.
var ErrAlreadyVerified = errors.New("authcomms: the email address is already confirmed")

// busyRetry is the Retry-After of ErrBusy.
const busyRetry = 5 * time.Second

// sendTimeout bounds one background email: lookup, token and hand-over to comms.
const sendTimeout = 2 * time.Minute

// background runs fn on its own goroutine, detached from the request (which is answered
// before it ends) but with its values, bounded by AUTH_MAIL_QUEUE: ErrBusy when as many
// are running. Failures are logged under what, without tokens or addresses.
func (s *Service) background(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrBusy
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.logger.WarnContext(ctx, "authcomms: account email queue full (AUTH_MAIL_QUEUE)", "email", what)
		return ErrBusy
	}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer func() { <-s.slots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		if err := fn(ctx); err != nil {
			s.logger.ErrorContext(ctx, "authcomms: account email failed", "email", what, "error", err)
		}
	}()
	return nil
}

// Stop waits for the emails in progress, until ctx is done; later requests for one get
// ErrBusy.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("authcomms: stop with account emails in progress: %w", ctx.Err())
	}
}

// wait returns once no email is in progress (tests).
func (s *Service) wait() { s.running.Wait() }

// UserRegistered sends the new account its verification link, in the background.
func (s *Service) UserRegistered(ctx context.Context, u *auth.User) {
	id := u.ID
	if err := s.background(ctx, TemplateVerify, func(ctx context.Context) error { return s.sendVerification(ctx, id) }); err != nil {
		// The account exists; its owner can ask for a link again.
		s.logger.WarnContext(ctx, "authcomms: verification email not sent", "user_id", id, "error", err)
	}
}

// PasswordChanged tells the account's owner, in the background.
func (s *Service) PasswordChanged(ctx context.Context, u *auth.User, e auth.PasswordChange) {
	name, email, id := displayName(u), u.Email, u.ID
	err := s.background(ctx, TemplatePasswordChanged, func(ctx context.Context) error {
		_, err := s.mail.SendTemplate(ctx, TemplatePasswordChanged, email, map[string]any{
			"Name": name, "ChangedAt": e.At.UTC().Format("2006-01-02 15:04 UTC"), "SupportEmail": s.support,
		})
		return err
	})
	if err != nil {
		s.logger.WarnContext(ctx, "authcomms: password-changed email not sent", "user_id", id, "error", err)
	}
}

// EmailChanged sends, in the background, a verification link to the account's new address
// (which starts unconfirmed) and a notice without a link to the old one, so the owner hears
// of a change made with a stolen session and password. Links sent to the old address no
// longer confirm anything (they name the address they went to).
func (s *Service) EmailChanged(ctx context.Context, u *auth.User, old string) {
	id, name := u.ID, displayName(u)
	at := time.Now().UTC().Format("2006-01-02 15:04 UTC")
	if err := s.background(ctx, TemplateVerify, func(ctx context.Context) error { return s.sendVerification(ctx, id) }); err != nil {
		// The owner can ask for a link again.
		s.logger.WarnContext(ctx, "authcomms: verification email for a new address not sent", "user_id", id, "error", err)
	}
	err := s.background(ctx, TemplateEmailChanged, func(ctx context.Context) error {
		_, err := s.mail.SendTemplate(ctx, TemplateEmailChanged, old, map[string]any{
			"Name": name, "ChangedAt": at, "SupportEmail": s.support,
		})
		return err
	})
	if err != nil {
		s.logger.WarnContext(ctx, "authcomms: email-changed notice not sent", "user_id", id, "error", err)
	}
}

// AllowLogin refuses an unconfirmed address when AUTH_REQUIRE_VERIFIED_EMAIL is set.
func (s *Service) AllowLogin(_ context.Context, u *auth.User) error {
	if !s.settings.RequireVerifiedEmail || u.EmailVerified() {
		return nil
	}
	return &auth.LoginDeniedError{Detail: "Confirm your email address before you log in: open the link we sent to it. " +
		"To get a new link, POST {\"email\": \"<your address>\"} to " + ResendPath + "."}
}

// displayName is how the emails greet u.
func displayName(u *auth.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Username
}

// link returns page with the token added to its query.
func link(page, token string) string {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return page + sep + "token=" + token
}

// humanDuration writes d as the emails say it: "24 hours", "1 hour", "30 minutes".
func humanDuration(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// sendVerification sends the account id a verification link, unless its address is
// confirmed already or the account is gone or deactivated.
func (s *Service) sendVerification(ctx context.Context, id int64) error {
	u, err := s.users.Get(ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !u.Active || u.EmailVerified() {
		return nil
	}
	token, err := s.tokens.create(ctx, u.ID, u.Email, PurposeVerify, s.settings.VerifyTokenTTL)
	if err != nil {
		return err
	}
	_, err = s.mail.SendTemplate(ctx, TemplateVerify, u.Email, map[string]any{
		"Name": displayName(u), "Email": u.Email, "VerifyURL": link(s.verifyURL, token), "ExpiresIn": humanDuration(s.settings.VerifyTokenTTL),
	})
	return err
}

// sendReset sends a reset link to the active account with the address email, and nothing
// when there is none.
func (s *Service) sendReset(ctx context.Context, email string) error {
	u, err := s.users.GetByEmail(ctx, email)
	if errors.Is(err, auth.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !u.Active {
		return nil
	}
	token, err := s.tokens.create(ctx, u.ID, u.Email, PurposeReset, s.settings.ResetTokenTTL)
	if err != nil {
		return err
	}
	_, err = s.mail.SendTemplate(ctx, TemplateReset, u.Email, map[string]any{
		"Name": displayName(u), "ResetURL": link(s.resetURL, token), "ExpiresIn": humanDuration(s.settings.ResetTokenTTL),
	})
	return err
}

// limiterOpts are the options of the limiter called name: in the shared store when there
// is one, under a name of its own, so that the limits by IP do not count each other's
// requests.
func limiterOpts(o Opts, name string) *ratelimit.Opts {
	return &ratelimit.Opts{Shared: o.Limits, Name: name, Logger: o.Logger}
}

// limitMail counts a request for an email against the client's address and the email
// address asked for (whether or not an account has it, so a 429 tells nothing).
func (s *Service) limitMail(ctx context.Context, ip, email string) error {
	if ip != "" {
		if d := s.mailIP.AllowContext(ctx, ratelimit.IPKey(ip)); d > 0 {
			s.logger.WarnContext(ctx, "authcomms: account email rate limit reached for an IP", "ip", ip)
			return &auth.RateLimitError{RetryAfter: d}
		}
	}
	if d := s.mailAccount.AllowContext(ctx, "email:"+email); d > 0 {
		s.logger.WarnContext(ctx, "authcomms: account email rate limit reached for an address", "ip", ip)
		return &auth.RateLimitError{RetryAfter: d}
	}
	return nil
}

// ForgotPassword arranges for a reset link to go to the account with the address email, if
// there is one. The answer is the same either way (nil, unless the address is malformed,
// a limit is reached or the queue is full, none of which depends on the account), and so
// is the work done before it: the lookup happens in the background.
func (s *Service) ForgotPassword(ctx context.Context, ip, email string) error {
	email, err := auth.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.limitMail(ctx, ip, email); err != nil {
		return err
	}
	return s.background(ctx, TemplateReset, func(ctx context.Context) error { return s.sendReset(ctx, email) })
}

// RequestVerification is ForgotPassword for a verification link: sent when an active account
// has the address and has not confirmed it, with the same answer otherwise.
func (s *Service) RequestVerification(ctx context.Context, ip, email string) error {
	email, err := auth.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.limitMail(ctx, ip, email); err != nil {
		return err
	}
	return s.background(ctx, TemplateVerify, func(ctx context.Context) error {
		u, err := s.users.GetByEmail(ctx, email)
		if errors.Is(err, auth.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.sendVerification(ctx, u.ID)
	})
}

// ResendVerification sends the signed-in user u a new verification link; ErrAlreadyVerified
// when the address is confirmed.
func (s *Service) ResendVerification(ctx context.Context, ip string, u *auth.User) error {
	if u.EmailVerified() {
		return ErrAlreadyVerified
	}
	if err := s.limitMail(ctx, ip, u.Email); err != nil {
		return err
	}
	id := u.ID
	return s.background(ctx, TemplateVerify, func(ctx context.Context) error { return s.sendVerification(ctx, id) })
}

// limitToken counts a submitted token against the client's address.
func (s *Service) limitToken(ctx context.Context, ip string) error {
	if ip == "" {
		return nil
	}
	if d := s.tokenIP.AllowContext(ctx, ratelimit.IPKey(ip)); d > 0 {
		s.logger.WarnContext(ctx, "authcomms: token rate limit reached for an IP", "ip", ip)
		return &auth.RateLimitError{RetryAfter: d}
	}
	return nil
}

// CheckLink reports whether token is a live link of purpose (PurposeVerify or PurposeReset),
// spending nothing: the page a link opens says at once that it expired or was used, rather
// than after the user chose a new password. It counts against AUTH_TOKEN_IP_LIMIT as a
// submitted token does, so it is no cheaper way to guess one.
func (s *Service) CheckLink(ctx context.Context, ip, purpose, token string) error {
	if err := s.limitToken(ctx, ip); err != nil {
		return err
	}
	_, err := s.tokens.find(ctx, purpose, token)
	return err
}

// VerifyEmail spends a verification token and confirms the address it was sent to, which
// must still be its account's; the account is returned. The other verification links of the
// account stop working.
func (s *Service) VerifyEmail(ctx context.Context, ip, token string) (*auth.User, error) {
	if err := s.limitToken(ctx, ip); err != nil {
		return nil, err
	}
	row, err := s.tokens.find(ctx, PurposeVerify, token)
	if err != nil {
		return nil, err
	}
	if err := s.tokens.claim(ctx, row); err != nil {
		return nil, err
	}
	u, err := s.users.MarkEmailVerified(ctx, row.UserID, row.Email)
	if errors.Is(err, auth.ErrNotFound) {
		// The account changed its address (or is gone) since the link was sent.
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if err := s.tokens.spendAll(ctx, u.ID, PurposeVerify); err != nil {
		return nil, err
	}
	return u, nil
}

// PasswordResetter sets a password without the current one and ends every session:
// *auth.AuthService.
type PasswordResetter interface {
	ResetPassword(ctx context.Context, userID int64, password string) error
}

// ResetPassword spends a reset token and sets the account's new password through a (the
// password rules apply: a *auth.ValidationError on new_password leaves the token usable),
// which ends every session of the account and sends the password-changed email. The other
// reset links of the account stop working, and its address counts as confirmed: the link
// reached it.
func (s *Service) ResetPassword(ctx context.Context, a PasswordResetter, ip, token, password string) error {
	if err := s.limitToken(ctx, ip); err != nil {
		return err
	}
	row, err := s.tokens.find(ctx, PurposeReset, token)
	if err != nil {
		return err
	}
	u, err := s.users.Get(ctx, row.UserID)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return ErrTokenInvalid
	case err != nil:
		return err
	case !u.Active || u.Email != row.Email:
		return ErrTokenInvalid
	}
	if err := s.users.CheckNewPassword(u, password); err != nil {
		var ve *auth.ValidationError
		if errors.As(err, &ve) {
			ve.Field = "new_password"
		}
		return err
	}
	if err := s.tokens.claim(ctx, row); err != nil {
		return err
	}
	if err := a.ResetPassword(ctx, u.ID, password); err != nil {
		if rerr := s.tokens.release(context.WithoutCancel(ctx), row); rerr != nil {
			return errors.Join(err, rerr)
		}
		if errors.Is(err, auth.ErrNotFound) {
			return ErrTokenInvalid
		}
		return err
	}
	if err := s.tokens.spendAll(ctx, u.ID, PurposeReset); err != nil {
		return err
	}
	if _, err := s.users.MarkEmailVerified(ctx, u.ID, row.Email); err != nil && !errors.Is(err, auth.ErrNotFound) {
		return err
	}
	return nil
}

var (
	_ auth.Hooks       = (*Service)(nil)
	_ registry.Stopper = (*Service)(nil)
	_ PasswordResetter = (*auth.AuthService)(nil)
)
