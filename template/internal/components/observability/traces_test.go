package observability

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// t0 is when the tests' spans start; explicit timestamps make durations exact.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ringProvider(t testing.TB, size int) (*TraceRing, trace.Tracer) {
	t.Helper()
	ring := NewTraceRing(size)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ring))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return ring, tp.Tracer("test")
}

// spanAt starts a span at offset from t0 and returns it and its context.
func spanAt(ctx context.Context, tr trace.Tracer, name string, offset time.Duration, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tr.Start(ctx, name, trace.WithTimestamp(t0.Add(offset)), trace.WithAttributes(attrs...))
}

func endAt(s trace.Span, offset time.Duration) { s.End(trace.WithTimestamp(t0.Add(offset))) }

// request records a root span named name lasting d with children children ending inside it,
// failed when fail; it returns the trace ID.
func request(tr trace.Tracer, name string, d time.Duration, children int, fail bool) trace.TraceID {
	ctx, root := spanAt(context.Background(), tr, name, 0, attribute.String("request_id", "req-"+name))
	for i := range children {
		_, c := spanAt(ctx, tr, fmt.Sprintf("child %d", i), d/10)
		endAt(c, d/2)
	}
	if fail {
		root.SetStatus(codes.Error, "boom")
	}
	endAt(root, d)
	return root.SpanContext().TraceID()
}

func TestTraceAssembly(t *testing.T) {
	t.Parallel()
	ring, tr := ringProvider(t, 10)
	ctx, root := spanAt(context.Background(), tr, "GET /api/v1/items/{id}", 0, attribute.String("request_id", "req-1"))
	dbCtx, db := spanAt(ctx, tr, "select items", time.Millisecond)
	_, inner := spanAt(dbCtx, tr, "inner", 2*time.Millisecond)
	endAt(inner, 3*time.Millisecond)
	endAt(db, 4*time.Millisecond)
	_, late := spanAt(ctx, tr, "late", 5*time.Millisecond)
	_, tooLate := spanAt(ctx, tr, "too late", 5*time.Millisecond)
	endAt(root, 10*time.Millisecond)
	if got := ring.Stats(); got.Assembling != 0 || got.Recent != 1 {
		t.Fatalf("after the root ended: %+v, want one trace and none assembling", got)
	}
	endAt(late, 10*time.Millisecond+lateSpanGrace)    // within the grace: joins
	endAt(tooLate, 11*time.Millisecond+lateSpanGrace) // past it: dropped
	got, ok := ring.Trace(root.SpanContext().TraceID())
	if !ok {
		t.Fatal("the trace is not held")
	}
	names := map[string]bool{}
	for _, s := range got.Spans {
		names[s.Name] = true
	}
	tests := []struct {
		what      string
		got, want any
	}{
		{"root", got.Root.Name, "GET /api/v1/items/{id}"},
		{"request ID", got.RequestID, "req-1"},
		{"duration", got.Duration(), 10 * time.Millisecond},
		{"spans", len(got.Spans), 4},
		{"late span kept", names["late"], true},
		{"too late span kept", names["too late"], false},
		{"failed", got.Failed, false},
		{"dropped spans", ring.Stats().DroppedSpans, uint64(1)},
		{"assembling", ring.Stats().Assembling, 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.what, tt.got, tt.want)
		}
	}
}

// TestSpanRecordBounds: names and attributes are cut to maxTextLen bytes at a character's
// start, slices become text, and only maxSpanAttrs attributes are kept.
func TestSpanRecordBounds(t *testing.T) {
	t.Parallel()
	ring, tr := ringProvider(t, 10)
	long := strings.Repeat("é", maxTextLen) // two bytes each
	attrs := []attribute.KeyValue{attribute.String("long", long), attribute.StringSlice("list", []string{long, long}),
		attribute.Int("n", 7), attribute.Bool("b", true)}
	for i := range maxSpanAttrs {
		attrs = append(attrs, attribute.Int(fmt.Sprintf("extra%d", i), i))
	}
	_, s := tr.Start(context.Background(), long, trace.WithAttributes(attrs...))
	s.End()
	got, ok := ring.Trace(s.SpanContext().TraceID())
	if !ok {
		t.Fatal("the trace is not held")
	}
	rec := got.Root
	tests := []struct {
		what string
		got  any
		want any
	}{
		{"name", rec.Name, strings.Repeat("é", maxTextLen/2) + "…"},
		{"attributes", len(rec.Attrs), maxSpanAttrs},
		{"long value", rec.Attrs[0].Value.AsString(), strings.Repeat("é", maxTextLen/2) + "…"},
		{"slice as text", rec.Attrs[1].Value.Type(), attribute.STRING},
		{"slice bounded", len(rec.Attrs[1].Value.AsString()) <= maxTextLen+len("…"), true},
		{"valid text", utf8.ValidString(rec.Attrs[1].Value.AsString()), true},
		{"int", rec.Attrs[2].Value.AsInt64(), int64(7)},
		{"bool", rec.Attrs[3].Value.AsBool(), true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.what, tt.got, tt.want)
		}
	}
}

func TestTraceSpanCap(t *testing.T) {
	t.Parallel()
	ring, tr := ringProvider(t, 10)
	id := request(tr, "big", time.Second, maxTraceSpans+44, false)
	got, _ := ring.Trace(id)
	if len(got.Spans) != maxTraceSpans || got.Dropped != 45 {
		t.Errorf("a trace of %d spans keeps %d and drops %d, want %d and 45", maxTraceSpans+45, len(got.Spans), got.Dropped, maxTraceSpans)
	}
	if got.Root.Name != "big" {
		t.Errorf("the root is %q though its span was dropped: want it known still", got.Root.Name)
	}
}

// TestTraceLists: the newest first, the slowest kept while newer fast traces push them out of
// the recent list, the failed likewise; a request ID picks its trace.
func TestTraceLists(t *testing.T) {
	t.Parallel()
	ring, tr := ringProvider(t, 3)
	slow := request(tr, "slow", 5*time.Second, 1, false)
	failed := request(tr, "failed", 2*time.Second, 1, true)
	for i := range 5 {
		request(tr, fmt.Sprintf("fast-%d", i), time.Duration(i+1)*time.Millisecond, 2, false)
	}
	names := func(ts []Trace) string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Root.Name)
		}
		return fmt.Sprint(out)
	}
	tests := []struct {
		filter    TraceFilter
		requestID string
		limit     int
		want      string
	}{
		{AllTraces, "", 0, "[fast-4 fast-3 fast-2]"},
		{AllTraces, "", 2, "[fast-4 fast-3]"},
		{SlowTraces, "", 3, "[slow failed fast-4]"},
		{FailedTraces, "", 0, "[failed]"},
		{SlowTraces, "req-failed", 0, "[failed]"},
		{AllTraces, "req-slow", 0, "[]"},
	}
	for _, tt := range tests {
		if got := names(ring.Traces(tt.filter, tt.requestID, tt.limit)); got != tt.want {
			t.Errorf("Traces(%q, %q, %d) = %s, want %s", tt.filter, tt.requestID, tt.limit, got, tt.want)
		}
	}
	for _, id := range []trace.TraceID{slow, failed} {
		if _, ok := ring.Trace(id); !ok {
			t.Errorf("trace %s is not held though a list keeps it", id)
		}
	}
	// The two oldest fast ones left the recent list, not the slowest (it has room).
	if s := ring.Stats(); s.Indexed != 7 || s.Slowest != 7 || s.Failed != 1 {
		t.Errorf("stats %+v, want 7 traces held, 7 slowest, 1 failed", s)
	}
}

// TestTraceRingBound drives 100,000 requests of three spans each, a failed one in ten, and
// 5,000 traces whose root never ends, through the ring: what it holds stays within its bound
// (counted, which is what its memory is proportional to).
func TestTraceRingBound(t *testing.T) {
	t.Parallel()
	const size, requests = 200, 100_000
	ring, tr := ringProvider(t, size)
	for i := range requests {
		request(tr, "GET /api/v1/items/{id}", time.Duration(i%977)*time.Millisecond, 2, i%10 == 0)
		if i%20 == 0 {
			ctx, orphan := spanAt(context.Background(), tr, "never ends", 0)
			_, c := spanAt(ctx, tr, "child of an orphan", 0)
			endAt(c, time.Millisecond)
			_ = orphan // its root never ends
		}
	}
	s := ring.Stats()
	held := size + keptSlowest + keptFailed
	if s.Recent != size || s.Slowest != keptSlowest || s.Failed != keptFailed {
		t.Errorf("lists %d/%d/%d, want %d/%d/%d", s.Recent, s.Slowest, s.Failed, size, keptSlowest, keptFailed)
	}
	if s.Indexed > held || s.Assembling > maxAssembling {
		t.Errorf("%d traces held (at most %d), %d assembling (at most %d)", s.Indexed, held, s.Assembling, maxAssembling)
	}
	if limit := held*maxTraceSpans + maxAssembling*maxTraceSpans; s.Spans > limit || s.Spans < 0 {
		t.Errorf("%d spans held, want at most %d", s.Spans, limit)
	}
	// Every held trace here has three spans, every orphan one: the count is exact.
	if want := s.Indexed*3 + s.Assembling; s.Spans != want {
		t.Errorf("%d spans counted, want %d (%d traces, %d assembling)", s.Spans, want, s.Indexed, s.Assembling)
	}
	// The orphans not assembling any more were evicted (a request's own children, waiting
	// for their root, take a place in assembly too).
	if want := uint64(requests/20 - s.Assembling); s.Completed != requests || s.DroppedTraces != want {
		t.Errorf("completed %d, evicted %d, want %d and %d", s.Completed, s.DroppedTraces, requests, want)
	}
	ring.mu.Lock()
	order := len(ring.order)
	ring.mu.Unlock()
	if order > 2*maxAssembling+1 {
		t.Errorf("the assembly order holds %d IDs, want at most %d", order, 2*maxAssembling+1)
	}
}

// TestTraceRingConcurrent records traces from several goroutines while others read the lists
// and traces (run with -race): every request is counted and the lists stay within bounds.
func TestTraceRingConcurrent(t *testing.T) {
	t.Parallel()
	const writers, each = 4, 2000
	ring, tr := ringProvider(t, 50)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, f := range []TraceFilter{AllTraces, SlowTraces, FailedTraces} {
					for _, c := range ring.Traces(f, "", 10) {
						if got, ok := ring.Trace(c.ID); ok {
							_ = waterfallRows(got)
						}
					}
				}
			}
		})
	}
	var writing sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			for i := range each {
				request(tr, fmt.Sprintf("w%d", w), time.Duration(i)*time.Microsecond, 3, i%7 == 0)
			}
		})
	}
	writing.Wait()
	close(done)
	wg.Wait()
	s := ring.Stats()
	if s.Completed != writers*each || s.Recent != 50 || s.Slowest != keptSlowest || s.Failed != keptFailed || s.Assembling != 0 {
		t.Errorf("stats %+v", s)
	}
	if want := s.Indexed * 4; s.Spans != want {
		t.Errorf("%d spans counted, want %d", s.Spans, want)
	}
}
