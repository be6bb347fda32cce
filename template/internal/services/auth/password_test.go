package auth

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

var fastParams = Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h, err := newHasher(fastParams)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.hash("päßwörd 🔑")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(enc, "$") != 5 {
		t.Fatalf("hash = %q, want a PHC argon2id string", enc)
	}
	if enc2, _ := h.hash("päßwörd 🔑"); enc2 == enc {
		t.Fatal("two hashes of one password are equal: no salt?")
	}
	if ok, rehash, err := h.verify("päßwörd 🔑", enc); !ok || rehash || err != nil {
		t.Fatalf("verify = %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.verify("päßwörd 🔐", enc); ok {
		t.Fatal("wrong password verified")
	}
	// Stronger parameters ask for a rehash of old hashes.
	h2, _ := newHasher(Argon2Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1})
	if ok, rehash, _ := h2.verify("päßwörd 🔑", enc); !ok || !rehash {
		t.Fatalf("verify with new params = %v, rehash %v", ok, rehash)
	}
	// bcrypt, as imported from elsewhere.
	b, _ := bcrypt.GenerateFromPassword([]byte("hunter2hunter2"), bcrypt.MinCost)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		enc := prefix + string(b[4:])
		if ok, rehash, err := h.verify("hunter2hunter2", enc); !ok || !rehash || err != nil {
			t.Fatalf("bcrypt %s: %v %v %v", prefix, ok, rehash, err)
		}
		if ok, _, _ := h.verify("hunter3hunter3", enc); ok {
			t.Fatalf("bcrypt %s: wrong password verified", prefix)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$!!$!!", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$2a$04$short", "$1$md5$crypt"} {
		if ok, _, _ := h.verify("x", bad); ok {
			t.Fatalf("malformed hash %q verified", bad)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	t.Parallel()
	if len(commonPasswords()) < 1000 {
		t.Fatalf("only %d common passwords embedded", len(commonPasswords()))
	}
	for _, p := range []string{"password", "PASSWORD", "Password1", "12345678", "qwertyuiop", "iloveyou", "trustno1", "letmein123", "football", "P@ssw0rd"} {
		if err := checkPassword(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	for _, p := range []string{"", "short", "1234567", strings.Repeat("x", MaxPasswordLength+1), "abc\x00defghijk", "bad\xffutf8xx"} {
		if err := checkPassword(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	if err := checkPassword("Alice.Smith", "alice@example.com", "alice.smith"); err == nil {
		t.Error("password equal to the username accepted")
	}
	for _, p := range []string{goodPassword, "ĉiuj ĉevaloj", "🔐🔐🔐🔐🔐🔐🔐🔐", strings.Repeat("y", MaxPasswordLength)} {
		if err := checkPassword(p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
	// Only whitespace is refused, with a fix; a passphrase with spaces is not.
	for _, c := range []struct {
		password string
		refused  bool
	}{
		{strings.Repeat(" ", 10), true},
		{" \t\n\u00a0\u2003\u3000  ", true},
		{strings.Repeat(" ", MaxPasswordLength), true},
		{"correct horse battery", false},
		{"   leading and trailing   ", false},
		{strings.Repeat(" ", 9) + "x", false},
	} {
		err := checkPassword(c.password)
		if c.refused && (err == nil || !strings.Contains(err.Error(), "password") || !strings.Contains(err.Error(), "only spaces")) {
			t.Errorf("%q: %v, want a refusal naming the field and the fix", c.password, err)
		}
		if !c.refused && err != nil {
			t.Errorf("%q refused: %v", c.password, err)
		}
	}
	if err := checkPassword("short"); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("error %v repeats the password", err)
	}
}

// TestUnknownAccountCostsTheSame: a login for an unknown account does the same argon2id work as
// one with a wrong password (one derivation, same parameters, same key length), so timing does
// not tell whether an account exists. Counting the work, not timing it, keeps this exact on a
// loaded machine.
func TestUnknownAccountCostsTheSame(t *testing.T) {
	t.Parallel()
	params := Argon2Params{MemoryKiB: 8 << 10, Iterations: 1, Parallelism: 1}
	h, err := newHasher(params)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := h.hash(goodPassword)
	dp, _, dkey, err := parseArgon2(h.dummy)
	if err != nil {
		t.Fatal(err)
	}
	rp, _, rkey, _ := parseArgon2(real)
	if dp != rp || dp != params || len(dkey) != len(rkey) {
		t.Fatalf("dummy hash %q and a real one %q differ in cost", h.dummy, real)
	}
	before := h.derivations.Load()
	_, _, _ = h.verify("wrong password", real)
	wrong := h.derivations.Load() - before
	before = h.derivations.Load()
	h.verifyDummy("wrong password")
	unknown := h.derivations.Load() - before
	if wrong != 1 || unknown != 1 {
		t.Errorf("derivations: wrong password %d, unknown account %d; want 1 each", wrong, unknown)
	}
}

// TestNewHasherDerivesNothing: building the hasher (what NewUserService does at start-up, on the
// critical path of every service that waits for it) computes no argon2id key, neither a hash nor
// a verification, and allocates nothing near the AUTH_ARGON2_MEMORY_KIB an argon2id pass holds
// (19 MiB with the defaults); the first unknown-account login still costs one derivation. Counts
// and bytes, not time.
func TestNewHasherDerivesNothing(t *testing.T) {
	// Not parallel: the byte count reads the process-wide allocation total.
	d := Settings{}.WithDefaults()
	params := Argon2Params{MemoryKiB: d.Argon2MemoryKiB, Iterations: d.Argon2Iterations, Parallelism: d.Argon2Parallelism}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h, err := newHasher(params, newHashGate(1, 0, time.Second))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if n := h.hashes.Load() + h.derivations.Load(); n != 0 {
		t.Errorf("newHasher did %d argon2id computations, want 0", n)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("newHasher allocated %d bytes; an argon2id pass with the defaults takes %d KiB", grew, params.MemoryKiB)
	}
	if dp, salt, key, err := parseArgon2(h.dummy); err != nil || dp != params || len(salt) != argonSaltLen || len(key) != argonKeyLen {
		t.Fatalf("dummy %q: params %+v, salt %d bytes, key %d bytes, %v", h.dummy, dp, len(salt), len(key), err)
	}
	if other, _ := newHasher(params); other.dummy == h.dummy {
		t.Error("two hashers share a dummy hash: not random")
	}
	// The same through the service's constructor.
	s := testSettings()
	s.Argon2MemoryKiB, s.Argon2Iterations, s.Argon2Parallelism = d.Argon2MemoryKiB, d.Argon2Iterations, d.Argon2Parallelism
	users, err := NewUserServiceWith(&database.DB{}, s)
	if err != nil {
		t.Fatal(err)
	}
	if n := users.hasher.hashes.Load() + users.hasher.derivations.Load(); n != 0 {
		t.Errorf("NewUserServiceWith did %d argon2id computations, want 0", n)
	}
	// The first login for an unknown account: one derivation through the gate, no hash.
	if err := users.hasher.verifyDummyBounded(context.Background(), "wrong password"); err != nil {
		t.Fatal(err)
	}
	if d, n := users.hasher.derivations.Load(), users.hasher.hashes.Load(); d != 1 || n != 0 {
		t.Errorf("first unknown-account login: %d derivations, %d hashes; want 1 and 0", d, n)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ada@Example.COM":       "ada@example.com",
		"  ada@example.com ":    "ada@example.com",
		"o'brien@example.co.uk": "o'brien@example.co.uk",
		"a+tag@sub.example.org": "a+tag@sub.example.org",
	} {
		if got, err := normalizeEmail(in); err != nil || got != want {
			t.Errorf("normalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a", "a@", "@b.c", "a@b", "a@b.", "a@.b", "a@b..c", "a b@c.d", "A <a@b.c>", `"a b"@c.d`, "a@[127.0.0.1]",
		strings.Repeat("a", 65) + "@b.cd", "a@" + strings.Repeat("b", 250) + ".cd", "a@b.c\r\nBcc: x@y.z", "ä\x00@b.cd"} {
		if _, err := normalizeEmail(bad); err == nil {
			t.Errorf("normalizeEmail(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "ab", "-ab", ".ab", strings.Repeat("a", 33), "a b", "añb", "a;b", "a'b", "a@b"} {
		if _, err := checkUsername(bad); err == nil {
			t.Errorf("checkUsername(%q) accepted", bad)
		}
	}
	if _, err := checkFullName(strings.Repeat("ü", 100)); err != nil {
		t.Errorf("100 runes refused: %v", err)
	}
}

// TestPasswordNormalized: a password is hashed and checked in its NFKC form,
// so the same typed password opens the account whether the client sent it
// composed or decomposed. A hash made before (of the password as sent) still
// verifies and is replaced; the extra try for input that is not normalised
// costs an unknown account the same work.
func TestPasswordNormalized(t *testing.T) {
	t.Parallel()
	const composed = "Cr\u00e8me br\u00fbl\u00e9e 2024" // NFC: è û é as one code point each
	decomposed := norm.NFD.String(composed)
	if decomposed == composed {
		t.Fatal("the test's password has no decomposable characters")
	}
	h, err := newHasher(fastParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{composed, decomposed} {
		enc, err := h.hash(set)
		if err != nil {
			t.Fatal(err)
		}
		for _, typed := range []string{composed, decomposed} {
			if ok, rehash, err := h.verify(typed, enc); !ok || rehash || err != nil {
				t.Errorf("set %+q, typed %+q: verify = %v, rehash %v, %v; want a match", set, typed, ok, rehash, err)
			}
		}
	}

	// A hash of the decomposed bytes, as stored before normalisation.
	salt := []byte("0123456789abcdef")
	legacy := encodeArgon2(fastParams, salt, argon2.IDKey([]byte(decomposed), salt, fastParams.Iterations, fastParams.MemoryKiB, fastParams.Parallelism, argonKeyLen))
	if ok, rehash, err := h.verify(decomposed, legacy); !ok || !rehash || err != nil {
		t.Errorf("legacy hash: verify = %v, rehash %v, %v; want a match to rehash", ok, rehash, err)
	}

	before := h.derivations.Load()
	_, _, _ = h.verify(norm.NFD.String("wr\u00f3ng p\u00e4ssword"), legacy)
	wrong := h.derivations.Load() - before
	before = h.derivations.Load()
	h.verifyDummy(norm.NFD.String("wr\u00f3ng p\u00e4ssword"))
	if unknown := h.derivations.Load() - before; wrong != unknown {
		t.Errorf("derivations for a decomposed password: wrong %d, unknown account %d; want equal", wrong, unknown)
	}

	// The rules count characters as hashed: eight decomposed letters are eight.
	if err := checkPassword(norm.NFD.String("\u00e9\u00e8\u00ea\u00eb\u00e0\u00e2\u00e4\u00f4x")); err != nil {
		t.Errorf("nine accented letters sent decomposed: %v", err)
	}
	if err := checkPassword(norm.NFD.String("\u00e9\u00e8\u00ea\u00eb\u00e0\u00e2\u00e4")); err == nil {
		t.Error("seven accented letters sent decomposed (fourteen code points) were accepted")
	}
}
