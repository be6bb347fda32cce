package httpclient

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRetries runs calls against servers that fail on purpose and checks what the caller gets
// and how many attempts the server saw.
func TestRetries(t *testing.T) {
	t.Parallel()
	status := func(code int) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
	}
	failFirst := func(first func(http.ResponseWriter)) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				first(w)
				return
			}
			w.WriteHeader(http.StatusOK)
		}
	}
	withHeader := func(code int, k, v string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.Header().Set(k, v); w.WriteHeader(code) }
	}
	// A Retry-After within MaxDelay is waited for, far above the backoff; one beyond it is not
	// waited for at all: the answer comes back at once, for the caller to pass the wait on.
	const maxDelay = 80 * time.Millisecond
	tests := []struct {
		name       string
		method     string
		key        string // Idempotency-Key
		maxDelay   time.Duration
		handle     func(int, http.ResponseWriter, *http.Request)
		wantStatus int
		wantCalls  int
		minElapsed time.Duration
		maxElapsed time.Duration
	}{
		{name: "500 then 200", method: http.MethodGet, handle: failFirst(func(w http.ResponseWriter) { w.WriteHeader(500) }), wantStatus: 200, wantCalls: 2},
		{name: "connection reset then 200", method: http.MethodGet, handle: failFirst(reset), wantStatus: 200, wantCalls: 2},
		{name: "408 then 200", method: http.MethodPut, handle: failFirst(func(w http.ResponseWriter) { w.WriteHeader(408) }), wantStatus: 200, wantCalls: 2},
		{name: "429 Retry-After seconds within MaxDelay", method: http.MethodGet, maxDelay: 3 * time.Second,
			handle: failFirst(withHeader(429, "Retry-After", "1")), wantStatus: 200, wantCalls: 2, minElapsed: 900 * time.Millisecond},
		{name: "429 Retry-After HTTP-date within MaxDelay", method: http.MethodDelete, maxDelay: 5 * time.Second,
			handle:     failFirst(withHeader(429, "Retry-After", time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))),
			wantStatus: 200, wantCalls: 2, minElapsed: time.Second, maxElapsed: 4500 * time.Millisecond},
		{name: "429 Retry-After seconds beyond MaxDelay", method: http.MethodGet,
			handle: failFirst(withHeader(429, "Retry-After", "3")), wantStatus: 429, wantCalls: 1},
		{name: "503 Retry-After HTTP-date beyond MaxDelay", method: http.MethodGet,
			handle:     failFirst(withHeader(503, "Retry-After", time.Now().Add(5*time.Second).UTC().Format(http.TimeFormat))),
			wantStatus: 503, wantCalls: 1},
		{name: "503 every time: the last answer", method: http.MethodGet, handle: status(503), wantStatus: 503, wantCalls: 3},
		{name: "404 is not retried", method: http.MethodGet, handle: status(404), wantStatus: 404, wantCalls: 1},
		{name: "501 is not retried", method: http.MethodGet, handle: status(501), wantStatus: 501, wantCalls: 1},
		{name: "POST without Idempotency-Key is not retried", method: http.MethodPost, handle: status(503), wantStatus: 503, wantCalls: 1},
		{name: "PATCH without Idempotency-Key is not retried", method: http.MethodPatch, handle: failFirst(reset), wantStatus: 0, wantCalls: 1},
		{name: "POST with Idempotency-Key is retried", method: http.MethodPost, key: "order-42", handle: failFirst(func(w http.ResponseWriter) { w.WriteHeader(502) }), wantStatus: 200, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fastSettings())
			srv := newServer(t, tt.handle)
			c := f.client(t, "test", Options{MaxDelay: cmp.Or(tt.maxDelay, maxDelay)})
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+"/things", strings.NewReader(`{"n":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			start := time.Now()
			resp, err := c.Do(req)
			elapsed := time.Since(start)
			got := 0
			if err == nil {
				got = resp.StatusCode
				_ = resp.Body.Close()
			}
			if got != tt.wantStatus {
				t.Errorf("status %d (error %v), want %d", got, err, tt.wantStatus)
			}
			if srv.count() != tt.wantCalls {
				t.Errorf("the server got %d requests, want %d", srv.count(), tt.wantCalls)
			}
			if elapsed < tt.minElapsed {
				t.Errorf("took %s, want at least %s (the Retry-After)", elapsed, tt.minElapsed)
			}
			if elapsed > cmp.Or(tt.maxElapsed, 2*time.Second) {
				t.Errorf("took %s, want at most %s", elapsed, cmp.Or(tt.maxElapsed, 2*time.Second))
			}
		})
	}
}

// TestBodyReplayed checks that every attempt of a POST with an Idempotency-Key sends the same
// body and the same key.
func TestBodyReplayed(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	var mu sync.Mutex
	var bodies, keys []string
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, keys = append(bodies, string(b)), append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	c := f.client(t, "test", Options{})
	payload := bytes.Repeat([]byte("0123456789"), 10_000) // larger than one write
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(payload))
	req.Header.Set("Idempotency-Key", "k-1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(bodies) != 3 {
		t.Fatalf("status %d after %d attempts, want 201 after 3", resp.StatusCode, len(bodies))
	}
	for i := range bodies {
		if bodies[i] != string(payload) || keys[i] != "k-1" {
			t.Errorf("attempt %d sent %d bytes with key %q, want the %d bytes and k-1", i+1, len(bodies[i]), keys[i], len(payload))
		}
	}
}

// TestSlowHeadersTimeout: a server that does not answer in time costs the caller its timeout,
// not a retry after each slow attempt.
func TestSlowHeadersTimeout(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		w.WriteHeader(http.StatusOK)
	})
	c := f.client(t, "slow", Options{Timeout: 100 * time.Millisecond})
	start := time.Now()
	resp, err := c.HTTP().Get(srv.URL)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("status %d, want a timeout", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not a deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %s, want about the 100ms timeout", d)
	}
}

// TestCancelMidRetry: cancelling the context while the client waits to retry returns at
// once, with the context's error.
func TestCancelMidRetry(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c := f.client(t, "test", Options{MaxDelay: time.Minute, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := Do[struct{}](ctx, c, http.MethodGet, srv.URL, nil)
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned %s after the cancellation", d-50*time.Millisecond)
	}
	var he *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &he) {
		t.Fatalf("error %v, want an *Error wrapping context.Canceled", err)
	}
	if he.Attempts != 1 || srv.count() != 1 {
		t.Errorf("%d attempts, server saw %d, want 1", he.Attempts, srv.count())
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q does not say the last answer was a 503", err)
	}
}

// TestDeadlineWins: when the next wait would end after the deadline, the last failure is
// returned at once instead of sleeping into the deadline.
func TestDeadlineWins(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c := f.client(t, "test", Options{MaxDelay: time.Minute, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Do[struct{}](ctx, c, http.MethodGet, srv.URL, nil)
	var he *Error
	if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests || he.Attempts != 1 {
		t.Fatalf("error %v, want the 429 after 1 attempt", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("returned after %s, want at once", d)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 120 * time.Second, true},
		{" 0 ", 0, true},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true}, // RFC 850, still allowed
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},            // in the past
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := RetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
