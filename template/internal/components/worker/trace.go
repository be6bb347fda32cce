package worker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the jobs' spans.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/worker"

// traceMetadataKey holds a job's trace context (W3C traceparent, tracestate) in its
// metadata, so that the job's work continues the trace of the request that enqueued it.
const traceMetadataKey = "otel"

// tracer returns the tracer of jobs, or nil when no SDK is installed.
func tracer() trace.Tracer { return tracing.Tracer(instrumentationScope) }

// traceInsert is River's insert middleware: a producer span around each insert, whose
// context goes into every job's metadata, and the count of jobs inserted.
func traceInsert(ctx context.Context, many []*rivertype.JobInsertParams,
	doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	t, m := tracer(), metrics()
	if t == nil || len(many) == 0 {
		res, err := doInner(ctx)
		if m != nil && err == nil {
			m.countInserted(ctx, res)
		}
		return res, err
	}
	name := "enqueue " + many[0].Kind
	if len(many) > 1 {
		name = "enqueue " + strconv.Itoa(len(many)) + " jobs"
	}
	// The operation and the kind are attributes as well as in the name, for a backend's
	// filters (OpenTelemetry's messaging conventions; river.job.kind as on the job metrics).
	attrs := []attribute.KeyValue{attribute.String("messaging.system", "river"),
		attribute.String("messaging.operation.name", "enqueue"), attribute.String("messaging.operation.type", "send"),
		attribute.String("messaging.destination.name", many[0].Queue),
		attribute.Int("messaging.batch.message_count", len(many))}
	if oneKind(many) {
		attrs = append(attrs, attribute.String("river.job.kind", many[0].Kind))
	}
	ctx, span := t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	defer span.End()
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	for _, p := range many {
		p.Metadata = withTraceContext(p.Metadata, carrier)
	}
	res, err := doInner(ctx)
	if err != nil {
		// The error's class, not its text: an insert's error can quote the job's arguments.
		tracing.RecordFailure(span, err, "enqueueing the job failed")
	} else if m != nil {
		m.countInserted(ctx, res)
	}
	return res, err
}

// oneKind reports whether the jobs of an insert are all of one kind.
func oneKind(many []*rivertype.JobInsertParams) bool {
	for _, p := range many[1:] {
		if p.Kind != many[0].Kind {
			return false
		}
	}
	return true
}

// withTraceContext returns metadata (a JSON object, or empty) with the trace context set;
// metadata that is not an object is kept as it is.
func withTraceContext(metadata []byte, carrier propagation.MapCarrier) []byte {
	m := map[string]any{}
	if len(metadata) > 0 {
		if err := json.Unmarshal(metadata, &m); err != nil || m == nil {
			return metadata
		}
	}
	m[traceMetadataKey] = map[string]string(carrier)
	out, err := json.Marshal(m)
	if err != nil {
		return metadata
	}
	return out
}

// traceWork is River's worker middleware: a consumer span per attempt, continuing the
// trace the job's metadata carries (the enqueuing request's), and the attempt's duration,
// outcome and wait in the job metrics.
func traceWork(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	t, m := tracer(), metrics()
	// A task that panics returns nothing: River recovers the panic above this middleware and
	// fails the attempt, so without this flag the attempt's span and metric would say it
	// succeeded. The panic is left to unwind as it is (River records its value and stack).
	returned := false
	if m != nil {
		start := time.Now()
		defer func() { m.recordAttempt(ctx, job, start, attemptOutcome(err, returned)) }()
	}
	if t == nil {
		err = doInner(ctx)
		returned = true
		return err
	}
	var meta struct {
		Trace map[string]string `json:"otel"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil && len(meta.Trace) > 0 {
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(meta.Trace))
	}
	ctx, span := t.Start(ctx, "work "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "river"),
			attribute.String("messaging.operation.name", "work"), attribute.String("messaging.operation.type", "process"),
			attribute.String("river.job.kind", job.Kind),
			attribute.String("messaging.destination.name", job.Queue),
			attribute.Int64("messaging.message.id", job.ID),
			attribute.Int("river.attempt", job.Attempt)))
	defer func() {
		switch attemptOutcome(err, returned) {
		case outcomePanic:
			span.SetStatus(codes.Error, "the job's task panicked")
		case outcomeError:
			// The error's class, not its text: a task's error often names what it was
			// about (an email address, a user's input), which the span would carry to
			// the tracing backend. River keeps the text in the job's errors.
			tracing.RecordFailure(span, err, "the job's task failed")
		case outcomeSnoozed:
			// Not a failure: the task asked to run later (river.JobSnooze).
			span.SetAttributes(attribute.Bool("river.snoozed", true))
		}
		span.End()
	}()
	err = doInner(ctx)
	returned = true
	return err
}

// How a job attempt ended, as the work span's status and the outcome label of
// river_job_duration_seconds say it.
const (
	outcomeOK      = "ok"
	outcomeError   = "error"
	outcomePanic   = "panic" // a failure, counted as "error"
	outcomeSnoozed = "snoozed"
)

// attemptOutcome is how an attempt that returned err ended; returned is false when the task
// panicked instead of returning.
func attemptOutcome(err error, returned bool) string {
	var snooze *river.JobSnoozeError
	switch {
	case !returned:
		return outcomePanic
	case err == nil:
		return outcomeOK
	case errors.As(err, &snooze):
		return outcomeSnoozed
	}
	return outcomeError
}
