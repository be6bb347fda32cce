package cache

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel"

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
