package comms

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// fakeEmail fails while err is set and counts what it sent.
type fakeEmail struct {
	mu   sync.Mutex
	err  error
	sent []*Message
}

func (f *fakeEmail) Name() string { return "fake" }

func (f *fakeEmail) SendEmail(_ context.Context, m *Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.sent = append(f.sent, m)
	return "fake-1", nil
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	svc, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id, err := svc.SendTemplate(ctx, "welcome", "ada@example.com", map[string]any{"Name": "Ada", "LoginURL": "https://x.test/login"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusSent || r.Provider != ProviderOutbox || r.Attempts != 1 || r.Email.From != DefaultFrom || r.Email.Template != "welcome" ||
		r.Email.Subject != "Welcome to App, Ada" || !strings.Contains(r.Email.HTML, "https://x.test/login") || r.SentAt.IsZero() {
		t.Errorf("outbox record %+v", r)
	}
	smsID, err := svc.SendSMS(ctx, "+14155550123", "Your code is 123456")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := svc.Message(ctx, smsID); r.Channel != ChannelSMS || r.Status != StatusSent || r.SMS.Body != "Your code is 123456" {
		t.Errorf("SMS record %+v", r)
	}
	if _, err := svc.SendSMS(ctx, "0612345678", "x"); !errors.Is(err, ErrInvalidPhone) {
		t.Errorf("bad number: %v", err)
	}
	if _, err := svc.SendTemplate(ctx, "nope", "ada@example.com", nil); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: %v", err)
	}
	if _, err := svc.SendTemplate(ctx, "welcome", "ada@example.com", map[string]any{"Name": "Ada"}); !errors.Is(err, ErrTemplate) {
		t.Errorf("missing variable: %v", err)
	}
	if list, _ := svc.Messages(ctx, ListParams{}); len(list) != 2 {
		t.Errorf("refused messages were recorded: %d messages", len(list))
	}
	if h := svc.CheckHealth(ctx); h.Status != registry.StatusHealthy || h.Details["sent_last_day"] != 2 {
		t.Errorf("health %+v", h)
	}
}

// A failed delivery is recorded with its reason; resending after the cause is fixed gives a
// new message that is sent; Deliver never sends a sent message again.
func TestFailureAndResend(t *testing.T) {
	t.Parallel()
	fake := &fakeEmail{err: errors.New("mailbox unavailable")}
	svc, err := New(Settings{}, &Opts{Email: fake, Production: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"})
	if id == "" || err == nil || !strings.Contains(err.Error(), "mailbox unavailable") {
		t.Fatalf("Send = %q, %v", id, err)
	}
	r, _ := svc.Message(ctx, id)
	if r.Status != StatusFailed || r.Error != "mailbox unavailable" || r.Attempts != 1 || r.Provider != "fake" {
		t.Errorf("failed record %+v", r)
	}
	h := svc.CheckHealth(ctx)
	if h.Details["failed_last_day"] != 1 || !strings.Contains(h.Message, "1 failed") || h.Status != registry.StatusHealthy {
		t.Errorf("health %+v (healthy: the failure is noted; no SMS was sent, so the SMS outbox is fine)", h)
	}

	fake.mu.Lock()
	fake.err = nil
	fake.mu.Unlock()
	again, err := svc.Resend(ctx, id)
	if err != nil || again == id {
		t.Fatalf("Resend = %q, %v", again, err)
	}
	if r, _ := svc.Message(ctx, again); r.Status != StatusSent || r.ProviderID != "fake-1" {
		t.Errorf("resent record %+v", r)
	}
	if err := svc.Deliver(ctx, again); err != nil || len(fake.sent) != 1 {
		t.Errorf("Deliver of a sent message: %v, %d sent", err, len(fake.sent))
	}
	if err := svc.Deliver(ctx, id); err != nil || len(fake.sent) != 2 {
		t.Errorf("Deliver of the failed one: %v, %d sent", err, len(fake.sent))
	}
	if r, _ := svc.Message(ctx, id); r.Status != StatusSent || r.Attempts != 2 || r.Error != "" {
		t.Errorf("failed then delivered: %+v", r)
	}
}

// dispatcher records what it is handed, as a queue would.
type dispatcher struct {
	ids []ID
	err error
}

func (d *dispatcher) Dispatch(_ context.Context, id ID, _ Channel) error {
	d.ids = append(d.ids, id)
	return d.err
}

// With a Dispatcher, Send records the message as queued and leaves delivery to it.
func TestDispatcher(t *testing.T) {
	t.Parallel()
	d := &dispatcher{}
	fake := &fakeEmail{}
	svc, err := New(Settings{}, &Opts{Email: fake, Dispatcher: d})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"})
	if err != nil || len(d.ids) != 1 || d.ids[0] != id || len(fake.sent) != 0 {
		t.Fatalf("Send = %q, %v; dispatched %v; sent %d", id, err, d.ids, len(fake.sent))
	}
	if r, _ := svc.Message(ctx, id); r.Status != StatusQueued || r.Attempts != 0 {
		t.Errorf("queued record %+v", r)
	}
	if err := svc.Deliver(ctx, id); err != nil || len(fake.sent) != 1 {
		t.Fatal(err)
	}
	d.err = errors.New("queue full")
	id, err = svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"})
	if r, _ := svc.Message(ctx, id); err == nil || r.Status != StatusFailed || !strings.Contains(r.Error, "queue full") {
		t.Errorf("dispatch failure: %v, %+v", err, r)
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    Settings
		want string
	}{
		{Settings{EmailProvider: "sendgrid"}, "COMMS_EMAIL_PROVIDER"},
		{Settings{EmailProvider: ProviderResend}, "COMMS_RESEND_API_KEY"},
		{Settings{EmailProvider: ProviderPostmark}, "COMMS_POSTMARK_SERVER_TOKEN"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t"}, "COMMS_TWILIO_FROM"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "555"}, "E.164"},
		{Settings{From: "nobody"}, "COMMS_FROM"},
		{Settings{SMTPTLSPolicy: "maybe"}, "COMMS_SMTP_TLS_POLICY"},
		{Settings{MaxAttachmentBytes: -1}, "COMMS_MAX_ATTACHMENT_BYTES"},
		{Settings{SMSProvider: ProviderTwilio}, "COMMS_TWILIO_ACCOUNT_SID"},
		{Settings{SMSProvider: ProviderTwilio}, "COMMS_TWILIO_AUTH_TOKEN"},
		{Settings{SMSProvider: ProviderTwilio}, "COMMS_TWILIO_FROM"},
		{Settings{SMSProvider: ProviderTwilio, TwilioFrom: "+14155550100"}, "COMMS_TWILIO_AUTH_TOKEN"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "SK0123", TwilioAuthToken: "t", TwilioFrom: "+14155550100"}, "COMMS_TWILIO_ACCOUNT_SID"},
		// An API key's SID in the account SID: the fix names where it goes.
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "SK0123", TwilioAuthToken: "t", TwilioFrom: "+14155550100"}, "goes in COMMS_TWILIO_API_KEY_SID"},
		// Exactly one way to authenticate.
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioFrom: "+14155550100"}, "or set COMMS_TWILIO_API_KEY_SID and COMMS_TWILIO_API_KEY_SECRET"},
		// Both ways: the line names both and says to keep one (it named only the token).
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioAPIKeySID: "SK1", TwilioAPIKeySecret: "s", TwilioFrom: "+14155550100"},
			"config: COMMS_TWILIO_AUTH_TOKEN (value not shown) is set, and so is an API key (COMMS_TWILIO_API_KEY_SID, COMMS_TWILIO_API_KEY_SECRET): exactly one way to authenticate with Twilio is allowed; set either COMMS_TWILIO_AUTH_TOKEN or COMMS_TWILIO_API_KEY_SID and COMMS_TWILIO_API_KEY_SECRET, not both"},
		// Half an API key: its own line, naming the missing half and the way back to the token.
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAPIKeySID: "SK1", TwilioFrom: "+14155550100"},
			"config: COMMS_TWILIO_API_KEY_SECRET (value not shown) is empty and COMMS_TWILIO_API_KEY_SID is set: an API key needs both; set it to the secret Twilio showed once when the key was created (or create a new key), or unset COMMS_TWILIO_API_KEY_SID to use COMMS_TWILIO_AUTH_TOKEN"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAPIKeySecret: "s", TwilioFrom: "+14155550100"},
			`config: COMMS_TWILIO_API_KEY_SID="" is empty and COMMS_TWILIO_API_KEY_SECRET is set: an API key needs both; set it to the key's SID (SK...) from the Twilio console's API keys, or unset COMMS_TWILIO_API_KEY_SECRET to use COMMS_TWILIO_AUTH_TOKEN`},
		// The token and half a key: both lines.
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioAPIKeySID: "SK1", TwilioFrom: "+14155550100"},
			"set either COMMS_TWILIO_AUTH_TOKEN or COMMS_TWILIO_API_KEY_SID and COMMS_TWILIO_API_KEY_SECRET, not both\nconfig: COMMS_TWILIO_API_KEY_SECRET (value not shown) is empty and COMMS_TWILIO_API_KEY_SID is set: an API key needs both"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioAPIKeySecret: "s", TwilioFrom: "+14155550100"},
			"not both\nconfig: COMMS_TWILIO_API_KEY_SID=\"\" is empty and COMMS_TWILIO_API_KEY_SECRET is set: an API key needs both"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAPIKeySID: "AC1", TwilioAPIKeySecret: "s", TwilioFrom: "+14155550100"}, "the AC... SID goes in COMMS_TWILIO_ACCOUNT_SID"},
		// Alphanumeric sender IDs: 1 to 11 letters, digits and spaces, at least one letter.
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "AcmeShopping"}, "neither an E.164 number nor an alphanumeric sender ID"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "Acme-Shop"}, "neither an E.164 number nor an alphanumeric sender ID"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "Zoë"}, "neither an E.164 number nor an alphanumeric sender ID"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "12345"}, "E.164"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+1415 555 0100"}, "E.164"},
		{Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioMessagingServiceSID: "+14155550100"}, "COMMS_TWILIO_MESSAGING_SERVICE_SID"},
		{Settings{ResendBaseURL: "ftp://api.resend.com"}, "COMMS_RESEND_BASE_URL"},
		{Settings{PostmarkBaseURL: "api.postmarkapp.com"}, "COMMS_POSTMARK_BASE_URL"},
		{Settings{TwilioBaseURL: "http//127.0.0.1:8080"}, "COMMS_TWILIO_BASE_URL"},
		// The key belongs in its own secret setting: a URL is logged.
		{Settings{TwilioBaseURL: "https://AC1:token@api.twilio.com"}, "COMMS_TWILIO_BASE_URL (value not shown) holds a user name or password"},
	} {
		err := tt.s.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error naming %s", tt.s, err, tt.want)
		}
	}
	if err := (Settings{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, s := range []Settings{
		{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+14155550100"},
		{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAPIKeySID: "SK1", TwilioAPIKeySecret: "s", TwilioFrom: "+14155550100"},
		{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "Acme"},
		{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "Acme Shop 1"},
		{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "A"},
		{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "24x7"},
	} {
		if err := s.WithDefaults().Validate(); err != nil {
			t.Errorf("%+v: %v, want it taken", s, err)
		}
	}
}

// TestProductionOutboxHealth: in production the outbox degrades the service for email always
// (auth's mail would not go out), for SMS once one was kept there.
func TestProductionOutboxHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		email      EmailProvider
		sendSMS    bool
		production bool
		want       registry.Status
		note       string
	}{
		{"development outbox", nil, true, false, registry.StatusHealthy, ""},
		{"production email outbox", nil, false, true, registry.StatusDegraded, "set COMMS_EMAIL_PROVIDER"},
		{"production email provider, no SMS sent", &fakeEmail{}, false, true, registry.StatusHealthy, ""},
		{"production email provider, an SMS kept", &fakeEmail{}, true, true, registry.StatusDegraded, "1 SMS kept in the outbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := New(Settings{}, &Opts{Email: tt.email, Production: tt.production})
			if err != nil {
				t.Fatal(err)
			}
			if tt.sendSMS {
				if _, err := svc.SendSMS(t.Context(), "+15555550100", "hello"); err != nil {
					t.Fatal(err)
				}
			}
			h := svc.CheckHealth(t.Context())
			if h.Status != tt.want || (tt.note != "" && !strings.Contains(h.Message, tt.note)) {
				t.Errorf("health %s %q, want %s with %q", h.Status, h.Message, tt.want, tt.note)
			}
		})
	}
}

// In production a provider's base URL must be https (an http one is a test server's setting
// left in place, and would carry the key in clear), and COMMS_FROM not the example default,
// which no provider would send from.
func TestProductionBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		s          Settings
		production bool
		want       string // "" for no error
	}{
		{"resend http in production", Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_k", ResendBaseURL: "http://127.0.0.1:18025", From: "a@acme.io"}, true, "COMMS_RESEND_BASE_URL"},
		{"default COMMS_FROM in production", Settings{EmailProvider: ProviderPostmark, PostmarkToken: "t"}, true, "COMMS_FROM"},
		{"test domain in production", Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_k", From: "App <noreply@acme.test>"}, true, "COMMS_FROM"},
		{"default COMMS_FROM with SMTP in production", Settings{EmailProvider: ProviderSMTP}, true, ""},
		{"default COMMS_FROM with the outbox in production", Settings{}, true, ""},
		{"default COMMS_FROM in development", Settings{EmailProvider: ProviderPostmark, PostmarkToken: "t"}, false, ""},
		{"postmark http in production", Settings{EmailProvider: ProviderPostmark, PostmarkToken: "t", From: "a@acme.io", PostmarkBaseURL: "http://localhost:8080"}, true, "COMMS_POSTMARK_BASE_URL"},
		{"twilio http in production", Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+14155550100", TwilioBaseURL: "http://localhost:8080"}, true, "COMMS_TWILIO_BASE_URL"},
		{"resend http in development", Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_k", ResendBaseURL: "http://127.0.0.1:18025"}, false, ""},
		{"resend default in production", Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_k", From: "App <noreply@acme.io>"}, true, ""},
		{"unused provider's http URL in production", Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_k", From: "a@acme.io", PostmarkBaseURL: "http://localhost"}, true, ""},
	}
	for _, tt := range tests {
		_, err := New(tt.s, &Opts{Production: tt.production})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "re_k")):
			t.Errorf("%s: %v, want an error naming %s (and not the key)", tt.name, err, tt.want)
		}
	}
}
