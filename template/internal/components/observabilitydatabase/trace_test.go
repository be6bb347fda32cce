package observabilitydatabase

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
)

// TestQuerySpans: a query inside a trace gets a client span, child of the caller's, with
// its operation and no statement text (bun formats values into it); a query outside a trace
// gets none.
func TestQuerySpans(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		spans := tracetest.NewSpanRecorder()
		obs, err := observability.New(t.Context(), observability.Settings{},
			&observability.Opts{SpanProcessors: []sdktrace.SpanProcessor{spans}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = obs.Stop(context.Background()) })
		db.TraceQueries(obs.TracerProvider())

		var n int
		if err := db.Bun().NewSelect().ColumnExpr("?", 42).Scan(t.Context(), &n); err != nil {
			t.Fatal(err)
		}
		if got := len(spans.Ended()); got != 0 {
			t.Fatalf("a query outside a trace made %d spans, want none", got)
		}
		ctx, parent := obs.TracerProvider().Tracer("test").Start(t.Context(), "request")
		if err := db.Bun().NewSelect().ColumnExpr("?", 42).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		parent.End()
		ended := spans.Ended()
		if len(ended) != 2 {
			t.Fatalf("%d spans, want the query's and the parent's", len(ended))
		}
		q := ended[0]
		attrs := map[string]string{}
		for _, a := range q.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
		}
		if q.Name() != "SELECT" || q.SpanKind() != trace.SpanKindClient || q.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("query span %q kind %v parent %s, want SELECT, client, under %s", q.Name(), q.SpanKind(), q.Parent().SpanID(), parent.SpanContext().SpanID())
		}
		if _, ok := attrs["db.query.text"]; ok || attrs["db.operation.name"] != "SELECT" || attrs["db.system.name"] == "" {
			t.Errorf("query span attributes %v, want operation SELECT, the system, no statement text", attrs)
		}
	})
}
