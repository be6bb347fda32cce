package ai

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// The benchmarks of issue 14 (bench/RESULTS.md, "AI"): what the app's SSE endpoint adds to
// the time to the first token, and how many long streams it holds at once and at what memory.
// Each compares the app with the same client talking to the same fake model directly, in one
// run, so the figures that matter are the differences.

// streamingModel is an OpenAI-compatible server whose streamed answers are tokens tokens,
// the first at once and the others every interval: over plain HTTP/1.1, as a local model
// (Ollama, llama.cpp) serves it, or, with h2, over TLS with HTTP/2, as the hosted providers do.
func streamingModel(b *testing.B, tokens int, interval time.Duration, h2 bool) *httptest.Server {
	b.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		chunk := func(delta, finish string) {
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", req.Model, delta, finish)
			fl.Flush()
		}
		chunk(`{"role":"assistant","content":""}`, "null")
		var tick <-chan time.Time
		if interval > 0 {
			t := time.NewTicker(interval)
			defer t.Stop()
			tick = t.C
		}
		for i := range tokens {
			if i > 0 && tick != nil {
				select {
				case <-r.Context().Done():
					return
				case <-tick:
				}
			}
			chunk(`{"content":"tok "}`, "null")
		}
		chunk(`{}`, `"stop"`)
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", req.Model, tokens, tokens+5)
		fmt.Fprint(w, "data: [DONE]\n\n")
		fl.Flush()
	}))
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	b.Cleanup(srv.Close)
	return srv
}

// modelTLS is the TLS configuration that trusts model's certificate (nil for plain HTTP).
func modelTLS(model *httptest.Server) *tls.Config {
	if model.TLS == nil {
		return nil
	}
	roots := x509.NewCertPool()
	roots.AddCert(model.Certificate())
	return &tls.Config{RootCAs: roots}
}

// benchApp serves the ai API through backend.Serve, as the app does, on a fresh SQLite
// database, its default profile the model at model's address; maxConns is
// HTTP_CLIENT_MAX_CONNS_PER_HOST (the app's default, 64, would queue the 65th concurrent
// stream to one provider).
func benchApp(b *testing.B, model *httptest.Server, maxConns int) string {
	b.Helper()
	db := databasetest.New(b, database.SQLite)
	hc, err := httpclient.NewClients(httpclient.Settings{MaxAttempts: 1, MaxConnsPerHost: maxConns, MaxIdleConnsPerHost: min(maxConns, 64)},
		&httpclient.ClientsOpts{TLS: modelTLS(model)})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(db, Settings{Provider: ProviderLocal, Model: "llama3.2", LocalBaseURL: model.URL + "/v1"},
		&Opts{Clients: hc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return serveStreams(b, frontendtest.Handler(b, nil, func(r *registry.Registry) error { return registry.Value(r, svc) }), true)
}

// streamTarget is where a benchmark's client sends a streamed chat, and the line that means
// the first token arrived.
type streamTarget struct {
	url, body, first string
	tls              *tls.Config // the model's, for the direct target over TLS
}

func directTarget(model *httptest.Server) streamTarget {
	return streamTarget{url: model.URL + "/v1/chat/completions", first: `"content":"tok `, tls: modelTLS(model),
		body: `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}`}
}

func appTarget(app string) streamTarget {
	return streamTarget{url: app + ChatPath, first: "event: delta", body: `{"prompt":"hi","stream":true}`}
}

// open posts the chat and reads up to the first token; it returns the response's reader.
func (s streamTarget) open(ctx context.Context, c *http.Client) (*bufio.Reader, io.Closer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(s.body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, nil, fmt.Errorf("%s: %d %s", s.url, resp.StatusCode, body)
	}
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("%s: no token before %w", s.url, err)
		}
		if bytes.Contains(line, []byte(s.first)) {
			return rd, resp.Body, nil
		}
	}
}

// finish reads the stream to its end and returns nil when it ended well: [DONE] from the
// model, a done event from the app.
func finish(rd *bufio.Reader, body io.Closer) error {
	defer body.Close()
	var failed error = errors.New("the stream ended without [DONE] or a done event")
	inError := false
	var last string
	for {
		line, err := rd.ReadSlice('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			last = string(line)
		}
		switch {
		case bytes.HasPrefix(line, []byte("data: [DONE]")), bytes.HasPrefix(line, []byte("event: done")):
			failed = nil
		case bytes.HasPrefix(line, []byte("event: error")):
			inError = true
		case inError && bytes.HasPrefix(line, []byte("data: ")):
			failed, inError = fmt.Errorf("error event: %s", bytes.TrimSpace(line)), false
		}
		if err != nil {
			if failed != nil {
				return fmt.Errorf("%w (read: %v; last line: %q)", failed, err, last)
			}
			return nil
		}
	}
}

// BenchmarkTimeToFirstToken: from the request to the first token's line, through the app's
// SSE endpoint (which stores the prompt and its conversation first, then calls the model
// through openai-go and the httpclient service) and straight to the model; p50 and p99 of
// the iterations are reported (p50-µs, p99-µs) beside the mean (ns/op, which includes reading
// the rest of the short answer).
func BenchmarkTimeToFirstToken(b *testing.B) {
	model := streamingModel(b, 3, 0, false)
	targets := []struct {
		name   string
		target func(*testing.B) streamTarget
	}{
		{"direct", func(*testing.B) streamTarget { return directTarget(model) }},
		{"app", func(b *testing.B) streamTarget { return appTarget(benchApp(b, model, 64)) }},
	}
	for _, tc := range targets {
		b.Run(tc.name, func(b *testing.B) {
			target := tc.target(b)
			c := &http.Client{}
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				rd, body, err := target.open(b.Context(), c)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				if err := finish(rd, body); err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// BenchmarkOpenStreams opens AI_BENCH_STREAMS streams at once (1,000 by default), each a
// model answer of a token every 50 ms for AI_BENCH_STREAM_SECONDS (10 s by default), through
// the app and, for comparison, straight to the model, and reports how many streams were
// held to their end (held) and the process's Go heap (heap-B/stream), goroutine stacks
// (stack-B/stream) and RSS (rss-B/stream) while all were open, per stream, over the process before they opened.
// live-B/stream is the heap's live objects alone (HeapAlloc after the GC): heap-B/stream counts
// every span that holds one, so it also grows with the fragmentation a burst of setups leaves.
// Model, app and client share the process: a stream's share of the app is the app's figure
// minus the direct one. The model speaks plain HTTP/1.1 (http1: a local model, each stream
// its own connection) or HTTP/2 over TLS (h2: the hosted providers, streams sharing
// connections); the app's own clients come in over HTTP/1.1 either way. Run it with
// -benchtime 1x. With AI_BENCH_HEAP_PROFILE=PATH it also writes the heap and goroutine
// profiles taken while the streams are open (PATH.NAME).
func BenchmarkOpenStreams(b *testing.B) {
	streams := envInt(b, "AI_BENCH_STREAMS", 1000)
	seconds := envInt(b, "AI_BENCH_STREAM_SECONDS", 10)
	const interval = 50 * time.Millisecond
	tokens := seconds * int(time.Second/interval)
	for _, proto := range []struct {
		name string
		h2   bool
	}{{"http1", false}, {"h2", true}} {
		b.Run(proto.name, func(b *testing.B) {
			model := streamingModel(b, tokens, interval, proto.h2)
			targets := []struct {
				name   string
				target func(*testing.B) streamTarget
			}{
				{"direct", func(*testing.B) streamTarget { return directTarget(model) }},
				{"app", func(b *testing.B) streamTarget { return appTarget(benchApp(b, model, streams+16)) }},
			}
			for _, tc := range targets {
				b.Run(tc.name, func(b *testing.B) {
					target := tc.target(b)
					for b.Loop() {
						held, grew := holdStreams(b, target, streams)
						b.ReportMetric(float64(held), "held")
						b.ReportMetric(float64(grew.heap)/float64(streams), "heap-B/stream")
						b.ReportMetric(float64(grew.stack)/float64(streams), "stack-B/stream")
						b.ReportMetric(float64(grew.rss)/float64(streams), "rss-B/stream")
						b.ReportMetric(float64(grew.live)/float64(streams), "live-B/stream")
					}
				})
			}
		})
	}
}

// holdStreams opens n streams, measures memory once every one has its first token (or a
// minute has passed), and waits for them to end; it returns how many ended well and the
// growth of memory while they were open.
func holdStreams(b *testing.B, target streamTarget, n int) (held int, grew memory) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, TLSClientConfig: target.tls, ForceAttemptHTTP2: true}}
	defer c.CloseIdleConnections()
	before := settledMem()
	var opened, done sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	opened.Add(n)
	for range n {
		done.Go(func() {
			rd, body, err := target.open(b.Context(), c)
			opened.Done()
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			if err := finish(rd, body); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			ok.Add(1)
		})
	}
	allOpen := make(chan struct{})
	go func() { opened.Wait(); close(allOpen) }()
	select {
	case <-allOpen:
	case <-time.After(time.Minute):
		b.Logf("not every stream had its first token within a minute")
	}
	during := settledMem()
	if path := os.Getenv("AI_BENCH_HEAP_PROFILE"); path != "" {
		f, _ := os.Create(path + "." + strings.ReplaceAll(b.Name(), "/", "_"))
		_ = pprof.WriteHeapProfile(f)
		f.Close()
		gf, _ := os.Create(path + ".goroutine." + strings.ReplaceAll(b.Name(), "/", "_"))
		_ = pprof.Lookup("goroutine").WriteTo(gf, 1)
		gf.Close()
	}
	done.Wait()
	if err := firstErr.Load(); err != nil {
		b.Logf("%d streams failed; the first: %v", failed.Load(), err)
	}
	return int(ok.Load()), memory{heap: during.heap - before.heap, stack: during.stack - before.stack, rss: during.rss - before.rss, live: during.live - before.live}
}

// memory is the Go heap in use (its spans), the goroutine stacks, the process's resident set
// and the heap's live objects, in bytes.
type memory struct{ heap, stack, rss, live int64 }

// settledMem is memNow after two collections: the first moves what sync.Pools hold free
// (net/http keeps its connections' bufio buffers there) to their victim caches, the second
// frees it. With one collection the buffers the previous run's closed connections pooled
// counted as live, in the figure before the streams opened or in the one while they were
// open, whichever came first, and the per-stream figures moved by 10-15 KB from run to run.
func settledMem() memory {
	runtime.GC()
	runtime.GC()
	return memNow()
}

func memNow() memory {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	out := memory{heap: int64(m.HeapInuse), stack: int64(m.StackInuse), live: int64(m.HeapAlloc)}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out // not Linux: RSS is not measured
	}
	for line := range strings.Lines(string(status)) {
		if rest, found := strings.CutPrefix(line, "VmRSS:"); found {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			out.rss = kb << 10
		}
	}
	return out
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}
