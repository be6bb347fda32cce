package auth

import (
	"context"
	"time"
)

// Hooks let another package act on account events, and refuse logins,
// without this package naming it: a glue folder (such as the auth+comms
// glue, which sends the verification, reset and password-changed emails)
// registers a service bound to Hooks, and NewAuthService takes it when
// present:
//
//	registry.Provide1(r, newMailer)
//	registry.Bind[auth.Hooks, *Mailer](r)
//
// An app has at most one Hooks service; one that needs several combines them.
// Embed BaseHooks to implement only some methods, so that a method added
// later does not break the implementation.
//
// The methods run on the request's goroutine, after the change is stored:
// they must return quickly (send mail in the background) and handle their
// own errors, which cannot undo the change.
type Hooks interface {
	// UserRegistered is called after a self-service registration
	// (POST /api/v1/auth/register) or AuthService.CreateUser stored u, whose
	// address is not confirmed yet.
	UserRegistered(ctx context.Context, u *User)
	// PasswordChanged is called after u's password was replaced, by any
	// path: the change-password endpoint or a reset.
	PasswordChanged(ctx context.Context, u *User, e PasswordChange)
	// EmailChanged is called after u's address was replaced by old's
	// successor u.Email, by the profile endpoint (PATCH /me) or an admin's
	// update (AuthService.UpdateUser); u.Email starts unconfirmed. old is
	// the address before, normalized.
	EmailChanged(ctx context.Context, u *User, old string)
	// AllowLogin is called by an API login after the password matched and
	// before a session opens, and by a refresh before an unused refresh token
	// is exchanged (so a session does not outlive what refuses its logins).
	// A non-nil error refuses the login or the refresh (whose token stays
	// unused); a *LoginDeniedError is answered 403 with its Detail, anything
	// else is an internal error. The dashboard's sign-in (operators) does not ask.
	AllowLogin(ctx context.Context, u *User) error
}

// PasswordChange describes a password change for Hooks.PasswordChanged.
type PasswordChange struct {
	// Reset is true when the password was set without the current one
	// (ResetPassword), false for a change with it.
	Reset bool
	// At is when the new password was stored.
	At time.Time
}

// BaseHooks does nothing and allows every login: embed it in a Hooks
// implementation to override only some methods.
type BaseHooks struct{}

// UserRegistered does nothing.
func (BaseHooks) UserRegistered(context.Context, *User) {}

// PasswordChanged does nothing.
func (BaseHooks) PasswordChanged(context.Context, *User, PasswordChange) {}

// EmailChanged does nothing.
func (BaseHooks) EmailChanged(context.Context, *User, string) {}

// AllowLogin allows the login.
func (BaseHooks) AllowLogin(context.Context, *User) error { return nil }

// LoginDeniedError is how Hooks.AllowLogin refuses a login the credentials
// allowed (an email not yet confirmed, for instance). The API answers 403
// with Detail, which must tell the user what to do; it is only shown after
// the right password, so it reveals nothing to whoever does not know it.
type LoginDeniedError struct {
	Detail string
}

func (e *LoginDeniedError) Error() string { return "auth: login denied: " + e.Detail }

var _ Hooks = BaseHooks{}
