package auth

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"golang.org/x/text/unicode/norm"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
)

// UserService stores accounts and checks passwords. It is safe for
// concurrent use.
type UserService struct {
	db     *database.DB
	hasher *hasher
	// sessions caches the liveness of access tokens' sessions; the service
	// drops a user's entries when it revokes their sessions.
	sessions *sessionCache
}

// NewUserService is the registry constructor: Settings hold the argon2id
// parameters.
func NewUserService(_ context.Context, db *database.DB, s Settings) (*UserService, error) {
	return NewUserServiceWith(db, s)
}

// NewUserServiceWith returns a UserService using the argon2id parameters of
// s (after WithDefaults).
func NewUserServiceWith(db *database.DB, s Settings) (*UserService, error) {
	if db == nil {
		return nil, errors.New("auth: new user service: nil database")
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	h, err := newHasher(Argon2Params{MemoryKiB: s.Argon2MemoryKiB, Iterations: s.Argon2Iterations, Parallelism: s.Argon2Parallelism},
		newHashGate(s.hashConcurrency(), s.HashQueue, s.HashWait))
	if err != nil {
		return nil, err
	}
	return &UserService{db: db, hasher: h, sessions: newSessionCache(s.SessionCheckTTL)}, nil
}

// CreateUserParams describe a new account. Role defaults to user; Active
// defaults to true unless Inactive is set.
type CreateUserParams struct {
	Email    string
	Username string
	Password string
	FullName string
	Role     string
	Inactive bool
	// EmailVerified records the email as confirmed from the start: an
	// operator creating the account (users create-admin) vouches for it.
	EmailVerified bool
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Create validates p, hashes the password and stores the account. A taken
// email or username is ErrEmailTaken or ErrUsernameTaken, even when two
// creations race. The cheap checks (the rules, then a lookup of the email and
// username) come before the hash, so a flood of sign-ups for taken or invalid
// accounts costs no argon2id work; the answer for a taken email is the same
// 409 as before (the unique index still decides a race), so answering early
// tells an attacker nothing the old answer did not.
func (s *UserService) Create(ctx context.Context, p CreateUserParams) (*User, error) {
	// Every field is checked, so one answer names all that need fixing.
	email, emailErr := normalizeEmail(p.Email)
	username, usernameErr := checkUsername(p.Username)
	fullName, nameErr := checkFullName(p.FullName)
	role, roleErr := checkRole(p.Role)
	passwordErr := checkPassword(p.Password, cmp.Or(email, p.Email), cmp.Or(username, p.Username))
	if err := joinInvalid(emailErr, usernameErr, nameErr, roleErr, passwordErr); err != nil {
		return nil, err
	}
	if err := s.checkTaken(ctx, email, username); err != nil {
		return nil, err
	}
	hash, err := s.hasher.hashBounded(ctx, p.Password)
	if err != nil {
		return nil, err
	}
	t := now()
	u := &User{Email: email, Username: username, FullName: fullName, PasswordHash: hash,
		Role: role, Active: !p.Inactive, CreatedAt: t, UpdatedAt: t}
	if p.EmailVerified {
		u.EmailVerifiedAt = &t
	}
	u.refreshSearch()
	if _, err := s.db.Bun().NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
		return nil, s.conflict(ctx, err, u.ID, email)
	}
	return u, nil
}

// checkTaken returns ErrEmailTaken or ErrUsernameTaken when an account
// already holds email or username (compared as the unique indexes do).
func (s *UserService) checkTaken(ctx context.Context, email, username string) error {
	var taken []User
	err := s.db.Bun().NewSelect().Model(&taken).Column("email").
		Where("email = ?", email).WhereOr("lower(username) = ?", strings.ToLower(username)).Limit(2).Scan(ctx)
	if err != nil {
		return fmt.Errorf("auth: look up email and username: %w", err)
	}
	for _, u := range taken {
		if u.Email == email {
			return ErrEmailTaken
		}
	}
	if len(taken) > 0 {
		return ErrUsernameTaken
	}
	return nil
}

// conflict turns a unique violation into ErrEmailTaken or ErrUsernameTaken.
func (s *UserService) conflict(ctx context.Context, err error, selfID int64, email string) error {
	if !database.IsUniqueViolation(err) {
		return fmt.Errorf("auth: store user: %w", err)
	}
	n, cerr := s.db.Bun().NewSelect().Model((*User)(nil)).Where("email = ?", email).Where("id <> ?", selfID).Count(ctx)
	if cerr == nil && n > 0 {
		return ErrEmailTaken
	}
	return ErrUsernameTaken
}

// Get returns the account with id, or ErrNotFound.
func (s *UserService) Get(ctx context.Context, id int64) (*User, error) {
	return s.getWhere(ctx, "id = ?", id)
}

// GetByEmail returns the account with email (any case), or ErrNotFound.
// An email with a control character is a *ValidationError on "email": no
// account holds one (see checkLookup).
func (s *UserService) GetByEmail(ctx context.Context, email string) (*User, error) {
	if err := checkLookup("email", email); err != nil {
		return nil, err
	}
	return s.getWhere(ctx, "email = ?", strings.ToLower(foldIdentifier(email)))
}

// GetByUsername returns the account with username (any case), or ErrNotFound.
// A username with a control character is a *ValidationError on "username".
func (s *UserService) GetByUsername(ctx context.Context, username string) (*User, error) {
	if err := checkLookup("username", username); err != nil {
		return nil, err
	}
	return s.getWhere(ctx, "lower(username) = ?", strings.ToLower(foldIdentifier(username)))
}

// GetByLogin looks login up as an email when it contains '@', else as a
// username.
func (s *UserService) GetByLogin(ctx context.Context, login string) (*User, error) {
	if err := checkLookup("login", login); err != nil {
		return nil, err
	}
	login = foldIdentifier(login) // a full-width ＠ is an @
	if strings.Contains(login, "@") {
		return s.GetByEmail(ctx, login)
	}
	return s.GetByUsername(ctx, login)
}

func (s *UserService) getWhere(ctx context.Context, where string, arg any) (*User, error) {
	u := new(User)
	err := s.db.Bun().NewSelect().Model(u).Where(where, arg).Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("auth: load user: %w", err)
	}
	return u, nil
}

// VerifyPassword checks login and password. Unknown accounts, wrong
// passwords and deactivated accounts all return ErrInvalidCredentials after
// about the same work (a dummy hash is verified for unknown accounts). A
// bcrypt or outdated argon2id hash is replaced with a fresh one.
func (s *UserService) VerifyPassword(ctx context.Context, login, password string) (*User, error) {
	u, err := s.GetByLogin(ctx, login)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return s.verify(ctx, u, password)
}

// verify checks password against u, or against the dummy hash when u is nil.
func (s *UserService) verify(ctx context.Context, u *User, password string) (*User, error) {
	if len(password) > 4*MaxPasswordLength {
		// Longer than any password we accept; still burn the time.
		password = password[:4*MaxPasswordLength]
		u = nil
	}
	if u == nil {
		if err := s.hasher.verifyDummyBounded(ctx, password); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	ok, rehash, err := s.hasher.verifyBounded(ctx, password, u.PasswordHash)
	if isOverload(err) {
		return nil, err
	}
	if err != nil || !ok || !u.Active {
		// A malformed stored hash must not tell the client anything different.
		return nil, ErrInvalidCredentials
	}
	if rehash {
		if hash, err := s.hasher.hashBounded(ctx, password); err == nil {
			// Only over the hash just verified: a password changed or reset
			// since u was read must not be replaced by this (old) one.
			verified := u.PasswordHash
			u.PasswordHash = hash
			res, err := s.db.Bun().NewUpdate().Model(u).Column("password_hash").WherePK().
				Where("password_hash = ?", verified).Exec(ctx)
			var n int64
			if err == nil {
				n, _ = res.RowsAffected()
			}
			if n != 1 {
				// Not written (housekeeping: the next login upgrades it), or
				// replaced meanwhile: u keeps the hash stored, which a login's
				// session is checked against.
				u.PasswordHash = verified
			}
		}
	}
	return u, nil
}

// CheckNewPassword checks password against the rules for u's account (length,
// common passwords, not the email or username) without storing it: a
// *ValidationError on field "password", or nil. SetPassword applies the same
// rules.
func (s *UserService) CheckNewPassword(u *User, password string) error {
	if u == nil {
		return ErrNotFound
	}
	return checkPassword(password, u.Email, u.Username)
}

// MarkEmailVerified records that the owner of email proved it, for the
// account id, if email is still that account's address (compared as stored:
// NFKC, lower case); otherwise, or when there is no such account, it
// returns ErrNotFound. An address already confirmed keeps its first time.
func (s *UserService) MarkEmailVerified(ctx context.Context, id int64, email string) (*User, error) {
	if checkLookup("email", email) != nil {
		return nil, ErrNotFound // no account holds such an address
	}
	t := now()
	_, err := s.db.Bun().NewUpdate().Model((*User)(nil)).
		Set("email_verified_at = ?", t).Set("updated_at = ?", t).
		Where("id = ?", id).Where("email = ?", strings.ToLower(foldIdentifier(email))).
		Where("email_verified_at IS NULL").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: mark email verified: %w", err)
	}
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Email != strings.ToLower(foldIdentifier(email)) || u.EmailVerifiedAt == nil {
		return nil, ErrNotFound
	}
	return u, nil
}

// SetPassword checks password against the rules and stores its hash.
func (s *UserService) SetPassword(ctx context.Context, id int64, password string) error {
	u, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := checkPassword(password, u.Email, u.Username); err != nil {
		return err
	}
	hash, err := s.hasher.hashBounded(ctx, password)
	if err != nil {
		return err
	}
	u.PasswordHash, u.UpdatedAt = hash, now()
	if _, err := s.db.Bun().NewUpdate().Model(u).Column("password_hash", "updated_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("auth: store password: %w", err)
	}
	return nil
}

// UpdateUserParams change an account; nil fields are left alone. Actor is
// the ID of the account making the change, 0 for an operator outside the
// app (the users command): an actor cannot deactivate or demote their own
// account.
type UpdateUserParams struct {
	Email    *string
	Username *string
	FullName *string
	Role     *string
	Active   *bool
	Actor    int64
}

// Update applies p to the account with id and returns it. Deactivating an
// account also revokes its refresh tokens.
//
// The admin rules live here so the API, the dashboard panel and the users
// command cannot disagree: deactivating or demoting p.Actor's own account is
// ErrSelf, and deactivating or demoting the last active admin is
// ErrLastAdmin, whoever asks (an app nobody can administer has no way back
// but the database).
//
// It does not tell the Hooks of a new address: AuthService.UpdateUser does.
func (s *UserService) Update(ctx context.Context, id int64, p UpdateUserParams) (*User, error) {
	u, _, err := s.update(ctx, id, p)
	return u, err
}

// update is Update that also returns the address the account had before
// (equal to u.Email when it did not change).
//
// The account is read inside the transaction that writes it, locked on
// PostgreSQL (SQLite's transactions take the write lock when they begin):
// every column is written back, so a row read before a concurrent change
// would undo it, such as a user's own profile edit reactivating the account
// an admin deactivated meanwhile, or giving back the admin role just taken.
func (s *UserService) update(ctx context.Context, id int64, p UpdateUserParams) (*User, string, error) {
	var (
		u          *User
		old        string
		deactivate bool
		refused    error // the change's own answer (bad input, ErrSelf), kept from the wrapping below
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var admins []int64
		if p.Role != nil || p.Active != nil {
			// The active admins' rows first, then the account's: the order
			// keepAnAdmin locks them in, so two admins demoting each other
			// wait for one another instead of deadlocking.
			var err error
			if admins, err = s.lockActiveAdmins(ctx, tx); err != nil {
				return err
			}
		}
		u = new(User)
		q := tx.NewSelect().Model(u).Where("id = ?", id)
		if s.db.Engine() == database.Postgres {
			q = q.For("UPDATE")
		}
		switch err := q.Scan(ctx); {
		case errors.Is(err, sql.ErrNoRows):
			refused = ErrNotFound
			return refused
		case err != nil:
			return fmt.Errorf("auth: load user: %w", err)
		}
		old = u.Email
		var columns []string
		var losesAdmin bool
		columns, deactivate, losesAdmin, refused = u.apply(p)
		if refused != nil {
			return refused
		}
		if losesAdmin {
			if refused = anotherAdmin(admins, u.ID); refused != nil {
				return refused
			}
		}
		if _, err := tx.NewUpdate().Model(u).Column(columns...).WherePK().Exec(ctx); err != nil {
			return err
		}
		if deactivate {
			return revokeSessions(ctx, tx, u.ID, "")
		}
		return nil
	})
	switch {
	case refused != nil:
		return nil, "", refused
	case database.IsUniqueViolation(err):
		return nil, "", s.conflict(ctx, err, u.ID, u.Email)
	case err != nil:
		return nil, "", fmt.Errorf("auth: update user: %w", err)
	}
	if deactivate {
		s.sessions.dropUser(u.ID)
	}
	return u, old, nil
}

// apply sets p's fields on u and returns the columns to write, whether the
// account is being deactivated and whether it stops being an active admin;
// the error is bad input (every field's) or ErrSelf.
func (u *User) apply(p UpdateUserParams) (columns []string, deactivate, losesAdmin bool, err error) {
	columns = []string{"email", "username", "full_name", "role", "active", "search_text", "updated_at"}
	// Every field given is checked, so one answer names all that need fixing.
	var emailErr, usernameErr, nameErr, roleErr error
	if p.Email != nil {
		was := u.Email
		if u.Email, emailErr = normalizeEmail(*p.Email); emailErr == nil && u.Email != was {
			// Whoever owns the new address has not proved it yet.
			u.EmailVerifiedAt = nil
			columns = append(columns, "email_verified_at")
		}
	}
	if p.Username != nil {
		u.Username, usernameErr = checkUsername(*p.Username)
	}
	if p.FullName != nil {
		u.FullName, nameErr = checkFullName(*p.FullName)
	}
	was := u.Role
	if p.Role != nil {
		if *p.Role == "" {
			roleErr = invalid("role", "must be user or admin")
		} else {
			u.Role, roleErr = checkRole(*p.Role)
		}
	}
	if err := joinInvalid(emailErr, usernameErr, nameErr, roleErr); err != nil {
		return nil, false, false, err
	}
	wasActiveAdmin := u.Active && was == RoleAdmin
	deactivate = p.Active != nil && !*p.Active && u.Active
	if p.Active != nil {
		u.Active = *p.Active
	}
	losesAdmin = wasActiveAdmin && !(u.Active && u.Role == RoleAdmin)
	if p.Actor != 0 && p.Actor == u.ID && (deactivate || losesAdmin) {
		return nil, false, false, ErrSelf
	}
	u.UpdatedAt = now()
	u.refreshSearch()
	return columns, deactivate, losesAdmin, nil
}

// keepAnAdmin returns ErrLastAdmin unless an active admin other than id
// exists. On PostgreSQL it locks the active admins' rows, id's included, in
// id order until tx ends, so two admins deactivating each other at once
// (from two instances, say) cannot both pass: the second waits for the
// first and then sees it gone. Locking only the others, each would hold the
// row the other then updates: a deadlock, answered with a 500. SQLite lets
// one write transaction in at a time, and a second one that read before the
// first committed fails to write rather than act on a stale count.
func (s *UserService) keepAnAdmin(ctx context.Context, tx bun.Tx, id int64) error {
	admins, err := s.lockActiveAdmins(ctx, tx)
	if err != nil {
		return err
	}
	return anotherAdmin(admins, id)
}

// anotherAdmin returns ErrLastAdmin unless admins holds an id other than id.
func anotherAdmin(admins []int64, id int64) error {
	if !slices.ContainsFunc(admins, func(a int64) bool { return a != id }) {
		return ErrLastAdmin
	}
	return nil
}

// lockActiveAdmins returns the active admins' ids, their rows locked in id
// order until tx ends on PostgreSQL (see keepAnAdmin).
func (s *UserService) lockActiveAdmins(ctx context.Context, tx bun.Tx) ([]int64, error) {
	var admins []int64
	q := tx.NewSelect().Model((*User)(nil)).Column("id").
		Where("role = ?", RoleAdmin).Where("active = ?", true).OrderExpr("id")
	if s.db.Engine() == database.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx, &admins); err != nil {
		return nil, fmt.Errorf("auth: count active admins: %w", err)
	}
	return admins, nil
}

// Deactivate marks the account inactive and revokes its sessions; its
// access tokens stop working at once.
func (s *UserService) Deactivate(ctx context.Context, id int64) (*User, error) {
	f := false
	return s.Update(ctx, id, UpdateUserParams{Active: &f})
}

// Delete removes the account and its sessions; ErrNotFound if there is none,
// ErrLastAdmin if it is the last active admin. It is DeleteBy for an
// operator outside the app.
func (s *UserService) Delete(ctx context.Context, id int64) error {
	return s.DeleteBy(ctx, 0, id)
}

// DeleteBy is Delete on behalf of the account actor (0: an operator outside
// the app), who cannot delete their own account (ErrSelf).
func (s *UserService) DeleteBy(ctx context.Context, actor, id int64) error {
	if actor != 0 && actor == id {
		return ErrSelf
	}
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u := new(User)
		switch err := tx.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("auth: load user: %w", err)
		}
		if u.Active && u.Role == RoleAdmin {
			if err := s.keepAnAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		// The account's row before its tokens, as every revocation locks it
		// (see lockUser), after the admins' as update takes them: deleting the
		// tokens first waited for a refresh holding one of them while the
		// refresh waited for the account's row.
		if _, err := lockUser(ctx, s.db, tx, id, "UPDATE"); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*refreshToken)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("auth: delete sessions: %w", err)
		}
		res, err := tx.NewDelete().Model((*User)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("auth: delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err == nil {
		s.sessions.dropUser(id)
	}
	return err
}

// Pagination limits of List.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// TotalCap bounds the counting List does: past the page's offset it counts at
// most TotalCap more matches, so a page costs the same with a million
// accounts as with ten thousand. ListUsersResult.TotalCapped says when the
// count stopped there.
const TotalCap = 10_000

// MinSubstring is the shortest search that matches anywhere in the text (the
// indexes work on trigrams); a shorter one matches the start of the email or
// the username.
const MinSubstring = 3

// ListUsersParams select a page of accounts. Query matches email, username
// and full name, case-insensitively and NFKC-normalised (a full-width "ａｄａ"
// finds "ada"), as a substring when it has at least MinSubstring characters;
// a query of 1 or 2 characters matches the start of the email or the
// username. Nil Active and empty Role mean any. Page counts from 1.
type ListUsersParams struct {
	Query   string
	Active  *bool
	Role    string
	Page    int
	PerPage int
}

// ListUsersResult is one page and the number of matches. Total is exact
// unless TotalCapped: then more than Total accounts match (Total is the
// page's offset plus TotalCap), and the next pages exist.
type ListUsersResult struct {
	Users       []*User
	Total       int
	TotalCapped bool
	Page        int
	PerPage     int
}

// likeEscaper escapes LIKE wildcards; the queries say ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// maxRune sorts after every other code point in UTF-8.
const maxRune = string(utf8.MaxRune)

// searchTerm is a query as search_text is written: NFKC, lower case.
func searchTerm(q string) string {
	return strings.TrimSpace(strings.ToLower(norm.NFKC.String(strings.TrimSpace(q))))
}

// ftsPhrase quotes term as one FTS5 phrase: with the trigram tokenizer it
// matches the rows that contain term.
func ftsPhrase(term string) string { return `"` + strings.ReplaceAll(term, `"`, `""`) + `"` }

// List returns the accounts matching p, oldest first.
//
// No search reads every row: one of MinSubstring or more characters goes
// through the trigram index (SQLite: the FTS5 table auth_users_fts; PostgreSQL:
// the pg_trgm GIN index, when the extension could be created), a shorter one
// through the indexes on email and username, and the total stops counting at
// TotalCap. (Active and Role have no index of their own: they filter the rows
// the search or the id order gives, so a rare role on its own walks the table
// until the page is full, as before.)
func (s *UserService) List(ctx context.Context, p ListUsersParams) (*ListUsersResult, error) {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.PerPage < 1 {
		p.PerPage = DefaultPageSize
	}
	p.PerPage = min(p.PerPage, MaxPageSize)
	if err := checkLookup("q", p.Query); err != nil {
		return nil, err
	}
	if p.Role != "" {
		if _, err := checkRole(p.Role); err != nil {
			return nil, err
		}
	}
	offset, err := backend.PageOffset(p.Page, p.PerPage)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	dense, err := s.densePrefix(ctx, p.Query)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	var users []*User
	rows := s.listQuery(s.db.Bun().NewSelect().Model(&users), p, true, dense)
	if err := rows.Limit(int64(p.PerPage)).Offset(offset).Scan(ctx); err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	if users == nil {
		users = []*User{}
	}
	res := &ListUsersResult{Users: users, Page: p.Page, PerPage: p.PerPage}
	if len(users) > 0 && len(users) < p.PerPage {
		// The last page: no need to count.
		res.Total = int(offset) + len(users)
		return res, nil
	}
	// count(*) over at most offset+TotalCap+1 matches.
	limit := int(offset) + TotalCap + 1
	matches := s.listQuery(s.db.Bun().NewSelect().Model((*User)(nil)).ColumnExpr("1"), p, false, dense).Limit(int64(limit))
	var n int
	if err := s.db.Bun().NewSelect().ColumnExpr("count(*)").TableExpr("(?) AS m", matches).Scan(ctx, &n); err != nil {
		return nil, fmt.Errorf("auth: count users: %w", err)
	}
	res.Total = n
	if n >= limit {
		res.Total, res.TotalCapped = limit-1, true
	}
	return res, nil
}

// denseRows is where a short search counts as dense (densePrefix).
const denseRows = 5000

// densePrefix reports, on SQLite, whether query is a short one (a prefix
// search) that starts at least denseRows emails or usernames. SQLite has no
// statistics to choose between the two ways to list them oldest first, and
// each is slow for the other case: collecting the ids from the indexes and
// sorting them costs what the matches are (a second for "u" among a million
// user<N>); walking the rows in id order until the page is full costs, for a
// page, about (offset+page size) × accounts ÷ matches rows, which is a scan
// of every row when nothing matches. Two capped counts, through the indexes,
// choose: at most 2 × denseRows ids are sorted, or at most accounts ÷
// denseRows rows are read per row shown. PostgreSQL's planner makes this
// choice from its statistics.
func (s *UserService) densePrefix(ctx context.Context, query string) (bool, error) {
	term := searchTerm(query)
	if s.db.Engine() != database.SQLite || term == "" || utf8.RuneCountInString(term) >= MinSubstring {
		return false, nil
	}
	for _, col := range []string{"email", "lower(username)"} {
		var n int
		err := s.db.Bun().NewRaw("SELECT count(*) FROM (SELECT 1 FROM auth_users WHERE "+col+" >= ? AND "+col+" < ? LIMIT ?)",
			term, term+maxRune, denseRows).Scan(ctx, &n)
		if err != nil {
			return false, err
		}
		if n >= denseRows {
			return true, nil
		}
	}
	return false, nil
}

// listQuery adds p's filters to q, and the order when ordered. dense is
// densePrefix's answer.
func (s *UserService) listQuery(q *bun.SelectQuery, p ListUsersParams, ordered, dense bool) *bun.SelectQuery {
	order := "?TableAlias.id ASC"
	switch term := searchTerm(p.Query); {
	case term == "":
	case dense && ordered:
		// Many matches: the rows in id order (the unary + keeps SQLite
		// off the indexes), which fill a page after few rows.
		q = q.Where(`((+?TableAlias.email >= ? AND +?TableAlias.email < ?) OR (+lower(?TableAlias.username) >= ? AND +lower(?TableAlias.username) < ?))`,
			term, term+maxRune, term, term+maxRune)
	case dense:
		// Counting needs no order: both indexes, one after the other,
		// until the count's limit.
		q = q.Where(`((?TableAlias.email >= ? AND ?TableAlias.email < ?) OR (lower(?TableAlias.username) >= ? AND lower(?TableAlias.username) < ?))`,
			term, term+maxRune, term, term+maxRune)
	case utf8.RuneCountInString(term) < MinSubstring:
		// Too short for trigrams: the start of the email or the username,
		// each through its unique index. [term, term+U+10FFFF) holds the
		// strings that start with term (but for one that goes on with the
		// noncharacter U+10FFFF); bun writes the values into the SQL and
		// would replace an invalid byte such as 0xFF.
		if s.db.Engine() == database.Postgres {
			// LIKE 'te%' through the text_pattern_ops indexes of migration
			// 00003, whatever the database's collation.
			prefix := likeEscaper.Replace(term) + "%"
			q = q.Where(`(?TableAlias.email LIKE ? OR lower(?TableAlias.username) LIKE ?)`, prefix, prefix)
		} else {
			// The ids from the two indexes alone (covering), then the rows
			// by primary key in id order.
			q = q.Where(`?TableAlias.id IN (SELECT id FROM auth_users WHERE email >= ? AND email < ?
				UNION SELECT id FROM auth_users WHERE lower(username) >= ? AND lower(username) < ?)`,
				term, term+maxRune, term, term+maxRune)
		}
	case s.db.Engine() == database.Postgres:
		// The pg_trgm GIN index serves this LIKE as it is.
		q = q.Where(`?TableAlias.search_text LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(term)+"%")
	default:
		// FTS5 returns its matches in rowid order, so the join reads them as
		// the page needs them and stops at the limit. The LIKE checks the few
		// rows it returns, so the answers are exactly those of a scan.
		q = q.Join("JOIN auth_users_fts AS fts ON fts.rowid = ?TableAlias.id").
			Where("fts.auth_users_fts MATCH ?", ftsPhrase(term)).
			Where(`?TableAlias.search_text LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(term)+"%")
		order = "fts.rowid ASC"
	}
	if p.Active != nil {
		q = q.Where("?TableAlias.active = ?", *p.Active)
	}
	if p.Role != "" {
		q = q.Where("?TableAlias.role = ?", p.Role)
	}
	if ordered {
		q = q.OrderExpr(order)
	}
	return q
}
