package cache

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

// TestSpans: with a tracer provider installed, each cache call made under a recording span
// is a span of its own beneath it (a read says whether it found the key); a call outside one
// starts none. It sets OpenTelemetry's global: not parallel.
func TestSpans(t *testing.T) {
	rec := tracingtest.Install(t)
	c := New(NewMemory(nil), nil)
	ctx, request := otel.Tracer("test").Start(t.Context(), "request")
	if err := Set(ctx, c, "k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := Get[string](ctx, c, "k"); !ok {
		t.Fatal("k not found")
	}
	if _, ok, _ := Get[string](ctx, c, "missing"); ok {
		t.Fatal("missing found")
	}
	c.Delete(ctx, "k")
	if _, err := c.Incr(ctx, "n", 1); err != nil {
		t.Fatal(err)
	}
	request.End()
	if _, _, err := Get[string](t.Context(), c, "k"); err != nil {
		t.Fatal(err)
	}

	type want struct {
		name string
		hit  string // "" when the span has no cache.hit
	}
	wants := []want{{"request", ""}, {"cache set", ""}, {"cache get", "true"}, {"cache get", "false"}, {"cache delete", ""}, {"cache incr", ""}}
	spans := rec.Spans()
	if len(spans) != len(wants) {
		t.Fatalf("spans %+v, want %d (no span for a call outside a recording one)", spans, len(wants))
	}
	for i, w := range wants {
		s := spans[i]
		hit := ""
		if v, ok := s.Attrs["cache.hit"]; ok {
			hit = v.String()
		}
		if s.Name != w.name || hit != w.hit || !s.Ended {
			t.Errorf("span %d: %+v, want %s with cache.hit %q, ended", i, s, w.name, w.hit)
		}
		if i > 0 && (s.Parent != "request" || s.Attrs["cache.backend"].AsString() != "memory") {
			t.Errorf("span %s: parent %q, backend %q; want request, memory", s.Name, s.Parent, s.Attrs["cache.backend"].AsString())
		}
	}
}

// TestFailureHidesKey: a store failure is recorded on the span and logged without the key
// (applications put emails in keys), keeping the prefix and the cause. It sets
// OpenTelemetry's global: not parallel.
func TestFailureHidesKey(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })

	r, err := NewRedis("redis://127.0.0.1:1/0", &RedisOpts{DialTimeout: 200 * time.Millisecond, OpTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	c := New(WithPrefix(r, "app:"), &Opts{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	t.Cleanup(func() { _ = c.Stop(context.Background()) })

	const key = `user:"alice"@example.com`
	ctx, request := tp.Tracer("test").Start(t.Context(), "request")
	if _, ok, err := Get[string](ctx, c, key); ok || err != nil {
		t.Fatalf("Get = %v, %v; want a miss", ok, err)
	}
	request.End()

	recorded := eventValues(rec)
	tests := []struct {
		where, text string
	}{
		{"span", strings.Join(recorded, "\n")},
		{"log", logs.String()},
	}
	for _, tt := range tests {
		if strings.Contains(tt.text, "alice") {
			t.Errorf("the %s shows the key:\n%s", tt.where, tt.text)
		}
		if !strings.Contains(tt.text, `app:<key>`) || !strings.Contains(tt.text, "connection refused") {
			t.Errorf("the %s lacks the prefix or the cause:\n%s", tt.where, tt.text)
		}
	}
}

// TestCallerFailuresHideKey: the failures that are the caller's own (a value too large
// for the memory store, a counter that is not an integer, a ctx that ended) leave the key
// out of the log and the span too, as store failures do. It sets OpenTelemetry's global:
// not parallel.
func TestCallerFailuresHideKey(t *testing.T) {
	const key = `user:"alice"@example.com`
	tests := []struct {
		name string
		call func(ctx context.Context, c *Cache)
	}{
		{"too large", func(ctx context.Context, c *Cache) {
			_ = Set(ctx, c, key, strings.Repeat("x", 200), time.Minute)
		}},
		{"not an integer", func(ctx context.Context, c *Cache) {
			_ = Set(ctx, c, key, "text", time.Minute)
			_, _ = c.Incr(ctx, key, 1)
		}},
		{"counter overflow", func(ctx context.Context, c *Cache) {
			_, _ = c.Incr(ctx, key, 1<<62)
			_, _ = c.Incr(ctx, key, 1<<62)
		}},
		{"another type", func(ctx context.Context, c *Cache) {
			_ = Set(ctx, c, key, "text", time.Minute)
			_, _ = GetOrCompute(ctx, c, key, time.Minute, func(context.Context) (int, error) { return 1, nil })
		}},
		{"ctx ended", func(ctx context.Context, c *Cache) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, _, _ = Get[string](ctx, c, key)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			prev := otel.GetTracerProvider()
			otel.SetTracerProvider(tp)
			t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })

			logs := &logtest.Buffer{}
			c := New(WithPrefix(NewMemory(&MemoryOpts{MaxBytes: 100}), "app:"), &Opts{Logger: slog.New(slog.NewTextHandler(logs, nil))})
			t.Cleanup(func() { _ = c.Stop(context.Background()) })
			ctx, request := tp.Tracer("test").Start(t.Context(), "request")
			tt.call(ctx, c)
			request.End()

			recorded := eventValues(rec)
			if len(recorded) == 0 && logs.String() == "" {
				t.Fatal("no error recorded on any span, none logged")
			}
			for where, text := range map[string]string{"span": strings.Join(recorded, "\n"), "log": logs.String()} {
				if strings.Contains(text, "alice") {
					t.Errorf("the %s shows the key:\n%s", where, text)
				}
			}
		})
	}
}

// eventValues lists the attribute values of the events of rec's ended spans: where an
// error recorded on a span shows its text.
func eventValues(rec *tracetest.SpanRecorder) []string {
	var values []string
	for _, s := range rec.Ended() {
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				values = append(values, a.Value.String())
			}
		}
	}
	return values
}
