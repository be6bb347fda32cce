package comms

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the deliveries' spans.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/services/comms"

// startSend starts the span of one delivery attempt of r when a tracer provider is
// installed: its channel, message ID and template, never an address or a body.
func startSend(ctx context.Context, r *Record) (context.Context, trace.Span) {
	t := tracing.Tracer(instrumentationScope)
	if t == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{attribute.String("comms.channel", string(r.Channel)), attribute.String("comms.message_id", string(r.ID))}
	if r.Email != nil && r.Email.Template != "" {
		attrs = append(attrs, attribute.String("comms.template", r.Email.Template))
	}
	return t.Start(ctx, "send "+string(r.Channel), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endSend records the provider and the outcome on span and ends it. A provider's error can
// quote the recipient, so the span says only whether it was temporary.
func endSend(span trace.Span, provider string, err error) {
	span.SetAttributes(attribute.String("comms.provider", provider))
	switch {
	case err == nil:
	case Temporary(err):
		span.SetStatus(codes.Error, "temporary delivery failure")
	default:
		span.SetStatus(codes.Error, "delivery failed")
	}
	span.End()
}
