package observability

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The limits of the recent-trace ring besides its size (OTEL_DASHBOARD_TRACES). They bound
// its memory whatever the traffic: a trace holds at most maxTraceSpans spans of at most
// maxSpanAttrs short attributes, and at most maxAssembling traces wait for their root.
const (
	keptSlowest   = 50
	keptFailed    = 50
	maxTraceSpans = 256
	maxAssembling = 1000
	maxSpanAttrs  = 12
	maxTextLen    = 200
	lateSpanGrace = 5 * time.Second
	requestIDAttr = attribute.Key("request_id")
	inRecent      = 1 << 0
	inSlowest     = 1 << 1
	inFailed      = 1 << 2
)

// SpanRecord is what the ring keeps of an ended span: enough to draw it, not the SDK's span
// (which holds its resource, events and every attribute).
type SpanRecord struct {
	SpanID, ParentID trace.SpanID
	Name             string
	Kind             trace.SpanKind
	Start, End       time.Time
	Failed           bool
	Status           string // the status description of a failed span
	Attrs            []attribute.KeyValue
}

// Duration is how long the span lasted.
func (s SpanRecord) Duration() time.Duration { return s.End.Sub(s.Start) }

// Trace is one assembled trace: the spans this process recorded for a trace ID, complete once
// its local root (a span without a parent here: the request's, or a job's) ended.
type Trace struct {
	ID        trace.TraceID
	Root      SpanRecord
	RequestID string // the root's request_id attribute, if any
	Failed    bool   // a span of it failed
	Spans     []SpanRecord
	Dropped   int // spans beyond maxTraceSpans, not kept

	seq   uint64        // completion order
	held  uint8         // the rings that hold it (inRecent, ...)
	first [1]SpanRecord // Spans' first backing array: most traces hold one span (a request's)
}

// Duration is how long the root span lasted.
func (t Trace) Duration() time.Duration { return t.Root.Duration() }

// Path is the URL path of a request whose root span is named by its route pattern
// ("GET /dashboard/panels/{name}") or, when no route matched, by its method alone ("GET"),
// so that the panel tells its requests apart (an unrouted one's path comes redacted from the
// backend: "/api/REDACTED"); "" when the name is the path already or the span has no path.
func (t Trace) Path() string {
	if !strings.Contains(t.Root.Name, "{") && strings.Contains(t.Root.Name, "/") {
		return ""
	}
	for _, kv := range t.Root.Attrs {
		if kv.Key == "url.path" {
			return kv.Value.AsString()
		}
	}
	return ""
}

// TraceStats are the ring's counts, for the panel and for the bound test.
type TraceStats struct {
	Recent, Slowest, Failed int // traces held by each list
	Indexed                 int // distinct traces held
	Assembling              int // traces waiting for their root span
	Spans                   int // spans held, over every trace held or assembling
	Completed               uint64
	DroppedSpans            uint64 // spans not kept: over a trace's cap, or late
	DroppedTraces           uint64 // traces evicted before their root ended
}

// TraceRing is a span processor that keeps the recent traces in memory for the dashboard:
// the newest N, and the slowest and the latest failed ones for longer. Its memory is bounded
// whatever the traffic (see the limits above). It is safe for concurrent use.
type TraceRing struct {
	mu         sync.Mutex
	size       int
	recent     []*Trace // a circular buffer of size entries, next is the oldest
	next       int
	slowest    []*Trace // the slowest, sorted slowest first
	failed     []*Trace // circular, like recent
	nextFailed int
	index      map[trace.TraceID]*Trace // traces held by any list, for late spans and lookups
	assembling map[trace.TraceID]*Trace
	order      []trace.TraceID // assembling's trace IDs, oldest first (may hold completed ones)
	stats      TraceStats
	seq        uint64
}

// NewTraceRing returns a ring that keeps the newest size traces (at least 1).
func NewTraceRing(size int) *TraceRing {
	size = max(size, 1)
	return &TraceRing{
		size:       size,
		recent:     make([]*Trace, 0, size),
		index:      make(map[trace.TraceID]*Trace, size+keptSlowest+keptFailed),
		assembling: make(map[trace.TraceID]*Trace),
	}
}

var _ sdktrace.SpanProcessor = (*TraceRing)(nil)

// OnStart does nothing: a span is kept once it ended.
func (r *TraceRing) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// Shutdown does nothing: the ring holds memory only.
func (r *TraceRing) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: nothing is exported.
func (r *TraceRing) ForceFlush(context.Context) error { return nil }

// OnEnd adds the span to its trace, and completes the trace when the span is its local root.
func (r *TraceRing) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	id := s.SpanContext().TraceID()
	root := !s.Parent().IsValid() || s.Parent().IsRemote()
	rec := record(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.assembling[id]; ok {
		r.add(t, rec)
		if root {
			r.complete(t, rec)
		}
		return
	}
	// A child that ended shortly after its root joins the trace the lists hold; a root that
	// ends then (a job's, continuing a request's trace) does too. A child later than that
	// is dropped rather than waiting, in assembly, for a root that has ended already.
	if t, ok := r.index[id]; ok {
		if !rec.End.After(t.Root.End.Add(lateSpanGrace)) {
			r.add(t, rec)
			return
		}
		if !root {
			r.stats.DroppedSpans++
			return
		}
	}
	t := &Trace{ID: id}
	t.Spans = t.first[:0]
	r.add(t, rec)
	if root {
		r.complete(t, rec)
		return
	}
	if len(r.assembling) >= maxAssembling {
		r.evictAssembling()
	}
	r.assembling[id] = t
	r.order = append(r.order, id)
	if len(r.order) > 2*maxAssembling {
		// Under steady traffic assembly is never empty: forget the completed traces' IDs
		// here, so that order stays bounded too.
		r.order = slices.DeleteFunc(r.order, func(id trace.TraceID) bool { _, ok := r.assembling[id]; return !ok })
	}
}

// record keeps what the panel shows of s, truncated.
func record(s sdktrace.ReadOnlySpan) SpanRecord {
	rec := SpanRecord{
		SpanID: s.SpanContext().SpanID(), ParentID: s.Parent().SpanID(), Name: truncate(s.Name()),
		Kind: s.SpanKind(), Start: s.StartTime(), End: s.EndTime(),
	}
	if st := s.Status(); st.Code == codes.Error {
		rec.Failed, rec.Status = true, truncate(st.Description)
	}
	attrs := s.Attributes()
	if withinBounds(attrs) {
		// The SDK's ended span is read-only and this is its own slice, which nothing
		// changes any more: kept as it is, a request span costs no copy.
		rec.Attrs = attrs[:len(attrs):len(attrs)]
		return rec
	}
	rec.Attrs = make([]attribute.KeyValue, 0, min(len(attrs), maxSpanAttrs))
	for _, kv := range attrs[:min(len(attrs), maxSpanAttrs)] {
		switch kv.Value.Type() {
		case attribute.BOOL, attribute.INT64, attribute.FLOAT64:
		case attribute.STRING:
			kv = attribute.String(string(kv.Key), truncate(kv.Value.AsString()))
		default: // slices (and whatever comes next): as text, bounded like a string
			kv = attribute.String(string(kv.Key), truncate(kv.Value.String()))
		}
		rec.Attrs = append(rec.Attrs, kv)
	}
	return rec
}

// withinBounds reports whether attrs are few enough and short enough scalars or strings to
// keep as they are.
func withinBounds(attrs []attribute.KeyValue) bool {
	if len(attrs) > maxSpanAttrs {
		return false
	}
	for _, kv := range attrs {
		switch kv.Value.Type() {
		case attribute.BOOL, attribute.INT64, attribute.FLOAT64:
		case attribute.STRING:
			if len(kv.Value.AsString()) > maxTextLen {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// truncate cuts s to maxTextLen bytes, at the start of a character.
func truncate(s string) string {
	if len(s) <= maxTextLen {
		return s
	}
	i := maxTextLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// add appends rec to t within the cap (the caller holds mu).
func (r *TraceRing) add(t *Trace, rec SpanRecord) {
	t.Failed = t.Failed || rec.Failed
	if len(t.Spans) >= maxTraceSpans {
		t.Dropped++
		r.stats.DroppedSpans++
		return
	}
	t.Spans = append(t.Spans, rec)
	r.stats.Spans++
}

// complete moves t, whose local root is rec, from assembly into the lists.
func (r *TraceRing) complete(t *Trace, rec SpanRecord) {
	delete(r.assembling, t.ID)
	if len(r.assembling) == 0 {
		r.order = r.order[:0] // the IDs of completed traces need no eviction
	}
	t.Root = rec
	for _, kv := range rec.Attrs {
		if kv.Key == requestIDAttr {
			t.RequestID = kv.Value.String()
		}
	}
	r.seq++
	t.seq = r.seq
	r.stats.Completed++
	if old := r.index[t.ID]; old != nil {
		// Another local root of a trace already held (a job continuing a request's trace,
		// past the grace): the newer one replaces it in the index only.
		r.release(old, 0)
	}
	r.index[t.ID] = t
	// Newest: overwrite the oldest slot once full.
	if len(r.recent) < r.size {
		r.recent = append(r.recent, t)
	} else {
		r.release(r.recent[r.next], inRecent)
		r.recent[r.next] = t
		r.next = (r.next + 1) % r.size
	}
	t.held |= inRecent
	// Slowest: a sorted list of keptSlowest, the fastest dropped.
	if len(r.slowest) < keptSlowest || t.Duration() > r.slowest[len(r.slowest)-1].Duration() {
		i, _ := slices.BinarySearchFunc(r.slowest, t, func(a, b *Trace) int { return cmp.Compare(b.Duration(), a.Duration()) })
		r.slowest = slices.Insert(r.slowest, i, t)
		t.held |= inSlowest
		if len(r.slowest) > keptSlowest {
			last := r.slowest[len(r.slowest)-1]
			r.slowest = r.slowest[:keptSlowest]
			r.release(last, inSlowest)
		}
	}
	// Failed: like recent.
	if t.Failed {
		if len(r.failed) < keptFailed {
			r.failed = append(r.failed, t)
		} else {
			r.release(r.failed[r.nextFailed], inFailed)
			r.failed[r.nextFailed] = t
			r.nextFailed = (r.nextFailed + 1) % keptFailed
		}
		t.held |= inFailed
	}
}

// release notes that list no longer holds t, and forgets t when no list does.
func (r *TraceRing) release(t *Trace, list uint8) {
	t.held &^= list
	if t.held == 0 || list == 0 {
		if r.index[t.ID] == t {
			delete(r.index, t.ID)
		}
	}
	if t.held == 0 {
		r.stats.Spans -= len(t.Spans)
	}
}

// evictAssembling drops the oldest trace still waiting for its root (the caller holds mu).
func (r *TraceRing) evictAssembling() {
	for len(r.order) > 0 {
		id := r.order[0]
		r.order = r.order[1:]
		if t, ok := r.assembling[id]; ok {
			delete(r.assembling, id)
			r.stats.Spans -= len(t.Spans)
			r.stats.DroppedSpans += uint64(len(t.Spans))
			r.stats.DroppedTraces++
			return
		}
	}
}

// Stats returns the ring's counts.
func (r *TraceRing) Stats() TraceStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Recent, s.Slowest, s.Failed = len(r.recent), len(r.slowest), len(r.failed)
	s.Indexed, s.Assembling = len(r.index), len(r.assembling)
	return s
}

// TraceFilter picks a list of traces.
type TraceFilter string

// The lists: the newest, the slowest (slowest first), the failed (newest first).
const (
	AllTraces    TraceFilter = ""
	SlowTraces   TraceFilter = "slow"
	FailedTraces TraceFilter = "failed"
)

// Traces returns copies of the traces of list f, at most limit (0: all), newest first or
// slowest first; with a requestID, only that request's.
func (r *TraceRing) Traces(f TraceFilter, requestID string, limit int) []Trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	var list []*Trace
	switch f {
	case SlowTraces:
		list = slices.Clone(r.slowest)
	case FailedTraces:
		list = slices.Clone(r.failed)
	default:
		list = slices.Clone(r.recent)
	}
	if f != SlowTraces {
		slices.SortFunc(list, func(a, b *Trace) int { return cmp.Compare(b.seq, a.seq) })
	}
	out := make([]Trace, 0, len(list))
	for _, t := range list {
		if requestID != "" && t.RequestID != requestID {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		c := *t
		// The spans held so far, which never change: a late span is appended past them.
		c.Spans = t.Spans[:len(t.Spans):len(t.Spans)]
		out = append(out, c)
	}
	return out
}

// Trace returns a copy of the trace id, if a list holds it.
func (r *TraceRing) Trace(id trace.TraceID) (Trace, bool) {
	r.mu.Lock()
	t, ok := r.index[id]
	var c Trace
	if ok {
		c = *t
		c.Spans = slices.Clone(t.Spans)
	}
	r.mu.Unlock()
	if !ok {
		return Trace{}, false
	}
	return c, true
}
