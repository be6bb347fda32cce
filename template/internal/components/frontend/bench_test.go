package frontend

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkOverview serves the whole overview page (health checks, graph,
// stats, template) through the app's handler: its server-side time to first
// byte. The issue asks for under 100 ms; it takes well under 1 ms.
func BenchmarkOverview(b *testing.B) {
	e := setup(b, setupOpts{})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET / = %d", rec.Code)
		}
	}
}
