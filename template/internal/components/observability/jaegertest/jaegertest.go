// Package jaegertest runs a real trace backend for tests: Jaeger all-in-one, one per test on
// free ports, with in-memory storage, read back through its query API. Tests skip, naming
// how to build it, when it is not installed. It imports nothing of the app, so the
// observability component and its glues share this one copy.
package jaegertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

// Install is how to get the Jaeger the tests look for. `go install` refuses the module (its
// go.mod has a replace directive), so it is built from a writable copy; scripts/test.sh
// does this.
const Install = `d=$(go mod download -json github.com/jaegertracing/jaeger@v1.75.0 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); ` +
	`t=$(mktemp -d); cp -r "$d" "$t/j"; chmod -R u+w "$t/j"; ` +
	`(cd "$t/j" && go build -o "$(go env GOPATH)/bin/jaeger-all-in-one" ./cmd/all-in-one)`

const binary = "jaeger-all-in-one"

// Binary finds jaeger-all-in-one on PATH or in $(go env GOPATH)/bin, or skips t.
func Binary(t testing.TB) string {
	t.Helper()
	return testserver.Binary(t, binary, Install)
}

// Server is a running Jaeger.
type Server struct {
	// OTLPEndpoint is its OTLP/HTTP receiver's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
	// takes it (the exporter adds /v1/traces).
	OTLPEndpoint string
	// Query is the base URL of its query API and UI.
	Query string

	t testing.TB
}

// Start starts a Jaeger of its own, stopped when the test ends, and waits (up to 30
// seconds: a loaded CI machine) until its query API answers and its OTLP port takes
// connections.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	otlp, query, admin := testserver.FreePort(t), testserver.FreePort(t), testserver.FreePort(t)
	s := &Server{
		OTLPEndpoint: "http://127.0.0.1:" + strconv.Itoa(otlp),
		Query:        "http://127.0.0.1:" + strconv.Itoa(query),
		t:            t,
	}
	// Every listener on loopback, and those the tests do not use (OTLP/gRPC, Jaeger's own
	// collector protocols, the query's gRPC) on ports the kernel picks, so parallel tests
	// and a developer's own Jaeger on the default ports do not clash.
	cmd := exec.Command(bin,
		"--collector.otlp.http.host-port=127.0.0.1:"+strconv.Itoa(otlp),
		"--query.http-server.host-port=127.0.0.1:"+strconv.Itoa(query),
		"--admin.http.host-port=127.0.0.1:"+strconv.Itoa(admin),
		"--collector.otlp.grpc.host-port=127.0.0.1:0",
		"--collector.grpc-server.host-port=127.0.0.1:0",
		"--collector.http-server.host-port=127.0.0.1:0",
		"--query.grpc-server.host-port=127.0.0.1:0",
		"--log-level=warn",
	)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.ready(otlp)
		if err == nil {
			return s
		}
		select {
		case werr := <-exited:
			exited <- werr // for the cleanup
			t.Fatalf("jaeger exited: %v\n%s", werr, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger did not start within 30s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready reports whether the query API answers and the OTLP port takes connections.
func (s *Server) ready(otlpPort int) error {
	res, err := http.Get(s.Query + "/api/services")
	if err != nil {
		return fmt.Errorf("query API: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("query API: %s", res.Status)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(otlpPort))
	if err != nil {
		return fmt.Errorf("OTLP port: %w", err)
	}
	return c.Close()
}

// Reference is a span's link to another (refType CHILD_OF for its parent).
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Tag is a span attribute as the query API gives it.
type Tag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Span is one span of a trace as the query API gives it.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	Tags          []Tag       `json:"tags"`
	ProcessID     string      `json:"processID"`
}

// Parent is the span's CHILD_OF reference's span ID, "" for a root span.
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag returns the value of the span's tag key and whether it has it.
func (s Span) Tag(key string) (any, bool) {
	for _, tag := range s.Tags {
		if tag.Key == key {
			return tag.Value, true
		}
	}
	return nil, false
}

// Process is the service that reported spans.
type Process struct {
	ServiceName string `json:"serviceName"`
}

// Trace is one trace as the query API gives it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// ErrNotFound is the query API's answer for a trace it does not hold (yet).
var ErrNotFound = errors.New("trace not found")

// Trace fetches the trace traceID (32 hex digits) as stored now; ErrNotFound when Jaeger
// has none of its spans.
func (s *Server) Trace(traceID string) (Trace, error) {
	res, err := http.Get(s.Query + "/api/traces/" + url.PathEscape(traceID))
	if err != nil {
		return Trace{}, fmt.Errorf("jaeger: get trace %s: %w", traceID, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Trace{}, fmt.Errorf("jaeger: read trace %s: %w", traceID, err)
	}
	if res.StatusCode == http.StatusNotFound {
		return Trace{}, fmt.Errorf("jaeger: trace %s: %w", traceID, ErrNotFound)
	}
	if res.StatusCode != http.StatusOK {
		return Trace{}, fmt.Errorf("jaeger: trace %s: %s: %s", traceID, res.Status, b)
	}
	var page struct {
		Data []Trace `json:"data"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return Trace{}, fmt.Errorf("jaeger: decode trace %s: %w", traceID, err)
	}
	if len(page.Data) == 0 {
		return Trace{}, fmt.Errorf("jaeger: trace %s: %w", traceID, ErrNotFound)
	}
	return page.Data[0], nil
}

// WaitTrace polls the query API, up to 30 seconds (a loaded CI machine), until the trace
// traceID satisfies done, and returns it; it fails the test on timeout. flush, when not
// nil, runs before each look: it is the exporter's ForceFlush, since the last spans of a
// trace may end after the test's own signal, and Jaeger stores what it receives
// asynchronously besides.
func (s *Server) WaitTrace(traceID string, flush func(context.Context) error, done func(Trace) bool) Trace {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if flush != nil {
			if err := flush(context.Background()); err != nil {
				s.t.Fatalf("flush: %v", err)
			}
		}
		tr, err := s.Trace(traceID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.t.Fatal(err)
		}
		if err == nil && done(tr) {
			return tr
		}
		if time.Now().After(deadline) {
			ops := make([]string, 0, len(tr.Spans))
			for _, sp := range tr.Spans {
				ops = append(ops, sp.OperationName)
			}
			s.t.Fatalf("jaeger's trace %s is not complete after 30s: spans %q (last error: %v)", traceID, ops, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
