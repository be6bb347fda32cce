package observabilityworker

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

type recordedArgs struct{}

func (recordedArgs) Kind() string { return "observability_recorded" }

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
		if _, err := db.Bun().NewRaw("CREATE TABLE obs_things (id INTEGER NOT NULL)").Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		db.TraceQueries(obs.TracerProvider())
		worked := make(chan trace.SpanContext, 1)
		task := worker.NewTask(func(ctx context.Context, _ *river.Job[recordedArgs]) error {
			worked <- trace.SpanContextFromContext(ctx)
			return nil
		}, nil)
		w, err := worker.NewClient(db, worker.Settings{Queues: "default=2", PollInterval: 50 * time.Millisecond,
			FetchCooldown: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
			&worker.ClientOpts{Work: true, Tasks: registry.All[worker.Task]{{Name: recordedArgs{}.Kind(), Value: task}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Stop(context.Background()) })

		srv := backend.NewServer(backend.Settings{})
		c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
			return registry.Value(r, srv, registry.Component(backend.Name))
		})
		tel := obs.Telemetry()
		h, err := srv.Handler(c, &backend.HandlerOpts{Logger: slog.New(slog.DiscardHandler), Telemetry: &tel,
			Routes: registry.All[backend.Routes]{{Name: "things", Value: func(r *backend.Router) error {
				r.Mux.Post("/things", func(rw http.ResponseWriter, req *http.Request) {
					ctx := req.Context()
					if _, err := db.Bun().NewRaw("INSERT INTO obs_things (id) VALUES (?)", 1).Exec(ctx); err != nil {
						http.Error(rw, err.Error(), http.StatusInternalServerError)
						return
					}
					if _, err := w.Enqueue(ctx, recordedArgs{}, nil); err != nil {
						http.Error(rw, err.Error(), http.StatusInternalServerError)
						return
					}
					rw.WriteHeader(http.StatusAccepted)
				})
				return nil
			}}}})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/things", nil))
		if rec.Code != http.StatusAccepted {
			t.Fatalf("POST /things: %d %s", rec.Code, rec.Body)
		}
		var inJob trace.SpanContext
		select {
		case inJob = <-worked:
		case <-time.After(10 * time.Second):
			t.Fatal("the job was not worked within 10s")
		}

		byName := map[string]sdktrace.ReadOnlySpan{}
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, s := range spans.Ended() {
				if s.SpanContext().TraceID() == inJob.TraceID() {
					byName[s.Name()] = s
				}
			}
			if byName["work observability_recorded"] != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		request, insert := byName["POST /things"], byName["INSERT"]
		enqueue, work := byName["enqueue observability_recorded"], byName["work observability_recorded"]
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
	})
}
