package auth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Password rules.
const (
	MinPasswordLength = 8   // characters (runes)
	MaxPasswordLength = 128 // characters; longer ones are refused before hashing
)

// Argon2Params are the argon2id cost parameters. The zero value is not
// usable; Settings.WithDefaults fills the OWASP defaults.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// hasher hashes and verifies passwords with argon2id and knows a dummy hash
// to verify against when an account does not exist, so that a login for an
// unknown user costs as much as one with a wrong password.
//
// The dummy is a PHC string with the current parameters, a random salt and a
// random key: verifying a password against it derives one argon2id key with
// exactly the cost of a real verification, and no password matches it (the
// odds are those of guessing a 256-bit key). Making it costs no argon2id work,
// so start-up does not pay a 19 MiB, two-pass hash nobody needs until the first
// login for an unknown account, and that first login costs one derivation like
// every later one (a lazily computed real hash would cost it two).
type hasher struct {
	params Argon2Params
	dummy  string
	// derivations counts argon2id key derivations, so tests can check that an unknown account
	// costs the same work as a wrong password without timing anything.
	derivations atomic.Int64
	// hashes counts new hashes, so tests can check which requests skip the work.
	hashes atomic.Int64
	// gate bounds the hashes and verifications running at once (nil: no
	// bound); the request paths use hashBounded and verifyBounded.
	gate *hashGate
}

// newHasher returns a hasher with params p whose bounded operations go
// through gate (nil: unbounded).
func newHasher(p Argon2Params, gate ...*hashGate) (*hasher, error) {
	h := &hasher{params: p}
	if len(gate) > 0 {
		h.gate = gate[0]
	}
	dummy, err := dummyHash(p)
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// dummyHash returns an argon2id PHC string with parameters p, a random salt
// and a random key of the lengths hash uses: verifying against it costs what
// verifying against a real hash costs, and nothing verifies.
func dummyHash(p Argon2Params) (string, error) {
	var b [argonSaltLen + argonKeyLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: dummy password hash: %w", err)
	}
	return encodeArgon2(p, b[:argonSaltLen], b[argonSaltLen:]), nil
}

// encodeArgon2 is the PHC string of an argon2id key.
func encodeArgon2(p Argon2Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// normalizePassword is the form of password that is hashed: NFKC (NIST SP
// 800-63B, 5.1.1.2). The same typed password reaches the server composed
// ("é", U+00E9) from one keyboard or system and decomposed ("e" and U+0301)
// from another; hashed as sent, a password set on one did not open the account
// on the other.
func normalizePassword(password string) string { return norm.NFKC.String(password) }

// hash returns the PHC string of password (normalised):
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func (h *hasher) hash(password string) (string, error) {
	password = normalizePassword(password)
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, argonKeyLen)
	h.hashes.Add(1)
	return encodeArgon2(p, salt, key), nil
}

// errMalformedHash is returned for a stored hash in no format we know.
var errMalformedHash = errors.New("auth: malformed password hash")

// verify reports whether password matches encoded (argon2id PHC or bcrypt
// $2a$/$2b$/$2y$), and whether the hash should be replaced by a fresh one
// with the current parameters. Its normalised form is tried first; a password
// that is not already normalised is then tried as sent, as hashes made before
// passwords were normalised hold it (it matching asks for a rehash, which
// stores the normalised form). verifyDummy does the same work for the same
// input, so the second try tells nothing about whether the account exists.
func (h *hasher) verify(password, encoded string) (ok, rehash bool, err error) {
	normalized := normalizePassword(password)
	ok, rehash, err = h.verifyOne(normalized, encoded)
	if ok || err != nil || normalized == password {
		return ok, rehash, err
	}
	ok, _, err = h.verifyOne(password, encoded)
	return ok, ok, err
}

// verifyOne is verify of password exactly as given.
func (h *hasher) verifyOne(password, encoded string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := parseArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
		h.derivations.Add(1)
		ok = subtle.ConstantTimeCompare(got, key) == 1
		return ok, ok && (p != h.params || len(salt) != argonSaltLen || len(key) != argonKeyLen), nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, nil
		default:
			return false, false, fmt.Errorf("auth: verify bcrypt hash: %w", err)
		}
	default:
		return false, false, errMalformedHash
	}
}

// verifyDummy burns the time of one verification, for unknown accounts.
func (h *hasher) verifyDummy(password string) { _, _, _ = h.verify(password, h.dummy) }

// hashBounded is hash holding one of the gate's slots: what every request
// path uses, so the memory argon2id takes is bounded by the slots.
func (h *hasher) hashBounded(ctx context.Context, password string) (string, error) {
	release, err := h.gate.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return h.hash(password)
}

// verifyBounded is verify holding one of the gate's slots.
func (h *hasher) verifyBounded(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	release, err := h.gate.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	return h.verify(password, encoded)
}

// verifyDummyBounded is verifyDummy holding one of the gate's slots.
func (h *hasher) verifyDummyBounded(ctx context.Context, password string) error {
	release, err := h.gate.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	h.verifyDummy(password)
	return nil
}

func parseArgon2(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return p, nil, nil, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, errMalformedHash
	}
	if p.MemoryKiB == 0 || p.Iterations == 0 || p.Parallelism == 0 || p.MemoryKiB > 4<<20 || p.Iterations > 100 {
		return p, nil, nil, errMalformedHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errMalformedHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}

//go:embed common_passwords.txt
var commonPasswordsFile []byte

// commonPasswords returns the embedded list, lower-cased; built on first use rather than in
// init, where it cost every start (the commands' too) its thousand map inserts.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 1100)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether password (case-insensitively) is on the
// embedded list of the most common passwords.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}

// checkPassword applies the password rules; identity holds strings the
// password must not equal (email, username).
func checkPassword(password string, identity ...string) error {
	if !utf8.ValidString(password) || strings.ContainsRune(password, utf8.RuneError) {
		// JSON decoding replaces invalid UTF-8 and lone surrogates with U+FFFD, so
		// over the API the bytes sent are already gone: the stored password would
		// not be the one typed, and different ones would collapse into one.
		return invalid("password", "must be valid UTF-8 text, without invalid bytes, lone surrogates or U+FFFD")
	}
	// The bound on length is on what was sent, which the login's work is
	// bounded by (NFKC may expand some characters many times), and is checked
	// before any normalising; the other rules judge what is hashed (a
	// decomposed "é" is one character, not two).
	if utf8.RuneCountInString(password) > MaxPasswordLength {
		return invalid("password", fmt.Sprintf("must be at most %d characters", MaxPasswordLength))
	}
	password = normalizePassword(password)
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return invalid("password", fmt.Sprintf("must be at least %d characters", MinPasswordLength))
	case strings.ContainsRune(password, 0):
		return invalid("password", "must not contain NUL characters")
	case strings.TrimFunc(password, unicode.IsSpace) == "":
		// Long enough and on no list, yet the first thing a guesser tries.
		return invalid("password", "must not be only spaces or other whitespace: add letters, digits or symbols (spaces between words are fine)")
	case IsCommonPassword(password):
		return invalid("password", "is one of the most common passwords; choose another")
	}
	for _, id := range identity {
		if id != "" && strings.EqualFold(password, id) {
			return invalid("password", "must not be your email or username")
		}
	}
	return nil
}
