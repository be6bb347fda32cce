// Package observabilitytest reads /metrics as a scraper does, for the tests of the parts that
// publish metrics through the observability component (its glues).
package observabilitytest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aegisgo/aegis/template/internal/components/observability"
)

// Metrics is one scrape of /metrics, parsed with Prometheus's text parser.
type Metrics map[string]*dto.MetricFamily

// Start returns the component with its default settings (nothing exported), stopped when t ends.
func Start(t testing.TB) *observability.Observability {
	t.Helper()
	o, err := observability.New(t.Context(), observability.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	return o
}

// Scrape gets o's /metrics from loopback (allowed without METRICS_TOKEN in development) and
// parses it; a status other than 200 or text Prometheus would refuse fails the test.
func Scrape(t testing.TB, o *observability.Observability) Metrics {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, observability.MetricsPath, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, rec.Body)
	}
	return families
}

// Promtool runs Prometheus's own checker (promtool check metrics, from Debian's prometheus
// package) on o's /metrics: the text must parse and draw no lint finding (a gauge named
// _count, a counter without _total). Without promtool it logs so and checks nothing.
func Promtool(t testing.TB, o *observability.Observability) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (apt-get install prometheus): /metrics not linted")
		return
	}
	req := httptest.NewRequest(http.MethodGet, observability.MetricsPath, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	o.MetricsHandler().ServeHTTP(rec, req)
	cmd := exec.CommandContext(context.Background(), path, "check", "metrics")
	cmd.Stdin = strings.NewReader(rec.Body.String())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		t.Errorf("promtool check metrics finds:\n%s", out)
	default:
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// Value sums the samples of family whose labels include every name=value pair of labels: a
// counter's or gauge's value, a histogram's count. ok is false when none matched.
func (m Metrics) Value(family string, labels ...string) (sum float64, ok bool) {
	mf := m[family]
	if mf == nil {
		return 0, false
	}
	for _, s := range mf.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		ok = true
		switch {
		case s.GetCounter() != nil:
			sum += s.GetCounter().GetValue()
		case s.GetGauge() != nil:
			sum += s.GetGauge().GetValue()
		case s.GetHistogram() != nil:
			sum += float64(s.GetHistogram().GetSampleCount())
		}
	}
	return sum, ok
}

func hasLabels(s *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}
