package httpclient

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestBreaker opens a host's breaker with failures, checks that calls then fail without
// reaching the host and that health says so, and closes it again through the half-open probe.
func TestBreaker(t *testing.T) {
	t.Parallel()
	s := fastSettings()
	s.BreakerFailures, s.BreakerCooldown = 3, 150*time.Millisecond
	f := setup(t, s)
	var down atomic.Bool
	down.Store(true)
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	c := f.client(t, "flaky", Options{MaxAttempts: 1})
	get := func() (int, error) {
		resp, err := c.Do(mustRequest(t, http.MethodGet, srv.URL))
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	for i := range 3 {
		if code, err := get(); code != 500 {
			t.Fatalf("call %d: %d, %v; want the 500", i+1, code, err)
		}
	}
	if h := f.cs.CheckHealth(t.Context()); h.Status != registry.StatusDegraded || !strings.Contains(h.Message, srv.host()) {
		t.Errorf("health with the breaker open: %s %q, want degraded naming %s", h.Status, h.Message, srv.host())
	}
	_, err := get()
	if !errors.Is(err, ErrBreakerOpen) || !errors.Is(err, circuitbreaker.ErrOpen) {
		t.Errorf("call with the breaker open: %v, want ErrBreakerOpen", err)
	}
	if wait, ok := BreakerWait(err); !ok || wait <= 0 || wait > 150*time.Millisecond {
		t.Errorf("BreakerWait = %s, %v; want the rest of the 150ms cooldown", wait, ok)
	}
	if _, ok := BreakerWait(errors.New("other")); ok {
		t.Error("BreakerWait of another error: ok")
	}
	// ErrBreakerOpen and the breaker's own error both read "circuit breaker open": once is enough.
	if err != nil && strings.Count(err.Error(), "circuit breaker open") != 1 {
		t.Errorf("error %q does not say the breaker is open exactly once", err)
	}
	if srv.count() != 3 {
		t.Errorf("the host got %d calls, want 3: an open breaker must not let calls through", srv.count())
	}
	st := f.cs.Hosts()
	if len(st) != 1 || st[0].Breaker != BreakerOpen || st[0].Failures != 4 || st[0].Opened != 1 || st[0].LastError == "" {
		t.Errorf("host stats %+v, want open, 4 failures, opened once, a last error", st)
	} else if !strings.HasSuffix(st[0].LastError, ": circuit breaker open") || strings.Count(st[0].LastError, "circuit breaker open") != 1 {
		t.Errorf("last error %q, want it to end with the breaker open, said once", st[0].LastError)
	}

	// A probe while the host still fails opens the breaker again.
	time.Sleep(s.BreakerCooldown + 20*time.Millisecond)
	if code, _ := get(); code != 500 {
		t.Errorf("probe: %d, want the 500", code)
	}
	if _, err := get(); !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("after a failed probe: %v, want the breaker open again", err)
	}

	// The host recovers: the next probe closes the breaker.
	down.Store(false)
	time.Sleep(s.BreakerCooldown + 20*time.Millisecond)
	for i := range 3 {
		if code, err := get(); code != 200 {
			t.Fatalf("call %d after recovery: %d, %v", i+1, code, err)
		}
	}
	if h := f.cs.CheckHealth(t.Context()); h.Status != registry.StatusHealthy {
		t.Errorf("health after recovery: %s %q", h.Status, h.Message)
	}
	if st := f.cs.Hosts(); st[0].Breaker != BreakerClosed {
		t.Errorf("breaker %s after recovery", st[0].Breaker)
	}
}

// TestBreakerStopsRetries: a call whose retries open the breaker stops retrying at once.
func TestBreakerStopsRetries(t *testing.T) {
	t.Parallel()
	s := fastSettings()
	s.BreakerFailures = 2
	f := setup(t, s)
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { reset(w) })
	c := f.client(t, "test", Options{MaxAttempts: 10})
	_, err := c.Do(mustRequest(t, http.MethodGet, srv.URL))
	if !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("error %v, want the breaker open", err)
	}
	if srv.count() != 2 {
		t.Errorf("the host got %d attempts, want 2 (the breaker's threshold)", srv.count())
	}
}

// TestHealthHealthy covers the messages when every breaker is closed.
func TestHealthHealthy(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	if h := f.cs.CheckHealth(t.Context()); h.Status != registry.StatusHealthy || h.Message != "no calls yet" {
		t.Errorf("fresh clients: %s %q", h.Status, h.Message)
	}
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := f.client(t, "test", Options{})
	resp, err := c.Do(mustRequest(t, http.MethodGet, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	h := f.cs.CheckHealth(t.Context())
	hosts, _ := h.Details["hosts"].(map[string]any)
	if h.Status != registry.StatusHealthy || hosts[srv.host()] == nil {
		t.Errorf("after a call: %s %q %v", h.Status, h.Message, h.Details)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
