package observability

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// MetricsPath serves the metrics in Prometheus text format.
const MetricsPath = "/metrics"

// mountMetrics serves GET /metrics; the component is resolved once, when the routes are
// mounted.
func mountMetrics(r *backend.Router) error {
	o, err := registry.Get[*Observability](r.Container)
	if err != nil {
		return err
	}
	r.Mux.Method(http.MethodGet, MetricsPath, o.MetricsHandler())
	return nil
}

// MetricsHandler serves the meter provider's metrics and the Go runtime's in Prometheus
// text format to those METRICS_TOKEN lets in (authorize), gzipped when the scraper accepts it
// (Prometheus does).
func (o *Observability) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.authorize(w, r) {
			return
		}
		families, err := o.gather(r.Context(), runtimeFamilies()...)
		if err != nil {
			backend.WriteProblem(w, r, http.StatusInternalServerError, "The metrics could not be collected; the app's log says why.")
			otel.Handle(err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if !acceptsGzip(r) {
			_ = writeText(w, families) // an error here is the scraper gone
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		if writeText(zw, families) == nil {
			_ = zw.Close()
		}
	})
}

// gather collects the meter provider's metrics as Prometheus families, extra among them, in
// one sorted list; a name two sources claim with different types is reported through
// otel.Handle and served once.
func (o *Observability) gather(ctx context.Context, extra ...*promFamily) ([]*promFamily, error) {
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(ctx, &rm); err != nil {
		return nil, fmt.Errorf("observability: collect metrics: %w", err)
	}
	families, errs := promFamilies(&rm, extra...)
	for _, err := range errs {
		otel.Handle(err)
	}
	return families, nil
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// authorize enforces who may scrape, and writes the refusal itself:
//   - METRICS_TOKEN set (any environment): "Authorization: Bearer <token>", compared in
//     constant time;
//   - production without a token: 401 for everyone (metrics name routes and volumes);
//   - development: this machine (loopback) without a token, like the dashboard, whether
//     one is set or not (aegis init writes one to .env for Compose's Prometheus, and a
//     local curl should not need it).
func (o *Observability) authorize(w http.ResponseWriter, r *http.Request) bool {
	token := o.settings.MetricsToken
	if !o.production && backend.FromLoopback(r) && (token == "" || r.Header.Get("Authorization") == "") {
		return true
	}
	if token == "" {
		if o.production {
			unauthorized(w, r, "GET /metrics is closed in production until METRICS_TOKEN is set: set it, then scrape with Authorization: Bearer and its value.")
			return false
		}
		backend.WriteProblem(w, r, http.StatusForbidden, "Without METRICS_TOKEN, /metrics answers only on this machine; set it to scrape from elsewhere.")
		return false
	}
	// The scheme is case-insensitive and may be followed by more than one space (RFC 9110,
	// 11.1 and 11.4): a scraper writing "bearer" is not sending a wrong token.
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	got = strings.TrimLeft(got, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		unauthorized(w, r, "Send Authorization: Bearer with the value of METRICS_TOKEN.")
		return false
	}
	return true
}

// unauthorized answers 401 with detail as an RFC 9457 problem, as the API's
// refusals are. A 401 must carry a challenge (RFC 9110, 11.6.1): /metrics
// takes a bearer token, so the challenge is Bearer, in production without
// METRICS_TOKEN too (the scheme a scraper will have to use once it is set).
// A challenge already set (by a wrapping handler) is kept.
func unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	if w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
	}
	backend.WriteProblem(w, r, http.StatusUnauthorized, detail)
}
