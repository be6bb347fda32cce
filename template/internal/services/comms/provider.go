package comms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// EmailProvider delivers emails. SendEmail gets a message the service has checked (addresses
// parsed, no line breaks in headers, attachments read into Content and within the size
// limit) and returns the provider's ID for it. It must be safe for concurrent use and must
// return once ctx is done.
type EmailProvider interface {
	Name() string
	SendEmail(ctx context.Context, m *Message) (providerID string, err error)
}

// SMSProvider delivers text messages, under the same contract as EmailProvider (the number
// is in E.164 form).
type SMSProvider interface {
	Name() string
	SendSMS(ctx context.Context, m *SMS) (providerID string, err error)
}

// Outbox is the development provider: it delivers nothing. The service records every
// message in its store anyway, so with the outbox they are only kept, and the dashboard's
// Comms panel shows them as the recipient would see them.
type Outbox struct{}

// Name implements EmailProvider and SMSProvider.
func (Outbox) Name() string { return ProviderOutbox }

// SendEmail keeps the message (the store already has it).
func (Outbox) SendEmail(context.Context, *Message) (string, error) { return "", nil }

// SendSMS keeps the message (the store already has it).
func (Outbox) SendSMS(context.Context, *SMS) (string, error) { return "", nil }

// httpClient is the client of one HTTP-API provider: the app's outbound client named
// "comms-"+provider (retries on 429, 5xx and transport errors, Retry-After honoured, a breaker
// per host, secrets kept out of its logs; a POST is retried only with an Idempotency-Key), or,
// without the service (New in tests), a plain client with the timeout.
func httpClient(clients *httpclient.Clients, provider string, timeout time.Duration) (*http.Client, error) {
	if clients == nil {
		return &http.Client{Timeout: timeout}, nil
	}
	c, err := clients.New("comms-"+provider, httpclient.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("comms: %s client: %w", provider, err)
	}
	return c.HTTP(), nil
}

// messageIDKey carries the ID of the message being delivered to its provider, which may name
// the request by it (Resend's Idempotency-Key).
type messageIDKey struct{}

// idempotencyKey is the key of one message's send: the same for every attempt, so a provider
// that honours it sends the message once however often a timed-out attempt is repeated.
func idempotencyKey(ctx context.Context) string {
	if id, _ := ctx.Value(messageIDKey{}).(ID); id != "" {
		return "comms/" + string(id)
	}
	return ""
}

// failure turns a provider's error answer into a ProviderError: decode reads the provider's
// own error body (ok false when the body is not one), else the error keeps an excerpt of it.
func failure(provider string, decode func(body []byte) (code, message string, ok bool)) func(int, []byte, http.Header) error {
	return func(status int, body []byte, h http.Header) error {
		e := &ProviderError{Provider: provider, StatusCode: status, RetryAfter: retryAfter(h.Get("Retry-After"), time.Now())}
		if code, message, ok := decode(body); ok {
			e.Code, e.Message = code, message
		} else {
			e.Message = excerpt(body)
		}
		return e
	}
}

// errorCode is a provider's numeric error code as ProviderError.Code: empty for 0, which
// Postmark and Twilio give, or leave out, when the error has no code of its own.
func errorCode(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// sendError returns a provider's refusal as it is and wraps any other failure (the network, an
// answer that does not decode) with the provider's name.
func sendError(provider string, err error) error {
	if isProviderError(err) {
		return err
	}
	return fmt.Errorf("comms: %s: %w", provider, err)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// postJSON sends body as JSON with the headers set by auth, decodes a 2xx answer into out,
// and hands any other answer to fail, which turns the provider's error body into an error.
func postJSON(ctx context.Context, client *http.Client, url string, body any, auth func(*http.Request), out any, fail func(status int, body []byte, h http.Header) error) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(payload)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	auth(req)
	return do(client, req, out, fail)
}

// do sends req and decodes the answer as postJSON says.
func do(client *http.Client, req *http.Request, out any, fail func(status int, body []byte, h http.Header) error) error {
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return fail(res.StatusCode, b, res.Header)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxErrorBody)).Decode(out); err != nil {
		return &unreadableAnswer{status: res.StatusCode, err: err}
	}
	return nil
}

// unreadableAnswer is a 2xx answer that does not decode: the provider took the message, so it
// is ErrUnreadableAnswer, which is not retried.
type unreadableAnswer struct {
	status int
	err    error
}

func (e *unreadableAnswer) Error() string {
	return fmt.Sprintf("accepted the message (status %d) but its answer does not decode (%v); it may have been sent, so it is not tried again", e.status, e.err)
}

func (e *unreadableAnswer) Is(target error) bool { return target == ErrUnreadableAnswer }

func (e *unreadableAnswer) Unwrap() error { return e.err }

// htmlTitle and htmlTag find an HTML error page's title and tags (a proxy's 502 page).
var (
	htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	htmlTag   = regexp.MustCompile(`<[^>]*>`)
)

// excerpt is a provider's raw error body made fit for a message: one line, bounded; an HTML
// page (a proxy's or load balancer's) is its title, or its text without the tags.
func excerpt(b []byte) string {
	raw := strings.TrimSpace(string(b))
	if strings.HasPrefix(raw, "<") {
		if m := htmlTitle.FindStringSubmatch(raw); m != nil && strings.TrimSpace(m[1]) != "" {
			raw = m[1]
		} else {
			raw = htmlTag.ReplaceAllString(raw, " ")
		}
		raw = html.UnescapeString(raw)
	}
	// A proxy's page in Latin-1, or a cut inside a character, would put invalid UTF-8 in the
	// message, the log and the record.
	s := strings.ToValidUTF8(strings.Join(strings.Fields(raw), " "), "\uFFFD")
	if len(s) > 300 {
		cut := 299
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// isProviderError reports whether err is an answer from a provider rather than a transport
// failure.
func isProviderError(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe)
}

var (
	_ EmailProvider = Outbox{}
	_ SMSProvider   = Outbox{}
)
