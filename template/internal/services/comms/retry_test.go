package comms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Temporary tells a retrying dispatcher which failures to try again.
func TestTemporary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"server down", fmt.Errorf("%w (mail): dial tcp: connection refused", ErrSMTPUnreachable), true},
		{"timeout", fmt.Errorf("send: %w", context.DeadlineExceeded), true},
		{"rate limited", &ProviderError{Provider: "resend", StatusCode: 429, RetryAfter: 2 * time.Second}, true},
		{"server error", fmt.Errorf("wrapped: %w", &ProviderError{Provider: "postmark", StatusCode: 503}), true},
		{"bad key", &ProviderError{Provider: "resend", StatusCode: 401}, false},
		{"same key in progress", &ProviderError{Provider: "resend", StatusCode: 409, Code: "concurrent_idempotent_requests"}, true},
		{"same key, other request", &ProviderError{Provider: "resend", StatusCode: 409, Code: "invalid_idempotent_request"}, false},
		{"refused recipient", fmt.Errorf("%w: 550 no such user", ErrSMTPRejected), false},
		{"refused credentials", fmt.Errorf("%w (mail): 535", ErrSMTPAuth), false},
		{"tls", ErrSMTPTLS, false},
		{"tls required", ErrSMTPTLSRequired, false},
		{"not configured", ErrNotConfigured, false},
		{"gone", fmt.Errorf("%w: 01ab", ErrNotFound), false},
		{"bad address", ErrInvalidAddress, false},
		{"transport", errors.New("read tcp: connection reset by peer"), true},
	}
	for _, tt := range tests {
		if got := Temporary(tt.err); got != tt.want {
			t.Errorf("%s: Temporary(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
	if got := RetryAfter(fmt.Errorf("x: %w", &ProviderError{StatusCode: 429, RetryAfter: 3 * time.Second})); got != 3*time.Second {
		t.Errorf("RetryAfter = %s, want 3s", got)
	}
	if got := RetryAfter(ErrSMTPUnreachable); got != 0 {
		t.Errorf("RetryAfter of an SMTP error = %s, want 0", got)
	}
}

// DeliverWith leaves a message queued after a temporary failure when the dispatcher will try
// again, and fails it after a permanent one or the last attempt.
func TestDeliverWith(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := &fakeEmail{}
	store := NewMemoryStore(10)
	svc, err := New(Settings{}, &Opts{Email: f, Store: store, Dispatcher: nopDispatcher{}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "s", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := svc.Message(ctx, id); r.Status != StatusQueued || r.Attempts != 0 {
		t.Fatalf("dispatched message %+v, want queued, not attempted", r)
	}
	step := func(err error, opts DeliverOpts, want Status, attempts int) {
		t.Helper()
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
		if got := svc.DeliverWith(ctx, id, opts); !errors.Is(got, err) {
			t.Errorf("DeliverWith = %v, want %v", got, err)
		}
		r, _ := svc.Message(ctx, id)
		if r.Status != want || r.Attempts != attempts || (err != nil) != (r.Error != "") {
			t.Errorf("after %v: %s after %d attempts, error %q; want %s after %d", err, r.Status, r.Attempts, r.Error, want, attempts)
		}
	}
	down := fmt.Errorf("%w: connection refused", ErrSMTPUnreachable)
	step(down, DeliverOpts{WillRetry: true}, StatusQueued, 1)
	step(down, DeliverOpts{}, StatusFailed, 2) // the last attempt
	step(fmt.Errorf("%w: 550", ErrSMTPRejected), DeliverOpts{WillRetry: true}, StatusFailed, 3)
	step(nil, DeliverOpts{WillRetry: true}, StatusSent, 4)
	step(nil, DeliverOpts{WillRetry: true}, StatusSent, 4) // sent: not sent again
	if len(f.sent) != 1 {
		t.Errorf("sent %d times, want 1", len(f.sent))
	}
}

// nopDispatcher takes over delivery and does nothing: the test delivers by hand.
type nopDispatcher struct{}

func (nopDispatcher) Dispatch(context.Context, ID, Channel) error { return nil }

// A provider's Retry-After reaches the retrying dispatcher in both of its forms, seconds and
// an HTTP-date.
func TestRetryAfterForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http-date", time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), 30 * time.Second},
		{"date past", "Wed, 21 Oct 2015 07:28:00 GMT", 0},
		{"absent", "", 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		api := newFakeAPI(t)
		api.reply(429, `{"statusCode":429,"name":"rate_limit_exceeded","message":"Too many requests."}`, map[string]string{"Retry-After": tt.header})
		_, err := NewResend(&http.Client{Timeout: time.Second}, api.URL, "k").SendEmail(t.Context(), testEmail(t))
		// The date has whole seconds: allow the second the request took.
		if got := RetryAfter(err); got < tt.want-time.Second || got > tt.want {
			t.Errorf("%s: Retry-After %q gives RetryAfter %s, want %s", tt.name, tt.header, got, tt.want)
		}
	}
}
