package observability

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/aegisgo/aegis/template/internal/config"
)

// The expected messages below are built from the SDK's data with the generated OTLP types,
// field by field, independently of otlp_wire.go; the encoder's bytes are decoded with the
// official parser and the two compared whole.

func wantAnyValue(v attribute.Value) *commonpb.AnyValue {
	arr := func(vals []*commonpb.AnyValue) *commonpb.AnyValue {
		if vals == nil {
			vals = []*commonpb.AnyValue{}
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
	}
	switch v.Type() {
	case attribute.BOOL:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case attribute.INT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.FLOAT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case attribute.STRING:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v.AsString()}}
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.BOOLSLICE:
		var out []*commonpb.AnyValue
		for _, x := range v.AsBoolSlice() {
			out = append(out, wantAnyValue(attribute.BoolValue(x)))
		}
		return arr(out)
	case attribute.INT64SLICE:
		var out []*commonpb.AnyValue
		for _, x := range v.AsInt64Slice() {
			out = append(out, wantAnyValue(attribute.Int64Value(x)))
		}
		return arr(out)
	case attribute.FLOAT64SLICE:
		var out []*commonpb.AnyValue
		for _, x := range v.AsFloat64Slice() {
			out = append(out, wantAnyValue(attribute.Float64Value(x)))
		}
		return arr(out)
	case attribute.STRINGSLICE:
		var out []*commonpb.AnyValue
		for _, x := range v.AsStringSlice() {
			out = append(out, wantAnyValue(attribute.StringValue(x)))
		}
		return arr(out)
	case attribute.SLICE:
		var out []*commonpb.AnyValue
		for _, x := range v.AsSlice() {
			out = append(out, wantAnyValue(x))
		}
		return arr(out)
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: wantKVs(v.AsMap())}}}
	}
	return &commonpb.AnyValue{}
}

func wantKVs(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	var out []*commonpb.KeyValue
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: wantAnyValue(kv.Value)})
	}
	return out
}

func wantSet(s attribute.Set) []*commonpb.KeyValue { return wantKVs(s.ToSlice()) }

func nanos(t time.Time) uint64 { return uint64(t.UnixNano()) }

func wantSpan(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	flags := func(tf trace.TraceFlags, remote bool) uint32 {
		f := uint32(tf) | 0x100
		if remote {
			f |= 0x200
		}
		return f
	}
	out := &tracepb.Span{
		TraceId:                tid[:],
		SpanId:                 sid[:],
		TraceState:             sc.TraceState().String(),
		Name:                   s.Name(),
		Kind:                   tracepb.Span_SpanKind(s.SpanKind()),
		StartTimeUnixNano:      nanos(s.StartTime()),
		EndTimeUnixNano:        nanos(s.EndTime()),
		Attributes:             wantKVs(s.Attributes()),
		DroppedAttributesCount: uint32(s.DroppedAttributes()),
		DroppedEventsCount:     uint32(s.DroppedEvents()),
		DroppedLinksCount:      uint32(s.DroppedLinks()),
		Status:                 &tracepb.Status{},
		Flags:                  flags(sc.TraceFlags(), s.Parent().IsRemote()),
	}
	if p := s.Parent().SpanID(); p.IsValid() {
		out.ParentSpanId = p[:]
	}
	for _, e := range s.Events() {
		out.Events = append(out.Events, &tracepb.Span_Event{
			TimeUnixNano: nanos(e.Time), Name: e.Name, Attributes: wantKVs(e.Attributes),
			DroppedAttributesCount: uint32(e.DroppedAttributeCount),
		})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		out.Links = append(out.Links, &tracepb.Span_Link{
			TraceId: ltid[:], SpanId: lsid[:], TraceState: l.SpanContext.TraceState().String(),
			Attributes: wantKVs(l.Attributes), DroppedAttributesCount: uint32(l.DroppedAttributeCount),
			Flags: flags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()),
		})
	}
	switch s.Status().Code {
	case codes.Error:
		out.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: s.Status().Description}
	case codes.Ok:
		out.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
	}
	return out
}

func wantResource(res *resource.Resource) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: wantSet(*res.Set())}
}

// diffProto fails t with the first differing line of the two messages' text forms.
func diffProto(t *testing.T, want, got proto.Message) {
	t.Helper()
	if proto.Equal(want, got) {
		return
	}
	opts := prototext.MarshalOptions{Multiline: true}
	w := strings.Split(opts.Format(want), "\n")
	g := strings.Split(opts.Format(got), "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			t.Fatalf("decoded message differs at line %d:\nwant %q\ngot  %q\n\nwhole message:\n%s", i+1, wl, gl, opts.Format(got))
		}
	}
	t.Fatalf("messages differ but print the same:\n%s", opts.Format(got))
}

var testResource = resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
	attribute.String("service.name", "otlp-test"), attribute.Int("pid", 42))

// recordSpans runs a small workload through the real SDK, covering everything a span can
// hold, and returns the ended spans.
func recordSpans(t testing.TB) []sdktrace.ReadOnlySpan {
	rec := tracetest.NewSpanRecorder()
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit = 17
	limits.EventCountLimit = 3
	limits.LinkCountLimit = 2
	limits.AttributePerEventCountLimit = 1
	limits.AttributePerLinkCountLimit = 1
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(testResource),
		sdktrace.WithRawSpanLimits(limits))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	a := tp.Tracer("scope/a", trace.WithInstrumentationVersion("1.2.3"),
		trace.WithSchemaURL("https://opentelemetry.io/schemas/1.24.0"),
		trace.WithInstrumentationAttributes(attribute.String("lib", "a"), attribute.Bool("beta", true)))
	bt := tp.Tracer("scope/b")

	ts, err := trace.ParseTraceState("vendor=abc,other=x")
	if err != nil {
		t.Fatal(err)
	}
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xff, 2}, SpanID: trace.SpanID{0xee, 3}, Remote: true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	start := time.Unix(1_700_000_000, 123456789)
	ctx, root := a.Start(ctx, "GET /items", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithLinks(
			trace.Link{SpanContext: linked}, // over the limit: the oldest is dropped
			trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("why", "retry"), attribute.Int("n", 2)}},
			trace.Link{SpanContext: remote},
		))
	root.SetAttributes(
		attribute.Bool("b", true), attribute.Bool("b.false", false),
		attribute.Int64("i", -7), attribute.Int64("i.zero", 0), attribute.Int64("i.max", math.MaxInt64),
		attribute.Float64("f", 3.25), attribute.Float64("f.neg", -0.5),
		attribute.String("s", "héllo"), attribute.String("s.empty", ""),
		attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, -2, 300}),
		attribute.Float64Slice("fs", []float64{0.5, math.Inf(1)}),
		attribute.StringSlice("ss", []string{"x", "", strings.Repeat("long", 50)}),
		attribute.StringSlice("ss.empty", nil),
		attribute.ByteSlice("bytes", []byte{0, 1, 2}),
		attribute.Slice("mixed", attribute.IntValue(1), attribute.StringValue("two")),
		attribute.Map("map", attribute.String("k", "v"), attribute.Int("n", 1)),
		attribute.String("over.1", "dropped"), attribute.String("over.2", "dropped"),
	)
	root.AddEvent("evicted", trace.WithTimestamp(start)) // over the limit: the oldest is dropped
	root.AddEvent("first", trace.WithTimestamp(start.Add(time.Millisecond)),
		trace.WithAttributes(attribute.String("e", "1"), attribute.String("dropped", "x")))
	root.AddEvent("second", trace.WithTimestamp(start.Add(2*time.Millisecond)))
	root.AddEvent("third")
	_, child := a.Start(ctx, "SELECT", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(time.Millisecond)))
	child.SetStatus(codes.Error, "connection reset")
	child.End(trace.WithTimestamp(start.Add(3 * time.Millisecond)))
	_, other := bt.Start(ctx, "render", trace.WithSpanKind(trace.SpanKindInternal))
	other.SetStatus(codes.Ok, "ignored for ok")
	other.End()
	_, prod := bt.Start(context.Background(), "enqueue", trace.WithSpanKind(trace.SpanKindProducer))
	prod.End()
	_, cons := a.Start(context.Background(), "dequeue", trace.WithSpanKind(trace.SpanKindConsumer))
	cons.End()
	root.End(trace.WithTimestamp(start.Add(5 * time.Millisecond)))
	return rec.Ended()
}

func TestOTLPEncodeSpans(t *testing.T) {
	t.Parallel()
	spans := recordSpans(t)
	if len(spans) != 5 {
		t.Fatalf("recorded %d spans, want 5", len(spans))
	}
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(appendTraceRequest(nil, spans), &got); err != nil {
		t.Fatal(err)
	}

	// One resource; scopes in order of their first span (SELECT in a, render in b); each
	// scope's spans in the batch's order.
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:  wantResource(testResource),
		SchemaUrl: testResource.SchemaURL(),
	}}}
	var scopes []*tracepb.ScopeSpans
	byName := map[string]*tracepb.ScopeSpans{}
	for _, s := range spans {
		sc := s.InstrumentationScope()
		ss := byName[sc.Name]
		if ss == nil {
			ss = &tracepb.ScopeSpans{
				Scope:     &commonpb.InstrumentationScope{Name: sc.Name, Version: sc.Version, Attributes: wantSet(sc.Attributes)},
				SchemaUrl: sc.SchemaURL,
			}
			byName[sc.Name] = ss
			scopes = append(scopes, ss)
		}
		ss.Spans = append(ss.Spans, wantSpan(s))
	}
	want.ResourceSpans[0].ScopeSpans = scopes
	diffProto(t, want, &got)

	// Spot checks against constants rather than the SDK's view, so that a mistake copied
	// into wantSpan does not pass unseen.
	byNameSpan := map[string]*tracepb.Span{}
	for _, ss := range got.ResourceSpans[0].ScopeSpans {
		for _, s := range ss.Spans {
			byNameSpan[s.Name] = s
		}
	}
	if got := got.ResourceSpans[0].ScopeSpans; len(got) != 2 || got[0].Scope.Name != "scope/a" || got[0].Scope.Version != "1.2.3" ||
		got[0].SchemaUrl != "https://opentelemetry.io/schemas/1.24.0" || len(got[0].Scope.Attributes) != 2 || got[1].Scope.Name != "scope/b" {
		t.Errorf("scopes: %v", got)
	}
	root := byNameSpan["GET /items"]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"root flags (sampled, remote parent)", root.Flags, uint32(0x301)},
		{"root kind", root.Kind, tracepb.Span_SPAN_KIND_SERVER},
		{"root trace state", root.TraceState, "vendor=abc,other=x"},
		{"root parent", fmt.Sprint(root.ParentSpanId), fmt.Sprint([]byte{1, 2, 3, 4, 5, 6, 7, 8})},
		{"root start", root.StartTimeUnixNano, uint64(1_700_000_000_123_456_789)},
		{"root attributes", len(root.Attributes), 17},
		{"root dropped attributes", root.DroppedAttributesCount, uint32(2)},
		{"root events", len(root.Events), 3},
		{"root dropped events", root.DroppedEventsCount, uint32(1)},
		{"first event", root.Events[0].Name, "first"},
		{"first event dropped attributes", root.Events[0].DroppedAttributesCount, uint32(1)},
		{"root links", len(root.Links), 2},
		{"root dropped links", root.DroppedLinksCount, uint32(1)},
		{"link 0 flags (not sampled, remote)", root.Links[0].Flags, uint32(0x300)},
		{"link 0 dropped attributes", root.Links[0].DroppedAttributesCount, uint32(1)},
		{"link 1 trace state", root.Links[1].TraceState, "vendor=abc,other=x"},
		{"child flags (local parent)", byNameSpan["SELECT"].Flags, uint32(0x101)},
		{"child status", byNameSpan["SELECT"].Status.String(), (&tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "connection reset"}).String()},
		{"ok status", byNameSpan["render"].Status.String(), (&tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}).String()},
		{"producer kind", byNameSpan["enqueue"].Kind, tracepb.Span_SPAN_KIND_PRODUCER},
		{"consumer kind", byNameSpan["dequeue"].Kind, tracepb.Span_SPAN_KIND_CONSUMER},
		{"root of its own trace: no parent", len(byNameSpan["dequeue"].ParentSpanId), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// collectMetrics records one of every instrument kind through the real SDK, exponential
// histograms through a view and exemplars on, and returns what a reader collects, with a
// Summary (which the SDK never makes, but bridges do) appended.
func collectMetrics(t *testing.T, temporality sdkmetric.TemporalitySelector) *metricdata.ResourceMetrics {
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(temporality))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(testResource),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOnFilter),
		sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "exp.*"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 20, MaxScale: 5}})))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	m := mp.Meter("meter/a", metric.WithInstrumentationVersion("0.1"), metric.WithSchemaURL("https://example.com/s"),
		metric.WithInstrumentationAttributes(attribute.String("lib", "m")))
	m2 := mp.Meter("meter/b")

	sampled := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{9, 9, 9}, SpanID: trace.SpanID{8, 8}, TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sampled)
	attrs := metric.WithAttributes(attribute.String("route", "/items"), attribute.Int("code", 200))
	other := metric.WithAttributes(attribute.String("route", "/"))

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ic, err := m.Int64Counter("requests", metric.WithDescription("Requests served."), metric.WithUnit("{request}"))
	must(err)
	ic.Add(ctx, 3, attrs)
	ic.Add(ctx, 1, other)
	fc, err := m.Float64Counter("bytes", metric.WithUnit("By"))
	must(err)
	fc.Add(ctx, 1.5, attrs)
	iu, err := m.Int64UpDownCounter("inflight")
	must(err)
	iu.Add(ctx, -2)
	fu, err := m.Float64UpDownCounter("balance")
	must(err)
	fu.Add(ctx, 0)
	ih, err := m.Int64Histogram("size", metric.WithExplicitBucketBoundaries(10, 100))
	must(err)
	for _, v := range []int64{5, 50, 500} {
		ih.Record(ctx, v, attrs)
	}
	fh, err := m.Float64Histogram("latency", metric.WithUnit("s"))
	must(err)
	fh.Record(ctx, 0.25, attrs)
	fh.Record(context.Background(), 0.002)
	ig, err := m.Int64Gauge("temp")
	must(err)
	ig.Record(ctx, -40)
	fg, err := m.Float64Gauge("ratio")
	must(err)
	fg.Record(ctx, 0.75, attrs)
	eh, err := m2.Float64Histogram("exp.latency")
	must(err)
	for _, v := range []float64{0, 0.001, 0.5, 2, 3, -1} {
		eh.Record(ctx, v, attrs)
	}
	eih, err := m2.Int64Histogram("exp.size")
	must(err)
	for _, v := range []int64{1, 2, 1024, 0} {
		eih.Record(ctx, v)
	}
	_, err = m2.Int64ObservableCounter("cpu.ticks", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(12345, attrs)
		return nil
	}))
	must(err)
	_, err = m2.Float64ObservableUpDownCounter("queue.depth", metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
		o.Observe(-1.5)
		return nil
	}))
	must(err)
	_, err = m2.Int64ObservableGauge("goroutines", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(0)
		return nil
	}))
	must(err)

	var rm metricdata.ResourceMetrics
	must(reader.Collect(context.Background(), &rm))
	now := time.Unix(1_700_000_100, 0)
	rm.ScopeMetrics = append(rm.ScopeMetrics, metricdata.ScopeMetrics{
		Metrics: []metricdata.Metrics{{Name: "rpc.summary", Unit: "ms", Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{{
			Attributes: attribute.NewSet(attribute.String("rpc", "get")),
			StartTime:  now.Add(-time.Minute), Time: now, Count: 10, Sum: 123.5,
			QuantileValues: []metricdata.QuantileValue{{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 10}, {Quantile: 1, Value: 50}},
		}}}}},
	})
	return &rm
}

func wantExemplars[N int64 | float64](es []metricdata.Exemplar[N]) []*metricpb.Exemplar {
	var out []*metricpb.Exemplar
	for _, e := range es {
		x := &metricpb.Exemplar{FilteredAttributes: wantKVs(e.FilteredAttributes), TimeUnixNano: nanos(e.Time), SpanId: e.SpanID, TraceId: e.TraceID}
		switch v := any(e.Value).(type) {
		case int64:
			x.Value = &metricpb.Exemplar_AsInt{AsInt: v}
		case float64:
			x.Value = &metricpb.Exemplar_AsDouble{AsDouble: v}
		}
		out = append(out, x)
	}
	return out
}

func wantNumberPoints[N int64 | float64](dps []metricdata.DataPoint[N]) []*metricpb.NumberDataPoint {
	var out []*metricpb.NumberDataPoint
	for _, dp := range dps {
		p := &metricpb.NumberDataPoint{Attributes: wantSet(dp.Attributes), StartTimeUnixNano: nanos(dp.StartTime),
			TimeUnixNano: nanos(dp.Time), Exemplars: wantExemplars(dp.Exemplars)}
		switch v := any(dp.Value).(type) {
		case int64:
			p.Value = &metricpb.NumberDataPoint_AsInt{AsInt: v}
		case float64:
			p.Value = &metricpb.NumberDataPoint_AsDouble{AsDouble: v}
		}
		out = append(out, p)
	}
	return out
}

func wantTemporality(t metricdata.Temporality) metricpb.AggregationTemporality {
	if t == metricdata.DeltaTemporality {
		return metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	}
	return metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
}

func extremum[N int64 | float64](e metricdata.Extrema[N]) *float64 {
	if v, ok := e.Value(); ok {
		f := float64(v)
		return &f
	}
	return nil
}

func wantHistogram[N int64 | float64](h metricdata.Histogram[N]) *metricpb.Metric_Histogram {
	out := &metricpb.Histogram{AggregationTemporality: wantTemporality(h.Temporality)}
	for _, dp := range h.DataPoints {
		sum := float64(dp.Sum)
		out.DataPoints = append(out.DataPoints, &metricpb.HistogramDataPoint{
			Attributes: wantSet(dp.Attributes), StartTimeUnixNano: nanos(dp.StartTime), TimeUnixNano: nanos(dp.Time),
			Count: dp.Count, Sum: &sum, BucketCounts: dp.BucketCounts, ExplicitBounds: dp.Bounds,
			Exemplars: wantExemplars(dp.Exemplars), Min: extremum(dp.Min), Max: extremum(dp.Max),
		})
	}
	return &metricpb.Metric_Histogram{Histogram: out}
}

func wantExpHistogram[N int64 | float64](h metricdata.ExponentialHistogram[N]) *metricpb.Metric_ExponentialHistogram {
	out := &metricpb.ExponentialHistogram{AggregationTemporality: wantTemporality(h.Temporality)}
	buckets := func(b metricdata.ExponentialBucket) *metricpb.ExponentialHistogramDataPoint_Buckets {
		return &metricpb.ExponentialHistogramDataPoint_Buckets{Offset: b.Offset, BucketCounts: b.Counts}
	}
	for _, dp := range h.DataPoints {
		sum := float64(dp.Sum)
		out.DataPoints = append(out.DataPoints, &metricpb.ExponentialHistogramDataPoint{
			Attributes: wantSet(dp.Attributes), StartTimeUnixNano: nanos(dp.StartTime), TimeUnixNano: nanos(dp.Time),
			Count: dp.Count, Sum: &sum, Scale: dp.Scale, ZeroCount: dp.ZeroCount,
			Positive: buckets(dp.PositiveBucket), Negative: buckets(dp.NegativeBucket),
			Exemplars: wantExemplars(dp.Exemplars), Min: extremum(dp.Min), Max: extremum(dp.Max),
			ZeroThreshold: dp.ZeroThreshold,
		})
	}
	return &metricpb.Metric_ExponentialHistogram{ExponentialHistogram: out}
}

func wantMetric(t *testing.T, m metricdata.Metrics) *metricpb.Metric {
	out := &metricpb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit}
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		out.Data = &metricpb.Metric_Gauge{Gauge: &metricpb.Gauge{DataPoints: wantNumberPoints(d.DataPoints)}}
	case metricdata.Gauge[float64]:
		out.Data = &metricpb.Metric_Gauge{Gauge: &metricpb.Gauge{DataPoints: wantNumberPoints(d.DataPoints)}}
	case metricdata.Sum[int64]:
		out.Data = &metricpb.Metric_Sum{Sum: &metricpb.Sum{DataPoints: wantNumberPoints(d.DataPoints),
			AggregationTemporality: wantTemporality(d.Temporality), IsMonotonic: d.IsMonotonic}}
	case metricdata.Sum[float64]:
		out.Data = &metricpb.Metric_Sum{Sum: &metricpb.Sum{DataPoints: wantNumberPoints(d.DataPoints),
			AggregationTemporality: wantTemporality(d.Temporality), IsMonotonic: d.IsMonotonic}}
	case metricdata.Histogram[int64]:
		out.Data = wantHistogram(d)
	case metricdata.Histogram[float64]:
		out.Data = wantHistogram(d)
	case metricdata.ExponentialHistogram[int64]:
		out.Data = wantExpHistogram(d)
	case metricdata.ExponentialHistogram[float64]:
		out.Data = wantExpHistogram(d)
	case metricdata.Summary:
		s := &metricpb.Summary{}
		for _, dp := range d.DataPoints {
			p := &metricpb.SummaryDataPoint{Attributes: wantSet(dp.Attributes), StartTimeUnixNano: nanos(dp.StartTime),
				TimeUnixNano: nanos(dp.Time), Count: dp.Count, Sum: dp.Sum}
			for _, q := range dp.QuantileValues {
				p.QuantileValues = append(p.QuantileValues, &metricpb.SummaryDataPoint_ValueAtQuantile{Quantile: q.Quantile, Value: q.Value})
			}
			s.DataPoints = append(s.DataPoints, p)
		}
		out.Data = &metricpb.Metric_Summary{Summary: s}
	default:
		t.Fatalf("metric %s: unexpected %T", m.Name, m.Data)
	}
	return out
}

func TestOTLPEncodeMetrics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		temporality sdkmetric.TemporalitySelector
	}{
		{"cumulative", sdkmetric.DefaultTemporalitySelector},
		{"delta", deltaTemporality},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm := collectMetrics(t, tc.temporality)
			b, err := appendMetricsRequest(nil, rm)
			if err != nil {
				t.Fatal(err)
			}
			var got colmetricpb.ExportMetricsServiceRequest
			if err := proto.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			want := &metricpb.ResourceMetrics{Resource: wantResource(rm.Resource), SchemaUrl: rm.Resource.SchemaURL()}
			kinds := map[string]bool{}
			exemplars := 0
			for _, sm := range rm.ScopeMetrics {
				ws := &metricpb.ScopeMetrics{
					Scope:     &commonpb.InstrumentationScope{Name: sm.Scope.Name, Version: sm.Scope.Version, Attributes: wantSet(sm.Scope.Attributes)},
					SchemaUrl: sm.Scope.SchemaURL,
				}
				for _, m := range sm.Metrics {
					wm := wantMetric(t, m)
					ws.Metrics = append(ws.Metrics, wm)
					kinds[fmt.Sprintf("%T", m.Data)] = true
					exemplars += strings.Count(prototext.Format(wm), "exemplars")
				}
				want.ScopeMetrics = append(want.ScopeMetrics, ws)
			}
			diffProto(t, &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricpb.ResourceMetrics{want}}, &got)
			// The workload must have made every aggregation, with exemplars, or the comparison
			// above proves less than it seems.
			if len(kinds) != 9 {
				t.Errorf("aggregations covered: %v, want all 9", kinds)
			}
			if exemplars < 5 {
				t.Errorf("only %d exemplars recorded", exemplars)
			}
		})
	}
}

// TestOTLPEncodeUnknownAggregation: a metric of a type the encoder does not know is left
// out and named in the error; the others are still encoded.
func TestOTLPEncodeUnknownAggregation(t *testing.T) {
	t.Parallel()
	rm := &metricdata.ResourceMetrics{Resource: resource.Empty(), ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "odd", Data: &metricdata.Gauge[int64]{}},
		{Name: "fine", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}},
	}}}}
	b, err := appendMetricsRequest(nil, rm)
	if err == nil || !strings.Contains(err.Error(), "odd") {
		t.Fatalf("err = %v, want one naming odd", err)
	}
	var got colmetricpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	ms := got.ResourceMetrics[0].ScopeMetrics[0].Metrics
	if len(ms) != 1 || ms[0].Name != "fine" || ms[0].GetGauge().DataPoints[0].GetAsInt() != 1 {
		t.Fatalf("metrics = %v", ms)
	}
}

// TestOTLPLengths crosses the one-byte length placeholder's limit (127/128) and the
// two-byte one's (16383/16384), where closeField moves contents.
func TestOTLPLengths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 120, 121, 122, 123, 124, 125, 126, 127, 128, 200, 16380, 16381, 16382, 16383, 16384, 1 << 21} {
		v := strings.Repeat("x", n)
		b := appendKeyValue([]byte{0xAA}, 1, attribute.String("k", v))
		// The leading byte stands for whatever came before, which must survive.
		if b[0] != 0xAA {
			t.Fatalf("n=%d: preceding byte overwritten", n)
		}
		// Field 1 of a wrapper: strip its tag and length by parsing as a KeyValueList.
		var list commonpb.KeyValueList
		if err := proto.Unmarshal(b[1:], &list); err != nil || len(list.Values) != 1 {
			t.Fatalf("n=%d: %v", n, err)
		}
		kv := list.Values[0]
		if kv.Key != "k" || kv.Value.GetStringValue() != v {
			t.Fatalf("n=%d: decoded %q=%d bytes", n, kv.Key, len(kv.Value.GetStringValue()))
		}
	}
}

func TestOTLPConfigFromEnv(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	for _, tc := range []struct {
		name   string
		base   string
		signal string
		env    map[string]string
		want   otlpConfig
		err    string // a substring of the error; "" for none
	}{
		{name: "base only", base: "http://collector:4318/", signal: "traces",
			want: otlpConfig{URL: "http://collector:4318/v1/traces", Timeout: 10 * time.Second}},
		{name: "base with path", base: "https://otlp.example.com/otlp", signal: "metrics",
			want: otlpConfig{URL: "https://otlp.example.com/otlp/v1/metrics", Timeout: 10 * time.Second}},
		{name: "base with a query", base: "https://otlp.example.com/otlp/?key=" + secret, signal: "traces",
			want: otlpConfig{URL: "https://otlp.example.com/otlp/v1/traces?key=" + secret, Timeout: 10 * time.Second}},
		{name: "signal endpoint as-is", base: "http://ignored:4318", signal: "traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:1234/custom"},
			want: otlpConfig{URL: "http://x:1234/custom", Timeout: 10 * time.Second}},
		{name: "other signal's endpoint ignored", base: "http://c:4318", signal: "metrics",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:1234/custom"},
			want: otlpConfig{URL: "http://c:4318/v1/metrics", Timeout: 10 * time.Second}},
		{name: "headers merged, signal wins, decoded", base: "http://c:4318", signal: "traces",
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_HEADERS":        "api-key=" + secret + ", tenant = a%20b ,x=1,",
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x=2,Authorization=Basic%20Zm9v%3D",
			},
			want: otlpConfig{URL: "http://c:4318/v1/traces", Timeout: 10 * time.Second, Headers: map[string]string{
				"api-key": secret, "tenant": "a b", "x": "2", "Authorization": "Basic Zm9v=",
			}}},
		{name: "timeouts, signal wins", base: "http://c:4318", signal: "traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "250"},
			want: otlpConfig{URL: "http://c:4318/v1/traces", Timeout: 250 * time.Millisecond}},
		{name: "generic timeout", base: "http://c:4318", signal: "metrics",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "250"},
			want: otlpConfig{URL: "http://c:4318/v1/metrics", Timeout: 5 * time.Second}},
		{name: "gzip", base: "http://c:4318", signal: "traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
			want: otlpConfig{URL: "http://c:4318/v1/traces", Timeout: 10 * time.Second, Gzip: true}},
		{name: "signal compression none wins", base: "http://c:4318", signal: "traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none"},
			want: otlpConfig{URL: "http://c:4318/v1/traces", Timeout: 10 * time.Second}},
		{name: "protocol http/protobuf", base: "http://c:4318", signal: "traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			want: otlpConfig{URL: "http://c:4318/v1/traces", Timeout: 10 * time.Second}},
		{name: "signal protocol wins", base: "http://c:4318", signal: "traces",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: otlpConfig{URL: "http://c:4318/v1/traces", Timeout: 10 * time.Second}},
		{name: "exponential histograms", base: "http://c:4318", signal: "metrics",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram"},
			want: otlpConfig{URL: "http://c:4318/v1/metrics", Timeout: 10 * time.Second, ExponentialHistograms: true}},

		{name: "grpc", base: "http://c:4317", signal: "traces", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			err: `config: OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not a protocol this app speaks: it exports OTLP over HTTP with protobuf; unset it or set http/protobuf (and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port, usually 4318)`},
		{name: "signal json", base: "http://c:4318", signal: "metrics", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
			err: `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="http/json" is not a protocol this app speaks`},
		{name: "no endpoint", signal: "traces", err: `OTEL_EXPORTER_OTLP_ENDPOINT="" is empty`},
		{name: "bad base", base: "localhost:4318", signal: "traces", err: "OTEL_EXPORTER_OTLP_ENDPOINT (value not shown) is not an absolute http(s) URL"},
		{name: "bad signal endpoint, credentials not shown", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://user:" + secret + "@x"},
			err: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (value not shown) is not an absolute http(s) URL"},
		{name: "signal endpoint without a host name", base: "http://c:4318", signal: "metrics",
			env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://:4318/v1/metrics"},
			err: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (value not shown) is not an absolute http(s) URL"},
		{name: "header without =", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1,Bearer " + secret},
			err: "OTEL_EXPORTER_OTLP_HEADERS (value not shown) has entry 2 not in key=value form"},
		{name: "header bad name", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "bad key=" + secret},
			err: "OTEL_EXPORTER_OTLP_TRACES_HEADERS (value not shown) has entry 1 not in key=value form"},
		{name: "header bad escape", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=" + secret + "%zz"},
			err: "OTEL_EXPORTER_OTLP_HEADERS (value not shown) has the value of api-key not URL-encoded correctly"},
		{name: "header control character", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=" + secret + "%0D%0AX: y"},
			err: "OTEL_EXPORTER_OTLP_HEADERS (value not shown) has the value of api-key holding a control character"},
		{name: "timeout not a number", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, err: `OTEL_EXPORTER_OTLP_TIMEOUT="10s" is not a whole number of milliseconds`},
		{name: "timeout negative", base: "http://c:4318", signal: "metrics",
			env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "-1"}, err: `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT="-1" is not`},
		{name: "compression", base: "http://c:4318", signal: "traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, err: `OTEL_EXPORTER_OTLP_COMPRESSION="zstd" is not a compression this app has; use gzip or none`},
		{name: "temporality", base: "http://c:4318", signal: "metrics",
			env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"},
			err: `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="sometimes" is not a temporality; use cumulative, delta or lowmemory`},
		{name: "histogram aggregation", base: "http://c:4318", signal: "metrics",
			env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "fancy"},
			err: `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION="fancy" is not a histogram aggregation`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := otlpConfigFromEnv(tc.base, tc.signal, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error shows a secret or spans lines: %v", err)
				}
				// A *config.Error is what the registry prints alone at start, as the other
				// settings' errors; any other error is buried behind "registry: construct
				// observability (registered at <source path>):".
				if ce := (*config.Error)(nil); !errors.As(err, &ce) {
					t.Fatalf("err is a %T, not a *config.Error: %v", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Temporality != nil {
				t.Fatal("temporality set without being asked")
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestOTLPTemporality(t *testing.T) {
	t.Parallel()
	const d, c = metricdata.DeltaTemporality, metricdata.CumulativeTemporality
	kinds := []sdkmetric.InstrumentKind{
		sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindHistogram,
		sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindObservableUpDownCounter,
		sdkmetric.InstrumentKindObservableGauge, sdkmetric.InstrumentKindGauge,
	}
	for _, tc := range []struct {
		pref string
		want []metricdata.Temporality // in the order of kinds
	}{
		{"", []metricdata.Temporality{c, c, c, c, c, c, c}},
		{"Cumulative", []metricdata.Temporality{c, c, c, c, c, c, c}},
		{"delta", []metricdata.Temporality{d, c, d, d, c, c, c}},
		{"LOWMEMORY", []metricdata.Temporality{d, c, d, c, c, c, c}},
	} {
		cfg, err := otlpConfigFromEnv("http://c:4318", "metrics", func(k string) string {
			if k == "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE" {
				return tc.pref
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		e := newMetricExporter(cfg, http.DefaultClient)
		for i, k := range kinds {
			if got := e.Temporality(k); got != tc.want[i] {
				t.Errorf("%q: %v: %v, want %v", tc.pref, k, got, tc.want[i])
			}
			if got, want := fmt.Sprintf("%T", e.Aggregation(k)), fmt.Sprintf("%T", sdkmetric.DefaultAggregationSelector(k)); got != want {
				t.Errorf("%v: aggregation %s, want %s", k, got, want)
			}
		}
	}
}

// collector is a stand-in OTLP/HTTP collector answering from a script of responses, the
// last repeated.
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte // decompressed
	script   []func(w http.ResponseWriter, r *http.Request)
}

func newCollector(t *testing.T, script ...func(w http.ResponseWriter, r *http.Request)) *collector {
	c := &collector{script: script}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		n := len(c.requests)
		c.requests = append(c.requests, r)
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		if len(c.script) > 0 {
			c.script[min(n, len(c.script)-1)](w, r)
		}
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}

func status(code int, header ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func reply(code int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func fastRetries(s *otlpSender) {
	s.backoff, s.maxBackoff = time.Millisecond, 4*time.Millisecond
}

func TestOTLPExportRequest(t *testing.T) {
	t.Parallel()
	spans := recordSpans(t)
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("gzip=", gz), func(t *testing.T) {
			t.Parallel()
			c := newCollector(t, status(http.StatusOK))
			cfg := otlpConfig{URL: c.URL + "/v1/traces", Headers: map[string]string{"api-key": "k1", "X-Tenant": "t"}, Gzip: gz}
			e := newSpanExporter(cfg, nil)
			if err := e.ExportSpans(t.Context(), spans); err != nil {
				t.Fatal(err)
			}
			if err := e.ExportSpans(t.Context(), nil); err != nil || c.count() != 1 {
				t.Fatalf("empty export: err %v, %d requests, want none sent", err, c.count())
			}
			r := c.requests[0]
			for k, want := range map[string]string{
				"Content-Type": "application/x-protobuf", "Api-Key": "k1", "X-Tenant": "t", "User-Agent": otlpUserAgent,
				"Content-Encoding": map[bool]string{true: "gzip"}[gz],
			} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
				t.Errorf("%s %s", r.Method, r.URL.Path)
			}
			var got coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(c.bodies[0], &got); err != nil {
				t.Fatal(err)
			}
			var want coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(appendTraceRequest(nil, spans), &want); err != nil {
				t.Fatal(err)
			}
			diffProto(t, &want, &got)
			if err := e.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("metrics", func(t *testing.T) {
		t.Parallel()
		c := newCollector(t, status(http.StatusOK))
		e := newMetricExporter(otlpConfig{URL: c.URL + "/v1/metrics", Gzip: true}, nil)
		rm := collectMetrics(t, e.Temporality)
		if err := e.Export(t.Context(), rm); err != nil {
			t.Fatal(err)
		}
		if err := e.Export(t.Context(), &metricdata.ResourceMetrics{}); err != nil || c.count() != 1 {
			t.Fatalf("empty export: err %v, %d requests, want none sent", err, c.count())
		}
		var got colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(c.bodies[0], &got); err != nil {
			t.Fatal(err)
		}
		if n := len(got.ResourceMetrics[0].ScopeMetrics); n != 3 {
			t.Fatalf("%d scopes arrived, want 3", n)
		}
		if err := e.ForceFlush(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOTLPExportRetries(t *testing.T) {
	t.Parallel()
	spans := recordSpans(t)[:1]
	for _, tc := range []struct {
		name     string
		script   []func(http.ResponseWriter, *http.Request)
		requests int
		err      string // substring; "" for success
		minTime  time.Duration
	}{
		{name: "503 Retry-After 0 twice", script: []func(http.ResponseWriter, *http.Request){
			status(503, "Retry-After", "0"), status(503, "Retry-After", "0"), status(200)}, requests: 3},
		{name: "Retry-After 1", script: []func(http.ResponseWriter, *http.Request){status(503, "Retry-After", "1"), status(200)},
			requests: 2, minTime: time.Second},
		{name: "429 502 504 backoff", script: []func(http.ResponseWriter, *http.Request){status(429), status(502), status(504), status(200)}, requests: 4},
		{name: "400 at once", script: []func(http.ResponseWriter, *http.Request){
			reply(400, "invalid\nrequest "+strings.Repeat("y", 300)), status(200)}, requests: 1,
			err: "otlp: POST http://HOST/v1/traces: 400 Bad Request: invalid request yyy"},
		{name: "404 at once", script: []func(http.ResponseWriter, *http.Request){status(404)}, requests: 1,
			err: "404 Not Found: (no body)"},
		{name: "500 not retried", script: []func(http.ResponseWriter, *http.Request){status(500)}, requests: 1, err: "500 Internal Server Error"},
		{name: "Retry-After beyond the deadline", script: []func(http.ResponseWriter, *http.Request){status(503, "Retry-After", "60")},
			requests: 1, err: "not retried: the next try, in 1m0s, would pass the export's deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCollector(t, tc.script...)
			// A query with a key, which errors must not show either.
			e := newSpanExporter(otlpConfig{URL: c.URL + "/v1/traces?key=q-secret", Headers: map[string]string{"api-key": "h-secret"}, Timeout: 5 * time.Second}, nil)
			fastRetries(e.s)
			start := time.Now()
			err := e.ExportSpans(t.Context(), spans)
			took := time.Since(start)
			if c.count() != tc.requests {
				t.Errorf("%d requests, want %d", c.count(), tc.requests)
			}
			if took < tc.minTime {
				t.Errorf("took %v, want at least %v", took, tc.minTime)
			}
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), strings.TrimPrefix(c.URL, "http://"), "HOST")
			if !strings.Contains(msg, tc.err) {
				t.Fatalf("err = %s\nwant it to contain %s", msg, tc.err)
			}
			if strings.Contains(msg, "secret") || strings.Contains(msg, "\n") || strings.Count(msg, "y") > 200 {
				t.Fatalf("error shows a secret, spans lines or holds more than 200 bytes of body: %s", msg)
			}
		})
	}
}

func TestOTLPExportTimeout(t *testing.T) {
	t.Parallel()
	spans := recordSpans(t)[:1]
	// Answers only when the client gives up, so the server closes at once.
	hang := func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	for _, tc := range []struct {
		name    string
		script  func(http.ResponseWriter, *http.Request)
		timeout time.Duration // the config's
		ctx     time.Duration // the context's, 0 for none
	}{
		{"config timeout, hanging collector", hang, 100 * time.Millisecond, 0},
		{"context deadline, hanging collector", hang, 10 * time.Second, 100 * time.Millisecond},
		{"config timeout, retrying", status(503), 100 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCollector(t, tc.script)
			e := newSpanExporter(otlpConfig{URL: c.URL, Timeout: tc.timeout}, nil)
			e.s.backoff, e.s.maxBackoff = 10*time.Millisecond, 20*time.Millisecond
			ctx := t.Context()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			start := time.Now()
			err := e.ExportSpans(ctx, spans)
			// Bounded by 100 ms; the bound tells it from the other one (10 s), with room for
			// a loaded machine.
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}

// TestOTLPPartialSuccess changes the global error handler: not parallel.
func TestOTLPPartialSuccess(t *testing.T) {
	var mu sync.Mutex
	var handled []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		handled = append(handled, err)
		mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	traceResp, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
		RejectedSpans: 3, ErrorMessage: "span too\nold"}})
	if err != nil {
		t.Fatal(err)
	}
	metricResp, err := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{PartialSuccess: &colmetricpb.ExportMetricsPartialSuccess{
		RejectedDataPoints: 2}})
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{}})
	tc := newCollector(t, reply(200, string(traceResp)), reply(200, string(empty)), reply(200, "not protobuf \xff\xff"))
	mc := newCollector(t, reply(200, string(metricResp)))

	se := newSpanExporter(otlpConfig{URL: tc.URL}, nil)
	for range 3 {
		if err := se.ExportSpans(t.Context(), recordSpans(t)[:1]); err != nil {
			t.Fatal(err)
		}
	}
	me := newMetricExporter(otlpConfig{URL: mc.URL}, nil)
	if err := me.Export(t.Context(), &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{}}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 2 {
		t.Fatalf("handled %v, want 2 errors", handled)
	}
	for i, want := range []string{"the collector rejected 3 spans: span too old", "the collector rejected 2 data points (no message)"} {
		if !strings.Contains(handled[i].Error(), want) {
			t.Errorf("handled %q, want it to contain %q", handled[i], want)
		}
	}
}

func TestOTLPShutdown(t *testing.T) {
	t.Parallel()
	c := newCollector(t, status(200))
	se := newSpanExporter(otlpConfig{URL: c.URL}, nil)
	me := newMetricExporter(otlpConfig{URL: c.URL}, nil)
	if err := se.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := me.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := se.ExportSpans(t.Context(), recordSpans(t)); !errors.Is(err, errOTLPShutdown) {
		t.Errorf("span export after shutdown: %v", err)
	}
	if err := me.Export(t.Context(), &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{}}}); !errors.Is(err, errOTLPShutdown) {
		t.Errorf("metric export after shutdown: %v", err)
	}
	if c.count() != 0 {
		t.Errorf("%d requests after shutdown", c.count())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range map[string]error{
		"span shutdown":   newSpanExporter(otlpConfig{URL: c.URL}, nil).Shutdown(ctx),
		"metric shutdown": newMetricExporter(otlpConfig{URL: c.URL}, nil).Shutdown(ctx),
		"force flush":     newMetricExporter(otlpConfig{URL: c.URL}, nil).ForceFlush(ctx),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", name, err)
		}
	}
}

// TestOTLPConcurrent exports from several goroutines through one exporter (run with -race).
func TestOTLPConcurrent(t *testing.T) {
	t.Parallel()
	c := newCollector(t, status(200))
	e := newSpanExporter(otlpConfig{URL: c.URL, Gzip: true}, nil)
	spans := recordSpans(t)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if err := e.ExportSpans(t.Context(), spans); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || c.count() != 40 {
		t.Fatalf("%d failed, %d requests", failed.Load(), c.count())
	}
	for _, b := range c.bodies {
		if !bytes.Equal(b, c.bodies[0]) {
			t.Fatal("bodies differ")
		}
	}
}

func TestOTLPRetryAfter(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]time.Duration{
		"": 0, "0": time.Millisecond, "2": 2 * time.Second, " 5 ": 5 * time.Second, "soon": 0, "-3": 0,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): time.Millisecond,
	} {
		if got := retryAfter(h); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
	if d := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 58*time.Second || d > time.Minute {
		t.Errorf("date a minute ahead: %v", d)
	}
	s := newOTLPSender(otlpConfig{}, nil, "spans")
	for attempt, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		if got := s.backoffFor(attempt); got < want/2 || got > want*3/2 {
			t.Errorf("backoff %d: %v, want %v ±50%%", attempt, got, want)
		}
	}
}

func BenchmarkEncodeSpans(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(testResource))
	tr := tp.Tracer("bench", trace.WithInstrumentationVersion("1.0"))
	for i := range 512 {
		ctx, s := tr.Start(context.Background(), "GET /items/{id}", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.path", fmt.Sprintf("/items/%d", i)),
				attribute.Int("http.response.status_code", 200), attribute.String("server.address", "example.com")))
		_, c := tr.Start(ctx, "SELECT items", trace.WithAttributes(attribute.String("db.system", "sqlite")))
		c.AddEvent("rows", trace.WithAttributes(attribute.Int("n", 3)))
		c.End()
		s.End()
		if len(rec.Ended()) >= 512 {
			break
		}
	}
	spans := rec.Ended()[:512]
	b.ReportAllocs()
	var buf []byte
	b.ResetTimer()
	for b.Loop() {
		buf = appendTraceRequest(buf[:0], spans)
	}
	b.SetBytes(int64(len(buf)))
}

// writeSelfSigned writes a fresh self-signed certificate for 127.0.0.1 and its key as PEM
// files in dir.
func writeSelfSigned(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestOTLPTLS: the certificate variables give the private client the collector's CA and a
// client certificate; without the CA, an untrusted collector fails at once, not after
// retries: one handshake, whatever the time it takes on a loaded machine.
func TestOTLPTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var peers, hellos atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peers.Store(int32(len(r.TLS.PeerCertificates)))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { hellos.Add(1); return nil, nil }}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey := writeSelfSigned(t, dir, "client")
	spans := recordSpans(t)[:1]

	env := map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": caFile,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": clientCert,
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":         clientKey,
	}
	cfg, err := otlpConfigFromEnv(srv.URL, "traces", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := newSpanExporter(cfg, nil).ExportSpans(t.Context(), spans); err != nil {
		t.Fatal(err)
	}
	if peers.Load() != 1 {
		t.Fatalf("the collector saw %d client certificates, want 1", peers.Load())
	}

	cfg.TLS = nil
	hellos.Store(0)
	err = newSpanExporter(cfg, nil).ExportSpans(t.Context(), spans)
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) {
		t.Fatalf("untrusted collector: %v, want a certificate error", err)
	}
	if n := hellos.Load(); n != 1 {
		t.Fatalf("untrusted collector: %d handshakes, want 1 (a certificate error is not retried)", n)
	}

	for _, tc := range []struct {
		env map[string]string
		err string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(dir, "missing.pem")}, "missing.pem\" cannot be read (no such file); point it at"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": clientKey}, "holds no PEM certificate"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": clientCert}, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=\"" + clientCert + "\" is set without OTEL_EXPORTER_OTLP_CLIENT_KEY"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": clientKey, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": clientKey},
			"and OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY=\"" + clientKey + "\" are not a usable certificate and key ("},
	} {
		_, err := otlpConfigFromEnv("https://c:4318", "traces", func(k string) string { return tc.env[k] })
		if ce := (*config.Error)(nil); err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") || !errors.As(err, &ce) {
			t.Errorf("%v: err = %v, want a *config.Error, one line containing %q", tc.env, err, tc.err)
		}
	}
}

// TestOTLPTransportReason: an export that gets no HTTP answer fails with what an operator can
// act on (the health check and the WARN line show it), not Go's network text, and the cause
// stays reachable through errors.Is.
func TestOTLPTransportReason(t *testing.T) {
	t.Parallel()
	spans := recordSpans(t)[:1]
	hanging := newCollector(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	plain := newCollector(t, status(200))
	for _, tc := range []struct {
		name string
		url  string
		want string
		is   error // a cause errors.Is still finds; nil for none checked
	}{
		{"closed port", "http://" + closedPort(t) + "/v1/traces", "connection refused: nothing listens at that address", syscall.ECONNREFUSED},
		{"hanging collector", hanging.URL, "no answer in time", context.DeadlineExceeded},
		{"https to a plain-HTTP port", strings.Replace(plain.URL, "http://", "https://", 1), "the collector did not answer in TLS", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSpanExporter(otlpConfig{URL: tc.url, Timeout: 300 * time.Millisecond}, nil)
			// One try: a retry cut short by the deadline would report the deadline instead.
			e.s.backoff, e.s.maxBackoff = 5*time.Second, 5*time.Second
			err := e.ExportSpans(t.Context(), spans)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			for _, raw := range []string{"dial tcp", "connect:", "context deadline exceeded", "http: server gave"} {
				if strings.Contains(err.Error(), raw) {
					t.Errorf("err = %v: Go's network text %q", err, raw)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) = false: the cause is lost", tc.is)
			}
		})
	}
	// A port that does not speak TLS will not start to on a retry: the export fails at once,
	// not after its whole timeout of retries.
	// (At once: well under the 60 s of retries, with room for a loaded machine.)
	e := newSpanExporter(otlpConfig{URL: strings.Replace(plain.URL, "http://", "https://", 1), Timeout: time.Minute}, nil)
	e.s.backoff, e.s.maxBackoff = 10*time.Millisecond, 20*time.Millisecond
	start := time.Now()
	if err := e.ExportSpans(t.Context(), spans); err == nil || !strings.Contains(err.Error(), "did not answer in TLS") || time.Since(start) > 10*time.Second {
		t.Errorf("https to a plain-HTTP port: %v after %v, want the TLS reason at once", err, time.Since(start))
	}

	// Stopped while waiting to retry: Stop's abort, not Go's "context canceled".
	unavailable := newCollector(t, status(503))
	e = newSpanExporter(otlpConfig{URL: unavailable.URL, Timeout: 10 * time.Second}, nil)
	e.s.backoff, e.s.maxBackoff = 5*time.Second, 5*time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := e.ExportSpans(ctx, spans); err == nil || !strings.Contains(err.Error(), "retries stopped: the app is stopping") ||
		strings.Contains(err.Error(), "context canceled") || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled while waiting to retry: err = %v", err)
	}

	// Causes no local test can provoke without the network.
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "otel-collector", IsNotFound: true}, `cannot resolve the collector's host name "otel-collector"`},
		{&tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}, "set OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "closed the connection without answering"},
		{context.Canceled, "the app is stopping"},
		// A lookup that timed out never reached the collector: the name (or the resolver) is
		// what to check, not OTEL_EXPORTER_OTLP_TIMEOUT (it said "no answer in time").
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "otel-collector", IsTimeout: true}}, `cannot resolve the collector's host name "otel-collector"`},
		// A bare x509 error, as a custom VerifyPeerCertificate returns it (it was kept as Go's text).
		{x509.UnknownAuthorityError{}, "set OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, "no route to the collector's host"},
	} {
		if got := describeTransport(tc.err).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("describeTransport(%v) = %q, want one saying %q", tc.err, got, tc.want)
		}
	}
	if odd := errors.New("something new"); describeTransport(odd) != odd {
		t.Error("an unknown cause is not kept as it is")
	}
}
