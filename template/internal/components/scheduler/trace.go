package scheduler

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the scheduled runs' spans.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/scheduler"

// startRun starts the span of one run of job name for tick (a scheduled one, or a manual
// run's), the root of its trace; nil when no SDK is installed.
func startRun(ctx context.Context, name string, tick time.Time) (context.Context, trace.Span) {
	t := tracing.Tracer(instrumentationScope)
	if t == nil {
		return ctx, nil
	}
	return t.Start(ctx, "schedule "+name,
		trace.WithAttributes(attribute.String("scheduler.job", name), attribute.String("scheduler.tick", tick.UTC().Format(time.RFC3339))))
}

// endRun records the run's outcome on span and ends it.
func endRun(span trace.Span, err error) {
	if err != nil {
		// The error's class, not its text, which can name what the job was about; the
		// scheduler's log and its run history keep the text.
		tracing.RecordFailure(span, err, "the scheduled job failed")
	}
	span.End()
}
