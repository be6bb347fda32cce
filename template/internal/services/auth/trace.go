package auth

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the logins' spans.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/services/auth"

// startLogin starts the span of one login (the password check, argon2id, is most of a
// login's time) when a tracer provider is installed.
func startLogin(ctx context.Context) (context.Context, trace.Span) {
	t := tracing.Tracer(instrumentationScope)
	if t == nil {
		return ctx, nil
	}
	return t.Start(ctx, "auth login")
}

// endLogin records the outcome (and the user's ID once known, never the login typed) and
// ends span.
func endLogin(span trace.Span, u *User, err error) {
	outcome := "ok"
	var limited *RateLimitError
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidCredentials):
		outcome = "invalid_credentials"
	case errors.As(err, &limited):
		outcome = "rate_limited"
	default:
		outcome = "refused"
	}
	span.SetAttributes(attribute.String("auth.outcome", outcome))
	if u != nil && err == nil {
		span.SetAttributes(attribute.Int64("enduser.id", u.ID))
	}
	if err != nil {
		span.SetStatus(codes.Error, outcome)
	}
	span.End()
}
