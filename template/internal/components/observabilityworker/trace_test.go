package observabilityworker

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

type tracedArgs struct{}

func (tracedArgs) Kind() string { return "observability_traced" }

// TestJobContinuesTrace enqueues a job inside a span (as a request handler does) and checks
// the trace: request -> enqueue (producer) -> work (consumer), one trace ID. The SDK is
// installed as OpenTelemetry's globals, so the engines run one after the other.
func TestJobContinuesTrace(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	obs, err := observability.New(t.Context(), observability.Settings{},
		&observability.Opts{Global: true, SpanProcessors: []sdktrace.SpanProcessor{spans}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })

	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		worked := make(chan trace.SpanContext, 1)
		task := worker.NewTask(func(ctx context.Context, _ *river.Job[tracedArgs]) error {
			worked <- trace.SpanContextFromContext(ctx)
			return nil
		}, nil)
		w, err := worker.NewClient(db, worker.Settings{Queues: "default=2", PollInterval: 50 * time.Millisecond,
			FetchCooldown: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
			&worker.ClientOpts{Work: true, Tasks: registry.All[worker.Task]{{Name: tracedArgs{}.Kind(), Value: task}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Stop(context.Background()) })

		ctx, request := obs.TracerProvider().Tracer("test").Start(t.Context(), "GET /things")
		if _, err := w.Enqueue(ctx, tracedArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		request.End()
		var inJob trace.SpanContext
		select {
		case inJob = <-worked:
		case <-time.After(10 * time.Second):
			t.Fatal("the job was not worked within 10s")
		}
		if inJob.TraceID() != request.SpanContext().TraceID() {
			t.Fatalf("the job ran in trace %s, want the request's %s", inJob.TraceID(), request.SpanContext().TraceID())
		}
		byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, s := range spans.Ended() {
				byID[s.SpanContext().SpanID()] = s
			}
			if byID[inJob.SpanID()] != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		work := byID[inJob.SpanID()]
		if work == nil || work.Name() != "work observability_traced" || work.SpanKind() != trace.SpanKindConsumer {
			t.Fatalf("the job's span: %v, want a consumer span named work observability_traced", work)
		}
		enqueue := byID[work.Parent().SpanID()]
		if enqueue == nil || enqueue.Name() != "enqueue observability_traced" || enqueue.SpanKind() != trace.SpanKindProducer {
			t.Fatalf("the work span's parent: %v, want the producer span enqueue observability_traced", enqueue)
		}
		if enqueue.Parent().SpanID() != request.SpanContext().SpanID() {
			t.Errorf("the enqueue span's parent is %s, want the request's span %s", enqueue.Parent().SpanID(), request.SpanContext().SpanID())
		}
	})
}
