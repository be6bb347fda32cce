package observability

// OTLP binary protobuf, written by hand with protowire: the generated OTLP types (and the
// collector packages' gRPC service code that comes with them) cost milliseconds of package
// initialisation at start-up, while appending tags, varints and fixed64s needs no registry.
//
// Field numbers are those of opentelemetry-proto as generated in
// go.opentelemetry.io/proto/otlp v1.11.0; the tests decode every message written here with that
// generated code. Like proto.Marshal, fields holding their zero value are left out, except
// the members of a oneof (an AnyValue's false or "", an as_int of 0), whose presence is the
// value, and the optional doubles (sum, min, max).

import (
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers, one block per message.
const (
	// ExportTraceServiceRequest, ExportMetricsServiceRequest
	fRequestResource = 1 // resource_spans, resource_metrics

	// ResourceSpans, ResourceMetrics
	fResource          = 1
	fResourceScoped    = 2 // scope_spans, scope_metrics
	fResourceSchemaURL = 3

	// Resource
	fResourceAttributes = 1
	fResourceDropped    = 2

	// ScopeSpans, ScopeMetrics
	fScope          = 1
	fScopeItems     = 2 // spans, metrics
	fScopeSchemaURL = 3

	// InstrumentationScope
	fScopeName       = 1
	fScopeVersion    = 2
	fScopeAttributes = 3

	// KeyValue
	fKey   = 1
	fValue = 2

	// AnyValue
	fString = 1
	fBool   = 2
	fInt    = 3
	fDouble = 4
	fArray  = 5
	fKvlist = 6
	fBytes  = 7

	// ArrayValue, KeyValueList
	fValues = 1

	// Span
	fTraceID           = 1
	fSpanID            = 2
	fTraceState        = 3
	fParentSpanID      = 4
	fName              = 5
	fKind              = 6
	fStart             = 7
	fEnd               = 8
	fAttributes        = 9
	fDroppedAttributes = 10
	fEvents            = 11
	fDroppedEvents     = 12
	fLinks             = 13
	fDroppedLinks      = 14
	fStatus            = 15
	fSpanFlags         = 16

	// Span.Event
	fEventTime       = 1
	fEventName       = 2
	fEventAttributes = 3
	fEventDropped    = 4

	// Span.Link
	fLinkTraceID    = 1
	fLinkSpanID     = 2
	fLinkTraceState = 3
	fLinkAttributes = 4
	fLinkDropped    = 5
	fLinkFlags      = 6

	// Status
	fStatusMessage = 2
	fStatusCode    = 3

	// Metric
	fMetricName        = 1
	fMetricDescription = 2
	fMetricUnit        = 3
	fGauge             = 5
	fSum               = 7
	fHistogram         = 9
	fExpHistogram      = 10
	fSummary           = 11

	// Gauge, Sum, Histogram, ExponentialHistogram, Summary
	fDataPoints  = 1
	fTemporality = 2
	fMonotonic   = 3 // Sum only

	// The data points' common fields.
	fPointStart = 2
	fPointTime  = 3

	// NumberDataPoint
	fNumberDouble     = 4
	fNumberExemplars  = 5
	fNumberInt        = 6
	fNumberAttributes = 7

	// HistogramDataPoint
	fHistCount        = 4
	fHistSum          = 5
	fHistBucketCounts = 6
	fHistBounds       = 7
	fHistExemplars    = 8
	fHistAttributes   = 9
	fHistMin          = 11
	fHistMax          = 12

	// ExponentialHistogramDataPoint
	fExpAttributes    = 1
	fExpCount         = 4
	fExpSum           = 5
	fExpScale         = 6
	fExpZeroCount     = 7
	fExpPositive      = 8
	fExpNegative      = 9
	fExpExemplars     = 11
	fExpMin           = 12
	fExpMax           = 13
	fExpZeroThreshold = 14

	// ExponentialHistogramDataPoint.Buckets
	fBucketOffset = 1
	fBucketCounts = 2

	// SummaryDataPoint
	fSummaryCount      = 4
	fSummarySum        = 5
	fSummaryQuantiles  = 6
	fSummaryAttributes = 7

	// SummaryDataPoint.ValueAtQuantile
	fQuantile      = 1
	fQuantileValue = 2

	// Exemplar
	fExemplarTime       = 2
	fExemplarDouble     = 3
	fExemplarSpanID     = 4
	fExemplarTraceID    = 5
	fExemplarInt        = 6
	fExemplarAttributes = 7
)

// OTLP enum and flag values.
const (
	otlpTemporalityDelta      = 1
	otlpTemporalityCumulative = 2

	otlpStatusOK    = 1
	otlpStatusError = 2

	// SpanFlags: whether the parent (of a span) or the linked span context is remote is
	// known, and whether it is.
	otlpFlagHasIsRemote = 0x100
	otlpFlagIsRemote    = 0x200
)

// openField appends the tag of a length-delimited field and a one-byte placeholder for its
// length, returning where the contents start; closeField writes the length. One byte fits
// contents under 128 bytes, the common case for key-values and small messages, so the
// contents are moved only for the larger ones, instead of measuring every message first.
func openField(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = append(b, 0)
	return b, len(b)
}

func closeField(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	for range extra {
		b = append(b, 0)
	}
	copy(b[start+extra:], b[start:start+n])
	// Writes exactly 1+extra bytes from start-1, within b's length: no reallocation.
	protowire.AppendVarint(b[:start-1], uint64(n))
	return b
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64Field(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// appendDouble writes a double even when it is zero: for optional fields and oneof members.
func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// appendCount writes an uint32 count field, saturating the SDK's int counts.
func appendCount(b []byte, num protowire.Number, n int) []byte {
	if n <= 0 {
		return b
	}
	return appendVarintField(b, num, uint64(min(n, math.MaxUint32)))
}

// unixNanos is t as OTLP's fixed64 nanoseconds: 0 (unset) for the zero time or before 1970.
func unixNanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	if n := t.UnixNano(); n > 0 {
		return uint64(n)
	}
	return 0
}

// appendKeyValue writes one KeyValue message as field num.
func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	b, kvAt := openField(b, num)
	b = appendStringField(b, fKey, string(kv.Key))
	b, vAt := openField(b, fValue)
	b = appendAnyValue(b, kv.Value)
	b = closeField(b, vAt)
	return closeField(b, kvAt)
}

func appendKeyValues(b []byte, num protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		b = appendKeyValue(b, num, kv)
	}
	return b
}

func appendAttributeSet(b []byte, num protowire.Number, set *attribute.Set) []byte {
	for it := set.Iter(); it.Next(); {
		b = appendKeyValue(b, num, it.Attribute())
	}
	return b
}

// appendAnyValue writes the contents of an AnyValue holding v.
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, fBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, fInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return appendDouble(b, fDouble, v.AsFloat64())
	case attribute.STRING:
		b = protowire.AppendTag(b, fString, protowire.BytesType)
		return protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, fBytes, protowire.BytesType)
		return protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		return appendArray(b, v.AsSlice(), func(v attribute.Value) attribute.Value { return v })
	case attribute.MAP:
		b, at := openField(b, fKvlist)
		b = appendKeyValues(b, fValues, v.AsMap())
		return closeField(b, at)
	case attribute.EMPTY:
		return b // an AnyValue with no value: the attribute is there, empty
	default:
		// A type newer than this encoder: say so rather than drop the key, as the
		// official exporter does.
		b = protowire.AppendTag(b, fString, protowire.BytesType)
		return protowire.AppendString(b, "INVALID")
	}
}

// appendArray writes an ArrayValue field holding vals, each made a Value by conv.
func appendArray[T any](b []byte, vals []T, conv func(T) attribute.Value) []byte {
	b, at := openField(b, fArray)
	for _, x := range vals {
		var vAt int
		b, vAt = openField(b, fValues)
		b = appendAnyValue(b, conv(x))
		b = closeField(b, vAt)
	}
	return closeField(b, at)
}

func appendResource(b []byte, res *resource.Resource) []byte {
	b, at := openField(b, fResource)
	for it := res.Iter(); it.Next(); {
		b = appendKeyValue(b, fResourceAttributes, it.Attribute())
	}
	return closeField(b, at)
}

func appendScope(b []byte, s instrumentation.Scope) []byte {
	b, at := openField(b, fScope)
	b = appendStringField(b, fScopeName, s.Name)
	b = appendStringField(b, fScopeVersion, s.Version)
	b = appendAttributeSet(b, fScopeAttributes, &s.Attributes)
	return closeField(b, at)
}

// resourceKey and scopeKey group spans as the SDK describes them: equal attributes and
// schema make one resource or scope.
type resourceKey struct {
	attrs  attribute.Distinct
	schema string
}

type scopeKey struct {
	name, version, schema string
	attrs                 attribute.Distinct
}

type scopeGroup struct {
	key   scopeKey
	scope instrumentation.Scope
	spans []int
}

type resourceGroup struct {
	key    resourceKey
	res    *resource.Resource
	scopes []scopeGroup
}

// groupSpans groups spans by resource then scope, each group in order of first appearance
// and each group's spans in their order: a batch usually holds one resource and few scopes,
// so linear search beats a map.
func groupSpans(spans []sdktrace.ReadOnlySpan) []resourceGroup {
	var groups []resourceGroup
	for i, s := range spans {
		res := s.Resource()
		rk := resourceKey{res.Equivalent(), res.SchemaURL()}
		var rg *resourceGroup
		for j := range groups {
			if groups[j].key == rk {
				rg = &groups[j]
				break
			}
		}
		if rg == nil {
			groups = append(groups, resourceGroup{key: rk, res: res})
			rg = &groups[len(groups)-1]
		}
		sc := s.InstrumentationScope()
		sk := scopeKey{sc.Name, sc.Version, sc.SchemaURL, sc.Attributes.Equivalent()}
		var sg *scopeGroup
		for j := range rg.scopes {
			if rg.scopes[j].key == sk {
				sg = &rg.scopes[j]
				break
			}
		}
		if sg == nil {
			rg.scopes = append(rg.scopes, scopeGroup{key: sk, scope: sc})
			sg = &rg.scopes[len(rg.scopes)-1]
		}
		sg.spans = append(sg.spans, i)
	}
	return groups
}

// appendTraceRequest appends spans as an ExportTraceServiceRequest.
func appendTraceRequest(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	for _, rg := range groupSpans(spans) {
		var rAt int
		b, rAt = openField(b, fRequestResource)
		b = appendResource(b, rg.res)
		for _, sg := range rg.scopes {
			var sAt int
			b, sAt = openField(b, fResourceScoped)
			b = appendScope(b, sg.scope)
			for _, i := range sg.spans {
				var at int
				b, at = openField(b, fScopeItems)
				b = appendSpan(b, spans[i])
				b = closeField(b, at)
			}
			b = appendStringField(b, fScopeSchemaURL, sg.scope.SchemaURL)
			b = closeField(b, sAt)
		}
		b = appendStringField(b, fResourceSchemaURL, rg.res.SchemaURL())
		b = closeField(b, rAt)
	}
	return b
}

// spanFlags are OTLP's span flags for a span (or link) with trace flags tf whose parent
// (or linked) context is sc: the W3C trace flags in the low byte, and that whether sc is
// remote is known, and whether it is.
func spanFlags(tf trace.TraceFlags, sc trace.SpanContext) uint32 {
	flags := uint32(tf) | otlpFlagHasIsRemote
	if sc.IsRemote() {
		flags |= otlpFlagIsRemote
	}
	return flags
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

// appendSpan writes the contents of one Span message.
func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytesField(b, fTraceID, tid[:])
	b = appendBytesField(b, fSpanID, sid[:])
	b = appendStringField(b, fTraceState, sc.TraceState().String())
	parent := s.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytesField(b, fParentSpanID, psid[:])
	}
	b = appendStringField(b, fName, s.Name())
	// The Go API's kinds are numbered as OTLP's; anything else is unspecified.
	if k := s.SpanKind(); k >= trace.SpanKindInternal && k <= trace.SpanKindConsumer {
		b = appendVarintField(b, fKind, uint64(k))
	}
	b = appendFixed64Field(b, fStart, unixNanos(s.StartTime()))
	b = appendFixed64Field(b, fEnd, unixNanos(s.EndTime()))
	b = appendKeyValues(b, fAttributes, exportedAttrs(s.SpanKind(), s.Attributes()))
	b = appendCount(b, fDroppedAttributes, s.DroppedAttributes())
	for _, e := range s.Events() {
		var at int
		b, at = openField(b, fEvents)
		b = appendFixed64Field(b, fEventTime, unixNanos(e.Time))
		b = appendStringField(b, fEventName, e.Name)
		b = appendKeyValues(b, fEventAttributes, e.Attributes)
		b = appendCount(b, fEventDropped, e.DroppedAttributeCount)
		b = closeField(b, at)
	}
	b = appendCount(b, fDroppedEvents, s.DroppedEvents())
	for _, l := range s.Links() {
		var at int
		b, at = openField(b, fLinks)
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = appendBytesField(b, fLinkTraceID, ltid[:])
		b = appendBytesField(b, fLinkSpanID, lsid[:])
		b = appendStringField(b, fLinkTraceState, l.SpanContext.TraceState().String())
		b = appendKeyValues(b, fLinkAttributes, l.Attributes)
		b = appendCount(b, fLinkDropped, l.DroppedAttributeCount)
		b = appendFixed32(b, fLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		b = closeField(b, at)
	}
	b = appendCount(b, fDroppedLinks, s.DroppedLinks())
	// Status is always there, empty when unset, as the official exporter sends it.
	b, at := openField(b, fStatus)
	switch st := s.Status(); st.Code {
	case codes.Error:
		b = appendStringField(b, fStatusMessage, st.Description)
		b = appendVarintField(b, fStatusCode, otlpStatusError)
	case codes.Ok:
		b = appendVarintField(b, fStatusCode, otlpStatusOK)
	}
	b = closeField(b, at)
	return appendFixed32(b, fSpanFlags, spanFlags(sc.TraceFlags(), parent))
}

// appendMetricsRequest appends rm as an ExportMetricsServiceRequest. Metrics of an
// aggregation this encoder does not know are left out and reported in the error; the rest
// is encoded all the same.
func appendMetricsRequest(b []byte, rm *metricdata.ResourceMetrics) ([]byte, error) {
	var unknown []string
	b, rAt := openField(b, fRequestResource)
	b = appendResource(b, rm.Resource)
	for _, sm := range rm.ScopeMetrics {
		var sAt int
		b, sAt = openField(b, fResourceScoped)
		b = appendScope(b, sm.Scope)
		for _, m := range sm.Metrics {
			mark := len(b)
			var at int
			b, at = openField(b, fScopeItems)
			b = appendStringField(b, fMetricName, m.Name)
			b = appendStringField(b, fMetricDescription, m.Description)
			b = appendStringField(b, fMetricUnit, m.Unit)
			var ok bool
			if b, ok = appendAggregation(b, m.Data); !ok {
				b = b[:mark]
				unknown = append(unknown, fmt.Sprintf("%s (%T)", m.Name, m.Data))
				continue
			}
			b = closeField(b, at)
		}
		b = appendStringField(b, fScopeSchemaURL, sm.Scope.SchemaURL)
		b = closeField(b, sAt)
	}
	b = appendStringField(b, fResourceSchemaURL, rm.Resource.SchemaURL())
	b = closeField(b, rAt)
	if len(unknown) > 0 {
		return b, fmt.Errorf("otlp: metrics left out, of an aggregation this exporter cannot encode: %v", unknown)
	}
	return b, nil
}

// appendAggregation writes the data field of a Metric; false if data is of no known type.
func appendAggregation(b []byte, data metricdata.Aggregation) ([]byte, bool) {
	switch d := data.(type) {
	case metricdata.Gauge[int64]:
		return appendGauge(b, d.DataPoints), true
	case metricdata.Gauge[float64]:
		return appendGauge(b, d.DataPoints), true
	case metricdata.Sum[int64]:
		return appendSum(b, d), true
	case metricdata.Sum[float64]:
		return appendSum(b, d), true
	case metricdata.Histogram[int64]:
		return appendHistogram(b, d), true
	case metricdata.Histogram[float64]:
		return appendHistogram(b, d), true
	case metricdata.ExponentialHistogram[int64]:
		return appendExpHistogram(b, d), true
	case metricdata.ExponentialHistogram[float64]:
		return appendExpHistogram(b, d), true
	case metricdata.Summary:
		return appendSummary(b, d), true
	}
	return b, false
}

func appendTemporality(b []byte, t metricdata.Temporality) []byte {
	switch t {
	case metricdata.DeltaTemporality:
		return appendVarintField(b, fTemporality, otlpTemporalityDelta)
	case metricdata.CumulativeTemporality:
		return appendVarintField(b, fTemporality, otlpTemporalityCumulative)
	}
	return b // unspecified
}

func appendGauge[N int64 | float64](b []byte, points []metricdata.DataPoint[N]) []byte {
	b, at := openField(b, fGauge)
	b = appendNumberPoints(b, points)
	return closeField(b, at)
}

func appendSum[N int64 | float64](b []byte, s metricdata.Sum[N]) []byte {
	b, at := openField(b, fSum)
	b = appendNumberPoints(b, s.DataPoints)
	b = appendTemporality(b, s.Temporality)
	if s.IsMonotonic {
		b = appendVarintField(b, fMonotonic, 1)
	}
	return closeField(b, at)
}

// appendNumber writes v as the int (sfixed64) or double member of a oneof.
func appendNumber[N int64 | float64](b []byte, intNum, doubleNum protowire.Number, v N) []byte {
	switch x := any(v).(type) {
	case int64:
		b = protowire.AppendTag(b, intNum, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, uint64(x))
	case float64:
		return appendDouble(b, doubleNum, x)
	}
	return b
}

func appendNumberPoints[N int64 | float64](b []byte, points []metricdata.DataPoint[N]) []byte {
	for i := range points {
		p := &points[i]
		var at int
		b, at = openField(b, fDataPoints)
		b = appendFixed64Field(b, fPointStart, unixNanos(p.StartTime))
		b = appendFixed64Field(b, fPointTime, unixNanos(p.Time))
		b = appendNumber(b, fNumberInt, fNumberDouble, p.Value)
		b = appendExemplars(b, fNumberExemplars, p.Exemplars)
		b = appendAttributeSet(b, fNumberAttributes, &p.Attributes)
		b = closeField(b, at)
	}
	return b
}

func appendExemplars[N int64 | float64](b []byte, num protowire.Number, exemplars []metricdata.Exemplar[N]) []byte {
	for i := range exemplars {
		e := &exemplars[i]
		var at int
		b, at = openField(b, num)
		b = appendFixed64Field(b, fExemplarTime, unixNanos(e.Time))
		b = appendNumber(b, fExemplarInt, fExemplarDouble, e.Value)
		b = appendBytesField(b, fExemplarSpanID, e.SpanID)
		b = appendBytesField(b, fExemplarTraceID, e.TraceID)
		b = appendKeyValues(b, fExemplarAttributes, e.FilteredAttributes)
		b = closeField(b, at)
	}
	return b
}

// appendExtremum writes min or max when the SDK recorded one.
func appendExtremum[N int64 | float64](b []byte, num protowire.Number, e metricdata.Extrema[N]) []byte {
	if v, ok := e.Value(); ok {
		return appendDouble(b, num, float64(v))
	}
	return b
}

// appendPackedFixed64 writes a packed repeated fixed64 or double field.
func appendPackedFixed64[T uint64 | float64](b []byte, num protowire.Number, vals []T) []byte {
	if len(vals) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(8*len(vals)))
	for _, v := range vals {
		switch x := any(v).(type) {
		case uint64:
			b = protowire.AppendFixed64(b, x)
		case float64:
			b = protowire.AppendFixed64(b, math.Float64bits(x))
		}
	}
	return b
}

func appendHistogram[N int64 | float64](b []byte, h metricdata.Histogram[N]) []byte {
	b, at := openField(b, fHistogram)
	for i := range h.DataPoints {
		p := &h.DataPoints[i]
		var pAt int
		b, pAt = openField(b, fDataPoints)
		b = appendFixed64Field(b, fPointStart, unixNanos(p.StartTime))
		b = appendFixed64Field(b, fPointTime, unixNanos(p.Time))
		b = appendFixed64Field(b, fHistCount, p.Count)
		b = appendDouble(b, fHistSum, float64(p.Sum))
		b = appendPackedFixed64(b, fHistBucketCounts, p.BucketCounts)
		b = appendPackedFixed64(b, fHistBounds, p.Bounds)
		b = appendExemplars(b, fHistExemplars, p.Exemplars)
		b = appendAttributeSet(b, fHistAttributes, &p.Attributes)
		b = appendExtremum(b, fHistMin, p.Min)
		b = appendExtremum(b, fHistMax, p.Max)
		b = closeField(b, pAt)
	}
	b = appendTemporality(b, h.Temporality)
	return closeField(b, at)
}

// appendBuckets writes an ExponentialHistogramDataPoint.Buckets field, always (empty when
// there is nothing in it), as the official exporter does.
func appendBuckets(b []byte, num protowire.Number, eb metricdata.ExponentialBucket) []byte {
	b, at := openField(b, num)
	b = appendVarintField(b, fBucketOffset, protowire.EncodeZigZag(int64(eb.Offset)))
	if len(eb.Counts) > 0 {
		size := 0
		for _, c := range eb.Counts {
			size += protowire.SizeVarint(c)
		}
		b = protowire.AppendTag(b, fBucketCounts, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(size))
		for _, c := range eb.Counts {
			b = protowire.AppendVarint(b, c)
		}
	}
	return closeField(b, at)
}

func appendExpHistogram[N int64 | float64](b []byte, h metricdata.ExponentialHistogram[N]) []byte {
	b, at := openField(b, fExpHistogram)
	for i := range h.DataPoints {
		p := &h.DataPoints[i]
		var pAt int
		b, pAt = openField(b, fDataPoints)
		b = appendAttributeSet(b, fExpAttributes, &p.Attributes)
		b = appendFixed64Field(b, fPointStart, unixNanos(p.StartTime))
		b = appendFixed64Field(b, fPointTime, unixNanos(p.Time))
		b = appendFixed64Field(b, fExpCount, p.Count)
		b = appendDouble(b, fExpSum, float64(p.Sum))
		b = appendVarintField(b, fExpScale, protowire.EncodeZigZag(int64(p.Scale)))
		b = appendFixed64Field(b, fExpZeroCount, p.ZeroCount)
		b = appendBuckets(b, fExpPositive, p.PositiveBucket)
		b = appendBuckets(b, fExpNegative, p.NegativeBucket)
		b = appendExemplars(b, fExpExemplars, p.Exemplars)
		b = appendExtremum(b, fExpMin, p.Min)
		b = appendExtremum(b, fExpMax, p.Max)
		b = appendFixed64Field(b, fExpZeroThreshold, math.Float64bits(p.ZeroThreshold))
		b = closeField(b, pAt)
	}
	b = appendTemporality(b, h.Temporality)
	return closeField(b, at)
}

func appendSummary(b []byte, s metricdata.Summary) []byte {
	b, at := openField(b, fSummary)
	for i := range s.DataPoints {
		p := &s.DataPoints[i]
		var pAt int
		b, pAt = openField(b, fDataPoints)
		b = appendFixed64Field(b, fPointStart, unixNanos(p.StartTime))
		b = appendFixed64Field(b, fPointTime, unixNanos(p.Time))
		b = appendFixed64Field(b, fSummaryCount, p.Count)
		b = appendFixed64Field(b, fSummarySum, math.Float64bits(p.Sum))
		for _, q := range p.QuantileValues {
			var qAt int
			b, qAt = openField(b, fSummaryQuantiles)
			b = appendFixed64Field(b, fQuantile, math.Float64bits(q.Quantile))
			b = appendFixed64Field(b, fQuantileValue, math.Float64bits(q.Value))
			b = closeField(b, qAt)
		}
		b = appendAttributeSet(b, fSummaryAttributes, &p.Attributes)
		b = closeField(b, pAt)
	}
	return closeField(b, at)
}

// partialSuccess decodes the partial_success of an ExportTraceServiceResponse or
// ExportMetricsServiceResponse (both: field 1, holding the rejected count as field 1 and
// the error message as field 2). A body that is no such message reads as no rejection: a
// 2xx means the data was taken.
func partialSuccess(body []byte) (rejected int64, message string) {
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return 0, ""
		}
		body = body[n:]
		if num == 1 && typ == protowire.BytesType {
			ps, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return 0, ""
			}
			body = body[n:]
			rejected, message = decodePartialSuccess(ps)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, body)
		if n < 0 {
			return 0, ""
		}
		body = body[n:]
	}
	return rejected, message
}

func decodePartialSuccess(b []byte) (rejected int64, message string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return rejected, message
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return rejected, message
			}
			rejected = int64(v)
			b = b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeString(b)
			if n < 0 {
				return rejected, message
			}
			message = v
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return rejected, message
			}
			b = b[n:]
		}
	}
	return rejected, message
}
