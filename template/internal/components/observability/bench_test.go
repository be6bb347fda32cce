package observability

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// nullWriter keeps nothing, so the allocations counted are the handler's.
type nullWriter struct {
	h    http.Header
	code int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(code int)        { w.code = code }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkPingTraced is the backend's BenchmarkPing/app_info (one API request through the
// whole middleware stack, an access line per request, buffered, to io.Discard) with the
// component: a span (exported nowhere) and the request metrics per request. Compare with
//
//	go test -run '^$' -bench 'Ping/app_info$' -benchmem ./internal/components/backend
//
// sampled_10 keeps 10% of the traces (OTEL_TRACES_SAMPLER=traceidratio, 0.1); sampled_100_ring
// adds the dashboard's ring of recent traces (OTEL_DASHBOARD_TRACES, on by default in the app):
// most of its cost is the SDK's, which snapshots each ended span once any processor is
// installed (without one, as in sampled_100 here, it skips that). The _otlp ones are the app
// as bench/compare.sh obs runs it: the ring, and OTLP/HTTP export of spans and metrics to a
// collector that discards (the batch processor, encoding and sending); run them with -cpu 1,
// as the server runs there, so that the exporter's work shares the core with the requests.
func BenchmarkPingTraced(b *testing.B) {
	b.Run("sampled_100", func(b *testing.B) { benchPing(b, "1", Settings{}) })
	b.Run("sampled_10", func(b *testing.B) { benchPing(b, "0.1", Settings{}) })
	// With the dashboard's ring of recent traces, as the app runs by default.
	b.Run("sampled_100_ring", func(b *testing.B) { benchPing(b, "1", Settings{DashboardTraces: 200}) })
	b.Run("sampled_10_ring_otlp", func(b *testing.B) {
		benchPing(b, "0.1", Settings{DashboardTraces: 200, OTLPEndpoint: sink(b)})
	})
	b.Run("sampled_100_ring_otlp", func(b *testing.B) {
		benchPing(b, "1", Settings{DashboardTraces: 200, OTLPEndpoint: sink(b)})
	})
}

// sink is an OTLP/HTTP collector that reads each export and discards it.
func sink(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

func benchPing(b *testing.B, ratio string, s Settings) {
	b.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
	b.Setenv("OTEL_TRACES_SAMPLER_ARG", ratio)
	obs, err := New(b.Context(), s, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = obs.Stop(context.Background()) })
	w := logbuf.New(io.Discard, 0, 0)
	b.Cleanup(func() { _ = w.Close() })
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	logger := slog.New(backend.LogHandler(logbuf.Handler(logbuf.JSONHandler(w, opts), w, slog.LevelError)))
	srv := backend.NewServer(backend.Settings{})
	c := registrytest.Start(b, registry.New(), func(r *registry.Registry) error {
		return registry.Value(r, srv, registry.Component(backend.Name))
	})
	tel := obs.Telemetry()
	h, err := srv.Handler(c, &backend.HandlerOpts{Logger: logger, Telemetry: &tel, Routes: registry.All[backend.Routes]{
		{Name: "ping", Value: func(r *backend.Router) error {
			huma.Get(r.API, "/api/v1/ping", func(context.Context, *struct{}) (*pingOutput, error) {
				out := &pingOutput{}
				out.Body.Message = "pong"
				return out, nil
			})
			return nil
		}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/ping", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rw := &nullWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(rw.h)
		rw.code = 0
		h.ServeHTTP(rw, req)
	}
	if rw.code != 0 && rw.code != http.StatusOK {
		b.Fatalf("status %d", rw.code)
	}
}
