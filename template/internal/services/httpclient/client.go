package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
)

// Options configure one client. A zero field means the registry's setting (HTTP_CLIENT_*).
type Options struct {
	// BaseURL is what Do's paths are relative to ("https://api.example.com/v1"); empty means
	// Do takes absolute URLs.
	BaseURL string
	// Timeout bounds one call: every attempt, the waits between them and reading the response.
	Timeout time.Duration
	// MaxAttempts is the number of attempts of a call, the first included; 1 means no retry.
	MaxAttempts int
	// Backoff and MaxDelay shape the waits between attempts (see HTTP_CLIENT_BACKOFF and
	// HTTP_CLIENT_MAX_DELAY).
	Backoff  time.Duration
	MaxDelay time.Duration
	// Headers are set on every request that does not set them itself (Authorization with the
	// integration's key, User-Agent, an API version). Secret ones are never logged.
	Headers http.Header
	// MaxResponseBytes bounds the body Do decodes; zero means MaxResponseBytesDefault.
	MaxResponseBytes int64
}

// MaxResponseBytesDefault is the largest response body Do decodes when Options say nothing.
const MaxResponseBytesDefault = 16 << 20

// drainBytes is how much of a discarded response body is read so its connection can be reused;
// a longer body costs its connection instead.
const drainBytes = 64 << 10

// Client calls one integration. It is safe for concurrent use; build one with Clients.New.
type Client struct {
	name    string
	clients *Clients
	base    *url.URL
	o       Options
	http    *http.Client

	retrying failsafe.Policy[*http.Response]
	routes   sync.Map // host name -> *route
}

// route is a client's way to one host: the host's shared breaker, alone for calls that must
// not be retried and inside the client's retry policy for those that may.
type route struct {
	host     *host
	once     failsafe.Executor[*http.Response]
	retrying failsafe.Executor[*http.Response]
}

func newClient(cs *Clients, name string, o Options) (*Client, error) {
	s := cs.s
	config.Default(&o.Timeout, s.Timeout)
	config.Default(&o.MaxAttempts, s.MaxAttempts)
	config.Default(&o.Backoff, s.Backoff)
	config.Default(&o.MaxDelay, s.MaxDelay)
	config.Default(&o.MaxResponseBytes, MaxResponseBytesDefault)
	switch {
	case o.Timeout < 0, o.MaxAttempts < 1, o.Backoff < 0, o.MaxDelay < o.Backoff, o.MaxResponseBytes < 0:
		return nil, fmt.Errorf("httpclient: new client %q: timeout, backoff and size must not be negative, attempts at least 1, max delay at least the backoff", name)
	}
	c := &Client{name: name, clients: cs, o: o}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("httpclient: new client %q: base URL %q is not an absolute http(s) URL", name, redactRawURL(o.BaseURL))
		}
		c.base = u
	}
	o.Headers = o.Headers.Clone()
	c.o.Headers = o.Headers
	// The transport applies the timeout: http.Client.Timeout with a RoundTripper it does not
	// know costs a goroutine and a timer per request.
	c.http = &http.Client{Transport: &transport{c: c}}
	// Retries stop at once when the host's breaker is open or the caller cancelled.
	c.retrying = retrypolicy.NewBuilder[*http.Response]().
		HandleIf(retryWorthy).
		AbortOnErrors(circuitbreaker.ErrOpen, context.Canceled).
		WithMaxAttempts(o.MaxAttempts).
		WithDelayFunc(c.delay).
		ReturnLastFailure().
		Build()
	return c, nil
}

// Name returns the client's name.
func (c *Client) Name() string { return c.name }

// Options returns the client's options, defaults filled in.
func (c *Client) Options() Options { return c.o }

// HTTP returns a standard client whose transport applies the client's policies, timeout,
// headers and logging, for SDKs that take an *http.Client (openai-go's option.WithHTTPClient,
// anthropic-sdk-go's). Share it; do not change it.
func (c *Client) HTTP() *http.Client { return c.http }

// Do sends req through the client's policies (see HTTP) and returns the response as
// http.Client.Do does: a non-2xx response is not an error, and the caller closes the body.
// When every attempt failed with a status, the last response is returned. Errors do not show
// the URL's secret query values.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && req.URL != nil {
			ue.URL = RedactURL(req.URL)
		}
	}
	return resp, err
}

// route returns the client's route to a host, built on first use.
func (c *Client) route(name string) *route {
	if r, ok := c.routes.Load(name); ok {
		return r.(*route)
	}
	h := c.clients.host(name)
	r := &route{
		host:     h,
		once:     failsafe.With[*http.Response](h.breaker),
		retrying: failsafe.With[*http.Response](c.retrying, h.breaker),
	}
	actual, _ := c.routes.LoadOrStore(name, r)
	return actual.(*route)
}

// transport is the RoundTripper of a client's http.Client: it prepares the request (headers,
// request ID), runs the attempts through the route's policies, counts and logs the call.
type transport struct{ c *Client }

// ErrBreakerOpen is wrapped by the error of a call refused because its host's circuit breaker
// is open; errors.Is(err, circuitbreaker.ErrOpen) holds too.
var ErrBreakerOpen = errors.New("circuit breaker open")

// breakerOpenError is the error of a call the breaker refused: it matches ErrBreakerOpen and
// the breaker's own error (circuitbreaker.ErrOpen) but reads as one of them, since both say
// "circuit breaker open" and the panel showed the words twice. wait is how long the breaker
// stayed open when it refused (BreakerWait).
type breakerOpenError struct {
	breaker error
	wait    time.Duration
}

// BreakerWait reports whether err is the error of a call refused by its host's open circuit
// breaker, and how long from the refusal until the breaker lets a call through: the wait a
// caller can pass on as Retry-After.
func BreakerWait(err error) (time.Duration, bool) {
	var b breakerOpenError
	if !errors.As(err, &b) {
		return 0, false
	}
	return b.wait, true
}

func (e breakerOpenError) Error() string   { return ErrBreakerOpen.Error() }
func (e breakerOpenError) Unwrap() []error { return []error{ErrBreakerOpen, e.breaker} }

// errNoTime ends a call's waiting when the next wait would outlast the call's deadline.
var errNoTime = errors.New("httpclient: no time left for another attempt")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	ctx, cancel := req.Context(), context.CancelFunc(nil)
	if timeout := t.c.o.Timeout; timeout > 0 {
		if d, ok := ctx.Deadline(); !ok || start.Add(timeout).Before(d) {
			ctx, cancel = context.WithDeadline(ctx, start.Add(timeout))
		}
	}
	ctx, span := startSpan(ctx, req)
	resp, err := t.roundTrip(ctx, req, start)
	if span != nil {
		endSpan(span, resp, err)
	}
	recordCall(ctx, t.c.name, req, resp, time.Since(start))
	if cancel != nil {
		if err != nil {
			cancel()
		} else {
			// The timeout covers reading the body too: it ends with the body.
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		}
	}
	return resp, err
}

// cancelBody ends the context of a call when its body is read to the end or closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.cancel()
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// roundTrip is RoundTrip under ctx, the request's context bounded by the client's timeout.
func (t *transport) roundTrip(ctx context.Context, req *http.Request, start time.Time) (*http.Response, error) {
	c := t.c
	out := c.prepare(ctx, req)
	rt := c.route(req.URL.Host)
	st := &call{Context: ctx, caller: req.Context(), client: c, req: out}

	// The happy path skips the policy executor: while the host's breaker is closed the first
	// attempt goes straight out, and a success is recorded on the breaker as the executor
	// would. A failure is handed to the executor as its first attempt's result, so the
	// breaker and the retry policy see it as if they had sent it.
	if rt.host.closed.Load() {
		resp, err := st.attempt()
		if err == nil && !breakerFailure(resp, nil) && !retryWorthy(resp, nil) {
			rt.host.success()
			c.finish(req, out, rt.host, st.attempts, resp, nil, start)
			return resp, nil
		}
		st.pending = true
	}
	ex := rt.once
	if c.o.MaxAttempts > 1 && retryable(out) {
		ex = rt.retrying
	}
	rt.host.dirty.Store(true)
	resp, err := ex.WithContext(st).Get(st.attempt)
	if err != nil {
		switch {
		case st.gaveUp:
			// No wait is taken (the deadline is too close, or the server asks for more than
			// MaxDelay): the last failure is the answer.
			resp, err = st.last, st.lastErr
			if err != nil {
				err = fmt.Errorf("httpclient %s: %s, no time left for another: %w", c.name, attempts(st.attempts), err)
			}
		case errors.Is(err, circuitbreaker.ErrOpen):
			st.discard()
			err = fmt.Errorf("httpclient %s: %s: %w", c.name, req.URL.Host, breakerOpenError{err, rt.host.breaker.RemainingDelay()})
		case ctx.Err() != nil:
			// Cancelled or past the deadline, during an attempt or a wait.
			last := st.discard()
			err = fmt.Errorf("httpclient %s: stopped after %s%s: %w", c.name, attempts(st.attempts), last, context.Cause(ctx))
		default:
			err = fmt.Errorf("httpclient %s: %s: %w", c.name, attempts(st.attempts), err)
		}
	}
	c.finish(req, out, rt.host, st.attempts, resp, err, start)
	return resp, err
}

// prepare returns the request to send: req itself, or a copy with ctx, the default headers it
// lacks and the request ID of its context (a RoundTripper must not change its request).
func (c *Client) prepare(ctx context.Context, req *http.Request) *http.Request {
	id := backend.RequestID(ctx)
	needID := id != "" && req.Header.Get(backend.RequestIDHeader) == ""
	// A call made inside a trace carries it to the server (W3C traceparent and tracestate),
	// which continues it. Baggage stays in the app: its members are whatever this app, or a
	// caller of its API, put there (user IDs, tenant names), and the servers called are
	// mostly other companies' APIs.
	traced := trace.SpanContextFromContext(ctx).IsValid()
	// A redirect to another host must not carry the integration's credentials: http.Client
	// drops Authorization and Cookie from such a hop, and the defaults (Authorization,
	// X-Api-Key) would put them back, handing the key to whatever host the server names.
	away := redirectedAway(req)
	missing := false
	for k := range c.o.Headers {
		if _, ok := req.Header[k]; !ok && !(away && SecretHeader(k)) {
			missing = true
			break
		}
	}
	if !needID && !missing && !traced {
		if ctx == req.Context() {
			return req
		}
		return req.WithContext(ctx)
	}
	out := req.WithContext(ctx) // a shallow copy
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	for k, v := range c.o.Headers {
		if _, ok := out.Header[k]; !ok && !(away && SecretHeader(k)) {
			out.Header[k] = v
		}
	}
	if needID {
		out.Header.Set(backend.RequestIDHeader, id)
	}
	if traced {
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(out.Header))
	}
	return out
}

// redirectedAway reports whether req follows a redirect to a host other than the one the
// call was made to, or a subdomain of it (net/http's rule for keeping Authorization).
func redirectedAway(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if first == req {
		return false
	}
	from := strings.ToLower(first.URL.Hostname())
	to := strings.ToLower(req.URL.Hostname())
	return to != from && !strings.HasSuffix(to, "."+from)
}

// retryable reports whether a request may be sent more than once: its body can be replayed
// (GetBody) and it is idempotent, or carries an Idempotency-Key that makes it so.
func retryable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case http.MethodPost, http.MethodPatch:
		return req.Header.Get("Idempotency-Key") != ""
	}
	return true
}

// call is the state of one RoundTrip, and the context its policies run with: the delay
// function finds it there without a lookup, and ends the waiting through Err (see gaveUp).
type call struct {
	context.Context // the request's

	caller   context.Context // the caller's, without the client's Timeout
	client   *Client
	req      *http.Request
	attempts int
	last     *http.Response // the last attempt's response, until the next attempt
	lastErr  error
	pending  bool // the first attempt was made before the executor ran: hand it its result
	// gaveUp is set by the delay function when it takes no next wait (it would outlast the
	// deadline, or the server's Retry-After exceeds MaxDelay): Err
	// then reports errNoTime, which the executor takes for a cancellation and stops on at
	// once, while the request's context (which the last response's body is read under) stays
	// live. The executor runs in RoundTrip's goroutine, so no lock is needed.
	gaveUp bool
}

// Err is the request context's error, or errNoTime once the call gave up waiting.
func (st *call) Err() error {
	if st.gaveUp {
		return errNoTime
	}
	return st.Context.Err()
}

// attempt sends the request once. Before a retry it discards the previous response and
// replays the body through GetBody.
func (st *call) attempt() (*http.Response, error) {
	if st.pending {
		st.pending = false
		return st.last, st.lastErr
	}
	r := st.req
	if st.attempts > 0 {
		st.discard()
		if r.Body != nil && r.Body != http.NoBody {
			body, err := r.GetBody()
			if err != nil {
				return nil, fmt.Errorf("replay the request body: %w", err)
			}
			// The transport may still hold the previous attempt's request: each gets its own.
			again := *r
			again.Body = body
			r = &again
		}
	}
	st.attempts++
	resp, err := st.client.clients.send(r)
	if err != nil && st.caller.Err() != nil {
		// The caller stopped the attempt (cancelled, or its own deadline passed before the
		// client's Timeout): the breaker must not count it against the host.
		err = callerStopped{err}
	}
	st.last, st.lastErr = resp, err
	return resp, err
}

// callerStopped wraps the error of an attempt its caller's context ended: a cancellation, or
// a deadline the caller set shorter than the client's Timeout. It says nothing of the host.
type callerStopped struct{ err error }

func (e callerStopped) Error() string { return e.err.Error() }
func (e callerStopped) Unwrap() error { return e.err }

// discard closes the last response, reading a little of it first so its connection is reused,
// and says what it was (" (last: 503 Service Unavailable)"), or "" when there was none.
func (st *call) discard() string {
	if st.last == nil {
		return ""
	}
	_, _ = io.CopyN(io.Discard, st.last.Body, drainBytes)
	_ = st.last.Body.Close()
	what := " (last: " + st.last.Status + ")"
	st.last = nil
	return what
}

// delay is the retry policy's wait before the next attempt: the server's Retry-After when it
// sent one, else exponential backoff with full jitter (random between zero and Backoff ×
// 2^(attempts-1)) capped by MaxDelay. When the server asks for more than MaxDelay, or the wait
// would end after the call's deadline, the call gives up at once instead (see RoundTrip).
func (c *Client) delay(exec failsafe.ExecutionAttempt[*http.Response]) time.Duration {
	var (
		d     time.Duration
		asked bool // the server said how long to wait
	)
	if resp := exec.LastResult(); resp != nil {
		d, asked = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	if !asked {
		ceiling := c.o.MaxDelay
		if n := exec.Attempts() - 1; n < 32 && c.o.Backoff<<n > 0 {
			ceiling = min(c.o.Backoff<<n, ceiling)
		}
		d = rand.N(ceiling + 1)
	}
	if st, ok := exec.Context().(*call); ok {
		// An attempt sooner than the server asked would be refused again, and one after the
		// deadline cannot be made: the last answer (with its Retry-After, for the caller to
		// pass on) is returned now.
		deadline, bounded := st.Deadline()
		if asked && d > c.o.MaxDelay || bounded && time.Until(deadline) <= d {
			st.gaveUp = true
			return 0
		}
	}
	return min(d, c.o.MaxDelay)
}

// RetryAfter parses a Retry-After value, delta seconds ("120") or an HTTP-date ("Wed, 21 Oct
// 2015 07:28:00 GMT"), into a wait from now; a date in the past is no wait. ok is false when
// the value is empty or neither form.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// finish counts the call against its host and logs it at debug, without secrets.
func (c *Client) finish(req, sent *http.Request, h *host, attempts int, resp *http.Response, err error, start time.Time) {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	failed := err != nil || status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
	var msg string
	if failed {
		msg = failureText(req, status, err)
	}
	h.record(attempts, failed, msg)

	ctx := req.Context()
	if info, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		info.attempts += attempts
	}
	logger := c.clients.log()
	if !logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("client", c.name), slog.String("method", req.Method), slog.String("host", req.URL.Host),
		slog.String("path", redactedPath(req.URL)), slog.Int("status", status), slog.Int("attempts", attempts),
		slog.Duration("duration", time.Since(start)), headerAttrs(sent.Header),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", msg))
	}
	logger.LogAttrs(ctx, slog.LevelDebug, "http client call", attrs...)
}

// failureText is a failed call as the panel and the log show it.
func failureText(req *http.Request, status int, err error) string {
	what := req.Method + " " + redactedPath(req.URL)
	if err != nil {
		return what + ": " + err.Error()
	}
	return what + ": " + strconv.Itoa(status) + " " + http.StatusText(status)
}

// callInfoKey is the context key of a *callInfo, which Do installs to learn the attempts.
type callInfoKey struct{}

type callInfo struct{ attempts int }
