package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the queries' spans.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/database"

// queryTracer is a bun query hook making a client span per query run inside a trace (a
// request, a job). It is installed only when the app has a tracer provider (the
// observability component's): bun builds an event per query for every hook, so without
// one the database has no hook at all. Queries outside a trace (sweepers, migrations) make
// no span, which would otherwise each start a trace of their own.
type queryTracer struct {
	tracer trace.Tracer
	system string // db.system.name: sqlite or postgresql
}

type querySpanKey struct{}

func newQueryTracer(tp trace.TracerProvider, engine Engine) queryTracer {
	system := "sqlite"
	if engine == Postgres {
		system = "postgresql"
	}
	return queryTracer{tracer: tp.Tracer(instrumentationScope), system: system}
}

func (q queryTracer) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	// No statement text: bun formats most values into it (an insert's password hash, a
	// token), and traces leave the app. The operation and the table say which query it was.
	op := e.Operation()
	if _, raw := e.IQuery.(*bun.RawQuery); raw {
		// bun calls every raw query a SELECT; its first word says what it is.
		op = statementVerb(e.Query)
	}
	name := op
	attrs := []attribute.KeyValue{
		attribute.String("db.system.name", q.system),
		attribute.String("db.operation.name", op),
	}
	if t, ok := e.IQuery.(interface{ GetTableName() string }); ok && t.GetTableName() != "" {
		name += " " + t.GetTableName()
		attrs = append(attrs, attribute.String("db.collection.name", t.GetTableName()))
	}
	// The span is not made the context's current one: nothing runs under a query, and bun
	// keeps BEGIN's context for the transaction's COMMIT or ROLLBACK, which would otherwise
	// nest under the ended BEGIN span instead of beside it, under the caller's.
	_, span := q.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, querySpanKey{}, span)
}

func (q queryTracer) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	span, ok := ctx.Value(querySpanKey{}).(trace.Span)
	if !ok {
		return
	}
	if e.Err != nil && !errors.Is(e.Err, sql.ErrNoRows) {
		// Never the error's text: the engines quote the refused value in it (PostgreSQL's
		// `invalid input syntax for type integer: "..."`, a duplicate key's value), and
		// traces leave the app. The engine's code says what went wrong.
		desc, attrs := spanError(e.Err)
		span.SetAttributes(attrs...)
		span.SetStatus(codes.Error, desc)
	}
	span.End()
}

// spanError is a query error's status description and attributes (error.type, and the
// engine's code as db.response.status_code), all free of its text.
func spanError(err error) (string, []attribute.KeyValue) {
	// The context's end is told apart as every span does (tracing.ErrorType).
	switch class := tracing.ErrorType(err); class {
	case "canceled":
		return "the query was cancelled", []attribute.KeyValue{attribute.String("error.type", class)}
	case "timeout":
		return "the query ran out of time", []attribute.KeyValue{attribute.String("error.type", class)}
	}
	if code := ErrorCode(err); code != "" {
		return "the database refused the query (code " + code + ")",
			[]attribute.KeyValue{attribute.String("error.type", code), attribute.String("db.response.status_code", code)}
	}
	return "the query failed", []attribute.KeyValue{attribute.String("error.type", fmt.Sprintf("%T", err))}
}

// statementVerb is the first word of query, upper-cased: INSERT, UPDATE, WITH, ...
func statementVerb(query string) string {
	query = strings.TrimSpace(query)
	if i := strings.IndexAny(query, " \t\n\r("); i >= 0 {
		query = query[:i]
	}
	if len(query) > 16 {
		query = query[:16]
	}
	return strings.ToUpper(query)
}

var _ bun.QueryHook = queryTracer{}
