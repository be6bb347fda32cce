package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors of the auth and user services. Handlers map them to HTTP statuses
// (see httpError); callers test them with errors.Is and errors.As.
var (
	ErrNotFound           = errors.New("auth: user not found")
	ErrEmailTaken         = errors.New("auth: email is already registered")
	ErrUsernameTaken      = errors.New("auth: username is already taken")
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	ErrInvalidToken       = errors.New("auth: invalid or expired token")
	ErrTokenReused        = errors.New("auth: refresh token was already used; the session is revoked")
	ErrUnauthenticated    = errors.New("auth: authentication required")
	ErrSelf               = errors.New("auth: an admin cannot deactivate, demote or delete their own account")
	ErrLastAdmin          = errors.New("auth: the last active admin cannot be deactivated, demoted or deleted")
)

// ValidationError is bad input for one field. Its message never repeats the
// value (which may be a password).
type ValidationError struct {
	Field  string // JSON field name, e.g. "email"
	Reason string // e.g. "is not a valid email address"
}

func (e *ValidationError) Error() string { return "auth: " + e.Field + " " + e.Reason }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// RateLimitError says a request was refused because of too many attempts:
// logins and other password checks, or registrations.
type RateLimitError struct {
	RetryAfter time.Duration
	// Registration marks the sign-up limit per address, which no password
	// attempt counts towards: its answer must not speak of passwords.
	Registration bool
}

func (e *RateLimitError) Error() string {
	what := "attempts"
	if e.Registration {
		what = "registrations"
	}
	return fmt.Sprintf("auth: too many %s; retry in %s", what, e.RetryAfter.Round(time.Second))
}

// BusyError says a request needing a password hash or verification was
// refused because as many as the server allows were running and waiting
// (AUTH_HASH_CONCURRENCY, AUTH_HASH_QUEUE, AUTH_HASH_WAIT). The API answers
// 503 with Retry-After.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("auth: too many password checks in progress; retry in %s", e.RetryAfter.Round(time.Second))
}

// isOverload reports whether err means the password work was not done
// (server busy, request cancelled), as opposed to a verdict on the password.
func isOverload(err error) bool {
	var b *BusyError
	return errors.As(err, &b) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
