package observability

// The OTLP/HTTP exporters for spans and metrics. They stand in for the official otlptracehttp
// and otlpmetrichttp, which link gRPC and the generated OTLP protobuf packages: their package
// initialisation alone cost ~4.5 ms at start-up. These write the same protobuf by hand
// (otlp_wire.go) and speak the same protocol: POST, retries with backoff on 429/502/503/504,
// Retry-After, partial success, the standard OTEL_EXPORTER_OTLP_* variables.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
)

// otlpConfig is one signal's exporter configuration.
type otlpConfig struct {
	URL     string            // full URL, e.g. http://localhost:4318/v1/traces
	Headers map[string]string // sent on every request (may hold API keys: never log or return them)
	Timeout time.Duration     // per export, retries included (default 10 s)
	Gzip    bool
	// Temporality is the metric exporter's choice per instrument kind
	// (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE); nil means
	// sdkmetric.DefaultTemporalitySelector (cumulative).
	Temporality sdkmetric.TemporalitySelector
	// ExponentialHistograms makes histograms base-2 exponential ones
	// (OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION).
	ExponentialHistograms bool
	// TLS, when not nil, is the private client's TLS configuration: the collector's CA
	// (OTEL_EXPORTER_OTLP_CERTIFICATE) and a client certificate (..._CLIENT_CERTIFICATE,
	// ..._CLIENT_KEY). A client passed to the exporter brings its own and this is unused.
	TLS *tls.Config
}

const (
	otlpDefaultTimeout = 10 * time.Second
	// otlpResponseLimit bounds how much of a response is read: a partial success or an
	// error message is small, and a misdirected endpoint must not make us buffer a page.
	otlpResponseLimit = 64 << 10
	// otlpUserAgent names this exporter to collectors and proxies, distinct from the
	// official exporter's.
	otlpUserAgent = "aegis-otlp-exporter/1 (OTLP/HTTP protobuf; Go)"
)

// otlpConfigFromEnv reads the standard OTEL_EXPORTER_OTLP_* variables for signal ("traces"
// or "metrics") as the official exporters do. base is OTEL_EXPORTER_OTLP_ENDPOINT's value,
// which the caller has already read. Errors name the variable and the fix, never a header
// value.
func otlpConfigFromEnv(base, signal string, getenv func(string) string) (otlpConfig, error) {
	sig := strings.ToUpper(signal)
	generic := func(name string) string { return "OTEL_EXPORTER_OTLP_" + name }
	specific := func(name string) string { return "OTEL_EXPORTER_OTLP_" + sig + "_" + name }
	// pick returns the signal's variable if set, else the generic one, with its name.
	pick := func(name string) (string, string) {
		if v := strings.TrimSpace(getenv(specific(name))); v != "" {
			return specific(name), v
		}
		return generic(name), strings.TrimSpace(getenv(generic(name)))
	}
	cfg := otlpConfig{Timeout: otlpDefaultTimeout}

	// The signal's variable wins, as with every pair below.
	if name, p := pick("PROTOCOL"); p != "" && p != "http/protobuf" {
		return otlpConfig{}, config.Invalid(name, p, "is not a protocol this app speaks: it exports OTLP over HTTP with protobuf",
			"unset it or set http/protobuf (and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port, usually 4318)")
	}

	endpointVar, endpoint := specific("ENDPOINT"), strings.TrimSpace(getenv(specific("ENDPOINT")))
	if endpoint == "" {
		base = strings.TrimSpace(base)
		if base == "" {
			return otlpConfig{}, config.Invalid(generic("ENDPOINT"), "", "is empty",
				"set it to the collector's OTLP/HTTP base URL, such as http://localhost:4318")
		}
		endpointVar, endpoint = generic("ENDPOINT"), strings.TrimSuffix(base, "/")+"/v1/"+signal
		// The signal's path goes on the base's path: appended to the string, it would land in
		// a query (a key some hosted backends take there), and the export go to the base path.
		if u, err := url.Parse(base); err == nil && (u.RawQuery != "" || u.Fragment != "") {
			u.Path, u.RawPath, u.Fragment = strings.TrimSuffix(u.Path, "/")+"/v1/"+signal, "", ""
			endpoint = u.String()
		}
	}
	if err := otlpEndpoint.Check(endpointVar, endpoint); err != nil {
		return otlpConfig{}, err
	}
	cfg.URL = endpoint

	headers, err := parseOTLPHeaders(generic("HEADERS"), getenv(generic("HEADERS")), nil)
	if err != nil {
		return otlpConfig{}, err
	}
	if headers, err = parseOTLPHeaders(specific("HEADERS"), getenv(specific("HEADERS")), headers); err != nil {
		return otlpConfig{}, err
	}
	cfg.Headers = headers

	if name, v := pick("TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(time.Hour/time.Millisecond) {
			return otlpConfig{}, config.Invalid(name, v, "is not a whole number of milliseconds from 1 to 3600000",
				"use milliseconds without a unit, such as 10000 for 10 s")
		}
		cfg.Timeout = time.Duration(ms) * time.Millisecond
	}

	if cfg.TLS, err = otlpTLSFromEnv(pick); err != nil {
		return otlpConfig{}, err
	}

	switch name, v := pick("COMPRESSION"); strings.ToLower(v) {
	case "gzip":
		cfg.Gzip = true
	case "", "none":
	default:
		return otlpConfig{}, config.Invalid(name, v, "is not a compression this app has", "use gzip or none")
	}

	if signal == "metrics" {
		name := generic("METRICS_TEMPORALITY_PREFERENCE")
		switch v := strings.TrimSpace(getenv(name)); strings.ToLower(v) {
		case "", "cumulative":
		case "delta":
			cfg.Temporality = deltaTemporality
		case "lowmemory":
			cfg.Temporality = lowMemoryTemporality
		default:
			return otlpConfig{}, config.Invalid(name, v, "is not a temporality", "use cumulative, delta or lowmemory")
		}
		name = generic("METRICS_DEFAULT_HISTOGRAM_AGGREGATION")
		switch v := strings.TrimSpace(getenv(name)); strings.ToLower(v) {
		case "", "explicit_bucket_histogram":
		case "base2_exponential_bucket_histogram":
			cfg.ExponentialHistograms = true
		default:
			return otlpConfig{}, config.Invalid(name, v, "is not a histogram aggregation",
				"use explicit_bucket_histogram or base2_exponential_bucket_histogram")
		}
	}
	return cfg, nil
}

// otlpTLSFromEnv builds the TLS configuration the certificate variables ask for, nil when
// none is set (the system's roots, no client certificate). pick returns a variable's name
// and value, the signal's own winning.
func otlpTLSFromEnv(pick func(string) (string, string)) (*tls.Config, error) {
	caVar, ca := pick("CERTIFICATE")
	certVar, cert := pick("CLIENT_CERTIFICATE")
	keyVar, key := pick("CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, &config.Error{Var: caVar, Value: ca, Reason: "cannot be read (" + fileProblem(err) + ")",
				Fix: "point it at the collector's CA certificate (PEM)", Err: err}
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, config.Invalid(caVar, ca, "holds no PEM certificate", "point it at the collector's CA certificate (PEM)")
		}
	}
	if (cert == "") != (key == "") {
		set, v, unset := certVar, cert, keyVar
		if cert == "" {
			set, v, unset = keyVar, key, certVar
		}
		return nil, config.Invalid(set, v, "is set without "+unset+": the two go together",
			"set both (PEM files) or neither")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			// tls's error can quote the files' content; the paths are shown instead.
			return nil, &config.Error{Var: certVar, Value: cert, Reason: "and " + keyVar + "=" + strconv.Quote(key) + " are not a usable certificate and key (" + fileProblem(err) + ")",
				Fix: "point them at a PEM certificate and its private key", Err: err}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// fileProblem says in a few words why a file could not be used, without the path the
// error repeats (the message names it already) or the file's content.
func fileProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "not PEM, or the key does not match the certificate"
}

// parseOTLPHeaders adds the headers of value ("k=v,k2=v2", values URL-encoded), read from
// variable name, to into, replacing a key already there. A malformed entry is an error, not
// skipped as the official exporters do: a silently dropped API key shows up only as 401s
// at the collector. Errors name the entry by position and, once it is known to be one, its
// key: never a value.
func parseOTLPHeaders(name, value string, into map[string]string) (map[string]string, error) {
	if strings.TrimSpace(value) == "" {
		return into, nil
	}
	if into == nil {
		into = map[string]string{}
	}
	for i, entry := range strings.Split(value, ",") {
		if strings.TrimSpace(entry) == "" {
			continue // a trailing comma
		}
		k, v, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok || !validHeaderName(k) {
			return nil, config.InvalidSecret(name, "has entry "+strconv.Itoa(i+1)+" not in key=value form with a header name for key",
				"write it as key1=value1,key2=value2")
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, config.InvalidSecret(name, "has the value of "+k+" not URL-encoded correctly (a % not followed by two hex digits)",
				"write % as %25")
		}
		// net/http refuses such a value on every request, which would look like a
		// network failure and be retried: refuse it here, once.
		if strings.ContainsFunc(dv, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }) {
			return nil, config.InvalidSecret(name, "has the value of "+k+" holding a control character (once URL-decoded)", "remove it")
		}
		into[k] = dv
	}
	return into, nil
}

// validHeaderName reports whether k is an HTTP token (RFC 9110), the syntax of header names.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// deltaTemporality is OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta: whatever
// only grows is sent as deltas; up-down counters and gauges stay cumulative.
func deltaTemporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindHistogram:
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

// lowMemoryTemporality is ...=lowmemory: deltas only for the synchronous counters and
// histograms, whose cumulative state the SDK would otherwise keep per attribute set.
func lowMemoryTemporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram:
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

// otlpSender POSTs encoded requests to one endpoint: the part both exporters share.
type otlpSender struct {
	cfg     otlpConfig
	client  *http.Client
	private bool   // client is ours: its idle connections are closed at shutdown
	display string // the URL for errors: no user info, no query (either may hold a key)
	signal  string // "spans" or "data points", for partial success reports

	// backoff is the first retry's wait (doubling up to maxBackoff); tests shorten it.
	backoff, maxBackoff time.Duration

	closed   atomic.Bool
	sizeHint atomic.Int64 // the last request's size, so encoding rarely regrows its buffer

	// status records each export's outcome for the health check and the log; nil records
	// nothing (an exporter built outside New).
	status *exportStatus
	// aborted is cancelled by abort: Observability.Stop ends the exports still in flight
	// once its flush bound has passed, such as the span processor's final drain, which runs
	// on a context of its own and would otherwise retry a collector that is down for the
	// whole OTLP timeout after the app has stopped waiting.
	aborted context.Context
	abort   context.CancelFunc
}

var gzipWriters = sync.Pool{New: func() any {
	// BestSpeed: OTLP's repetitive keys compress well at any level; the app's CPU is
	// better spent on requests.
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

func newOTLPSender(cfg otlpConfig, client *http.Client, signal string) *otlpSender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = otlpDefaultTimeout
	}
	s := &otlpSender{cfg: cfg, client: client, signal: signal, backoff: time.Second, maxBackoff: 30 * time.Second}
	s.aborted, s.abort = context.WithCancel(context.Background())
	if s.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// One collector: keep a few connections to it rather than the default two.
		t.MaxIdleConnsPerHost = 4
		t.IdleConnTimeout = 90 * time.Second
		if cfg.TLS != nil {
			t.TLSClientConfig = cfg.TLS
		}
		s.client = &http.Client{Transport: t}
		s.private = true
	}
	s.display = cfg.URL
	if u, err := url.Parse(cfg.URL); err == nil {
		s.display = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	return s
}

var errOTLPShutdown = errors.New("otlp: exporter is shut down")

// encode runs enc on a buffer sized after the last request and returns the request body,
// gzipped when configured.
func (s *otlpSender) encode(enc func([]byte) ([]byte, error)) ([]byte, error) {
	raw, err := enc(make([]byte, 0, s.sizeHint.Load()+512))
	s.sizeHint.Store(int64(len(raw)))
	if !s.cfg.Gzip || len(raw) == 0 {
		return raw, err
	}
	var out bytes.Buffer
	out.Grow(len(raw)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&out)
	if _, werr := zw.Write(raw); werr != nil {
		return nil, errors.Join(fmt.Errorf("otlp: gzip: %w", werr), err)
	}
	if cerr := zw.Close(); cerr != nil {
		return nil, errors.Join(fmt.Errorf("otlp: gzip: %w", cerr), err)
	}
	return out.Bytes(), err
}

// send POSTs body, retrying what a retry can fix, within min(ctx's deadline, cfg.Timeout).
func (s *otlpSender) send(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	defer context.AfterFunc(s.aborted, cancel)()
	for attempt := 0; ; attempt++ {
		wait, err := s.post(ctx, body)
		if err == nil || wait < 0 {
			return err
		}
		if wait == 0 {
			wait = s.backoffFor(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (not retried: the next try, in %v, would pass the export's deadline)", err, wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			why := "the app is stopping"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = "the export's deadline passed"
			}
			return fmt.Errorf("%w (retries stopped: %w)", err, &transportError{msg: why, err: ctx.Err()})
		case <-t.C:
		}
	}
}

// backoffFor is the wait before retry attempt+1: exponential with ±50% jitter, so many
// instances that failed together do not retry together.
func (s *otlpSender) backoffFor(attempt int) time.Duration {
	d := s.backoff
	for range attempt {
		if d >= s.maxBackoff {
			break
		}
		d *= 2
	}
	d = min(d, s.maxBackoff)
	return d/2 + rand.N(d+1)
}

// post makes one request. It returns nil on success; else the error and how long to wait
// before retrying: -1 if retrying cannot help, 0 for the caller's backoff, or the server's
// Retry-After.
func (s *otlpSender) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("otlp: POST %s: %w", s.display, err)
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", otlpUserAgent)
	if s.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error prints the full URL, query included: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// The deadline passed, the collector's certificate is not trusted, or it does not
		// speak TLS at all: retrying changes none of them.
		if kind := netfail.Classify(err); ctx.Err() != nil || kind == netfail.Certificate || kind == netfail.NotTLS {
			return -1, fmt.Errorf("otlp: POST %s: %w", s.display, describeTransport(err))
		}
		return 0, fmt.Errorf("otlp: POST %s: %w", s.display, describeTransport(err))
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, otlpResponseLimit))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err == nil {
			if rejected, msg := partialSuccess(respBody); rejected != 0 || msg != "" {
				reason := " (no message)"
				if msg != "" {
					reason = ": " + oneLine(msg, 200)
				}
				otel.Handle(fmt.Errorf("otlp: POST %s: the collector rejected %d %s%s", s.display, rejected, s.signal, reason))
			}
		}
		return 0, nil
	}
	statusErr := fmt.Errorf("otlp: POST %s: %s: %s", s.display, resp.Status, oneLine(string(respBody), 200))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return retryAfter(resp.Header.Get("Retry-After")), statusErr
	}
	return -1, statusErr
}

// transportError is a failed request's cause in the words the health check and the WARN
// line show: what an operator can act on, not Go's network text ("dial tcp 127.0.0.1:4318:
// connect: connection refused", "context deadline exceeded"). The cause stays wrapped for
// errors.Is and errors.As.
type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

// describeTransport names the kind of failure of a request that got no HTTP answer, from
// netfail.Classify (shared with the other parts, so a failure is the same kind everywhere).
// A cause it does not know keeps its own text.
func describeTransport(err error) error {
	var msg string
	switch netfail.Classify(err) {
	case netfail.Canceled:
		msg = "canceled: the app is stopping"
	case netfail.HostName:
		msg = "cannot resolve the collector's host name"
		if dnsErr, ok := errors.AsType[*net.DNSError](err); ok && dnsErr.Name != "" {
			msg += " " + strconv.Quote(dnsErr.Name)
		}
	case netfail.Refused:
		msg = "connection refused: nothing listens at that address"
	case netfail.Unreachable:
		msg = "no route to the collector's host"
	case netfail.Certificate:
		msg = "the collector's TLS certificate is not trusted: set OTEL_EXPORTER_OTLP_CERTIFICATE to its CA (PEM)"
	case netfail.NotTLS:
		msg = "the collector did not answer in TLS: use http:// for a plain-HTTP port"
	case netfail.Closed:
		msg = "the collector closed the connection without answering"
	case netfail.Timeout:
		msg = "no answer in time (OTEL_EXPORTER_OTLP_TIMEOUT, or the final flush's bound at shutdown): the collector is slow or unreachable"
	default:
		return err
	}
	return &transportError{msg: msg, err: err}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0 if absent or
// unreadable (use the backoff). A Retry-After of 0 waits a millisecond: "now", but not 0,
// which means no advice.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil && secs >= 0 {
		return max(time.Duration(min(secs, 3600))*time.Second, time.Millisecond)
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), time.Millisecond)
	}
	return 0
}

// oneLine shortens s to at most n bytes on one line, for an error message.
func oneLine(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(no body)"
	}
	return s
}

// deliver sends body and records the outcome in s.status. An export that abort ended
// returns nil, unrecorded: Stop has already logged at WARN that what it held is lost, and the
// span processor, which drains on a goroutine of its own, would otherwise report it again
// through otel.Handle after the app has stopped.
func (s *otlpSender) deliver(ctx context.Context, body []byte) error {
	err := s.send(ctx, body)
	if err != nil && s.aborted.Err() != nil {
		return nil
	}
	return s.status.record(err)
}

func (s *otlpSender) shutdown(ctx context.Context) error {
	s.closed.Store(true)
	if s.private {
		s.client.CloseIdleConnections()
	}
	return ctx.Err()
}

// spanExporter sends spans to an OTLP/HTTP collector; it implements sdktrace.SpanExporter
// and is safe for concurrent use.
type spanExporter struct{ s *otlpSender }

var _ sdktrace.SpanExporter = (*spanExporter)(nil)

// newSpanExporter returns an exporter for cfg; a nil client means a private one.
func newSpanExporter(cfg otlpConfig, client *http.Client) *spanExporter {
	return &spanExporter{s: newOTLPSender(cfg, client, "spans")}
}

// ExportSpans sends spans as one ExportTraceServiceRequest.
func (e *spanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.s.closed.Load() {
		return errOTLPShutdown
	}
	if len(spans) == 0 {
		return nil
	}
	body, err := e.s.encode(func(b []byte) ([]byte, error) { return appendTraceRequest(b, spans), nil })
	if err != nil {
		return err
	}
	return e.s.deliver(ctx, body)
}

// Shutdown makes later exports fail; nothing is buffered here, so nothing is lost.
func (e *spanExporter) Shutdown(ctx context.Context) error { return e.s.shutdown(ctx) }

// metricExporter sends metrics to an OTLP/HTTP collector; it implements sdkmetric.Exporter
// and is safe for concurrent use.
type metricExporter struct{ s *otlpSender }

var _ sdkmetric.Exporter = (*metricExporter)(nil)

// newMetricExporter returns an exporter for cfg; a nil client means a private one.
func newMetricExporter(cfg otlpConfig, client *http.Client) *metricExporter {
	return &metricExporter{s: newOTLPSender(cfg, client, "data points")}
}

// Temporality is cumulative unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE asks
// otherwise.
func (e *metricExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	if e.s.cfg.Temporality != nil {
		return e.s.cfg.Temporality(k)
	}
	return sdkmetric.DefaultTemporalitySelector(k)
}

// Aggregation is the SDK's default, with base-2 exponential histograms if configured.
func (e *metricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if e.s.cfg.ExponentialHistograms && k == sdkmetric.InstrumentKindHistogram {
		// The SDK's (and the specification's) defaults for this aggregation.
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
	}
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export sends rm as one ExportMetricsServiceRequest. rm is not kept: the reader may reuse it.
func (e *metricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if e.s.closed.Load() {
		return errOTLPShutdown
	}
	if rm == nil || len(rm.ScopeMetrics) == 0 {
		return nil
	}
	body, encErr := e.s.encode(func(b []byte) ([]byte, error) { return appendMetricsRequest(b, rm) })
	if body == nil {
		return encErr
	}
	return errors.Join(e.s.deliver(ctx, body), encErr)
}

// ForceFlush has nothing to flush: every export is sent before it returns.
func (e *metricExporter) ForceFlush(ctx context.Context) error { return ctx.Err() }

// Shutdown makes later exports fail; nothing is buffered here, so nothing is lost.
func (e *metricExporter) Shutdown(ctx context.Context) error { return e.s.shutdown(ctx) }
