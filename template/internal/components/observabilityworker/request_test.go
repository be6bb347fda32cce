package observabilityworker

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
)

// TestRequestTrace is the whole path in one trace: a request through the app's handler
// writes the database and enqueues a job, which a worker runs. The spans: the request's
// (server), the insert's (client, child of the request), the enqueue's (producer, child of
// the request) and the job's (consumer, child of the enqueue). The SDK is installed as
// OpenTelemetry's globals, as the app does, so not in parallel.
func TestRequestTrace(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	obs, err := observability.New(t.Context(), observability.Settings{},
		&observability.Opts{Global: true, SpanProcessors: []sdktrace.SpanProcessor{spans}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })

	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		inJob := requestThroughApp(t, db, obs)

		byName := map[string]sdktrace.ReadOnlySpan{}
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, s := range spans.Ended() {
				if s.SpanContext().TraceID() == inJob.TraceID() {
					byName[s.Name()] = s
				}
			}
			if byName[workSpan] != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		request, insert := byName[requestSpan], byName[insertSpan]
		enqueue, work := byName[enqueueSpan], byName[workSpan]
		if request == nil || insert == nil || enqueue == nil || work == nil {
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			t.Fatalf("the job's trace holds %q, want POST /things, INSERT, enqueue and work", names)
		}
		for _, link := range []struct {
			child, parent sdktrace.ReadOnlySpan
			kind          trace.SpanKind
		}{
			{insert, request, trace.SpanKindClient},
			{enqueue, request, trace.SpanKindProducer},
			{work, enqueue, trace.SpanKindConsumer},
		} {
			if link.child.Parent().SpanID() != link.parent.SpanContext().SpanID() || link.child.SpanKind() != link.kind {
				t.Errorf("%s: parent %s kind %v, want %s (%s), kind %v", link.child.Name(), link.child.Parent().SpanID(),
					link.child.SpanKind(), link.parent.SpanContext().SpanID(), link.parent.Name(), link.kind)
			}
		}
		if request.SpanKind() != trace.SpanKindServer || request.Parent().IsValid() {
			t.Errorf("request span kind %v parent %v, want a server root span", request.SpanKind(), request.Parent())
		}
		// The job spans say what they did, and to which job, in attributes as well as in their
		// names: a backend filters and groups by attribute (OpenTelemetry's messaging
		// conventions require the operation's name; its type is conditionally required).
		for _, tt := range []struct {
			span sdktrace.ReadOnlySpan
			want map[attribute.Key]attribute.Value
		}{
			{enqueue, map[attribute.Key]attribute.Value{
				"messaging.operation.name": attribute.StringValue("enqueue"),
				"messaging.operation.type": attribute.StringValue("send"),
				"river.job.kind":           attribute.StringValue(recordedArgs{}.Kind()),
			}},
			{work, map[attribute.Key]attribute.Value{
				"messaging.operation.name": attribute.StringValue("work"),
				"messaging.operation.type": attribute.StringValue("process"),
				"river.job.kind":           attribute.StringValue(recordedArgs{}.Kind()),
				"river.attempt":            attribute.IntValue(1),
			}},
		} {
			got := map[attribute.Key]attribute.Value{}
			for _, a := range tt.span.Attributes() {
				got[a.Key] = a.Value
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: %s = %v, want %v", tt.span.Name(), k, got[k].String(), v.String())
				}
			}
		}
	})
}
