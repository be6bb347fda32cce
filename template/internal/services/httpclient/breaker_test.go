package httpclient

import (
	"context"
	"errors"
	"fmt"
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
//
// The checks made while the breaker is open hold only within its cooldown: a machine that
// stalls longer (a loaded CI runner) lets a probe through, which voids them. Such a run is
// discarded, not failed, and the scenario runs again with a longer cooldown, so the checks
// keep their meaning however loaded the machine.
func TestBreaker(t *testing.T) {
	t.Parallel()
	for cooldown := 150 * time.Millisecond; !breakerScenario(t, cooldown); cooldown *= 10 {
		if cooldown >= 15*time.Second {
			t.Fatalf("the machine stalled past a %s breaker cooldown", cooldown)
		}
		t.Logf("the machine stalled past the %s breaker cooldown: running again with a longer one", cooldown)
	}
}

// breakerScenario is TestBreaker's scenario with a breaker cooldown of cooldown. It returns
// false, reporting nothing of the window, when the machine stalled past cooldown while the
// breaker was to stay open.
func breakerScenario(t *testing.T, cooldown time.Duration) bool {
	t.Helper()
	s := fastSettings()
	s.BreakerFailures, s.BreakerCooldown = 3, cooldown
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
	// The checks of an open breaker are collected and reported only when the window held.
	var errs []string
	errorf := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	report := func(since time.Time) bool {
		if time.Since(since) >= cooldown {
			return false
		}
		for _, e := range errs {
			t.Error(e)
		}
		errs = nil
		return true
	}
	var opened time.Time // the third failure opens the breaker after this
	for i := range 3 {
		opened = time.Now()
		if code, err := get(); code != 500 {
			t.Fatalf("call %d: %d, %v; want the 500", i+1, code, err)
		}
	}
	if h := f.cs.CheckHealth(t.Context()); h.Status != registry.StatusDegraded || !strings.Contains(h.Message, srv.host()) {
		errorf("health with the breaker open: %s %q, want degraded naming %s", h.Status, h.Message, srv.host())
	}
	_, err := get()
	if !errors.Is(err, ErrBreakerOpen) || !errors.Is(err, circuitbreaker.ErrOpen) {
		errorf("call with the breaker open: %v, want ErrBreakerOpen", err)
	}
	if wait, ok := BreakerWait(err); !ok || wait <= 0 || wait > cooldown {
		errorf("BreakerWait = %s, %v; want the rest of the %s cooldown", wait, ok, cooldown)
	}
	if _, ok := BreakerWait(errors.New("other")); ok {
		errorf("BreakerWait of another error: ok")
	}
	// ErrBreakerOpen and the breaker's own error both read "circuit breaker open": once is enough.
	if err != nil && strings.Count(err.Error(), "circuit breaker open") != 1 {
		errorf("error %q does not say the breaker is open exactly once", err)
	}
	if srv.count() != 3 {
		errorf("the host got %d calls, want 3: an open breaker must not let calls through", srv.count())
	}
	st := f.cs.Hosts()
	if len(st) != 1 || st[0].Breaker != BreakerOpen || st[0].Failures != 4 || st[0].Opened != 1 || st[0].LastError == "" {
		errorf("host stats %+v, want open, 4 failures, opened once, a last error", st)
	} else if !strings.HasSuffix(st[0].LastError, ": circuit breaker open") || strings.Count(st[0].LastError, "circuit breaker open") != 1 {
		errorf("last error %q, want it to end with the breaker open, said once", st[0].LastError)
	}
	if !report(opened) {
		return false
	}

	// A probe while the host still fails opens the breaker again.
	time.Sleep(cooldown + 20*time.Millisecond)
	reopened := time.Now() // the failed probe opens the breaker again after this
	if code, _ := get(); code != 500 {
		t.Errorf("probe: %d, want the 500", code)
	}
	if _, err := get(); !errors.Is(err, ErrBreakerOpen) {
		errorf("after a failed probe: %v, want the breaker open again", err)
	}
	if !report(reopened) {
		return false
	}

	// The host recovers: the next probe closes the breaker.
	down.Store(false)
	time.Sleep(cooldown + 20*time.Millisecond)
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
	return true
}

// TestBreakerStopsRetries: a call whose retries open the breaker stops retrying at once.
func TestBreakerStopsRetries(t *testing.T) {
	t.Parallel()
	s := fastSettings()
	// A cooldown nothing waits out: a stall between the attempts must not let a probe through.
	s.BreakerFailures, s.BreakerCooldown = 2, time.Minute
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
	if h.Status != registry.StatusHealthy || hosts[srv.host()] == nil || h.Message != "1 host, every circuit breaker closed" {
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

// TestBreakerIgnoresCallerStops checks that attempts cut short by their caller (a cancelled
// context, or a caller's deadline shorter than the client's Timeout) do not count against the
// host: a few impatient callers must not open a healthy host's breaker for every client of
// it. An attempt that outlasts the client's own Timeout does count: the host is too slow.
func TestBreakerIgnoresCallerStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ctx      func(parent context.Context) (context.Context, context.CancelFunc)
		timeout  time.Duration // the client's
		wantOpen bool
	}{
		{
			name: "caller deadline",
			ctx: func(p context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(p, 20*time.Millisecond)
			},
			timeout: 5 * time.Second,
		},
		{
			name: "caller cancel",
			ctx: func(p context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(p)
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			},
			timeout: 5 * time.Second,
		},
		{
			name:     "client timeout",
			ctx:      func(p context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(p) },
			timeout:  20 * time.Millisecond,
			wantOpen: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fastSettings()
			s.BreakerFailures, s.BreakerCooldown = 2, time.Minute
			f := setup(t, s)
			srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
				w.WriteHeader(http.StatusOK)
			})
			// One attempt per call, and up to three: the retry policy runs the attempts then.
			c1 := f.client(t, "once", Options{MaxAttempts: 1, Timeout: tt.timeout})
			c3 := f.client(t, "thrice", Options{MaxAttempts: 3, Timeout: tt.timeout})
			for _, c := range []*Client{c1, c1, c3, c3} {
				ctx, cancel := tt.ctx(t.Context())
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp, err := c.Do(req); err == nil {
					_ = resp.Body.Close()
					t.Errorf("a call cut short after 20ms succeeded")
				}
				cancel()
			}
			if open := f.cs.Hosts()[0].Breaker != BreakerClosed; open != tt.wantOpen {
				t.Errorf("breaker %s after 4 calls cut short, want open %v", f.cs.Hosts()[0].Breaker, tt.wantOpen)
			}
		})
	}
}
