package auth

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"golang.org/x/text/unicode/norm"
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
	// EmailVerifiedAt is when the owner of Email proved it (opened a link
	// sent to it, MarkEmailVerified); nil while unproven. Changing the email
	// clears it.
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
}

// EmailVerified reports whether the account's current email was confirmed.
func (u *User) EmailVerified() bool { return u != nil && u.EmailVerifiedAt != nil }

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

// foldIdentifier is how an email or username is compared and stored:
// NFKC-normalised, so that full-width, mathematical and other compatibility
// forms of a letter are that letter ("ａｄａ" is "ada") and one account
// cannot be registered twice in two spellings that look the same.
func foldIdentifier(s string) string { return norm.NFKC.String(strings.TrimSpace(s)) }

// invisible reports characters that render as nothing or reorder the text
// around them: format characters (zero-width space and joiners, soft hyphen,
// the byte-order mark, bidi marks, embeddings, overrides and isolates) and
// the other default-ignorable code points (Hangul fillers, the combining
// grapheme joiner). In an identifier they only serve to make two different
// strings look alike, or one read backwards.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// scriptOf returns the script of a letter or mark, "" for characters every
// script uses (digits, punctuation, combining marks that inherit one).
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return ""
	}
	if unicode.Is(unicode.Latin, r) {
		return "Latin"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// scriptMixes are the combinations of scripts one name may use (Unicode
// TS #39's "highly restrictive" level): Japanese, Chinese and Korean text
// mixes scripts by nature, and may carry Latin. Any other mix, such as a
// Cyrillic "а" among Latin letters, is how look-alikes of another address
// are made.
var scriptMixes = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
	{"Latin": true, "Han": true, "Hangul": true},
}

// mixedScripts reports whether s uses letters of scripts that do not go
// together.
func mixedScripts(s string) bool {
	seen := map[string]bool{}
	for _, r := range s {
		if sc := scriptOf(r); sc != "" {
			seen[sc] = true
		}
	}
	if len(seen) <= 1 {
		return false
	}
next:
	for _, allowed := range scriptMixes {
		for sc := range seen {
			if !allowed[sc] {
				continue next
			}
		}
		return false
	}
	return true
}

// checkLookup refuses, in an identifier or a search a client sent, what no
// stored account holds and a query cannot carry: invalid UTF-8 and control
// characters. PostgreSQL refuses both in text, and bun cannot quote a NUL
// (it writes an error marker into the SQL): without this check a NUL in a
// login or a search was a 500 with the SQL in the log, instead of the
// client's mistake, a 422 naming field.
func checkLookup(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return invalid(field, "must be valid UTF-8")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return invalid(field, "must not contain control characters such as NUL (U+0000); remove them")
	}
	return nil
}

// NormalizeEmail validates an address as registration does and returns it
// as accounts store it (NFKC, lower case), or a *ValidationError on field
// "email": for callers that look accounts up by an address a client typed.
func NormalizeEmail(s string) (string, error) { return normalizeEmail(s) }

// normalizeEmail validates an address and returns it NFKC-normalised and
// lower-cased. Invisible and bidi control characters are refused, and so is
// a local part or a domain label whose letters mix scripts (there is no IDNA
// library in the app's modules to store such domains as punycode; refusing
// them is the safe side).
func normalizeEmail(s string) (string, error) {
	s = foldIdentifier(s)
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
	if strings.IndexFunc(s, invisible) >= 0 {
		return "", invalid("email", "must not contain invisible or text-direction characters")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if mixedScripts(local) || slices.ContainsFunc(strings.Split(domain, "."), mixedScripts) {
		return "", invalid("email", "mixes letters of different scripts in one part, as look-alike addresses do")
	}
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
	s = foldIdentifier(s)
	switch {
	case s == "":
		return "", invalid("username", "is required")
	case len(s) < MinUsernameLength || len(s) > MaxUsernameLength:
		return "", invalid("username", "must be 3 to 32 characters")
	case !usernamePattern.MatchString(s):
		return "", invalid("username", "may contain only the letters a-z and A-Z (no accents), digits, '.', '_' and '-', and must start with a letter or digit")
	case strings.Contains(s, "@"):
		return "", invalid("username", "must not contain '@'")
	}
	return s, nil
}

// checkFullName validates a display name: any printable text up to 100
// characters, NFKC-normalised, without invisible or bidi control characters
// (a right-to-left override makes a name read as another in the users
// panel).
func checkFullName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.ValidString(s) {
		s = strings.TrimSpace(norm.NFKC.String(s))
	}
	switch {
	case !utf8.ValidString(s):
		return "", invalid("full_name", "must be valid UTF-8")
	case utf8.RuneCountInString(s) > MaxFullNameLength:
		return "", invalid("full_name", "must be at most 100 characters")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0:
		return "", invalid("full_name", "must not contain control characters")
	case strings.IndexFunc(s, invisible) >= 0:
		return "", invalid("full_name", "must not contain invisible or text-direction characters")
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
