package httpclient

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkOverhead measures what the client's policies, headers and bookkeeping cost per call
// on the happy path: the same GET to a local server through a bare http.Client and through a
// Client, each on its own transport with the same settings (HTTP_CLIENT_* defaults) and the
// same timeout. The difference of the two ns/op is the overhead (goal: under 5%).
//
//	go test -run '^$' -bench Overhead -benchmem -count 6 ./internal/services/httpclient
func BenchmarkOverhead(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	cs, err := NewClients(Settings{}, &ClientsOpts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cs.Stop(b.Context()) }()
	c, err := cs.New("bench", Options{})
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Client{Transport: newTransport(cs.Settings(), nil), Timeout: cs.Settings().Timeout}
	defer bare.CloseIdleConnections()

	run := func(b *testing.B, do func(*http.Request) (*http.Response, error)) {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/v1/items?page=2", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
	// Both clients in one loop, alternating which goes first, each call timed: the load of the
	// machine (other processes share its cores) changes between sub-benchmarks far more than
	// the overhead, so only calls made side by side compare.
	b.Run("interleaved", func(b *testing.B) {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/v1/items?page=2", nil)
		if err != nil {
			b.Fatal(err)
		}
		call := func(do func(*http.Request) (*http.Response, error)) time.Duration {
			start := time.Now()
			resp, err := do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return time.Since(start)
		}
		var tBare, tClient time.Duration
		i := 0
		for b.Loop() {
			if i%2 == 0 {
				tBare += call(bare.Do)
				tClient += call(c.Do)
			} else {
				tClient += call(c.Do)
				tBare += call(bare.Do)
			}
			i++
		}
		b.ReportMetric(float64(tBare.Nanoseconds())/float64(i), "bare-ns/call")
		b.ReportMetric(float64(tClient.Nanoseconds())/float64(i), "client-ns/call")
		b.ReportMetric(100*(float64(tClient)/float64(tBare)-1), "overhead-%")
	})
	b.Run("bare", func(b *testing.B) { run(b, bare.Do) })
	b.Run("client", func(b *testing.B) { run(b, c.Do) })
	b.Run("bare-parallel", func(b *testing.B) { parallel(b, srv.URL, bare.Do) })
	b.Run("client-parallel", func(b *testing.B) { parallel(b, srv.URL, c.Do) })
}

// BenchmarkPolicyCost times the client's own work per call, the network left out: the same
// request through the client with a stub in place of the transport, against the stub alone.
//
//	go test -run '^$' -bench PolicyCost -benchmem ./internal/services/httpclient
func BenchmarkPolicyCost(b *testing.B) {
	cs, err := NewClients(Settings{}, &ClientsOpts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	// A fresh response each time: the client wraps its body.
	stub := func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	}
	cs.send = stub
	c, err := cs.New("bench", Options{})
	if err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, "http://127.0.0.1:1/v1/items?page=2", nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{{"stub", roundTripperFunc(stub)}, {"client", c.HTTP().Transport}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := bc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// parallel runs the calls from GOMAXPROCS goroutines, as a server's handlers would.
func parallel(b *testing.B, url string, do func(*http.Request) (*http.Response, error)) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest(http.MethodGet, url+"/v1/items?page=2", nil)
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			resp, err := do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}
