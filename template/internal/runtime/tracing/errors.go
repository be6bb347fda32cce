package tracing

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ErrorType is err's class for a span: the Go type of the innermost error its chain wraps
// (%w), "*net.OpError" rather than the text. An error's text is free-form and often holds
// what it was about (an email address, a URL with a token, a user's input), which spans must
// not carry to a tracing backend; its type says what kind of failure it was without that.
// A cancelled or timed-out context is "canceled" or "timeout", as the database's query spans
// say it.
func ErrorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return fmt.Sprintf("%T", err)
		}
		err = next
	}
}

// RecordFailure marks span as failed with description (a fixed sentence, never err's text)
// and records err's class: the error.type attribute and an exception event with
// exception.type, as OpenTelemetry's conventions name them, and no exception.message.
func RecordFailure(span trace.Span, err error, description string) {
	class := ErrorType(err)
	span.SetAttributes(attribute.String("error.type", class))
	span.AddEvent("exception", trace.WithAttributes(attribute.String("exception.type", class)))
	span.SetStatus(codes.Error, description)
}
