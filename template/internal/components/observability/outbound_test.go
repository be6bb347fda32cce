package observability

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// TestOutboundCall installs the SDK as OpenTelemetry's globals (as the app does), so it is
// the one test here that does not run in parallel: the HTTP client, which instruments
// against the global API, then makes a client span per call, child of the caller's span,
// and sends its trace context (traceparent) to the server it calls, and not the baggage
// (its members stay in the app: the servers called are mostly third parties).
func TestOutboundCall(t *testing.T) {
	var mu sync.Mutex
	var got, gotBaggage string
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Get("Traceparent")
		gotBaggage = r.Header.Get("Baggage")
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(downstream.Close)

	spans := tracetest.NewSpanRecorder()
	obs, err := New(t.Context(), Settings{}, &Opts{Global: true, SpanProcessors: []sdktrace.SpanProcessor{spans}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(t.Context()) })
	cs, err := httpclient.NewClients(httpclient.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cs.New("downstream", httpclient.Options{BaseURL: downstream.URL})
	if err != nil {
		t.Fatal(err)
	}

	member, err := baggage.NewMember("user.email", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := obs.TracerProvider().Tracer("test").Start(baggage.ContextWithBaggage(t.Context(), bag), "request")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, downstream.URL+"/v1/things", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	parent.End()

	ended := spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans, want the call's and the parent's", len(ended))
	}
	call := ended[0]
	if call.SpanKind() != trace.SpanKindClient || call.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("call span %q kind %v parent %s, want a client span under %s", call.Name(), call.SpanKind(), call.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	want := "00-" + call.SpanContext().TraceID().String() + "-" + call.SpanContext().SpanID().String() + "-01"
	mu.Lock()
	defer mu.Unlock()
	if got != want {
		t.Errorf("traceparent sent %q, want %q (the call's span)", got, want)
	}
	if gotBaggage != "" {
		t.Errorf("baggage sent to the server called: %q", gotBaggage)
	}

	// The call is in the outbound metrics, by client, host and outcome.
	req = httptest.NewRequest(http.MethodGet, MetricsPath, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	obs.MetricsHandler().ServeHTTP(rec, req)
	for _, w := range []string{"http_client_request_duration_seconds_count{", `httpclient_name="downstream"`, `outcome="204"`, `server_address="127.0.0.1"`} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
