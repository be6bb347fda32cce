package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// recordingHooks records the events and refuses the logins of deny.
type recordingHooks struct {
	BaseHooks
	mu         sync.Mutex
	registered []int64
	changed    []PasswordChange
	moved      []string // "old -> new"
	deny       int64
}

func (h *recordingHooks) EmailChanged(_ context.Context, u *User, old string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.moved = append(h.moved, old+" -> "+u.Email)
}

func (h *recordingHooks) UserRegistered(_ context.Context, u *User) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.registered = append(h.registered, u.ID)
}

func (h *recordingHooks) PasswordChanged(_ context.Context, _ *User, e PasswordChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changed = append(h.changed, e)
}

func (h *recordingHooks) AllowLogin(_ context.Context, u *User) error {
	if u.ID == h.deny {
		return &LoginDeniedError{Detail: "confirm your address first"}
	}
	return nil
}

// TestHooks: registration, password change and reset reach the Hooks; AllowLogin refuses
// an API login (403 with its detail) but not the dashboard's; a reset revokes every session.
func TestHooks(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		h := &recordingHooks{}
		_, a := newServices(t, db, testSettings(), AuthOpts{Hooks: h})
		u, err := a.Register(ctx, RegisterParams{Email: "hook@example.com", Username: "hook", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.registered) != 1 || h.registered[0] != u.ID || u.EmailVerified() {
			t.Fatalf("registered = %v, verified %v", h.registered, u.EmailVerified())
		}
		// An account created for someone else is announced too: its address is as unconfirmed.
		made, err := a.CreateUser(ctx, CreateUserParams{Email: "made@example.com", Username: "made", Password: goodPassword, Role: RoleUser})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.registered) != 2 || h.registered[1] != made.ID {
			t.Fatalf("after CreateUser registered = %v, want [%d %d]", h.registered, u.ID, made.ID)
		}
		pair, err := a.Login(ctx, LoginParams{Login: "hook", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.ChangePassword(ctx, u.ID, "", goodPassword, "another good passphrase"); err != nil {
			t.Fatal(err)
		}
		if err := a.ResetPassword(ctx, u.ID, "password"); err == nil {
			t.Fatal("a common password was accepted by a reset")
		}
		if err := a.ResetPassword(ctx, u.ID, "a third good passphrase"); err != nil {
			t.Fatal(err)
		}
		if len(h.changed) != 2 || h.changed[0].Reset || !h.changed[1].Reset || h.changed[1].At.IsZero() {
			t.Fatalf("changed = %+v", h.changed)
		}
		if _, _, err := a.Authenticate(ctx, pair.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("access token after a reset: %v", err)
		}

		h.deny = u.ID
		_, err = a.Login(ctx, LoginParams{Login: "hook", Password: "a third good passphrase"})
		var denied *LoginDeniedError
		if !errors.As(err, &denied) {
			t.Fatalf("denied login = %v", err)
		}
		var se huma.StatusError
		if p := (&handlers{logger: slog.New(slog.DiscardHandler)}).problem(ctx, err); !errors.As(p, &se) || se.GetStatus() != http.StatusForbidden {
			t.Errorf("problem = %v", p)
		}
		if _, _, err := a.DashboardLogin(ctx, LoginParams{Login: "hook", Password: "a third good passphrase"}); err != nil {
			t.Errorf("the dashboard asked the hooks: %v", err)
		}
		if _, err := a.Login(ctx, LoginParams{Login: "hook", Password: "wrong password here"}); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("a wrong password was not the plain refusal: %v", err)
		}
	})
}

// TestEmailChangedHook: a new address, by the profile or an admin, reaches the Hooks with
// the old one; the same address in other letters, or another field, does not.
func TestEmailChangedHook(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		h := &recordingHooks{}
		_, a := newServices(t, db, testSettings(), AuthOpts{Hooks: h})
		u, err := a.Register(ctx, RegisterParams{Email: "first@example.com", Username: "mover", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		second, same, third, name := "second@example.com", "SECOND@example.com", "third@example.com", "Mover"
		if _, err := a.UpdateProfile(ctx, u.ID, UpdateProfileParams{Email: &second, CurrentPassword: goodPassword}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.UpdateProfile(ctx, u.ID, UpdateProfileParams{Email: &same, FullName: &name, CurrentPassword: goodPassword}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.UpdateProfile(ctx, u.ID, UpdateProfileParams{Email: &third, CurrentPassword: "wrong password here"}); err == nil {
			t.Fatal("a wrong password moved the account")
		}
		if _, err := a.UpdateUser(ctx, u.ID, UpdateUserParams{Email: &third}); err != nil {
			t.Fatal(err)
		}
		want := []string{"first@example.com -> second@example.com", "second@example.com -> third@example.com"}
		if len(h.moved) != 2 || h.moved[0] != want[0] || h.moved[1] != want[1] {
			t.Errorf("moved = %q, want %q", h.moved, want)
		}
	})
}

// TestEmailVerified: MarkEmailVerified needs the current address; changing it clears the
// mark; operator-made accounts start confirmed.
func TestEmailVerified(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		users, _ := newServices(t, db, testSettings(), AuthOpts{})
		u := createUser(t, users, CreateUserParams{Email: "ver@example.com", Username: "ver", Password: goodPassword})
		if _, err := users.MarkEmailVerified(ctx, u.ID, "other@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another address: %v", err)
		}
		got, err := users.MarkEmailVerified(ctx, u.ID, "VER@example.com")
		if err != nil || !got.EmailVerified() {
			t.Fatalf("mark = %+v, %v", got, err)
		}
		first := *got.EmailVerifiedAt
		if again, err := users.MarkEmailVerified(ctx, u.ID, "ver@example.com"); err != nil || !again.EmailVerifiedAt.Equal(first) {
			t.Errorf("again = %+v, %v", again, err)
		}
		name := "Ver"
		if got, err := users.Update(ctx, u.ID, UpdateUserParams{FullName: &name}); err != nil || !got.EmailVerified() {
			t.Errorf("a name change cleared the mark: %+v, %v", got, err)
		}
		moved := "moved@example.com"
		if got, err := users.Update(ctx, u.ID, UpdateUserParams{Email: &moved}); err != nil || got.EmailVerified() {
			t.Errorf("an email change kept the mark: %+v, %v", got, err)
		}
		if got, _ := users.Get(ctx, u.ID); got.EmailVerified() {
			t.Error("the cleared mark was not stored")
		}
		admin := createUser(t, users, CreateUserParams{Email: "op@example.com", Username: "operator", Password: goodPassword, Role: RoleAdmin, EmailVerified: true})
		if !admin.EmailVerified() {
			t.Error("an operator-made account is not confirmed")
		}
		if err := users.CheckNewPassword(u, "ver@example.com"); err == nil {
			t.Error("CheckNewPassword accepted the email as password")
		}
	})
}

// duringLogin runs meanwhile between a login's password check and its new
// session, where AllowLogin is called.
type duringLogin struct {
	BaseHooks
	meanwhile func(ctx context.Context, u *User) error
}

func (h *duringLogin) AllowLogin(ctx context.Context, u *User) error { return h.meanwhile(ctx, u) }

// TestLoginRaceWithReset: a login whose password was reset, or whose account
// was deactivated, after its password check opens no session: the reset
// revoked every session, and one opened after it would outlive it with the
// old password. Before, the login went on and its session lived.
func TestLoginRaceWithReset(t *testing.T) {
	f := false
	cases := []struct {
		name      string
		meanwhile func(ctx context.Context, a *AuthService, u *User) error
	}{
		{"password reset", func(ctx context.Context, a *AuthService, u *User) error {
			return a.ResetPassword(ctx, u.ID, "the password after the reset")
		}},
		{"deactivation", func(ctx context.Context, a *AuthService, u *User) error {
			_, err := a.UpdateUser(ctx, u.ID, UpdateUserParams{Active: &f})
			return err
		}},
	}
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for i, c := range cases {
			h := &duringLogin{}
			users, a := newServices(t, db, testSettings(), AuthOpts{Hooks: h})
			u := createUser(t, users, CreateUserParams{Email: fmt.Sprintf("race%d@example.com", i), Username: fmt.Sprintf("race%d", i), Password: goodPassword, Role: RoleUser})
			h.meanwhile = func(ctx context.Context, got *User) error {
				h.meanwhile = func(context.Context, *User) error { return nil } // once
				return c.meanwhile(ctx, a, got)
			}
			pair, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: goodPassword})
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("%s: login = %v, want ErrInvalidCredentials", c.name, err)
			}
			if pair != nil {
				if _, err := a.Refresh(t.Context(), pair.RefreshToken); err == nil {
					t.Errorf("%s: the session opened with the old password outlived the change", c.name)
				}
			}
		}
	})
}

// TestRefreshAsksHooks: a refresh asks AllowLogin as a login does, so a session whose
// logins are now refused (an address changed to an unconfirmed one) ends at its next
// refresh, with the 403 of the refusal, and its token works again once allowed. A reused
// token is still reuse. Before, a refresh never asked and the session lived on.
func TestRefreshAsksHooks(t *testing.T) {
	cases := []struct {
		name    string
		deny    bool
		reuse   bool // present a token already exchanged
		wantErr func(error) bool
	}{
		{"allowed", false, false, func(err error) bool { return err == nil }},
		{"refused", true, false, func(err error) bool { var d *LoginDeniedError; return errors.As(err, &d) }},
		{"refused and reused", true, true, func(err error) bool { return errors.Is(err, ErrTokenReused) }},
	}
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		for i, c := range cases {
			h := &recordingHooks{}
			users, a := newServices(t, db, testSettings(), AuthOpts{Hooks: h})
			u := createUser(t, users, CreateUserParams{Email: fmt.Sprintf("refresh%d@example.com", i), Username: fmt.Sprintf("refresh%d", i), Password: goodPassword, Role: RoleUser})
			pair, err := a.Login(ctx, LoginParams{Login: u.Email, Password: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			token := pair.RefreshToken
			if c.reuse {
				if _, err := a.Refresh(ctx, token); err != nil {
					t.Fatal(err)
				}
			}
			if c.deny {
				h.deny = u.ID
			}
			_, err = a.Refresh(ctx, token)
			if !c.wantErr(err) {
				t.Errorf("%s: refresh = %v", c.name, err)
			}
			if c.deny && !c.reuse {
				h.deny = 0
				if _, err := a.Refresh(ctx, token); err != nil {
					t.Errorf("%s: the refused token after the refusal's cause went: %v", c.name, err)
				}
			}
		}
	})
}
