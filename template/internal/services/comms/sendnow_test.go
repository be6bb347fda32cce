package comms

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// SendNow delivers here and now even with a Dispatcher, and records the message like Send.
func TestSendNowBypassesDispatcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sendErr    error
		wantStatus Status
	}{
		{"delivered", nil, StatusSent},
		{"provider fails", errors.New("mailbox unavailable"), StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &dispatcher{}
			fake := &fakeEmail{err: tt.sendErr}
			svc, err := New(Settings{}, &Opts{Email: fake, Dispatcher: d})
			if err != nil {
				t.Fatal(err)
			}
			id, err := svc.SendNow(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"})
			if id == "" || !errors.Is(err, tt.sendErr) {
				t.Fatalf("SendNow = %q, %v; want an ID and %v", id, err, tt.sendErr)
			}
			if len(d.ids) != 0 {
				t.Errorf("dispatched %v: SendNow must not queue", d.ids)
			}
			r, err := svc.Message(t.Context(), id)
			if err != nil || r.Status != tt.wantStatus || r.Attempts != 1 || r.Provider != "fake" {
				t.Errorf("record %+v (%v), want %s after one attempt with fake", r, err, tt.wantStatus)
			}
		})
	}
}

// send-test sends with this process's provider even when a worker would deliver other
// messages, and a failure is one line saying what to check. The commands read the
// environment: not parallel.
func TestSendTestIsSynchronous(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantOut string
		wantErr []string
		is      error
	}{
		{name: "outbox", env: map[string]string{"COMMS_EMAIL_PROVIDER": "outbox"}, wantOut: "kept in the outbox"},
		{name: "unreachable SMTP server",
			env: map[string]string{"COMMS_EMAIL_PROVIDER": "smtp", "COMMS_SMTP_HOST": "127.0.0.1",
				"COMMS_SMTP_PORT": strconv.Itoa(testserver.FreePort(t)), "COMMS_SMTP_TLS_POLICY": "none"},
			wantErr: []string{"comms: message ", " not sent with smtp: SMTP server unreachable (127.0.0.1)",
				"; check COMMS_SMTP_HOST and COMMS_SMTP_PORT, and that the server is running"},
			is: ErrSMTPUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			d := &dispatcher{}
			r := registry.New()
			if err := errors.Join(Register(r), httpclient.Register(r), registry.Value[Dispatcher](r, d)); err != nil {
				t.Fatal(err)
			}
			out, _, err := commandtest.Run(t.Context(), r, commsCommand, "send-test", "--to", "ada@example.com")
			if len(d.ids) != 0 {
				t.Errorf("send-test queued %v instead of sending", d.ids)
			}
			if tt.wantErr == nil {
				if err != nil || !strings.Contains(out, tt.wantOut) {
					t.Errorf("send-test: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("send-test succeeded:\n%s", out)
			}
			if !errors.Is(err, tt.is) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "queued") {
				t.Errorf("send-test: %q, want one line matching %v", err, tt.is)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("send-test: %q does not contain %q", err, w)
				}
			}
		})
	}
}

// After a failed send-test, the line says what to check for the failure it was: a bad key, an
// unverified sender, a refused message, a busy provider, no answer at all.
func TestSendFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, provider string
		status         int
		answer         string
		want           string
	}{
		{"resend bad key", ProviderResend, 401, `{"statusCode":401,"name":"missing_api_key","message":"Missing API key"}`, "check COMMS_RESEND_API_KEY"},
		{"resend invalid key", ProviderResend, 403, `{"statusCode":403,"name":"invalid_api_key","message":"API key is invalid"}`, "check COMMS_RESEND_API_KEY"},
		{"resend unverified domain", ProviderResend, 403, `{"statusCode":403,"name":"validation_error","message":"The example.com domain is not verified."}`, "check COMMS_FROM: its domain must be verified with resend"},
		{"resend invalid from", ProviderResend, 422, `{"statusCode":422,"name":"validation_error","message":"Invalid from field."}`, "most often COMMS_FROM (a sender it has verified) or --to"},
		{"resend rate limit", ProviderResend, 429, `{"statusCode":429,"name":"rate_limit_exceeded","message":"Too many requests."}`, "try again later"},
		{"resend down", ProviderResend, 502, `<html>502 Bad Gateway</html>`, "try again later"},
		{"postmark bad token", ProviderPostmark, 401, `{"ErrorCode":10,"Message":"The Server Token you provided was invalid."}`, "check COMMS_POSTMARK_SERVER_TOKEN"},
		{"postmark no sender signature", ProviderPostmark, 422, `{"ErrorCode":400,"Message":"The 'From' address is not a Sender Signature."}`, "check COMMS_FROM: a sender signature or domain confirmed in Postmark"},
		{"postmark inactive recipient", ProviderPostmark, 200, `{"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive."}`, "check --to"},
		{"postmark out of credits", ProviderPostmark, 422, `{"ErrorCode":405,"Message":"Not allowed to send: you have run out of credits."}`, "postmark refused the message for the reason above"},
		{"postmark error", ProviderPostmark, 500, `{"ErrorCode":0,"Message":"Internal error"}`, "try again later"},
		{"postmark unreadable", ProviderPostmark, 200, `{"MessageID": "0a`, "look in the provider's dashboard"},
	}
	for _, tt := range tests {
		api := newFakeAPI(t)
		api.reply(tt.status, tt.answer, nil)
		client := &http.Client{Timeout: time.Second}
		var p EmailProvider = NewResend(client, api.URL, "re_secret")
		if tt.provider == ProviderPostmark {
			p = NewPostmark(client, api.URL, "pm-secret", "")
		}
		_, err := p.SendEmail(t.Context(), testEmail(t))
		if got := credentialsFix(tt.provider, err, false); !strings.Contains(got, tt.want) {
			t.Errorf("%s: %v\ncredentialsFix = %q, want %q", tt.name, err, got, tt.want)
		}
	}
	_, err := NewResend(&http.Client{Timeout: time.Second}, "http://127.0.0.1:"+strconv.Itoa(testserver.FreePort(t)), "re_secret").SendEmail(t.Context(), testEmail(t))
	if got, want := credentialsFix(ProviderResend, err, false), "check COMMS_RESEND_BASE_URL and the network"; !strings.Contains(got, want) {
		t.Errorf("connection refused: %v\ncredentialsFix = %q, want %q", err, got, want)
	}
}
