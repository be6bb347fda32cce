package httpclient

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// Breaker states as HostStats and /health/detailed report them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// host is what the clients share about one host (host[:port] of the URL): its circuit breaker,
// which every client calling it goes through, and the counts the panel shows.
type host struct {
	name    string
	breaker circuitbreaker.CircuitBreaker[*http.Response]

	calls    atomic.Int64 // calls made (a call is every attempt of one request)
	failures atomic.Int64 // calls that ended in an error or a 5xx, 408 or 429 response
	retries  atomic.Int64 // attempts after the first
	opened   atomic.Int64 // times the breaker opened
	lastErr  atomic.Pointer[lastError]

	// closed mirrors the breaker's state, kept by its listeners, so the happy path reads an
	// atomic instead of taking the breaker's lock. dirty is set when the policy executor ran
	// (it may have recorded failures): only then does a success on the happy path need
	// recording, to reset the count of consecutive failures.
	closed atomic.Bool
	dirty  atomic.Bool
}

// lastError is the most recent failure of a host, redacted.
type lastError struct {
	msg string
	at  time.Time
}

// newHost builds the breaker of a host: it opens after failures consecutive failed attempts
// (transport errors and 5xx except 501: the host is in trouble; 4xx are the caller's), refuses
// attempts for cooldown, then lets one probe through and closes when it succeeds.
func newHost(name string, failures int, cooldown time.Duration, logger func() *slog.Logger) *host {
	h := &host{name: name}
	h.closed.Store(true)
	h.breaker = circuitbreaker.NewBuilder[*http.Response]().
		HandleIf(breakerFailure).
		WithFailureThreshold(uint(failures)).
		WithSuccessThreshold(1).
		WithDelay(cooldown).
		OnHalfOpen(func(circuitbreaker.StateChangedEvent) { h.closed.Store(false) }).
		OnOpen(func(circuitbreaker.StateChangedEvent) {
			h.closed.Store(false)
			h.opened.Add(1)
			logger().Warn("http client: circuit breaker opened", "host", name, "cooldown", cooldown)
		}).
		OnClose(func(circuitbreaker.StateChangedEvent) {
			h.closed.Store(true)
			logger().Info("http client: circuit breaker closed", "host", name)
		}).
		Build()
	return h
}

// success records a successful attempt made on the happy path (the breaker closed, the
// executor not involved).
func (h *host) success() {
	if h.dirty.CompareAndSwap(true, false) {
		h.breaker.RecordSuccess()
	}
}

// breakerFailure reports whether an attempt counts against its host. One its caller stopped
// does not (a cancellation, or the caller's own deadline, shorter than the client's Timeout):
// the host did nothing wrong, and a few impatient callers would otherwise open a healthy
// host's breaker for every client of it. The client's Timeout passing does count.
func breakerFailure(resp *http.Response, err error) bool {
	if err != nil {
		var stopped callerStopped
		return !errors.Is(err, context.Canceled) && !errors.As(err, &stopped)
	}
	return resp != nil && resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
}

// HostStats is what the clients know of one host.
type HostStats struct {
	Host     string
	Breaker  string        // BreakerClosed, BreakerOpen or BreakerHalfOpen
	Reopen   time.Duration // while open: how long before a probe is let through
	Calls    int64
	Failures int64
	Retries  int64
	Opened   int64 // times the breaker opened
	// LastError is the most recent failure (redacted), LastErrorAt when it happened; empty when
	// every call succeeded.
	LastError   string
	LastErrorAt time.Time
}

func (h *host) stats() HostStats {
	s := HostStats{
		Host: h.name, Calls: h.calls.Load(), Failures: h.failures.Load(),
		Retries: h.retries.Load(), Opened: h.opened.Load(), Breaker: BreakerClosed,
	}
	switch {
	case h.breaker.IsOpen():
		s.Breaker, s.Reopen = BreakerOpen, h.breaker.RemainingDelay()
	case h.breaker.IsHalfOpen():
		s.Breaker = BreakerHalfOpen
	}
	if le := h.lastErr.Load(); le != nil {
		s.LastError, s.LastErrorAt = le.msg, le.at
	}
	return s
}

// record counts a finished call: its attempts and, when it failed, the failure.
func (h *host) record(attempts int, failed bool, msg string) {
	h.calls.Add(1)
	if attempts > 1 {
		h.retries.Add(int64(attempts - 1))
	}
	if failed {
		h.failures.Add(1)
		h.lastErr.Store(&lastError{msg: msg, at: time.Now()})
	}
}
