package observability

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The Prometheus text format (version 0.0.4) is written here from the SDK's own collection
// rather than through the Prometheus client and OpenTelemetry's Prometheus exporter: those
// two cost ~2 ms of package init at every start (measured; see the README), and what /metrics
// needs from them is a few hundred lines. Names follow OpenTelemetry's Prometheus
// compatibility rules, as that exporter wrote them: dots become underscores, the unit becomes
// a suffix (s: _seconds, By: _bytes, 1 on a gauge: _ratio), monotonic sums end in _total,
// and every series carries its instrumentation scope as otel_scope_name and
// otel_scope_version.

// promFamily is one metric family: every series of one Prometheus name.
type promFamily struct {
	Name, Help string
	Type       string // counter, gauge or histogram
	Series     []promSeries
}

// promSeries is one series: a counter's or gauge's value, or a histogram.
type promSeries struct {
	Labels []promLabel // sorted by name
	Value  float64
	// A histogram's bucket upper bounds (+Inf last), the cumulative count at each, its count
	// and sum.
	Bounds     []float64
	Cumulative []uint64
	Count      uint64
	Sum        float64
}

type promLabel struct{ Name, Value string }

// label returns the value of the label name, or "".
func (s *promSeries) label(name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// promFamilies converts one collection into families sorted by name, target_info (the
// resource's attributes) and extra (families read elsewhere, such as the runtime's) among
// them. A name that two sources claim with different types keeps the first; the others are
// reported through errs. An extra family is the standard one of its name: an instrument of
// its type that translates to that name (go.goroutine.count: go_goroutines) is left out
// rather than adding a second series of the same figure.
func promFamilies(rm *metricdata.ResourceMetrics, extra ...*promFamily) (families []*promFamily, errs []error) {
	byName := map[string]*promFamily{}
	standard := map[string]bool{}
	add := func(name, help, typ string, series []promSeries) {
		f, ok := byName[name]
		switch {
		case !ok:
			byName[name] = &promFamily{Name: name, Help: help, Type: typ, Series: series}
		case f.Type != typ:
			errs = append(errs, fmt.Errorf("observability: /metrics: %s is a %s and a %s; the %s is left out", name, f.Type, typ, typ))
		case standard[name]:
			// The same figure as the standard family: one series is enough.
		default:
			f.Series = append(f.Series, series...)
		}
	}
	for _, f := range extra {
		add(f.Name, f.Help, f.Type, f.Series)
	}
	for _, f := range extra {
		standard[f.Name] = true
	}
	if rm.Resource != nil && rm.Resource.Len() > 0 {
		add("target_info", "Target metadata", "gauge", []promSeries{{Labels: promLabels(rm.Resource.Iter(), nil), Value: 1}})
	}
	for _, sm := range rm.ScopeMetrics {
		scope := []promLabel{{"otel_scope_name", sm.Scope.Name}, {"otel_scope_version", sm.Scope.Version}}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				name, typ := sumName(m, d.IsMonotonic)
				add(name, m.Description, typ, numberSeries(d.DataPoints, scope))
			case metricdata.Sum[float64]:
				name, typ := sumName(m, d.IsMonotonic)
				add(name, m.Description, typ, numberSeries(d.DataPoints, scope))
			case metricdata.Gauge[int64]:
				add(promName(m.Name, m.Unit, true), m.Description, "gauge", numberSeries(d.DataPoints, scope))
			case metricdata.Gauge[float64]:
				add(promName(m.Name, m.Unit, true), m.Description, "gauge", numberSeries(d.DataPoints, scope))
			case metricdata.Histogram[int64]:
				add(promName(m.Name, m.Unit, false), m.Description, "histogram", histogramSeries(d.DataPoints, scope))
			case metricdata.Histogram[float64]:
				add(promName(m.Name, m.Unit, false), m.Description, "histogram", histogramSeries(d.DataPoints, scope))
			default:
				// Exponential histograms and summaries have no form in the classic text
				// format; OTLP carries them.
			}
		}
	}
	families = make([]*promFamily, 0, len(byName))
	for _, f := range byName {
		slices.SortFunc(f.Series, func(a, b promSeries) int { return compareLabels(a.Labels, b.Labels) })
		families = append(families, f)
	}
	slices.SortFunc(families, func(a, b *promFamily) int { return cmp.Compare(a.Name, b.Name) })
	return families, errs
}

func sumName(m metricdata.Metrics, monotonic bool) (name, typ string) {
	if !monotonic {
		// An up-down counter goes down: a gauge to Prometheus.
		return promName(m.Name, m.Unit, true), "gauge"
	}
	name = promName(m.Name, m.Unit, false)
	if !strings.HasSuffix(name, "_total") {
		name += "_total"
	}
	return name, "counter"
}

func numberSeries[N int64 | float64](points []metricdata.DataPoint[N], scope []promLabel) []promSeries {
	out := make([]promSeries, len(points))
	for i, p := range points {
		out[i] = promSeries{Labels: promLabels(p.Attributes.Iter(), scope), Value: float64(p.Value)}
	}
	return out
}

func histogramSeries[N int64 | float64](points []metricdata.HistogramDataPoint[N], scope []promLabel) []promSeries {
	out := make([]promSeries, len(points))
	for i, p := range points {
		s := promSeries{Labels: promLabels(p.Attributes.Iter(), scope), Count: p.Count, Sum: float64(p.Sum)}
		// BucketCounts has one count per bound plus the overflow bucket; Prometheus wants
		// running totals and a last bucket at +Inf equal to the count.
		s.Bounds = append(slices.Clip(p.Bounds), math.Inf(1))
		s.Cumulative = make([]uint64, len(s.Bounds))
		var sum uint64
		for j := range s.Bounds {
			if j < len(p.BucketCounts) {
				sum += p.BucketCounts[j]
			}
			s.Cumulative[j] = sum
		}
		s.Cumulative[len(s.Cumulative)-1] = p.Count
		out[i] = s
	}
	return out
}

// promLabels turns attributes into labels, sorted by name, with extra appended. Two keys
// that sanitize to one name share a label, their values joined by ";" in key order (as
// OpenTelemetry's compatibility rules say).
func promLabels(it attribute.Iterator, extra []promLabel) []promLabel {
	labels := make([]promLabel, 0, it.Len()+len(extra))
	for it.Next() {
		kv := it.Attribute()
		name := promLabelName(string(kv.Key))
		if i := slices.IndexFunc(labels, func(l promLabel) bool { return l.Name == name }); i >= 0 {
			labels[i].Value += ";" + kv.Value.String()
			continue
		}
		labels = append(labels, promLabel{name, kv.Value.String()})
	}
	labels = append(labels, extra...)
	slices.SortStableFunc(labels, func(a, b promLabel) int { return cmp.Compare(a.Name, b.Name) })
	return labels
}

func compareLabels(a, b []promLabel) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Or(cmp.Compare(a[i].Name, b[i].Name), cmp.Compare(a[i].Value, b[i].Value)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// promLabelName makes an attribute key a label name: [a-zA-Z0-9_], not starting with a digit.
func promLabelName(key string) string {
	name := sanitize(key)
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "key_" + name
	}
	return name
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// unitWords are the UCUM units OpenTelemetry's semantic conventions use, as Prometheus
// suffixes.
var unitWords = map[string]string{
	"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
	"us": "microseconds", "ns": "nanoseconds",
	"By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
	"KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
	"m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
	"Cel": "celsius", "Hz": "hertz", "%": "percent",
}

// perWords are the units after a "/" (By/s: bytes_per_second).
var perWords = map[string]string{"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}

// promName is an instrument's Prometheus name: its words joined by "_", then its unit's
// words unless the name already ends in them. gauge says whether the unit "1" reads as
// _ratio (a gauge's fraction); on counters it adds nothing.
func promName(name, unit string, gauge bool) string {
	words := strings.FieldsFunc(sanitize(name), func(r rune) bool { return r == '_' })
	if len(words) == 0 {
		return "_"
	}
	if w := words[0]; w[0] >= '0' && w[0] <= '9' {
		words[0] = "_" + w
	}
	if gauge && len(words) > 1 && words[len(words)-1] == "count" {
		// OpenTelemetry names a count of things X.count ({X} as its unit: go.goroutine.count,
		// db.client.connection.count), but Prometheus keeps the _count suffix for a
		// histogram's or summary's count series (promtool check metrics refuses it on a
		// gauge) and names such a gauge with the plural: go_goroutines, db_client_connections.
		words = append(words[:len(words)-2], plural(words[len(words)-2]))
	}
	for _, w := range unitSuffix(unit, gauge) {
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return strings.Join(words, "_")
}

// plural is an English noun's plural, for the names of counts (connection: connections).
func plural(word string) string {
	switch {
	case strings.HasSuffix(word, "s"), strings.HasSuffix(word, "x"), strings.HasSuffix(word, "sh"), strings.HasSuffix(word, "ch"):
		return word + "es"
	case len(word) > 1 && strings.HasSuffix(word, "y") && !strings.ContainsAny(word[len(word)-2:len(word)-1], "aeiou"):
		return word[:len(word)-1] + "ies"
	}
	return word + "s"
}

func unitSuffix(unit string, gauge bool) []string {
	// Annotations in braces ({request}, {goroutine}) say what is counted, not a unit.
	for {
		i := strings.IndexByte(unit, '{')
		j := strings.IndexByte(unit, '}')
		if i < 0 || j < i {
			break
		}
		unit = unit[:i] + unit[j+1:]
	}
	unit = strings.TrimSpace(unit)
	if unit == "1" {
		if gauge {
			return []string{"ratio"}
		}
		return nil
	}
	main, per, hasPer := strings.Cut(unit, "/")
	var out []string
	if w := unitWords[main]; w != "" {
		out = append(out, w)
	} else if main != "" && main != "1" {
		out = append(out, strings.FieldsFunc(sanitize(main), func(r rune) bool { return r == '_' })...)
	}
	if hasPer && per != "" {
		w := perWords[per]
		if w == "" {
			w = sanitize(per)
		}
		out = append(out, "per", w)
	}
	return out
}

// writeText writes families in the Prometheus text format, version 0.0.4.
func writeText(w io.Writer, families []*promFamily) error {
	bw := bufio.NewWriter(w)
	for _, f := range families {
		if len(f.Series) == 0 {
			continue
		}
		if f.Help != "" {
			bw.WriteString("# HELP " + f.Name + " ")
			writeEscaped(bw, f.Help, false)
			bw.WriteByte('\n')
		}
		bw.WriteString("# TYPE " + f.Name + " " + f.Type + "\n")
		for i := range f.Series {
			s := &f.Series[i]
			if f.Type != "histogram" {
				writeSample(bw, f.Name, s.Labels, "", formatFloat(s.Value))
				continue
			}
			for j, b := range s.Bounds {
				writeSample(bw, f.Name+"_bucket", s.Labels, formatFloat(b), strconv.FormatUint(s.Cumulative[j], 10))
			}
			writeSample(bw, f.Name+"_sum", s.Labels, "", formatFloat(s.Sum))
			writeSample(bw, f.Name+"_count", s.Labels, "", strconv.FormatUint(s.Count, 10))
		}
	}
	return bw.Flush()
}

// writeSample writes one line; le, when not empty, is the bucket label, last.
func writeSample(bw *bufio.Writer, name string, labels []promLabel, le, value string) {
	bw.WriteString(name)
	if len(labels) > 0 || le != "" {
		bw.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(l.Name + `="`)
			writeEscaped(bw, l.Value, true)
			bw.WriteByte('"')
		}
		if le != "" {
			if len(labels) > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(`le="` + le + `"`)
		}
		bw.WriteByte('}')
	}
	bw.WriteByte(' ')
	bw.WriteString(value)
	bw.WriteByte('\n')
}

// writeEscaped escapes backslashes and line feeds, and double quotes in label values.
func writeEscaped(bw *bufio.Writer, s string, quotes bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			bw.WriteString(`\\`)
		case c == '\n':
			bw.WriteString(`\n`)
		case c == '"' && quotes:
			bw.WriteString(`\"`)
		default:
			bw.WriteByte(c)
		}
	}
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
