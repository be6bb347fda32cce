package auth

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Roles. An admin passes every check a user passes.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Field limits.
const (
	MaxEmailLength    = 254
	MaxUsernameLength = 32
	MinUsernameLength = 3
	MaxFullNameLength = 100
)

// User is an account. PasswordHash is an argon2id PHC string (or a bcrypt
// hash imported from elsewhere, replaced at the next login); it is never
// serialised.
type User struct {
	bun.BaseModel `bun:"table:auth_users"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Email        string    `bun:"email,notnull"` // lower-cased
	Username     string    `bun:"username,notnull"`
	FullName     string    `bun:"full_name,notnull"`
	PasswordHash string    `bun:"password_hash,notnull" json:"-"`
	Role         string    `bun:"role,notnull"`
	Active       bool      `bun:"active,notnull"`
	SearchText   string    `bun:"search_text,notnull" json:"-"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// HasRole reports whether u may act as role: admins hold every role.
func (u *User) HasRole(role string) bool {
	if u == nil {
		return false
	}
	return role == "" || u.Role == role || u.Role == RoleAdmin
}

// refreshSearch recomputes the lower-cased text that search matches.
func (u *User) refreshSearch() {
	u.SearchText = strings.ToLower(u.Email + "\n" + u.Username + "\n" + u.FullName)
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// normalizeEmail validates an address and returns it lower-cased.
func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid("email", "is required")
	case len(s) > MaxEmailLength:
		return "", invalid("email", "must be at most 254 bytes")
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return "", invalid("email", "is not a valid email address")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", invalid("email", "is not a valid email address")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 || strings.HasPrefix(local, `"`) ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.ContainsAny(domain, "[]") {
		return "", invalid("email", "is not a valid email address")
	}
	return strings.ToLower(s), nil
}

// checkUsername validates a username: 3-32 ASCII letters, digits, '.', '_'
// or '-', starting with a letter or digit.
func checkUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid("username", "is required")
	case len(s) < MinUsernameLength || len(s) > MaxUsernameLength:
		return "", invalid("username", "must be 3 to 32 characters")
	case !usernamePattern.MatchString(s):
		return "", invalid("username", "may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit")
	case strings.Contains(s, "@"):
		return "", invalid("username", "must not contain '@'")
	}
	return s, nil
}

// checkFullName validates a display name: any printable text up to 100
// characters.
func checkFullName(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", invalid("full_name", "must be valid UTF-8")
	case utf8.RuneCountInString(s) > MaxFullNameLength:
		return "", invalid("full_name", "must be at most 100 characters")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0:
		return "", invalid("full_name", "must not contain control characters")
	}
	return s, nil
}

func checkRole(s string) (string, error) {
	switch s {
	case RoleUser, RoleAdmin:
		return s, nil
	case "":
		return RoleUser, nil
	default:
		return "", invalid("role", "must be user or admin")
	}
}
