package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// syncBuffer collects log output written from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(s.b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

type fixture struct {
	url   string
	spans *tracetest.SpanRecorder
	logs  *syncBuffer
	obs   *Observability
}

type pingOutput struct {
	Body struct {
		Message string `json:"message"`
	}
}

// setup serves the app's handler with the component (settings s) and two routes: a typed
// API operation that logs inside its span, and one that fails with a 500.
func setup(t *testing.T, s Settings, production bool) fixture {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	obs, err := New(t.Context(), s, &Opts{Production: production, SpanProcessors: []sdktrace.SpanProcessor{spans}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	logs := &syncBuffer{}
	logger := slog.New(backend.LogHandler(slog.NewJSONHandler(logs, nil)))
	srv := backend.NewServer(backend.Settings{})
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return errors.Join(registry.Value(r, srv, registry.Component(backend.Name)), registry.Value(r, obs))
	})
	routes := func(r *backend.Router) error {
		huma.Get(r.API, "/api/items/{id}", func(ctx context.Context, _ *struct {
			ID string `path:"id"`
		}) (*pingOutput, error) {
			logger.InfoContext(ctx, "inside the handler")
			out := &pingOutput{}
			out.Body.Message = "pong"
			return out, nil
		})
		r.Mux.Get("/boom", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "failed", http.StatusInternalServerError)
		})
		return nil
	}
	tel := obs.Telemetry()
	h, err := srv.Handler(c, &backend.HandlerOpts{Logger: logger, Telemetry: &tel, Routes: registry.All[backend.Routes]{
		{Name: Name, Value: mountMetrics}, {Name: "test", Value: routes},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return fixture{url: ts.URL, spans: spans, logs: logs, obs: obs}
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestRequestSpans(t *testing.T) {
	t.Parallel()
	f := setup(t, Settings{}, false)
	// A caller's W3C trace context is continued.
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	resp, _ := get(t, f.url+"/api/items/7", http.Header{"Traceparent": {parent}, "X-Request-Id": {"req-1"}, "User-Agent": {"probe/1.0"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp, _ := get(t, f.url+"/boom", nil); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("/boom: status %d", resp.StatusCode)
	}
	ended := f.spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans, want 2", len(ended))
	}
	s := ended[0]
	if s.Name() != "GET /api/items/{id}" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v, want GET /api/items/{id}, server", s.Name(), s.SpanKind())
	}
	if got := s.Parent().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" || s.SpanContext().TraceID().String() != got {
		t.Errorf("trace %s parent trace %s: the caller's trace context was not continued", s.SpanContext().TraceID(), got)
	}
	attrs := map[string]string{}
	for _, a := range s.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	// The HTTP server conventions: url.scheme is required, the client, its user agent and the
	// protocol version recommended; error.type only on a 5xx.
	for k, want := range map[string]string{"http.route": "/api/items/{id}", "http.response.status_code": "200", "request_id": "req-1", "http.request.method": "GET",
		"url.scheme": "http", "client.address": "127.0.0.1", "user_agent.original": "probe/1.0", "network.protocol.version": "1.1", "error.type": ""} {
		if attrs[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	if ended[1].Status().Code.String() != "Error" {
		t.Errorf("/boom span status %v, want Error", ended[1].Status())
	}
	errType := ""
	for _, a := range ended[1].Attributes() {
		if a.Key == "error.type" {
			errType = a.Value.String()
		}
	}
	if errType != "500" {
		t.Errorf("/boom error.type %q, want 500", errType)
	}

	// Logs made inside the span, and the access line, carry its IDs.
	traceID, spanID := s.SpanContext().TraceID().String(), s.SpanContext().SpanID().String()
	var inside, access bool
	for _, l := range f.logs.lines(t) {
		if l["request_id"] != "req-1" {
			continue
		}
		switch l["msg"] {
		case "inside the handler":
			inside = l["trace_id"] == traceID && l["span_id"] == spanID
		case "request":
			access = l["trace_id"] == traceID && l["span_id"] == spanID
		}
	}
	if !inside || !access {
		t.Errorf("trace_id/span_id in the handler's log: %v, in the access line: %v; logs:\n%s", inside, access, f.logs.b.String())
	}
}

func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	f := setup(t, Settings{}, false)
	for range 3 {
		get(t, f.url+"/api/items/1", nil)
	}
	for range 2 {
		get(t, f.url+"/boom", nil)
	}
	// Each raw path is a series of its own only if the label takes it: a scanner's 404s and
	// the IDs of one route must each share one (the route template, or none).
	for i := range 50 {
		get(t, f.url+"/api/items/"+strconv.Itoa(1000+i), nil)
		get(t, f.url+"/wp-admin/"+strconv.Itoa(i)+".php", nil)
	}
	resp, body := get(t, f.url+MetricsPath, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	count := func(family, route, status string) float64 {
		t.Helper()
		mf := families[family]
		if mf == nil {
			t.Fatalf("no %s in /metrics:\n%s", family, body)
		}
		for _, m := range mf.GetMetric() {
			if label(m, "http_route") == route && label(m, "http_response_status_code") == status {
				switch {
				case m.GetCounter() != nil:
					return m.GetCounter().GetValue()
				case m.GetHistogram() != nil:
					return float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		return 0
	}
	for _, c := range []struct {
		family, route, status string
		want                  float64
	}{
		{"http_server_requests_total", "/api/items/{id}", "200", 53},
		{"http_server_requests_total", "", "404", 50},
		{"http_server_requests_total", "/boom", "500", 2},
		{"http_server_errors_total", "/boom", "500", 2},
		{"http_server_errors_total", "/api/items/{id}", "200", 0},
		{"http_server_request_duration_seconds", "/api/items/{id}", "200", 53},
	} {
		if got := count(c.family, c.route, c.status); got != c.want {
			t.Errorf("%s{route=%q,status=%s} = %v, want %v", c.family, c.route, c.status, got, c.want)
		}
	}
	if n := len(families["http_server_requests_total"].GetMetric()); n != 3 {
		t.Errorf("http_server_requests_total has %d series, want 3 (items 200, boom 500, unrouted 404):\n%s", n, body)
	}
	// The Prometheus client's runtime metrics, and OpenTelemetry's (which OTLP carries too).
	// OpenTelemetry's go.goroutine.count is the standard go_goroutines here, one series.
	for _, name := range []string{"go_goroutines", "go_memory_used_bytes"} {
		if families[name] == nil {
			t.Errorf("no Go runtime metric %s in /metrics", name)
		}
	}
	if n := len(families["go_goroutines"].GetMetric()); n != 1 {
		t.Errorf("go_goroutines has %d series, want 1", n)
	}
	promtoolCheck(t, body)
}

// TestMetricsUnknownMethods: methods a client makes up share one series ("_OTHER") instead
// of adding one each, in the metrics and in the spans' names.
func TestMetricsUnknownMethods(t *testing.T) {
	t.Parallel()
	f := setup(t, Settings{}, false)
	const n = 20
	for i := range n {
		req, err := http.NewRequestWithContext(t.Context(), "MADEUP"+strconv.Itoa(i), f.url+"/api/items/1", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	_, body := get(t, f.url+MetricsPath, nil)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	var total float64
	for _, m := range families["http_server_requests_total"].GetMetric() {
		method := label(m, "http_request_method")
		if strings.HasPrefix(method, "MADEUP") {
			t.Fatalf("a made-up method has its own series: %s", method)
		}
		if method == "_OTHER" {
			total += m.GetCounter().GetValue()
		}
	}
	if total != n {
		t.Errorf("requests with made-up methods counted under _OTHER: %v, want %d", total, n)
	}
	for _, s := range f.spans.Ended() {
		if strings.Contains(s.Name(), "MADEUP") {
			t.Errorf("span named after a made-up method: %q", s.Name())
		}
	}
}

// promtoolCheck runs Prometheus' own checker on a scrape when promtool is installed
// (Debian's prometheus package): the text must parse (exit status 1 otherwise), and every
// lint finding (exit status 3) fails the test. Without promtool the parse above is the check.
func promtoolCheck(t *testing.T, body string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (apt-get install prometheus): checked with the text parser only")
		return
	}
	cmd := exec.CommandContext(t.Context(), path, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err == nil {
		return
	}
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		t.Errorf("promtool check metrics: %s", strings.TrimSpace(line))
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		token      string
		production bool
		auth       string
		want       int
	}{
		{"development, loopback, no token", "", false, "", http.StatusOK},
		{"production, no token set", "", true, "", http.StatusUnauthorized},
		{"development, loopback, token set, none sent", "s3cret-token", false, "", http.StatusOK},
		{"development, loopback, token set, wrong one", "s3cret-token", false, "Bearer nope", http.StatusUnauthorized},
		{"development, loopback, token set, right one", "s3cret-token", false, "Bearer s3cret-token", http.StatusOK},
		{"development, loopback, no token set, one sent", "", false, "Bearer anything", http.StatusOK},
		{"production, token set, none sent", longToken, true, "", http.StatusUnauthorized},
		{"token set, wrong one", longToken, true, "Bearer nope", http.StatusUnauthorized},
		{"token set, right one", longToken, true, "Bearer " + longToken, http.StatusOK},
		{"token set, scheme in lower case", longToken, true, "bearer " + longToken, http.StatusOK},
		{"token set, two spaces", longToken, true, "Bearer  " + longToken, http.StatusOK},
		{"token set, Basic with the token", longToken, true, "Basic " + longToken, http.StatusUnauthorized},
		{"token set, no scheme", longToken, true, longToken, http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, Settings{MetricsToken: c.token}, c.production)
			h := http.Header{}
			if c.auth != "" {
				h.Set("Authorization", c.auth)
			}
			if resp, body := get(t, f.url+MetricsPath, h); resp.StatusCode != c.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
		})
	}
	// Development without a token: not from another machine.
	obs, err := New(t.Context(), Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, MetricsPath, nil)
	req.RemoteAddr = "192.0.2.1:1234"
	obs.MetricsHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("remote peer without a token: status %d, want 403", rec.Code)
	}
}

// TestMetricsRefusals: every refusal of /metrics is an RFC 9457 problem with a
// one-line detail that says what to do and echoes nothing sent; a 401 carries
// the Bearer challenge, unless one was set before it, which is kept.
func TestMetricsRefusals(t *testing.T) {
	t.Parallel()
	const (
		bearer = `Bearer realm="metrics"`
		preset = `Bearer realm="ops", error="invalid_token"`
	)
	for _, c := range []struct {
		name       string
		token      string
		production bool
		remote     bool   // a peer on another machine
		auth       string // Authorization sent
		challenge  string // WWW-Authenticate set before the handler runs
		stopped    bool   // the meter provider shut down: collection fails
		want       int
		wantAuth   string // WWW-Authenticate of the answer
		says       string
	}{
		{name: "production, no token set", production: true, want: http.StatusUnauthorized, wantAuth: bearer, says: "until METRICS_TOKEN is set"},
		{name: "token set, none sent", token: "s3cret-token", remote: true, want: http.StatusUnauthorized, wantAuth: bearer, says: "Authorization: Bearer"},
		{name: "token set, wrong one", token: longToken, production: true, auth: "Bearer nope-not-it", want: http.StatusUnauthorized, wantAuth: bearer, says: "Authorization: Bearer"},
		{name: "token set, basic auth", token: longToken, production: true, auth: "Basic YWRtaW46cGFzc3dvcmQ=", want: http.StatusUnauthorized, wantAuth: bearer, says: "Authorization: Bearer"},
		{name: "challenge already set", token: longToken, auth: "Bearer nope-not-it", challenge: preset, want: http.StatusUnauthorized, wantAuth: preset, says: "Authorization: Bearer"},
		{name: "development, another machine", remote: true, want: http.StatusForbidden, says: "set it to scrape from elsewhere"},
		{name: "collection fails", stopped: true, want: http.StatusInternalServerError, says: "log says why"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			obs, err := New(t.Context(), Settings{MetricsToken: c.token}, &Opts{Production: c.production})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = obs.Stop(context.Background()) })
			if c.stopped {
				if err := obs.Stop(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, MetricsPath, nil)
			req.RemoteAddr = "127.0.0.1:1234"
			if c.remote {
				req.RemoteAddr = "192.0.2.1:1234"
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			if c.challenge != "" {
				rec.Header().Set("WWW-Authenticate", c.challenge)
			}
			obs.MetricsHandler().ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			if got := rec.Header().Values("WWW-Authenticate"); len(got) > 1 || c.wantAuth != "" && (len(got) == 0 || got[0] != c.wantAuth) || c.wantAuth == "" && len(got) != 0 {
				t.Errorf("WWW-Authenticate = %q, want %q", got, c.wantAuth)
			}
			var p huma.ErrorModel
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != c.want || p.Title != http.StatusText(c.want) || p.Instance != MetricsPath {
				t.Fatalf("problem = %+v, %v: %s", p, err, rec.Body)
			}
			if !strings.Contains(p.Detail, c.says) || strings.Contains(p.Detail, "\n") {
				t.Errorf("detail %q: want one line saying %q", p.Detail, c.says)
			}
			for _, leak := range []string{"nope-not-it", "YWRtaW4", longToken, "s3cret"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("the problem echoes %q: %s", leak, rec.Body)
				}
			}
		})
	}
}

// longToken is a METRICS_TOKEN production accepts.
const longToken = "0123456789abcdef0123456789abcdef"

// Production refuses a METRICS_TOKEN shorter than HEALTH_DETAILS_TOKEN's and
// DASHBOARD_SECRET's minimum, and New with it; development takes any.
func TestSettingsValidateFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		token      string
		production bool
		wantErr    bool
		says       string
	}{
		{"production, one character", "x", true, true, "32 characters"},
		{"production, 31 characters", longToken[:31], true, true, "32 characters"},
		{"production, 32 characters", longToken, true, false, ""},
		{"production, none", "", true, false, ""},
		{"production, the placeholder", "change-me-generate-with-openssl-rand-hex-32", true, true, "placeholder"},
		{"development, one character", "x", false, false, ""},
		{"development, the placeholder", "change-me-generate-with-openssl-rand-hex-32", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Settings{MetricsToken: tt.token}
			err := s.ValidateFor(tt.production)
			if tt.wantErr != (err != nil) {
				t.Fatalf("ValidateFor(%v) = %v, want an error: %v", tt.production, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			// The message names the variable and the minimum, never the value.
			if msg := err.Error(); !strings.Contains(msg, "METRICS_TOKEN (value not shown)") || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q: want METRICS_TOKEN and the minimum, without the value", msg)
			}
			if _, err := New(t.Context(), s, &Opts{Production: tt.production}); err == nil {
				t.Error("New accepted the token")
			}
		})
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s       Settings
		wantVar string // "" means valid
	}{
		{Settings{OTLPEndpoint: "localhost:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{Settings{OTLPEndpoint: "http://localhost:4318"}, ""},
		{Settings{DashboardTraces: -1}, "OTEL_DASHBOARD_TRACES"},
		{Settings{DashboardTraces: maxDashboardTraces + 1}, "OTEL_DASHBOARD_TRACES"},
		{Settings{DashboardTraces: maxDashboardTraces}, ""},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if tt.wantVar == "" && err != nil || tt.wantVar != "" && (err == nil || !strings.Contains(err.Error(), tt.wantVar)) {
			t.Errorf("Validate(%+v) = %v, want an error naming %q (none: valid)", tt.s, err, tt.wantVar)
		}
	}
}

func TestSamplerEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sampler, arg string
		wantVar      string // "" means valid
	}{
		{"", "", ""},
		// A ratio the sampler does not take: the SDK ignores it, so 0.1 without a ratio
		// sampler silently kept every trace.
		{"", "0.1", "OTEL_TRACES_SAMPLER_ARG"},
		{"", "1.5", "OTEL_TRACES_SAMPLER_ARG"},
		{"", "abc", "OTEL_TRACES_SAMPLER_ARG"},
		{"always_off", "whatever", "OTEL_TRACES_SAMPLER_ARG"},
		{"parentbased_always_on", "0.5", "OTEL_TRACES_SAMPLER_ARG"},
		{"always_on", " ", ""}, // blank is unset
		{"parentbased_traceidratio", "0.1", ""},
		{" ParentBased_TraceIDRatio ", "1", ""}, // the SDK trims and lowers the name
		{"traceidratio", "", ""},                // the SDK's default ratio, 1.0
		{"bogus", "", "OTEL_TRACES_SAMPLER"},
		{"jaeger_remote", "", "OTEL_TRACES_SAMPLER"},
		{"parentbased_traceidratio", "10%", "OTEL_TRACES_SAMPLER_ARG"},
		{"traceidratio", "5", "OTEL_TRACES_SAMPLER_ARG"},
		{"traceidratio", "-0.5", "OTEL_TRACES_SAMPLER_ARG"},
		{"traceidratio", "NaN", "OTEL_TRACES_SAMPLER_ARG"},
	}
	for _, tt := range tests {
		err := Settings{TracesSampler: tt.sampler, TracesSamplerArg: tt.arg}.Validate()
		if tt.wantVar == "" && err != nil || tt.wantVar != "" && (err == nil || !strings.Contains(err.Error(), tt.wantVar+"=")) {
			t.Errorf("sampler %q, arg %q: %v; want an error naming %s (none: valid)", tt.sampler, tt.arg, err, tt.wantVar)
		}
	}
}

// TestNewRefusesBadSampler checks New applies the check: the SDK would sample everything.
func TestNewRefusesBadSampler(t *testing.T) {
	t.Parallel()
	o, err := New(t.Context(), Settings{TracesSampler: "parentbased_traceidratio", TracesSamplerArg: "10%"}, nil)
	if err == nil {
		_ = o.Stop(context.Background())
		t.Fatal("New accepted OTEL_TRACES_SAMPLER_ARG=10%; want an error naming it")
	}
	if !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER_ARG") {
		t.Errorf("New error = %v; want it to name OTEL_TRACES_SAMPLER_ARG", err)
	}
}

// TestSettingsSampler checks the sampler comes from the settings New is given, not from the
// process's environment at construction: the app loads both variables with the other settings
// (a bad one stops it there, naming the variable), and New samples as they say.
func TestSettingsSampler(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "")
	tests := []struct {
		sampler, arg string
		recording    bool
	}{
		{"", "", true},
		{"always_off", "", false},
		{"parentbased_always_off", "", false},
		{"traceidratio", "0", false},
		{"ParentBased_TraceIDRatio", "0", false},
		{"parentbased_traceidratio", "1", true},
		{"always_on", "", true},
	}
	for _, tt := range tests {
		obs, err := New(t.Context(), Settings{TracesSampler: tt.sampler, TracesSamplerArg: tt.arg}, nil)
		if err != nil {
			t.Fatalf("sampler %q, arg %q: %v", tt.sampler, tt.arg, err)
		}
		_, span := obs.TracerProvider().Tracer("test").Start(t.Context(), "work")
		if span.IsRecording() != tt.recording {
			t.Errorf("sampler %q, arg %q: recording %v, want %v", tt.sampler, tt.arg, span.IsRecording(), tt.recording)
		}
		span.End()
		_ = obs.Stop(context.Background())
	}

	// The app's path: the variables are loaded with the settings and checked there.
	for _, tt := range []struct{ sampler, arg, wantVar string }{
		{"bogus", "", "OTEL_TRACES_SAMPLER"},
		{"traceidratio", "10%", "OTEL_TRACES_SAMPLER_ARG"},
	} {
		t.Setenv("OTEL_TRACES_SAMPLER", tt.sampler)
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", tt.arg)
		if _, err := config.Load[Settings](); err == nil || !strings.Contains(err.Error(), tt.wantVar+"=") {
			t.Errorf("loading settings with %s=%q %q: %v; want an error naming %s", tt.wantVar, tt.sampler, tt.arg, err, tt.wantVar)
		}
	}
}

// TestEndpointErrorHidesValue checks a bad OTEL_EXPORTER_OTLP_ENDPOINT is refused naming the
// variable without quoting its value, which may carry credentials (the error is printed and
// logged at start), through Validate and through the settings' loading. A URL with a port and
// no host name is refused too (it would dial this machine).
func TestEndpointErrorHidesValue(t *testing.T) {
	const secret = "hunter2"
	for _, endpoint := range []string{
		"ftp://user:" + secret + "@collector:4318",
		"collector.example.com/?api_key=" + secret,
		"http://:" + secret + "@/",
		"http://u:" + secret + "@:4318", // a port and no host name
	} {
		err := Settings{OTLPEndpoint: endpoint, DashboardTraces: 1}.Validate()
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") || strings.Contains(err.Error(), secret) {
			t.Errorf("Validate with endpoint %q: %v; want an error naming the variable without its value", endpoint, err)
		}
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
		_, err = config.Load[Settings]()
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") || strings.Contains(err.Error(), secret) {
			t.Errorf("loading endpoint %q: %v; want an error naming the variable without its value", endpoint, err)
		}
	}
}

// TestBadResourceAttributes checks a malformed OTEL_RESOURCE_ATTRIBUTES stops New with an
// error naming the variable and the form it takes (the SDK's own names neither).
func TestBadResourceAttributes(t *testing.T) {
	for _, v := range []string{"foo", "service.version=1,team"} {
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", v)
		o, err := New(t.Context(), Settings{}, nil)
		if err == nil {
			_ = o.Stop(context.Background())
			t.Errorf("OTEL_RESOURCE_ATTRIBUTES=%s accepted; want an error naming it", v)
			continue
		}
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != "OTEL_RESOURCE_ATTRIBUTES" || !strings.Contains(err.Error(), "key1=value1") {
			t.Errorf("OTEL_RESOURCE_ATTRIBUTES=%s: %v; want a config error naming the variable and its form", v, err)
		}
	}
}

// TestExporterValues checks OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and
// OTEL_METRICS_EXEMPLAR_FILTER: the values this app acts on are taken (otlp, none, and for
// metrics prometheus, which /metrics is), and any other is refused naming the variable, when
// the settings are loaded and by New, instead of exporting (or dropping) the signal against
// what was asked.
func TestExporterValues(t *testing.T) {
	tests := []struct {
		env     map[string]string
		traces  bool   // spans go over OTLP
		wantVar string // "" means valid
	}{
		{env: map[string]string{}, traces: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, traces: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": " OTLP "}, traces: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}, traces: false},
		{env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"}, traces: true},
		{env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp,prometheus"}, traces: true},
		{env: map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "always_on"}, traces: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlpx"}, wantVar: "OTEL_TRACES_EXPORTER"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantVar: "OTEL_TRACES_EXPORTER"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "prometheus"}, wantVar: "OTEL_TRACES_EXPORTER"},
		{env: map[string]string{"OTEL_METRICS_EXPORTER": "console"}, wantVar: "OTEL_METRICS_EXPORTER"},
		{env: map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "sometimes"}, wantVar: "OTEL_METRICS_EXEMPLAR_FILTER"},
	}
	collector, _ := pathCollector(t)
	for _, tt := range tests {
		for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_METRICS_EXEMPLAR_FILTER"} {
			t.Setenv(k, tt.env[k])
		}
		s, err := config.Load[Settings]()
		if tt.wantVar != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantVar+"=") {
				t.Errorf("loading %v: %v; want an error naming %s", tt.env, err, tt.wantVar)
			}
			// New checks the settings it is given too.
			bad := Settings{TracesExporter: tt.env["OTEL_TRACES_EXPORTER"], MetricsExporter: tt.env["OTEL_METRICS_EXPORTER"],
				MetricsExemplarFilter: tt.env["OTEL_METRICS_EXEMPLAR_FILTER"], OTLPEndpoint: collector, DashboardTraces: 1}
			o, err := New(t.Context(), bad, nil)
			if err == nil {
				_ = o.Stop(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantVar+"=") {
				t.Errorf("New with %v: %v; want an error naming %s", tt.env, err, tt.wantVar)
			}
			continue
		}
		if err != nil {
			t.Errorf("loading %v: %v", tt.env, err)
			continue
		}
		s.OTLPEndpoint = collector
		o, err := New(t.Context(), s, nil)
		if err != nil {
			t.Errorf("%v: %v", tt.env, err)
			continue
		}
		exportsTraces := slices.ContainsFunc(o.exports, func(s *exportStatus) bool { return s.signal == "traces" })
		if exportsTraces != tt.traces {
			t.Errorf("%v: spans over OTLP %v, want %v", tt.env, exportsTraces, tt.traces)
		}
		_ = o.Stop(context.Background())
	}
}

// TestNewTakesExportersFromSettings: New exports, and keeps exemplars, as the settings it is
// given say, whatever the process's environment says at construction: the app reads the
// variables once, with the other settings (a test, a second instance or an embedding program
// gives its own).
func TestNewTakesExportersFromSettings(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")
	collector, _ := pathCollector(t)
	tests := []struct {
		name            string
		s               Settings
		traces, metrics bool // exported over OTLP
		exemplars       bool // a measurement in a sampled span keeps one
	}{
		{"defaults", Settings{}, true, true, true},
		{"traces off", Settings{TracesExporter: "none"}, false, true, true},
		{"metrics off", Settings{MetricsExporter: "none"}, true, false, false},
		{"metrics off, exemplars asked for", Settings{MetricsExporter: "none", MetricsExemplarFilter: "always_on"}, true, false, true},
		{"exemplars off", Settings{MetricsExemplarFilter: "always_off"}, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.OTLPEndpoint = collector
			o, err := New(t.Context(), tt.s, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = o.Stop(context.Background()) })
			has := func(signal string) bool {
				return slices.ContainsFunc(o.exports, func(s *exportStatus) bool { return s.signal == signal })
			}
			if has("traces") != tt.traces || has("metrics") != tt.metrics {
				t.Errorf("exported traces %v, metrics %v; want %v, %v", has("traces"), has("metrics"), tt.traces, tt.metrics)
			}
			ctx, span := o.TracerProvider().Tracer("test").Start(t.Context(), "work")
			h, err := o.MeterProvider().Meter("test").Float64Histogram("work.duration")
			if err != nil {
				t.Fatal(err)
			}
			h.Record(ctx, 1)
			span.End()
			var rm metricdata.ResourceMetrics
			if err := o.reader.Collect(t.Context(), &rm); err != nil {
				t.Fatal(err)
			}
			exemplars := 0
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if hist, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "work.duration" {
						for _, dp := range hist.DataPoints {
							exemplars += len(dp.Exemplars)
						}
					}
				}
			}
			if (exemplars > 0) != tt.exemplars {
				t.Errorf("exemplars kept: %d; want some: %v", exemplars, tt.exemplars)
			}
		})
	}
}

// TestRequestSpanHostileInput: a malformed or unsupported traceparent is ignored (a new trace,
// the request answered as usual, never a 500), and what a caller sends as credentials (the
// Authorization header, cookies, a token in the query) reaches no span attribute, the trace
// ring and OTLP export carrying every attribute as it is.
func TestRequestSpanHostileInput(t *testing.T) {
	t.Parallel()
	f := setup(t, Settings{}, false)
	const secret = "s3cr3t-credential"
	for _, tp := range []string{
		"garbage",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace ID
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero span ID
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff is invalid
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" + strings.Repeat("x", 8000),
	} {
		resp, _ := get(t, f.url+"/api/items/7?token="+secret+"&api_key="+secret, http.Header{
			"Traceparent":   {tp},
			"Tracestate":    {"=,,=bad"},
			"Authorization": {"Bearer " + secret},
			"Cookie":        {"session=" + secret},
		})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("traceparent %.60q: status %d, want 200", tp, resp.StatusCode)
		}
	}
	ended := f.spans.Ended()
	if len(ended) != 6 {
		t.Fatalf("%d spans, want 6", len(ended))
	}
	for i, s := range ended {
		if s.Parent().IsValid() || !s.SpanContext().IsValid() {
			t.Errorf("span %d: parent %v, own context valid %v: a malformed traceparent must start a new trace",
				i, s.Parent(), s.SpanContext().IsValid())
		}
		if s.SpanContext().TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("span %d continued the trace of a traceparent that is not valid", i)
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.String(), secret) {
				t.Errorf("span %d attribute %s = %q holds the caller's credential", i, a.Key, a.Value.String())
			}
		}
	}
}

// TestSignalURLAsBaseEndpoint: OTEL_EXPORTER_OTLP_ENDPOINT set to a signal's URL (as a
// collector's docs show it) is refused at start, naming the variable and not its value: the
// app adds /v1/traces and /v1/metrics to it, so every export went to /v1/traces/v1/traces
// and failed with a bare 404. A base URL with a path of its own is taken.
func TestSignalURLAsBaseEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint string
		refused  bool
	}{
		{"http://localhost:4318", false},
		{"http://localhost:4318/", false},
		{"https://otlp.example.com/otlp", false},
		{"https://otlp.example.com/v1", false},
		{"http://localhost:4318/v1/traces", true},
		{"http://localhost:4318/v1/traces/", true},
		{"http://localhost:4318/v1/metrics", true},
		{"https://user:hunter2@otlp.example.com/prefix/v1/traces?key=hunter2", true},
	}
	for _, tt := range tests {
		err := Settings{OTLPEndpoint: tt.endpoint}.Validate()
		if !tt.refused {
			if err != nil {
				t.Errorf("%s: %v, want it taken", tt.endpoint, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") || !strings.Contains(err.Error(), "http://localhost:4318") {
			t.Errorf("%s: %v, want a refusal naming OTEL_EXPORTER_OTLP_ENDPOINT and the base URL to use", tt.endpoint, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error quotes the value: %v", tt.endpoint, err)
		}
	}
}
