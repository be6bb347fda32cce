package observabilityworker

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

type recordedArgs struct{}

func (recordedArgs) Kind() string { return "observability_recorded" }

// The span names of the path a traced request takes (the backend names the request's by
// its route, the database the query's by its operation, the worker the job's by its kind).
var (
	requestSpan = "POST /things"
	insertSpan  = "INSERT"
	enqueueSpan = "enqueue " + recordedArgs{}.Kind()
	workSpan    = "work " + recordedArgs{}.Kind()
)

// requestThroughApp is the path the trace tests share, on db with obs's SDK: the app's
// handler with a POST /things route that inserts a row and enqueues a job, and a worker
// that runs it. It sends the request and waits for the job to run, and returns the span
// context the job ran in (its trace is the request's). The job's own span ends just after.
func requestThroughApp(t *testing.T, db *database.DB, obs *observability.Observability) trace.SpanContext {
	t.Helper()
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
	select {
	case inJob := <-worked:
		return inJob
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not worked within 10s")
		return trace.SpanContext{}
	}
}
