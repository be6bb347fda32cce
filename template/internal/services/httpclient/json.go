package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrorBodyMax bounds the excerpt of an error response kept in Error.Body.
const ErrorBodyMax = 1 << 10

// ErrResponseTooLarge is wrapped by the error of Do when a 2xx answer is larger than
// Options.MaxResponseBytes.
var ErrResponseTooLarge = errors.New("response too large")

// Error is a call Do could not complete: an answer outside 2xx (Status set, Body holding the
// start of the answer) or no answer at all (Status 0, Err the cause: a transport error, the
// breaker, the deadline). Get it with errors.As.
type Error struct {
	Client   string
	Method   string
	Host     string
	Path     string // path and query, secret query values redacted
	Status   int
	Body     string // at most ErrorBodyMax bytes of the response, valid UTF-8
	Attempts int
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "httpclient %s: %s %s%s: ", e.Client, e.Method, e.Host, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s after %s", e.Status, http.StatusText(e.Status), attempts(e.Attempts))
		if body := strings.TrimSpace(e.Body); body != "" {
			b.WriteString(": " + body)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "no response after %s: %v", attempts(e.Attempts), e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// attempts is "1 attempt" or "n attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// CallOption adjusts one request of Do.
type CallOption func(*http.Request)

// WithHeader sets a header of the request, over the client's default.
func WithHeader(key, value string) CallOption {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

// WithIdempotencyKey sets the Idempotency-Key header, which lets a POST or PATCH be retried:
// the server must treat two requests with the same key as one. Use one key per operation
// (a message ID, a payment's UUID), the same for every retry of it.
func WithIdempotencyKey(key string) CallOption { return WithHeader("Idempotency-Key", key) }

// WithQuery adds query parameters to the request's URL.
func WithQuery(q url.Values) CallOption {
	return func(r *http.Request) {
		v := r.URL.Query()
		for k, vs := range q {
			v[k] = append(v[k], vs...)
		}
		r.URL.RawQuery = v.Encode()
	}
}

// Do sends one JSON call: body (unless nil) encoded as JSON, to path relative to the client's
// BaseURL (or an absolute URL), through the client's policies. A 2xx answer is decoded into T
// (an empty one, 204 included, leaves T zero); any other answer, or none, is an *Error.
func Do[T any](ctx context.Context, c *Client, method, path string, body any, opts ...CallOption) (T, error) {
	var out T
	target, err := c.resolve(path)
	if err != nil {
		return out, err
	}
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return out, fmt.Errorf("httpclient %s: %s %s%s: encode the body: %w", c.name, method, target.Host, redactedPath(target), err)
		}
		reader = bytes.NewReader(b)
	}
	info := &callInfo{}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, callInfoKey{}, info), method, target.String(), reader)
	if err != nil {
		return out, fmt.Errorf("httpclient %s: %s %s%s: %w", c.name, method, target.Host, redactedPath(target), err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	fail := func(status int, excerpt string, err error) error {
		return &Error{Client: c.name, Method: method, Host: req.URL.Host, Path: redactedPath(req.URL),
			Status: status, Body: excerpt, Attempts: info.attempts, Err: err}
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the Error already, redacted
		}
		return out, fail(0, "", err)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, ErrorBodyMax))
		return out, fail(resp.StatusCode, strings.ToValidUTF8(string(b), string(utf8.RuneError)), nil)
	}
	// One byte past the limit tells a body cut short by it from one that ends early.
	limited := &io.LimitedReader{R: resp.Body, N: c.o.MaxResponseBytes + 1}
	dec := json.NewDecoder(limited)
	if err := dec.Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		if limited.N <= 0 {
			// The decoder's "unexpected EOF" would blame the server's JSON.
			return out, fail(0, "", fmt.Errorf("%w: the %d answer is larger than %d bytes (raise Options.MaxResponseBytes)",
				ErrResponseTooLarge, resp.StatusCode, c.o.MaxResponseBytes))
		}
		return out, fail(0, "", fmt.Errorf("decode the %d answer into %T: %w", resp.StatusCode, out, err))
	}
	return out, nil
}

// resolve returns the URL of a call: path under the client's BaseURL, or path itself when it
// is absolute.
func (c *Client) resolve(path string) (*url.URL, error) {
	u, err := url.Parse(path)
	if err != nil {
		// url.Parse's error quotes the whole text, user information and tokens included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("httpclient %s: path %q: %w", c.name, redactRawURL(path), err)
	}
	if u.IsAbs() {
		return u, nil
	}
	if c.base == nil {
		return nil, fmt.Errorf("httpclient %s: path %q is relative and the client has no BaseURL", c.name, redactedPath(u))
	}
	out := *c.base
	out.Path = strings.TrimSuffix(c.base.Path, "/") + "/" + strings.TrimPrefix(u.Path, "/")
	out.RawPath = ""
	if u.RawPath != "" {
		out.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + "/" + strings.TrimPrefix(u.RawPath, "/")
	}
	switch {
	case out.RawQuery == "":
		out.RawQuery = u.RawQuery
	case u.RawQuery != "":
		out.RawQuery += "&" + u.RawQuery // the base's parameters (an API version) first
	}
	out.Fragment = ""
	return &out, nil
}
