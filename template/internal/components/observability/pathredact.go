package observability

import (
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// redactedSegment replaces, in an exported url.path, a segment its route did not name.
const redactedSegment = "REDACTED"

// exportedAttrs are a span's attributes as they leave the process. A server span's url.path
// keeps only the literal segments of its http.route: the segments a wildcard matched (a user's
// email, a reset token, an ID) become REDACTED, as OpenTelemetry's HTTP conventions ask of
// sensitive content in url.path, since spans go to a tracing backend that the app does not
// control. http.route and the span's name keep the template. An unrouted request's path (a 404,
// a 405) has no route to compare with: the backend redacts it where it sets the attribute
// (backend's unroutedPath), so it comes here already safe and is passed as it is. The
// dashboard's ring keeps a routed request's raw path: it stays in the process, behind the
// admin login, like the access log.
// attrs itself is returned, not copied, when nothing changes.
func exportedAttrs(kind trace.SpanKind, attrs []attribute.KeyValue) []attribute.KeyValue {
	if kind != trace.SpanKindServer {
		return attrs
	}
	at, route := -1, ""
	for i, kv := range attrs {
		switch kv.Key {
		case "url.path":
			at = i
		case "http.route":
			route = kv.Value.AsString()
		}
	}
	if at < 0 || route == "" {
		return attrs
	}
	path := attrs[at].Value.AsString()
	redacted := redactPath(path, route)
	if redacted == path {
		return attrs
	}
	out := slices.Clone(attrs)
	out[at] = attribute.String("url.path", redacted)
	return out
}

// redactPath is path with every segment that is not the same literal segment of route (a
// chi pattern: "/users/{id}", "/static/*") replaced by REDACTED; what a trailing "*"
// matched becomes one REDACTED segment. Comparing segment by segment, rather than parsing the
// pattern, never keeps a segment the route did not spell out, whatever the pattern's form
// ("{id:[0-9]+}", "{a}-{b}", a mounted router's "/api/*/x").
func redactPath(path, route string) string {
	segs, rsegs := strings.Split(path, "/"), strings.Split(route, "/")
	for i, s := range segs {
		if i < len(rsegs) && rsegs[i] == "*" && i == len(rsegs)-1 {
			if strings.Join(segs[i:], "/") == "" {
				return path
			}
			segs = append(segs[:i], redactedSegment)
			break
		}
		if s != "" && (i >= len(rsegs) || rsegs[i] != s) { // an empty segment holds nothing
			segs[i] = redactedSegment
		}
	}
	return strings.Join(segs, "/")
}
