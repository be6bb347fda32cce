package backend

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestUnroutedPathRedacted: a request no route matched (a probe, a mistyped link holding a
// token or an email) gets a server span whose url.path keeps at most a first segment that one
// of the app's routes spells out; a routed request's path is left to the exporter (its
// wildcards are redacted there) and stays raw on the span.
func TestUnroutedPathRedacted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		wantStatus         int
		want               string
	}{
		{"token under a known segment", http.MethodGet, "/test/reset/s3cr3t-token", http.StatusNotFound, "/test/REDACTED"},
		{"token as the first segment", http.MethodGet, "/s3cr3t-token", http.StatusNotFound, "/REDACTED"},
		{"email then more", http.MethodGet, "/ada@example.com/profile", http.StatusNotFound, "/REDACTED"},
		{"probe", http.MethodGet, "/wp-admin/setup.php?key=SECRET", http.StatusNotFound, "/REDACTED"},
		{"known segment alone", http.MethodGet, "/test", http.StatusNotFound, "/test"},
		{"known segment, trailing slash", http.MethodGet, "/test/", http.StatusNotFound, "/test/"},
		{"method not allowed", http.MethodPost, "/test/log", http.StatusMethodNotAllowed, "/test/REDACTED"},
		{"routed", http.MethodGet, "/test/log", http.StatusNoContent, "/test/log"},
	}
	f := setup(t, setupOpts{})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	h, err := f.srv.Handler(f.c, &HandlerOpts{
		Logger: slog.New(slog.DiscardHandler), Telemetry: &Telemetry{TracerProvider: tp},
		Routes: registry.All[Routes]{{Name: "testroutes", Value: testRoutes}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans ended, want 1", len(spans))
			}
			got := "(none)"
			for _, kv := range spans[0].Attributes() {
				if kv.Key == "url.path" {
					got = kv.Value.AsString()
				}
			}
			if got != tt.want {
				t.Errorf("span %q url.path %q, want %q", spans[0].Name(), got, tt.want)
			}
		})
	}
}
