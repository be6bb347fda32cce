package backend

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// noTelemetry is newServer's telemetry without the observability component.
var noTelemetry registry.Maybe[Telemetry]

// The access line with a trace (appendTrace) is the one slog.JSONHandler writes for the
// record with trace_id and span_id added, as accessLog adds them for other handlers.
func TestAccessLineWithTrace(t *testing.T) {
	t.Parallel()
	tm := time.Date(2026, 12, 4, 14, 5, 6, 123456789, time.UTC)
	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tid, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(spanID)
	if err != nil {
		t.Fatal(err)
	}
	got := appendTrace(appendAccessLine(nil, tm, slog.LevelInfo, "GET", "/api/v1/ping", 200, 18, 12345, "127.0.0.1:1", "id-1"), tid, sid)

	var buf bytes.Buffer
	rec := slog.NewRecord(tm, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", "GET"), slog.String("path", "/api/v1/ping"), slog.Int("status", 200),
		slog.Int64("bytes", 18), slog.Duration("duration", 12345), slog.String("remote", "127.0.0.1:1"),
		slog.String("request_id", "id-1"), slog.String("trace_id", traceID), slog.String("span_id", spanID),
	)
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Errorf("access line with a trace:\n got %s\nwant %s", got, buf.Bytes())
	}
}
