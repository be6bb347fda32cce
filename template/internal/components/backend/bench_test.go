package backend

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The liveness probe is held to at least 80% of a bare net/http handler's
// throughput over real connections; compare the two with
//
//	go test -run '^$' -bench 'Live' ./internal/components/backend
//
// (TestLiveAllocations guards the per-request cost in every test run.)
func BenchmarkLiveBare(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	benchmarkServer(b, bare)
}

func BenchmarkLiveBackend(b *testing.B) {
	f := setup(b, setupOpts{infoLogs: true})
	benchmarkServer(b, f.h)
}

func benchmarkServer(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + LivePath
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
