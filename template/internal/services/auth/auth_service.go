package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// AuthService signs users in and out: registration, login with rate
// limiting, access tokens (JWT, HS256) and rotating refresh tokens. It is
// safe for concurrent use.
type AuthService struct {
	db         *database.DB
	users      *UserService
	signer     *tokenSigner
	refreshTTL time.Duration
	maxAge     time.Duration // SessionMaxAge
	reuseGrace time.Duration // RefreshReuseGrace
	byIP       *ratelimit.Limiter
	byAccount  *ratelimit.Limiter
	registerIP *ratelimit.Limiter
	checking   keyedMutex // the accounts whose password is being checked
	logger     *slog.Logger
	dashIdle   time.Duration    // DashboardIdleTimeout
	dashTTL    time.Duration    // DashboardSessionTTL
	now        func() time.Time // the clock of dashboard sessions
	hooks      Hooks            // never nil: BaseHooks when none is registered
}

// Env is what NewAuthService takes from the app rather than from auth: APP_ENV
// for the AUTH_SECRET rules, the process's role (command.Env provides it; a
// container built without it, in tests, is not serve) and the store that
// counts the rate limits across instances (the cache component's on Redis;
// without it they are per process). The registry builds it as one hidden
// service, as a constructor takes at most six dependencies.
type Env struct {
	Core   config.Core
	Role   registry.Maybe[command.Role]
	Limits registry.Maybe[ratelimit.Shared]
}

func newEnv(_ context.Context, core config.Core, role registry.Maybe[command.Role], limits registry.Maybe[ratelimit.Shared]) (Env, error) {
	return Env{Core: core, Role: role, Limits: limits}, nil
}

// NewAuthService is the registry constructor: Settings, the app's Env and the
// Hooks service when one is registered (a glue folder's). Only serve warns at
// start about an ephemeral key: it issues and checks tokens. Any other process
// (a CLI command, the worker) warns only if it issues or checks one
// (AuthOpts.WarnLazily).
func NewAuthService(_ context.Context, db *database.DB, users *UserService, s Settings, env Env, hooks registry.Maybe[Hooks]) (*AuthService, error) {
	h, _ := hooks.Get()
	r, _ := env.Role.Get()
	return NewAuthServiceWith(db, users, s, &AuthOpts{Production: env.Core.Production(), Hooks: h,
		WarnLazily: r != command.RoleServe, Limits: env.Limits.Value.Store})
}

// AuthOpts adjust NewAuthServiceWith. A nil *AuthOpts means development
// and slog.Default().
type AuthOpts struct {
	// Production refuses a missing, short or placeholder secret instead of
	// generating an ephemeral one.
	Production bool
	Logger     *slog.Logger
	// Now is the clock that dashboard sessions are timed by (time.Now when
	// nil); tests pass a fake one to age sessions.
	Now func() time.Time
	// Hooks are told of registrations, password and address changes and may refuse
	// logins; nil means BaseHooks (nothing happens, every login is allowed).
	Hooks Hooks
	// WarnLazily holds back the development warning about an ephemeral key (AUTH_SECRET
	// missing, short or the placeholder) until the first access token is issued or checked.
	// Without it the warning is logged at once, as the server wants: it is what will hand out
	// tokens that die with it. A process that may never touch a token (`users list`,
	// `migrate status`) would otherwise warn about something that does not concern it.
	WarnLazily bool
	// Limits, when not nil, is the store the login and registration limits
	// count in, so that they hold across instances; nil counts them in this
	// process only.
	Limits ratelimit.Store
}

// NewAuthServiceWith returns an AuthService configured by s (after
// WithDefaults).
func NewAuthServiceWith(db *database.DB, users *UserService, s Settings, opts *AuthOpts) (*AuthService, error) {
	var o AuthOpts
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hooks == nil {
		o.Hooks = BaseHooks{}
	}
	if db == nil || users == nil {
		return nil, errors.New("auth: new auth service: nil database or user service")
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	key, ephemeral, err := resolveSecret(s.Secret, o.Production)
	if err != nil {
		return nil, err
	}
	signer := newTokenSigner(key, s)
	if ephemeral {
		warn := sync.OnceFunc(func() { warnEphemeral(o.Logger, key) })
		if o.WarnLazily {
			signer.used = warn
		} else {
			warn()
		}
	}
	return &AuthService{
		db:         db,
		users:      users,
		signer:     signer,
		refreshTTL: s.RefreshTTL,
		maxAge:     s.SessionMaxAge,
		reuseGrace: s.RefreshReuseGrace,
		byIP:       ratelimit.New(s.LoginIPLimit, s.LoginIPWindow, limiterOpts(o, "auth:login-ip")),
		byAccount:  ratelimit.New(s.LoginAccountLimit, s.LoginAccountWindow, limiterOpts(o, "auth:login-account")),
		registerIP: ratelimit.New(s.RegisterIPLimit, s.RegisterIPWindow, limiterOpts(o, "auth:register-ip")),
		logger:     o.Logger,
		dashIdle:   s.DashboardIdleTimeout,
		dashTTL:    s.DashboardSessionTTL,
		now:        o.Now,
		hooks:      o.Hooks,
	}, nil
}

// limiterOpts are the options of the limiter called name: in the shared store
// when there is one, under a name of its own, so that logins and
// registrations from one IP are counted apart.
func limiterOpts(o AuthOpts, name string) *ratelimit.Opts {
	return &ratelimit.Opts{Shared: o.Limits, Name: name, Logger: o.Logger}
}

// Users returns the user service the auth service works with.
func (a *AuthService) Users() *UserService { return a.users }

// RegisterParams describe a self-service sign-up; the account gets the user
// role. IP is the client's address, for the per-IP limit (empty skips it).
type RegisterParams struct {
	Email    string
	Username string
	Password string
	FullName string
	IP       string
}

// Register creates an active account with the user role. More than
// AUTH_REGISTER_IP_LIMIT attempts from one IP within AUTH_REGISTER_IP_WINDOW
// give a *RateLimitError: each sign-up costs an argon2id hash, and the 409
// for a taken email would otherwise let a client test addresses at will.
func (a *AuthService) Register(ctx context.Context, p RegisterParams) (*User, error) {
	if p.IP != "" {
		if d := a.registerIP.AllowContext(ctx, ratelimit.IPKey(p.IP)); d > 0 {
			a.logger.WarnContext(ctx, "auth: registration rate limit reached for an IP", slog.String("ip", p.IP))
			return nil, &RateLimitError{RetryAfter: d, Registration: true}
		}
	}
	u, err := a.users.Create(ctx, CreateUserParams{Email: p.Email, Username: p.Username, Password: p.Password, FullName: p.FullName, Role: RoleUser})
	if err != nil {
		return nil, err
	}
	a.hooks.UserRegistered(ctx, u)
	return u, nil
}

// CreateUser creates the account p for someone else (an admin, a composite service such as
// onboarding) and tells the Hooks as a registration does: the owner of the address has not
// confirmed it either, so an app that confirms addresses sends the link. Without it, an app
// with AUTH_REQUIRE_VERIFIED_EMAIL refused the account's logins with "open the link we sent"
// when no link was ever sent. No rate limit applies: the caller is trusted.
func (a *AuthService) CreateUser(ctx context.Context, p CreateUserParams) (*User, error) {
	u, err := a.users.Create(ctx, p)
	if err != nil {
		return nil, err
	}
	a.hooks.UserRegistered(ctx, u)
	return u, nil
}

// TokenPair is what login and refresh return.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	TokenType    string // "bearer"
	ExpiresIn    time.Duration
	User         *User
}

// LoginParams are the credentials of a login and the client's address (for
// rate limiting; empty skips the per-IP limit).
type LoginParams struct {
	Login    string // email or username
	Password string
	IP       string
}

// Login checks the credentials and opens a session. Too many attempts from
// one IP, or too many failures for one account, give a *RateLimitError; bad
// credentials, unknown and deactivated accounts all give
// ErrInvalidCredentials. The Hooks may then refuse the login (a
// *LoginDeniedError, for instance while the email is not confirmed).
func (a *AuthService) Login(ctx context.Context, p LoginParams) (_ *TokenPair, err error) {
	ctx, span := startLogin(ctx)
	var u *User
	if span != nil {
		defer func() { endLogin(span, u, err) }()
	}
	u, err = a.checkLogin(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := a.hooks.AllowLogin(ctx, u); err != nil {
		return nil, err
	}
	return a.openLoginSession(ctx, u)
}

// openLoginSession opens the API session of a login whose password matched
// u's hash (see storeLoginSession).
func (a *AuthService) openLoginSession(ctx context.Context, u *User) (*TokenPair, error) {
	var pair *TokenPair
	err := a.storeLoginSession(ctx, u, func(ctx context.Context, tx bun.Tx) error {
		var err error
		pair, err = a.openSession(ctx, tx, u, newFamilyID(), now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return pair, nil
}

// storeLoginSession runs store, which stores the session of a login (API
// or dashboard) whose password matched u's hash, unless that hash was
// replaced or the account deactivated since: ErrInvalidCredentials then. A
// reset revokes every session, and one stored after it would outlive it with
// the old password. The account's row stays locked (PostgreSQL; SQLite
// transactions take the write lock when they begin) until the session is
// stored, so a reset waits for it and then revokes it too.
func (a *AuthService) storeLoginSession(ctx context.Context, u *User, store func(ctx context.Context, tx bun.Tx) error) error {
	return a.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var id int64
		q := tx.NewSelect().Model((*User)(nil)).Column("id").Where("id = ?", u.ID).
			Where("password_hash = ?", u.PasswordHash).Where("active = ?", true)
		if a.db.Engine() == database.Postgres {
			q = q.For("SHARE")
		}
		switch err := q.Scan(ctx, &id); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrInvalidCredentials
		case err != nil:
			return fmt.Errorf("auth: load user: %w", err)
		}
		return store(ctx, tx)
	})
}

// checkLogin checks the credentials of a login, API or dashboard, with the
// rate limits and errors Login documents, and returns the user.
func (a *AuthService) checkLogin(ctx context.Context, p LoginParams) (*User, error) {
	login := strings.TrimSpace(p.Login)
	if login == "" {
		return nil, invalid("login", "is required: send email or username")
	}
	if len(login) > MaxEmailLength {
		return nil, invalid("login", "must be at most 254 bytes")
	}
	if err := checkLookup("login", login); err != nil {
		return nil, err
	}
	if p.Password == "" {
		return nil, invalid("password", "is required")
	}
	// Failures count per account, whichever of email or username names it;
	// logins for unknown accounts are counted by what was looked up (NFKC,
	// lower case, as GetByLogin compares), so a 429 does not tell them apart:
	// counted as typed, each way of writing one address (full-width letters)
	// had a count of its own, which an existing account's forms share.
	u, err := a.users.GetByLogin(ctx, login)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	account := "login:" + strings.ToLower(foldIdentifier(login))
	if u != nil {
		account = accountKey(u)
	}
	u, err = a.verifyPassword(ctx, u, account, p.Password, p.IP)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			a.logger.InfoContext(ctx, "auth: login failed", slog.String("ip", p.IP))
		}
		return nil, err
	}
	return u, nil
}

// accountKey is the limiter key of an existing account: its id and a fingerprint of its
// password hash. Failures are guesses at one password, so a new password (a reset or a
// change, made by any instance) starts a new count in every instance at its next check, not
// only in the instance that stored it: behind a load balancer, a user locked out on one
// instance who resets the password through another signs in at once wherever the login lands.
func accountKey(u *User) string {
	sum := sha256.Sum256([]byte(u.PasswordHash))
	return "user:" + strconv.FormatInt(u.ID, 10) + ":" + hex.EncodeToString(sum[:8])
}

// verifyPassword is the one way a request's password is checked: login,
// change password, email change and any later check go through it, so they
// share the limits. Every attempt counts against the client IP
// (AUTH_LOGIN_IP_LIMIT per AUTH_LOGIN_IP_WINDOW; ip "" skips it) and every
// failure against the account (AUTH_LOGIN_ACCOUNT_LIMIT per
// AUTH_LOGIN_ACCOUNT_WINDOW); beyond either the answer is a *RateLimitError
// and no argon2id runs. A success clears the account's failures. u nil means
// an unknown account (a dummy hash is verified); a wrong password, an
// unknown or a deactivated account is ErrInvalidCredentials.
func (a *AuthService) verifyPassword(ctx context.Context, u *User, account, password, ip string) (*User, error) {
	if ip != "" {
		if d := a.byIP.AllowContext(ctx, ratelimit.IPKey(ip)); d > 0 {
			a.logger.WarnContext(ctx, "auth: password attempt rate limit reached for an IP", slog.String("ip", ip))
			return nil, &RateLimitError{RetryAfter: d}
		}
	}
	// One check of an account at a time: the limit is checked before the
	// verification and a failure counted after it, so checks running at once
	// all passed the limit before any counted (a burst from many addresses got
	// as many guesses as it had requests, not AUTH_LOGIN_ACCOUNT_LIMIT).
	release, err := a.checking.lock(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("auth: wait for the account's previous password check: %w", err)
	}
	defer release()
	if d := a.byAccount.CheckContext(ctx, account); d > 0 {
		a.logger.WarnContext(ctx, "auth: password attempt rate limit reached for an account", slog.String("ip", ip))
		return nil, &RateLimitError{RetryAfter: d}
	}
	u, err = a.users.verify(ctx, u, password)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			a.byAccount.AddContext(ctx, account)
		}
		return nil, err
	}
	a.byAccount.ResetContext(ctx, account)
	return u, nil
}

// checkCurrentPassword verifies the signed-in user's password for a
// sensitive change, through the shared limits; a wrong one is a validation
// error on field current_password.
func (a *AuthService) checkCurrentPassword(ctx context.Context, u *User, current, ip string) error {
	if current == "" {
		return invalid("current_password", "is required")
	}
	if _, err := a.verifyPassword(ctx, u, accountKey(u), current, ip); err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			return invalid("current_password", "is wrong")
		}
		return err
	}
	return nil
}

// openSession stores a new refresh token in family, the session that began
// at started, and signs an access token. The token expires after
// AUTH_REFRESH_TTL but never past the session's end (AUTH_SESSION_MAX_AGE
// after started), so the session check ends its access tokens then too.
func (a *AuthService) openSession(ctx context.Context, db bun.IDB, u *User, family string, started time.Time) (*TokenPair, error) {
	token, hash := newOpaqueToken()
	t := now()
	expires := t.Add(a.refreshTTL)
	if end := started.Add(a.maxAge); end.Before(expires) {
		expires = end
	}
	rt := &refreshToken{UserID: u.ID, FamilyID: family, TokenHash: hash, CreatedAt: t, ExpiresAt: expires, SessionStartedAt: started}
	if _, err := db.NewInsert().Model(rt).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("auth: store refresh token: %w", err)
	}
	access, ttl, err := a.signer.issue(u, family)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: access, RefreshToken: token, TokenType: "bearer", ExpiresIn: ttl, User: u}, nil
}

// Refresh exchanges a refresh token for a new pair. Each refresh token works
// once: presenting one that was already used revokes its whole family (the
// token was stolen, or the client is confused) and gives ErrTokenReused,
// unless within AUTH_REFRESH_REUSE_GRACE of its first use (one client racing
// itself), which gets another pair of the same session.
// Unknown, expired and revoked tokens give ErrInvalidToken, as does a token of
// a session that began more than AUTH_SESSION_MAX_AGE ago. The Hooks are
// asked, as by Login, before an unused token is exchanged: a refusal (a
// *LoginDeniedError, for instance for an address changed to one not yet
// confirmed) leaves the token unused, so it works again once the refusal's
// cause is gone.
func (a *AuthService) Refresh(ctx context.Context, token string) (*TokenPair, error) {
	if token == "" || len(token) > MaxTokenLength {
		return nil, ErrInvalidToken
	}
	for attempt := 1; ; attempt++ {
		pair, err := a.refresh(ctx, token)
		// errUserChanged: the account changed between the Hooks' answer and the
		// exchange; ask again about the account as it is now.
		if !errors.Is(err, errUserChanged) {
			return pair, err
		}
		if attempt == 3 {
			return nil, ErrInvalidToken
		}
	}
}

// errUserChanged is refresh's: the account's address or its confirmation
// changed after the Hooks allowed the session to go on.
var errUserChanged = errors.New("auth: account changed during refresh")

// refreshAllowed asks the Hooks whether the session of token, if it is
// unused and would be exchanged, may go on, outside any transaction (a hook
// may use the database). It returns the user they were asked about, or nil
// when the token is not one to exchange (the transaction then refuses it).
func (a *AuthService) refreshAllowed(ctx context.Context, token string) (*User, error) {
	rt, err := findRefreshToken(ctx, a.db.Bun(), token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return nil, nil
	case err != nil:
		return nil, err
	case rt.RevokedAt != nil || rt.UsedAt != nil || a.expired(rt):
		return nil, nil
	}
	u := new(User)
	if err := a.db.Bun().NewSelect().Model(u).Where("id = ?", rt.UserID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("auth: load user: %w", err)
	}
	if !u.Active {
		return nil, nil
	}
	if err := a.hooks.AllowLogin(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (a *AuthService) refresh(ctx context.Context, token string) (*TokenPair, error) {
	allowed, err := a.refreshAllowed(ctx, token)
	if err != nil {
		return nil, err
	}
	var pair *TokenPair
	reused, family := false, ""
	err = a.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		rt, err := a.lockRefreshToken(ctx, tx, token)
		switch {
		case err != nil:
			return err
		case rt.RevokedAt != nil:
			return ErrInvalidToken
		case rt.UsedAt != nil && !a.inGrace(*rt.UsedAt):
			reused, family = true, rt.FamilyID
			return revokeFamily(ctx, tx, rt.FamilyID)
		case a.expired(rt):
			return ErrInvalidToken
		}
		if rt.UsedAt == nil {
			res, err := tx.NewUpdate().Model((*refreshToken)(nil)).Set("used_at = ?", now()).
				Where("id = ?", rt.ID).Where("used_at IS NULL").Where("revoked_at IS NULL").Exec(ctx)
			if err != nil {
				return fmt.Errorf("auth: mark refresh token used: %w", err)
			}
			// The row is locked and was read unused and unrevoked: n is 1. Were it
			// not (a revocation slipped in), carrying the session on would undo it.
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrInvalidToken
			}
		}
		u := new(User)
		if err := tx.NewSelect().Model(u).Where("id = ?", rt.UserID).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrInvalidToken
			}
			return fmt.Errorf("auth: load user: %w", err)
		}
		if !u.Active {
			return ErrInvalidToken
		}
		// An unused token the Hooks were not asked about, or an account whose
		// address changed since they were: ask again (the rollback leaves the
		// token unused).
		if rt.UsedAt == nil && (allowed == nil || allowed.Email != u.Email || allowed.EmailVerified() != u.EmailVerified()) {
			return errUserChanged
		}
		pair, err = a.openSession(ctx, tx, u, rt.FamilyID, a.sessionStart(rt))
		return err
	})
	if err != nil {
		return nil, err
	}
	if reused {
		a.users.sessions.drop(family)
		a.logger.WarnContext(ctx, "auth: refresh token reused; session revoked")
		return nil, ErrTokenReused
	}
	return pair, nil
}

// lockRefreshToken loads the stored refresh token whose hash matches token,
// as findRefreshToken, for a refresh in tx: on PostgreSQL it first locks its
// account's row in share mode (see lockUser), then the token's row, and reads
// the token as it is once both are held. A revocation that committed while
// this waited is then seen (a plain read saw the token live, and a "mark
// used" finding it revoked was taken for a racing refresh within the grace),
// and a revocation still to come waits for this refresh and revokes its new
// token too. SQLite's transactions are serialised from their start.
func (a *AuthService) lockRefreshToken(ctx context.Context, tx bun.Tx, token string) (*refreshToken, error) {
	rt, err := findRefreshToken(ctx, tx, token)
	if err != nil || a.db.Engine() != database.Postgres {
		return rt, err
	}
	switch found, err := lockUser(ctx, a.db, tx, rt.UserID, "SHARE"); {
	case err != nil:
		return nil, err
	case !found:
		return nil, ErrInvalidToken
	}
	locked := new(refreshToken)
	if err := tx.NewSelect().Model(locked).Where("id = ?", rt.ID).For("UPDATE").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrInvalidToken
		}
		return nil, fmt.Errorf("auth: load refresh token: %w", err)
	}
	return locked, nil
}

// lockUser locks the row of account id in mode (SHARE or UPDATE) until tx
// ends, on PostgreSQL (SQLite's transactions take the write lock when they
// begin), and reports whether the account exists. The account's row orders
// sessions against their revocation: whatever stores a session token (a
// login, a refresh) holds it in share mode until it commits, whatever revokes
// sessions (logout, password change or reset, deactivation, deletion) takes
// it in update mode before it writes. A revocation's UPDATE sees only the
// tokens committed when it began, so without it a refresh committing just
// after kept its new token live through the revocation.
func lockUser(ctx context.Context, db *database.DB, tx bun.Tx, id int64, mode string) (bool, error) {
	if db.Engine() != database.Postgres {
		return true, nil
	}
	var got int64
	err := tx.NewSelect().Model((*User)(nil)).Column("id").Where("id = ?", id).For(mode).Scan(ctx, &got)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("auth: lock user: %w", err)
	}
	return true, nil
}

// expired reports whether rt may no longer be exchanged: past its own expiry,
// or its session past AUTH_SESSION_MAX_AGE. The second matters for tokens
// issued before the session's start was recorded, whose expiry is not capped.
func (a *AuthService) expired(rt *refreshToken) bool {
	t := now()
	return !t.Before(rt.ExpiresAt) || !t.Before(a.sessionStart(rt).Add(a.maxAge))
}

// sessionStart is when rt's session began; a row without it (SQLite cannot
// make the column NOT NULL) counts from the token's own creation.
func (a *AuthService) sessionStart(rt *refreshToken) time.Time {
	if rt.SessionStartedAt.IsZero() {
		return rt.CreatedAt
	}
	return rt.SessionStartedAt
}

// inGrace reports whether a refresh token first used at used may be used again: within
// AUTH_REFRESH_REUSE_GRACE, a second use is one client's requests racing (two tabs refreshing
// at once), and ending the session would sign the user out for refreshing twice.
func (a *AuthService) inGrace(used time.Time) bool {
	return a.reuseGrace > 0 && now().Sub(used) < a.reuseGrace
}

// Logout revokes the session (refresh-token family) token belongs to. An
// unknown token is not an error: the session is gone either way.
func (a *AuthService) Logout(ctx context.Context, token string) error {
	rt, err := findRefreshToken(ctx, a.db.Bun(), token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return nil
	case err != nil:
		return err
	}
	return a.LogoutSession(ctx, rt.FamilyID)
}

// LogoutSession revokes the session sid (an access token's SessionID): its
// refresh tokens stop working and its access tokens are refused at once in
// this process, within AUTH_SESSION_CHECK_TTL in others.
func (a *AuthService) LogoutSession(ctx context.Context, sid string) error {
	err := a.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// The session's account first (see lockUser): a refresh of the session
		// under way then commits before the revocation, which revokes its new
		// token too.
		var owner int64
		err := tx.NewSelect().Model((*refreshToken)(nil)).Column("user_id").Where("family_id = ?", sid).Limit(1).Scan(ctx, &owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil // no such session: nothing to revoke
		case err != nil:
			return fmt.Errorf("auth: load session: %w", err)
		}
		if _, err := lockUser(ctx, a.db, tx, owner, "UPDATE"); err != nil {
			return err
		}
		return revokeFamily(ctx, tx, sid)
	})
	if err != nil {
		return err
	}
	a.users.sessions.drop(sid)
	return nil
}

// findRefreshToken loads the stored refresh token whose hash matches
// token, in whatever state it is; a malformed or unknown token gives
// ErrInvalidToken.
func findRefreshToken(ctx context.Context, db bun.IDB, token string) (*refreshToken, error) {
	if token == "" || len(token) > MaxTokenLength {
		return nil, ErrInvalidToken
	}
	rt := new(refreshToken)
	err := db.NewSelect().Model(rt).Where("token_hash = ?", hashToken(token)).Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, fmt.Errorf("auth: load refresh token: %w", err)
	}
	return rt, nil
}

// Authenticate checks an access token and returns its (active) user and
// claims. Deactivated and deleted users give ErrInvalidToken even while
// their token has not expired, and so does a token whose session (sid) was
// logged out or revoked: at once when this process revoked it, within
// AUTH_SESSION_CHECK_TTL otherwise. Tokens without a sid (IssueAccessToken,
// for tests and tools) are bound to no session.
func (a *AuthService) Authenticate(ctx context.Context, token string) (*User, *Claims, error) {
	claims, err := a.signer.parse(token)
	if err != nil {
		return nil, nil, err
	}
	id, err := claims.UserID()
	if err != nil {
		return nil, nil, err
	}
	if claims.SessionID != "" {
		live, err := a.sessionLive(ctx, claims.SessionID, id)
		if err != nil {
			return nil, nil, err
		}
		if !live {
			return nil, nil, ErrInvalidToken
		}
	}
	u, err := a.users.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil, ErrInvalidToken
	case err != nil:
		return nil, nil, err
	case !u.Active:
		return nil, nil, ErrInvalidToken
	}
	return u, claims, nil
}

// IssueAccessToken signs an access token for u outside any session (for
// tests and tools); Login is the normal way to get one.
func (a *AuthService) IssueAccessToken(u *User) (string, error) {
	tok, _, err := a.signer.issue(u, "")
	return tok, err
}

// ChangePassword checks the current password, stores the new one and revokes
// every session of the user except keepSession (the caller's own, from the
// access token's sid claim; empty revokes all). The check counts against the
// account's password attempts like a login; ChangePasswordWith also limits by
// client IP.
func (a *AuthService) ChangePassword(ctx context.Context, userID int64, keepSession, current, next string) error {
	return a.ChangePasswordWith(ctx, ChangePasswordParams{UserID: userID, KeepSession: keepSession, Current: current, New: next})
}

// ChangePasswordParams describe a password change. IP is the client's
// address, for the per-IP limit (empty skips it).
type ChangePasswordParams struct {
	UserID      int64
	KeepSession string
	Current     string
	New         string
	IP          string
}

// ChangePasswordWith is ChangePassword with the client's IP.
func (a *AuthService) ChangePasswordWith(ctx context.Context, p ChangePasswordParams) error {
	u, err := a.users.Get(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := a.checkCurrentPassword(ctx, u, p.Current, p.IP); err != nil {
		return err
	}
	if normalizePassword(p.Current) == normalizePassword(p.New) {
		return invalid("new_password", "must differ from the current password")
	}
	if err := a.users.SetPassword(ctx, p.UserID, p.New); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) && ve.Field == "password" {
			ve.Field = "new_password"
		}
		return err
	}
	if err := a.revokeUserSessions(ctx, p.UserID, p.KeepSession); err != nil {
		return err
	}
	a.users.sessions.dropUser(p.UserID)
	a.hooks.PasswordChanged(ctx, u, PasswordChange{At: now()})
	return nil
}

// ResetPassword sets the password of the account userID without the
// current one, for a caller that established who the user is another way
// (a single-use link sent to the account's email), and revokes every
// session of the user (API refresh tokens and dashboard sessions); their
// access tokens stop working at once in this process. The password rules
// apply (a *ValidationError on field new_password); a deactivated account is
// ErrNotFound. It clears the account's login failures. The Hooks hear of it
// as a reset.
func (a *AuthService) ResetPassword(ctx context.Context, userID int64, next string) error {
	u, err := a.users.Get(ctx, userID)
	if err != nil {
		return err
	}
	if !u.Active {
		return ErrNotFound
	}
	if err := a.users.SetPassword(ctx, userID, next); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) && ve.Field == "password" {
			ve.Field = "new_password"
		}
		return err
	}
	if err := a.revokeUserSessions(ctx, userID, ""); err != nil {
		return err
	}
	a.users.sessions.dropUser(userID)
	// Whoever reset it proved the mailbox, and the failures counted were
	// guesses at the old password: the owner signs in with the new one at
	// once instead of waiting out AUTH_LOGIN_ACCOUNT_WINDOW. The new hash
	// gives the account a new limiter key in every instance (accountKey);
	// this frees the old count's entry here.
	a.byAccount.ResetContext(ctx, accountKey(u))
	a.hooks.PasswordChanged(ctx, u, PasswordChange{Reset: true, At: now()})
	return nil
}

// UpdateProfileParams change the signed-in user's own account; nil fields
// are left alone. A new email needs CurrentPassword: whoever holds a stolen
// access token must not be able to move the account (and its password
// resets) to their own address.
type UpdateProfileParams struct {
	Email           *string
	Username        *string
	FullName        *string
	CurrentPassword string
	IP              string
}

// UpdateProfile applies p to the account userID, checking the current
// password (through the shared limits) when the email changes.
func (a *AuthService) UpdateProfile(ctx context.Context, userID int64, p UpdateProfileParams) (*User, error) {
	if p.Email != nil {
		// The cheap check first: a malformed address costs no argon2id.
		if _, err := normalizeEmail(*p.Email); err != nil {
			return nil, err
		}
		u, err := a.users.Get(ctx, userID)
		if err != nil {
			return nil, err
		}
		if err := a.checkCurrentPassword(ctx, u, p.CurrentPassword, p.IP); err != nil {
			return nil, err
		}
	}
	return a.UpdateUser(ctx, userID, UpdateUserParams{Email: p.Email, Username: p.Username, FullName: p.FullName})
}

// UpdateUser is UserService.Update that tells the Hooks when the address
// changed (EmailChanged), after the change is stored: the profile endpoint
// and the admin API go through it.
func (a *AuthService) UpdateUser(ctx context.Context, id int64, p UpdateUserParams) (*User, error) {
	u, old, err := a.users.update(ctx, id, p)
	if err != nil {
		return nil, err
	}
	if u.Email != old {
		a.hooks.EmailChanged(ctx, u, old)
	}
	return u, nil
}

// revokeFamily revokes every live token of one session.
func revokeFamily(ctx context.Context, db bun.IDB, family string) error {
	_, err := db.NewUpdate().Model((*refreshToken)(nil)).Set("revoked_at = ?", now()).
		Where("family_id = ?", family).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	return nil
}

// revokeUserSessions is revokeSessions in a transaction of its own that locks
// the account first (see lockUser), so that a refresh under way commits
// before and its new token is revoked too.
func (a *AuthService) revokeUserSessions(ctx context.Context, userID int64, keep string) error {
	return a.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := lockUser(ctx, a.db, tx, userID, "UPDATE"); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, userID, keep)
	})
}

// revokeSessions revokes every live token of the user except those of the
// family keep, and every dashboard session of the user.
func revokeSessions(ctx context.Context, db bun.IDB, userID int64, keep string) error {
	q := db.NewUpdate().Model((*refreshToken)(nil)).Set("revoked_at = ?", now()).
		Where("user_id = ?", userID).Where("revoked_at IS NULL")
	if keep != "" {
		q = q.Where("family_id <> ?", keep)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("auth: revoke sessions: %w", err)
	}
	return revokeDashboardSessions(ctx, db, userID)
}
