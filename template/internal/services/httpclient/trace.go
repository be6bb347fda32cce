package httpclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the client's calls.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/services/httpclient"

// startSpan starts the client span of one call (retries included) when a tracer provider
// is installed; otherwise it returns ctx and a nil span.
func startSpan(ctx context.Context, req *http.Request) (context.Context, trace.Span) {
	t := tracing.Tracer(instrumentationScope)
	if t == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname()),
	}
	if port := serverPort(req.URL); port > 0 {
		attrs = append(attrs, attribute.Int("server.port", port))
	}
	attrs = append(attrs, attribute.String("url.full", spanURL(req.URL)))
	return t.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// serverPort is the port the call goes to, the scheme's when the URL names none; 0 if unknown.
func serverPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	switch u.Scheme {
	case "https":
		return 443
	case "http":
		return 80
	}
	return 0
}

// spanURL is a call's url.full as its client span carries it, to a tracing backend the app
// does not control. OpenTelemetry's HTTP client conventions ask that it hold no credentials
// (user information becomes REDACTED:REDACTED) and that the values of signing parameters
// (AWSAccessKeyId, Signature, sig, X-Goog-Signature) be REDACTED; a provider's query may hold
// any key (key=..., a customer's email as a filter), so every value is, its name kept
// (?key=REDACTED&limit=REDACTED). The path has no route template to tell names from values:
// a segment that is not a plain word (one with a digit, an "@", an escape, or long: an ID, an
// email, a token) is REDACTED, a version (v1, v2beta1) is kept: /v1/customers/REDACTED. The
// fragment, never sent, is left out. Logs, errors and the panel stay in the process and show
// the URL with only the secret-named values redacted (RedactURL).
func spanURL(u *url.URL) string {
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(Redacted + ":" + Redacted + "@")
	}
	b.WriteString(u.Host)
	for i, seg := range strings.Split(u.EscapedPath(), "/") {
		if i == 0 {
			continue // before the leading "/"
		}
		b.WriteByte('/')
		if seg == "" || plainSegment(seg) {
			b.WriteString(seg)
		} else {
			b.WriteString(Redacted)
		}
	}
	if u.RawQuery != "" {
		b.WriteByte('?')
		for i, part := range strings.Split(u.RawQuery, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			name, _, hasValue := strings.Cut(part, "=")
			switch {
			case hasValue:
				b.WriteString(name + "=" + Redacted)
			case part == "" || plainSegment(part):
				b.WriteString(part) // a flag: ?pretty
			default:
				b.WriteString(Redacted) // a bare value: ?s3cr3t
			}
		}
	}
	return b.String()
}

// maxPlainSegment is the longest path segment spanURL keeps: names of resources are short.
const maxPlainSegment = 32

// plainSegment reports whether seg (escaped) reads as the name of a resource or an action
// (customers, chat, completions, mg.example.com, :generateContent) rather than a value: ASCII
// letters and . _ - : only, at most maxPlainSegment bytes, or an API version (v1, v2beta1).
func plainSegment(seg string) bool {
	if len(seg) > maxPlainSegment {
		return false
	}
	if version(seg) {
		return true
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// version reports whether seg is an API version: v, digits, optionally alpha or beta and
// digits (v1, v20, v1beta, v2alpha3).
func version(seg string) bool {
	rest, ok := strings.CutPrefix(seg, "v")
	digits := func(s string) string { return strings.TrimLeft(s, "0123456789") }
	if !ok || rest == "" || digits(rest) == rest {
		return false
	}
	rest = digits(rest)
	for _, stage := range []string{"alpha", "beta"} {
		if after, ok := strings.CutPrefix(rest, stage); ok {
			rest = digits(after)
		}
	}
	return rest == ""
}

// endSpan records the call's outcome on span and ends it. A failed call's span says what
// kind of failure it was (a fixed description, and the error's class as error.type) and never
// the error's text: a transport error can quote what the server sent (net/http's "malformed
// HTTP response") or a URL with its credentials, and spans leave the app for a tracing
// backend. The log line and the panel show the redacted text.
func endSpan(span trace.Span, resp *http.Response, err error) {
	switch {
	case err != nil:
		tracing.RecordFailure(span, err, failureDescription(err))
	case resp != nil:
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			// OpenTelemetry's HTTP conventions: a client span's 4xx is an error too (a server
			// span leaves it unset, the caller having erred), and error.type is the status code.
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(resp.StatusCode)))
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	span.End()
}

// failureDescription is a failed call's span status description: a fixed phrase per kind.
func failureDescription(err error) string {
	switch {
	case errors.Is(err, ErrBreakerOpen):
		return "circuit breaker open"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport error"
}
