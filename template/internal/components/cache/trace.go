package cache

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// startSpan starts the span of one cache call (op: get, set, delete, exists, incr) under the
// span ctx carries, when that one records: a cache call is a step of a request or a job, and
// on its own (or under an unsampled request) it is not worth a trace. nil otherwise, and
// always without an SDK.
func (c *Cache) startSpan(ctx context.Context, op string) trace.Span {
	t := tracing.Tracer(instrumentationScope)
	if t == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return nil
	}
	kind := trace.SpanKindInternal
	if c.backend == "redis" {
		kind = trace.SpanKindClient
	}
	// The key is left out: applications put user identifiers and emails in keys.
	_, span := t.Start(ctx, "cache "+op, trace.WithSpanKind(kind),
		trace.WithAttributes(attribute.String("cache.backend", c.backend), attribute.String("cache.operation", op)))
	return span
}

// endSpan ends span (nil: nothing to do), recording a store failure as its error. The
// stores' errors quote the key, which is left out of spans: the error is recorded with
// the key replaced (withoutKey).
func endSpan(span trace.Span, err error, key string) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(errors.New(withoutKey(err, key)))
		span.SetStatus(codes.Error, "cache call failed")
	}
	span.End()
}

// endRead is endSpan for a read, which also says whether it found the key.
func endRead(span trace.Span, err error, key string, hit bool) {
	if span != nil {
		span.SetAttributes(attribute.Bool("cache.hit", hit))
	}
	endSpan(span, err, key)
}

// withoutKey is err's message with key, the end of the stored key its store's error names
// (after the prefix), replaced by <key>. Applications put user identifiers and emails in
// keys, and the stores name the key in their errors (rightly, for the caller): spans and the
// outage warning, which leave the process, keep the prefix (the app's) and lose the key.
func withoutKey(err error, key string) string {
	msg := err.Error()
	var oe *opError
	if key == "" || !errors.As(err, &oe) || !strings.HasSuffix(oe.key, key) {
		return msg
	}
	return strings.Replace(msg, oe.Error(), oe.text(strings.TrimSuffix(oe.key, key)+"<key>"), 1)
}
