package observability

// What becomes of failed OTLP exports: each signal keeps its last failure for the health
// check, and failures are logged at WARN at most once a minute with a count. The SDK would
// hand them to otel.Handle, whose default prints them through the log package (INFO once
// slog is the default logger, so LOG_LEVEL=warn hid them) on every export: a collector that
// is down would flood the log with one line per batch and never show as such in
// /health/detailed.

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// warnEvery bounds how often a failure that keeps happening is logged again: the first
// one is logged at once, later ones at most once per warnEvery, with how many there were.
const warnEvery = time.Minute

// exportHint is what to check when an export fails; the log lines carry it.
const exportHint = "check that the collector at OTEL_EXPORTER_OTLP_ENDPOINT (or the signal's own endpoint) is up and reachable from this host, and its OTEL_EXPORTER_OTLP_HEADERS key if it needs one; telemetry that cannot be sent is dropped"

// warnLimiter lets a repeated warning through once, then at most once per every. The zero
// value lets the first one through.
type warnLimiter struct {
	every      time.Duration
	last       time.Time // when a warning was last let through; zero before the first
	suppressed int       // warnings held back since then
}

// allow reports whether a warning at now is logged and, if so, how many were held back
// before it.
func (l *warnLimiter) allow(now time.Time) (bool, int) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

// exportFailure marks an error an exporter has already recorded and logged, so that the
// error handler the component installs does not log it a second time when the SDK passes
// it to otel.Handle.
type exportFailure struct{ err error }

func (e *exportFailure) Error() string { return e.err.Error() }
func (e *exportFailure) Unwrap() error { return e.err }

// exportStatus is one signal's record of its exports. It is safe for concurrent use.
type exportStatus struct {
	signal string              // "traces" or "metrics"
	logger func() *slog.Logger // read when logging: the app sets slog's default after New
	now    func() time.Time    // time.Now; tests move it
	mu     sync.Mutex          // guards what follows
	limit  warnLimiter         // WARN lines of failed exports
	failed bool                // the last export failed
	err    string              // the last failure's reason (no credentials: see post)
	errAt  time.Time           // when it happened
	okAt   time.Time           // the last success
	count  int                 // failures since the last success
}

func newExportStatus(signal string, logger func() *slog.Logger) *exportStatus {
	return &exportStatus{signal: signal, logger: logger, now: time.Now, limit: warnLimiter{every: warnEvery}}
}

// record notes an export's outcome and returns err, marked as logged when it is not nil.
func (s *exportStatus) record(err error) error {
	if s == nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	if err == nil {
		recovered, n := s.failed, s.count
		s.failed, s.count, s.okAt = false, 0, now
		s.mu.Unlock()
		if recovered {
			// INFO: the WARN lines said it was failing; this closes them.
			s.logger().Info("observability: OTLP export works again", "signal", s.signal, "failures", n)
		}
		return nil
	}
	reason := oneLine(err.Error(), 300)
	s.failed, s.err, s.errAt = true, reason, now
	s.count++
	n := s.count
	ok, held := s.limit.allow(now)
	s.mu.Unlock()
	if ok {
		s.logger().Warn("observability: OTLP export failed", "signal", s.signal, "err", reason,
			"failures_since_success", n, "not_logged_since_last_warning", held, "hint", exportHint+"; further failures are logged at most once a minute")
	}
	return &exportFailure{err: err}
}

// health is the signal's part of the health check: whether its last export failed, and
// the details to show.
func (s *exportStatus) health() (failing bool, reason string, details map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	details = map[string]any{"exporting": !s.failed}
	if !s.okAt.IsZero() {
		details["last_success_at"] = s.okAt.UTC().Format(time.RFC3339)
	}
	if !s.errAt.IsZero() {
		details["last_error"] = s.err
		details["last_error_at"] = s.errAt.UTC().Format(time.RFC3339)
	}
	if s.failed {
		details["failures_since_success"] = s.count
	}
	return s.failed, s.err, details
}

// succeeded reports whether an export has succeeded since start.
func (s *exportStatus) succeeded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.okAt.IsZero()
}

// CheckHealth reports whether the OTLP export works: degraded, with the last error and when
// it happened, while a signal's last export failed; healthy again after it succeeds. The app
// runs on either way, which is why a failing export is not unhealthy.
func (o *Observability) CheckHealth(context.Context) registry.Health {
	if len(o.exports) == 0 {
		return registry.Health{Status: registry.StatusHealthy,
			Message: "OTLP export off (no OTEL_EXPORTER_OTLP_ENDPOINT nor per-signal endpoint, or OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER are none); /metrics serves",
			Details: map[string]any{"otlp": false}}
	}
	details := map[string]any{"otlp": true}
	var failing []string
	for _, s := range o.exports {
		bad, reason, d := s.health()
		details[s.signal] = d
		if bad {
			failing = append(failing, s.signal+": "+reason)
		}
	}
	if len(failing) > 0 {
		msg := "OTLP export failing, telemetry is dropped (" + strings.Join(failing, "; ") + ")"
		return registry.Health{Status: registry.StatusDegraded, Message: msg, Details: details}
	}
	for _, s := range o.exports {
		if !s.succeeded() {
			// Healthy: nothing has failed. But a collector that takes every export's whole
			// timeout has not answered yet either, and "working" would be a claim.
			return registry.Health{Status: registry.StatusHealthy,
				Message: "OTLP export configured, no " + s.signal + " export finished yet", Details: details}
		}
	}
	return registry.Health{Status: registry.StatusHealthy, Message: "OTLP export working", Details: details}
}

// errorHandler receives what the SDK passes to otel.Handle once New installs it (Opts.Global):
// export failures, already logged by their exportStatus, are dropped; anything else (a
// collector's partial success, an SDK complaint) is logged at WARN, at most once a minute.
type errorHandler struct {
	logger func() *slog.Logger
	now    func() time.Time
	mu     sync.Mutex
	limit  warnLimiter
}

var _ otel.ErrorHandler = (*errorHandler)(nil)

// Handle logs err unless an exporter has.
func (h *errorHandler) Handle(err error) {
	var logged *exportFailure
	if err == nil || errors.As(err, &logged) {
		return
	}
	h.mu.Lock()
	ok, held := h.limit.allow(h.now())
	h.mu.Unlock()
	if ok {
		h.logger().Warn("observability: OpenTelemetry error", "err", oneLine(err.Error(), 500),
			"not_logged_since_last_warning", held)
	}
}
