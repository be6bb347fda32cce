package observabilitydatabase

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
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
		spans, obs := traceQueries(t, db)

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

// TestTxSpans: a transaction's BEGIN, its queries and its COMMIT are all children of the
// caller's span: bun keeps BEGIN's context for COMMIT, which nested it under BEGIN's span.
func TestTxSpans(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		spans, obs := traceQueries(t, db)
		ctx, parent := obs.TracerProvider().Tracer("test").Start(t.Context(), "request")
		tx, err := db.Bun().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := tx.NewSelect().ColumnExpr("?", 1).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		parent.End()
		var names []string
		for _, s := range spans.Ended() {
			if s.Name() == "request" {
				continue
			}
			names = append(names, s.Name())
			if s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("%s is under %s, want the caller's span %s", s.Name(), s.Parent().SpanID(), parent.SpanContext().SpanID())
			}
		}
		if want := "BEGIN SELECT COMMIT"; strings.Join(names, " ") != want {
			t.Errorf("spans %v, want %s", names, want)
		}
	})
}

// TestQueryErrorSpanHidesValues: a failed query's span says it failed and the engine's code,
// never the error's text, which quotes the refused value (PostgreSQL's "invalid input syntax
// for type integer: ..."): traces leave the app.
func TestQueryErrorSpanHidesValues(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		spans, obs := traceQueries(t, db)

		const secret = "s3cret-value"
		query := "SELECT CAST(? AS integer)" // PostgreSQL refuses the text and quotes it
		if db.Engine() == database.SQLite {
			query = "SELECT * FROM no_such_table WHERE x = ?"
		}
		ctx, parent := obs.TracerProvider().Tracer("test").Start(t.Context(), "request")
		var n int
		if err := db.Bun().NewRaw(query, secret).Scan(ctx, &n); err == nil {
			t.Fatal("the query did not fail")
		} else if db.Engine() == database.Postgres && !strings.Contains(err.Error(), secret) {
			t.Fatalf("the error %q does not quote the value: the test checks nothing", err)
		}
		parent.End()
		q := spans.Ended()[0]
		attrs := map[string]string{}
		for _, a := range q.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
		}
		if q.Status().Code != codes.Error || attrs["error.type"] == "" {
			t.Errorf("status %v, attributes %v: want an error with error.type", q.Status(), attrs)
		}
		if db.Engine() == database.Postgres && (attrs["db.response.status_code"] != "22P02" || attrs["error.type"] != "22P02") {
			t.Errorf("attributes %v, want SQLSTATE 22P02", attrs)
		}
		all := fmt.Sprint(q.Status(), attrs, q.Events())
		if strings.Contains(all, secret) {
			t.Errorf("the span holds the value: %s", all)
		}
	})
}

// traceQueries has db's queries traced into the returned recorder, by obs.
func traceQueries(t *testing.T, db *database.DB) (*tracetest.SpanRecorder, *observability.Observability) {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	obs, err := observability.New(t.Context(), observability.Settings{},
		&observability.Opts{SpanProcessors: []sdktrace.SpanProcessor{spans}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	db.TraceQueries(obs.TracerProvider())
	return spans, obs
}
