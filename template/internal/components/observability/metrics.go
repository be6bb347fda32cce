package observability

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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
// text format to those METRICS_TOKEN lets in (authorize).
func (o *Observability) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(o.prom, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.authorize(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorize enforces who may scrape, and writes the refusal itself:
//   - METRICS_TOKEN set (any environment): "Authorization: Bearer <token>", compared in
//     constant time;
//   - production without a token: 401 for everyone (metrics name routes and volumes);
//   - development without a token: this machine (loopback) only, like the dashboard.
func (o *Observability) authorize(w http.ResponseWriter, r *http.Request) bool {
	token := o.settings.MetricsToken
	if token == "" {
		if o.production {
			http.Error(w, "GET /metrics is closed in production until METRICS_TOKEN is set.", http.StatusUnauthorized)
			return false
		}
		if !fromLoopback(r) {
			http.Error(w, "Without METRICS_TOKEN, /metrics answers only on this machine; set it to scrape from elsewhere.", http.StatusForbidden)
			return false
		}
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		http.Error(w, "Send Authorization: Bearer with METRICS_TOKEN.", http.StatusUnauthorized)
		return false
	}
	return true
}

// fromLoopback reports whether the request's peer is this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
