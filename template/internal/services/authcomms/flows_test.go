package authcomms

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

// TestVerifyEmailFlow: register, the verification mail arrives in Mailpit, and with
// AUTH_REQUIRE_VERIFIED_EMAIL login works only once its link's token was posted.
func TestVerifyEmailFlow(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, func(s *Settings) { s.RequireVerifiedEmail = true })
		a := e.register(t)
		m := e.mp.MessageTo(a.email, subjectVerify)
		if !strings.Contains(m.Text, "24 hours") || !strings.Contains(m.Text, "User ") {
			t.Errorf("verification mail text:\n%s", m.Text)
		}
		token := linkToken(t, m, "https://app.example.com/verify-email")
		e.noTokenStored(t, token, subjectVerify, "the email verification link")

		r, _ := e.login(t, a.email, a.password)
		p := wantProblem(t, r, http.StatusForbidden)
		if !strings.Contains(p.Detail, ResendPath) {
			t.Errorf("login refusal %q does not say how to get a new link", p.Detail)
		}
		// A wrong password is still the plain 401: the refusal needs the password.
		r, _ = e.login(t, a.email, "not the password at all")
		wantProblem(t, r, http.StatusUnauthorized)

		v := want[VerifiedBody](t, e.call(t, "POST", VerifyPath, map[string]string{"token": token}, ""), http.StatusOK)
		if v.Email != a.email || v.EmailVerifiedAt.IsZero() {
			t.Fatalf("verify = %+v", v)
		}
		r, tokens := e.login(t, a.email, a.password)
		if r.status != http.StatusOK {
			t.Fatalf("login after verification: %d %s", r.status, r.body)
		}
		me := want[auth.UserBody](t, e.call(t, "GET", auth.AuthPrefix+"/me", nil, tokens.AccessToken), http.StatusOK)
		if me.EmailVerifiedAt == nil {
			t.Errorf("GET /me has no email_verified_at: %+v", me)
		}
		// The link works once.
		p = wantProblem(t, e.call(t, "POST", VerifyPath, map[string]string{"token": token}, ""), http.StatusGone)
		if !strings.Contains(p.Detail, "already used") {
			t.Errorf("reuse: %q", p.Detail)
		}
		// Confirmed: a signed-in resend is a conflict, an anonymous one the same 202 and no mail.
		wantProblem(t, e.call(t, "POST", ResendPath, nil, tokens.AccessToken), http.StatusConflict)
		want[AcceptedBody](t, e.call(t, "POST", ResendPath, map[string]string{"email": a.email}, ""), http.StatusAccepted)
		e.svc.wait()
		if n := e.mailsTo(a.email); n != 1 {
			t.Errorf("%d mails to %s, want the one verification mail", n, a.email)
		}
	})
}

// TestResendVerification: a signed-in user and an anonymous request each get a new link;
// every link works until one of them is used.
func TestResendVerification(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		first := linkToken(t, e.mp.MessageTo(a.email, subjectVerify), "https://app.example.com/verify-email")
		_, tokens := e.login(t, a.email, a.password)
		want[AcceptedBody](t, e.call(t, "POST", ResendPath, nil, tokens.AccessToken), http.StatusAccepted)
		want[AcceptedBody](t, e.call(t, "POST", ResendPath, map[string]string{"email": strings.ToUpper(a.email)}, ""), http.StatusAccepted)
		e.svc.wait()
		if n := e.mailsTo(a.email); n != 3 {
			t.Fatalf("%d mails, want 3", n)
		}
		want[VerifiedBody](t, e.call(t, "POST", VerifyPath, map[string]string{"token": first}, ""), http.StatusOK)
		// A bad access token is refused rather than ignored.
		wantProblem(t, e.call(t, "POST", ResendPath, nil, "not-a-token"), http.StatusUnauthorized)
		wantProblem(t, e.call(t, "POST", ResendPath, map[string]string{}, ""), http.StatusUnprocessableEntity)
	})
}

// TestResetFlow: forgot, the reset mail, reset; the old sessions and refresh tokens are
// refused, the new password works, the password-changed mail arrives, the link is spent.
func TestResetFlow(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		_, old := e.login(t, a.email, a.password)
		_, old2 := e.login(t, a.username, a.password)

		r := e.call(t, "POST", ForgotPath, map[string]string{"email": a.email}, "")
		if got := want[AcceptedBody](t, r, http.StatusAccepted); got.Message != AcceptedMessage {
			t.Fatalf("forgot = %+v", got)
		}
		m := e.mp.MessageTo(a.email, subjectReset)
		if !strings.Contains(m.Text, "1 hour") {
			t.Errorf("reset mail text:\n%s", m.Text)
		}
		token := linkToken(t, m, "https://app.example.com/reset-password")
		e.noTokenStored(t, token, subjectReset, "the password reset link")

		// The password rules apply, and a refused password leaves the link usable.
		p := wantProblem(t, e.call(t, "POST", ResetPath, map[string]string{"token": token, "new_password": "password"}, ""), http.StatusUnprocessableEntity)
		if len(p.Errors) == 0 || p.Errors[0].Location != "body.new_password" {
			t.Errorf("weak password problem = %+v", p)
		}
		r = e.call(t, "POST", ResetPath, map[string]string{"token": token, "new_password": newPassword}, "")
		if r.status != http.StatusNoContent {
			t.Fatalf("reset: %d %s", r.status, r.body)
		}

		for _, s := range []auth.TokenBody{old, old2} {
			wantProblem(t, e.call(t, "GET", auth.AuthPrefix+"/me", nil, s.AccessToken), http.StatusUnauthorized)
			wantProblem(t, e.call(t, "POST", auth.AuthPrefix+"/refresh", map[string]string{"refresh_token": s.RefreshToken}, ""), http.StatusUnauthorized)
		}
		r, _ = e.login(t, a.email, a.password)
		wantProblem(t, r, http.StatusUnauthorized)
		r, fresh := e.login(t, a.email, newPassword)
		if r.status != http.StatusOK {
			t.Fatalf("login with the new password: %d %s", r.status, r.body)
		}
		changed := e.mp.MessageTo(a.email, subjectChanged)
		if !strings.Contains(changed.Text, "noreply@acme.test") {
			t.Errorf("password-changed mail names no support address:\n%s", changed.Text)
		}
		p = wantProblem(t, e.call(t, "POST", ResetPath, map[string]string{"token": token, "new_password": "yet another long passphrase"}, ""), http.StatusGone)
		if !strings.Contains(p.Detail, ForgotPath) {
			t.Errorf("reuse problem %q does not say how to get a new link", p.Detail)
		}
		// The reset link reached the address: it counts as confirmed.
		me := want[auth.UserBody](t, e.call(t, "GET", auth.AuthPrefix+"/me", nil, fresh.AccessToken), http.StatusOK)
		if me.EmailVerifiedAt == nil {
			t.Errorf("after a reset the address is not confirmed: %+v", me)
		}
	})
}

// TestForgotRevealsNothing: an unknown address gets the same 202 and body as a known one,
// and no mail is sent; a deactivated account gets none either.
func TestForgotRevealsNothing(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		gone := e.register(t)
		// The verification mail goes out after registration answers: wait for it before the
		// account is deactivated, or it may never be sent.
		e.mp.MessageTo(gone.email, subjectVerify)
		e.mp.MessageTo(a.email, subjectVerify)
		if _, err := e.users.Deactivate(t.Context(), gone.id); err != nil {
			t.Fatal(err)
		}

		known := e.call(t, "POST", ForgotPath, map[string]string{"email": a.email}, "")
		for _, addr := range []string{"nobody@example.com", gone.email} {
			r := e.call(t, "POST", ForgotPath, map[string]string{"email": addr}, "")
			if r.status != known.status || !bytes.Equal(r.body, known.body) || r.header.Get("Content-Type") != known.header.Get("Content-Type") ||
				r.header.Get("Cache-Control") != known.header.Get("Cache-Control") {
				t.Errorf("%s: %d %s %v, known account: %d %s %v", addr, r.status, r.body, r.header, known.status, known.body, known.header)
			}
		}
		e.mp.MessageTo(a.email, subjectReset)
		e.svc.wait()
		if n := e.mailsTo("nobody@example.com"); n != 0 {
			t.Errorf("%d mails to an unknown address", n)
		}
		if n := e.mailsTo(gone.email); n != 1 {
			t.Errorf("%d mails to a deactivated account, want only its verification", n)
		}
		// A malformed address is refused whoever asks: that tells nothing either.
		wantProblem(t, e.call(t, "POST", ForgotPath, map[string]string{"email": "not an address"}, ""), http.StatusUnprocessableEntity)
	})
}

// TestTokensRefused: expired, used, tampered, foreign and malformed tokens each get their
// problem, on both endpoints.
func TestTokensRefused(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		verify := linkToken(t, e.mp.MessageTo(a.email, subjectVerify), "https://app.example.com/verify-email")
		want[AcceptedBody](t, e.call(t, "POST", ForgotPath, map[string]string{"email": a.email}, ""), http.StatusAccepted)
		reset := linkToken(t, e.mp.MessageTo(a.email, subjectReset), "https://app.example.com/reset-password")

		tamper := func(tok string) string {
			b := []byte(tok)
			if b[10] == 'A' {
				b[10] = 'B'
			} else {
				b[10] = 'A'
			}
			return string(b)
		}
		// A token signed right but never stored (another app's table, a restored backup).
		unstored := e.svc.tokens.signer.issue(PurposeReset)
		cases := []struct {
			name, path, token string
			status            int
			detail            string
		}{
			{"tampered verify", VerifyPath, tamper(verify), http.StatusBadRequest, "not valid"},
			{"tampered reset", ResetPath, tamper(reset), http.StatusBadRequest, "not valid"},
			{"verify token to reset", ResetPath, verify, http.StatusBadRequest, "not valid"},
			{"reset token to verify", VerifyPath, reset, http.StatusBadRequest, "not valid"},
			{"unstored", ResetPath, unstored, http.StatusBadRequest, "not valid"},
			{"truncated", VerifyPath, verify[:40], http.StatusBadRequest, "not valid"},
			{"empty", VerifyPath, "", http.StatusBadRequest, "not valid"},
			{"not base64", ResetPath, strings.Repeat("*", TokenLength), http.StatusBadRequest, "not valid"},
		}
		body := func(path, token string) map[string]string {
			if path == ResetPath {
				return map[string]string{"token": token, "new_password": newPassword}
			}
			return map[string]string{"token": token}
		}
		for _, c := range cases {
			p := wantProblem(t, e.call(t, "POST", c.path, body(c.path, c.token), ""), c.status)
			if !strings.Contains(p.Detail, c.detail) || len(p.Errors) == 0 || p.Errors[0].Location != "body.token" {
				t.Errorf("%s: %+v", c.name, p)
			}
		}

		// Past their time both links are expired (and say how to get new ones).
		e.clock.advance(25 * time.Hour)
		for _, c := range []struct{ path, token, again string }{{VerifyPath, verify, ResendPath}, {ResetPath, reset, ForgotPath}} {
			p := wantProblem(t, e.call(t, "POST", c.path, body(c.path, c.token), ""), http.StatusGone)
			if !strings.Contains(p.Detail, "expired") || !strings.Contains(p.Detail, c.again) {
				t.Errorf("%s expired: %q", c.path, p.Detail)
			}
		}
		// Issuing any later link sweeps expired ones: then a link is unknown, and its answer
		// must still name expiry, the likely cause, not only tampering.
		if _, err := e.svc.tokens.sweepExpired(t.Context(), e.clock.now().UTC()); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ path, token, again string }{{VerifyPath, verify, ResendPath}, {ResetPath, reset, ForgotPath}} {
			p := wantProblem(t, e.call(t, "POST", c.path, body(c.path, c.token), ""), http.StatusBadRequest)
			if !strings.Contains(p.Detail, "expired") || !strings.Contains(p.Detail, c.again) {
				t.Errorf("%s expired and swept: %q", c.path, p.Detail)
			}
		}
		r, _ := e.login(t, a.email, a.password)
		if r.status != http.StatusOK {
			t.Errorf("the refused tokens changed the password: %d %s", r.status, r.body)
		}
	})
}

// TestAddressChangeVoidsLinks: a verification link sent to an old address does not confirm
// the new one; the new address gets a link of its own, which does, and the old one a notice
// without a link. An admin's change of the address does the same.
func TestAddressChangeVoidsLinks(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		token := linkToken(t, e.mp.MessageTo(a.email, subjectVerify), "https://app.example.com/verify-email")
		_, tokens := e.login(t, a.email, a.password)
		moved := "moved-" + a.email
		want[auth.UserBody](t, e.call(t, "PATCH", auth.AuthPrefix+"/me",
			map[string]string{"email": moved, "current_password": a.password}, tokens.AccessToken), http.StatusOK)
		wantProblem(t, e.call(t, "POST", VerifyPath, map[string]string{"token": token}, ""), http.StatusBadRequest)

		notice := e.mp.MessageTo(a.email, subjectEmailChanged)
		if strings.Contains(notice.Text+notice.HTML, "token=") || strings.Contains(notice.Text+notice.HTML, moved) ||
			!strings.Contains(notice.Text, "noreply@acme.test") {
			t.Errorf("the notice to the old address carries a link or the new address, or no support address:\n%s", notice.Text)
		}
		fresh := linkToken(t, e.mp.MessageTo(moved, subjectVerify), "https://app.example.com/verify-email")
		v := want[VerifiedBody](t, e.call(t, "POST", VerifyPath, map[string]string{"token": fresh}, ""), http.StatusOK)
		if v.Email != moved {
			t.Errorf("verified %q, want %q", v.Email, moved)
		}
		e.svc.wait()
		if n, m := e.mailsTo(a.email), e.mailsTo(moved); n != 2 || m != 1 {
			t.Errorf("%d mails to the old address (want the link and the notice), %d to the new (want the link)", n, m)
		}

		// An admin moves the account again, through auth's admin API path.
		again := "again-" + a.email
		if _, err := e.auth.UpdateUser(t.Context(), a.id, auth.UpdateUserParams{Email: &again}); err != nil {
			t.Fatal(err)
		}
		linkToken(t, e.mp.MessageTo(again, subjectVerify), "https://app.example.com/verify-email")
		e.mp.MessageTo(moved, subjectEmailChanged)
		// A change of the name alone sends nothing.
		name := "Renamed"
		if _, err := e.auth.UpdateUser(t.Context(), a.id, auth.UpdateUserParams{FullName: &name}); err != nil {
			t.Fatal(err)
		}
		e.svc.wait()
		if n := len(e.mp.Messages()); n != 5 {
			t.Errorf("%d mails in all, want 5", n)
		}
	})
}

// TestExpiredTokensSwept: issuing a token deletes a bounded batch of expired tokens of every
// account, oldest first; live and recent ones stay.
func TestExpiredTokensSwept(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		e := setup(t, db, nil)
		var ids []int64
		for range 3 {
			ids = append(ids, e.register(t).id)
		}
		e.svc.wait()
		count := func(where string, args ...any) int64 {
			n, err := db.Bun().NewSelect().Model((*tokenRow)(nil)).Where(where, args...).Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Old links of accounts that never came back: 5 expired tokens for each account.
		now := e.clock.now().UTC()
		var rows []tokenRow
		for i, id := range ids {
			for k := range 5 {
				at := now.Add(-time.Duration(48+i*5+k) * time.Hour)
				rows = append(rows, tokenRow{UserID: id, Purpose: PurposeReset, Email: "x@example.com",
					TokenHash: hashToken(e.svc.tokens.signer.issue(PurposeReset)), CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
			}
		}
		if _, err := db.Bun().NewInsert().Model(&rows).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		live := count("expires_at > ?", now)
		if live != 3 || count("expires_at <= ?", now) != 15 {
			t.Fatalf("%d live, %d expired before", live, count("expires_at <= ?", now))
		}
		e.svc.tokens.sweep = 10
		if _, err := e.svc.tokens.create(ctx, ids[0], "x@example.com", PurposeVerify, time.Hour); err != nil {
			t.Fatal(err)
		}
		// The 10 oldest went: all of the third account's, all of the second's.
		if n := count("expires_at <= ?", now); n != 5 {
			t.Errorf("%d expired left after one token, want 5", n)
		}
		if n := count("expires_at <= ? AND user_id = ?", now, ids[0]); n != 5 {
			t.Errorf("%d expired of the first account left, want its 5 (the newest)", n)
		}
		if _, err := e.svc.tokens.create(ctx, ids[1], "x@example.com", PurposeVerify, time.Hour); err != nil {
			t.Fatal(err)
		}
		if n := count("expires_at <= ?", now); n != 0 {
			t.Errorf("%d expired left after two tokens, want 0", n)
		}
		if n := count("expires_at > ?", now); n != live+2 {
			t.Errorf("%d live tokens, want %d", n, live+2)
		}
		// The sweep is one statement; on an empty backlog it deletes nothing.
		if n, err := e.svc.tokens.sweepExpired(ctx, now); err != nil || n != 0 {
			t.Errorf("sweep of nothing = %d, %v", n, err)
		}
	})
}

// TestChangePasswordNotice: the change-password endpoint sends password-changed too.
func TestChangePasswordNotice(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		_, tokens := e.login(t, a.email, a.password)
		r := e.call(t, "POST", auth.AuthPrefix+"/change-password",
			map[string]string{"current_password": a.password, "new_password": newPassword}, tokens.AccessToken)
		if r.status != http.StatusNoContent {
			t.Fatalf("change password: %d %s", r.status, r.body)
		}
		m := e.mp.MessageTo(a.email, subjectChanged)
		if !strings.Contains(m.Text, time.Now().UTC().Format("2006-01-02")) {
			t.Errorf("password-changed mail has no date:\n%s", m.Text)
		}
	})
}

// TestRateLimits: requests for mail are limited per address (known or not, alike) and per
// client IP, submitted tokens per client IP; each with 429 and Retry-After.
func TestRateLimits(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, func(s *Settings) {
			s.MailAccountLimit, s.MailIPLimit, s.TokenIPLimit = 2, 5, 3
		})
		a := e.register(t)
		for _, addr := range []string{a.email, "nobody@example.com"} {
			for i := range 3 {
				r := e.call(t, "POST", ForgotPath, map[string]string{"email": addr}, "")
				if i < 2 {
					want[AcceptedBody](t, r, http.StatusAccepted)
					continue
				}
				wantProblem(t, r, http.StatusTooManyRequests)
				if r.header.Get("Retry-After") == "" {
					t.Errorf("%s: 429 without Retry-After", addr)
				}
			}
		}
		// The fifth request from this address hit the IP limit on the way; a sixth, for a
		// fresh address, is refused too.
		wantProblem(t, e.call(t, "POST", ResendPath, map[string]string{"email": "fresh@example.com"}, ""), http.StatusTooManyRequests)

		for i := range 4 {
			r := e.call(t, "POST", VerifyPath, map[string]string{"token": "x"}, "")
			if i < 3 {
				wantProblem(t, r, http.StatusBadRequest)
				continue
			}
			wantProblem(t, r, http.StatusTooManyRequests)
		}
		e.svc.wait()
		if n := e.mailsTo(a.email); n != 3 {
			t.Errorf("%d mails to %s, want the verification and 2 resets", n, a.email)
		}
	})
}

// TestRefreshNeedsConfirmedAddress: with AUTH_REQUIRE_VERIFIED_EMAIL, a session whose
// address was changed to an unconfirmed one cannot be kept by refreshing: the refresh gets
// the login's 403 saying how to get a link, and the same refresh token works once the new
// address is confirmed. Before, refreshing kept the session without confirming.
func TestRefreshNeedsConfirmedAddress(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, func(s *Settings) { s.RequireVerifiedEmail = true })
		a := e.register(t)
		token := linkToken(t, e.mp.MessageTo(a.email, subjectVerify), "https://app.example.com/verify-email")
		want[VerifiedBody](t, e.call(t, "POST", VerifyPath, map[string]string{"token": token}, ""), http.StatusOK)
		r, tokens := e.login(t, a.email, a.password)
		if r.status != http.StatusOK {
			t.Fatalf("login of a confirmed address: %d %s", r.status, r.body)
		}
		refresh := func(token string) response {
			return e.call(t, "POST", auth.AuthPrefix+"/refresh", map[string]string{"refresh_token": token}, "")
		}
		// Confirmed: a refresh works.
		tokens = want[auth.TokenBody](t, refresh(tokens.RefreshToken), http.StatusOK)

		moved := "moved-" + a.email
		want[auth.UserBody](t, e.call(t, "PATCH", auth.AuthPrefix+"/me",
			map[string]string{"email": moved, "current_password": a.password}, tokens.AccessToken), http.StatusOK)
		for _, step := range []string{"first refresh", "again"} {
			p := wantProblem(t, refresh(tokens.RefreshToken), http.StatusForbidden)
			if !strings.Contains(p.Detail, ResendPath) {
				t.Errorf("%s: refusal %q does not say how to get a new link", step, p.Detail)
			}
		}
		fresh := linkToken(t, e.mp.MessageTo(moved, subjectVerify), "https://app.example.com/verify-email")
		want[VerifiedBody](t, e.call(t, "POST", VerifyPath, map[string]string{"token": fresh}, ""), http.StatusOK)
		want[auth.TokenBody](t, refresh(tokens.RefreshToken), http.StatusOK)
	})
}
