package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// ValidationErrors is bad input in several fields at once, in the order of the
// form, so that one answer names every field to fix instead of one a try.
// errors.As finds its first *ValidationError, so code that handles one field
// handles it too.
type ValidationErrors []*ValidationError

func (e ValidationErrors) Error() string {
	parts := make([]string, len(e))
	for i, v := range e {
		parts[i] = v.Field + " " + v.Reason
	}
	return "auth: " + strings.Join(parts, "; ")
}

func (e ValidationErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, v := range e {
		out[i] = v
	}
	return out
}

// joinInvalid gathers the checks' errors: nil when all passed, the one
// *ValidationError when one failed, ValidationErrors when several did. Any
// other error is returned as it is: it is not the input's fault.
func joinInvalid(errs ...error) error {
	var all ValidationErrors
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		all = append(all, ve)
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	return all
}

// invalidFields returns every field error in err, in order (none when err
// holds none).
func invalidFields(err error) []*ValidationError {
	var all ValidationErrors
	if errors.As(err, &all) {
		return all
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return []*ValidationError{ve}
	}
	return nil
}

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
