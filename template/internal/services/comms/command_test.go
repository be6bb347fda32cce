package comms

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// TestRegister builds the service's graph as registry.Default holds it, without a database.
func TestRegister(t *testing.T) {
	t.Parallel()
	r := registry.New()
	if err := errors.Join(Register(r), httpclient.Register(r)); err != nil {
		t.Fatal(err)
	}
	if err := registry.Value(r, config.Core{Env: config.EnvDevelopment}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err != nil {
		t.Fatal(err)
	}
}

// comms runs "<app> comms args..." and returns its output.
func commsRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r := registry.New()
	if err := errors.Join(Register(r), httpclient.Register(r)); err != nil {
		t.Fatal(err)
	}
	out, _, err := commandtest.Run(t.Context(), r, commsCommand, args...)
	return out, err
}

// The commands read the environment: not parallel.
func TestCommands(t *testing.T) {
	t.Setenv("COMMS_APP_NAME", "Acme")
	out, err := commsRun(t, "templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"welcome", "text+html", "Welcome to Acme, Ada", "Reset your Acme password", "verify-email", "password-changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("templates lacks %q:\n%s", want, out)
		}
	}
	out, err = commsRun(t, "templates", "password-reset")
	if err != nil || !strings.Contains(out, "Subject: Reset your Acme password") || !strings.Contains(out, "--- html ---") || !strings.Contains(out, "https://example.com/reset?token=sample") {
		t.Errorf("templates password-reset: %v\n%s", err, out)
	}
	_, err = commsRun(t, "templates", "nope")
	commandtest.WantUsage(t, err, `NAME: unknown template "nope"; the templates are email-changed, password-changed, password-reset, verify-email, welcome (see 'app comms templates --help')`)
	_, err = commsRun(t, "send-test", "--to", "ada@example.com", "--template", "nope")
	commandtest.WantUsage(t, err, `--template: unknown template "nope"; the templates are email-changed, password-changed, password-reset, verify-email, welcome (see 'app comms send-test --help')`)
	_, err = commsRun(t, "templates", "welcome", "verify-email")
	commandtest.WantUsage(t, err, "comms templates takes at most one NAME, got 2 arguments; 'comms templates' lists the names (see 'app comms templates --help')")
	if _, err := commsRun(t, "send-test"); err == nil || !strings.Contains(err.Error(), "--to is required") {
		t.Errorf("send-test without --to: %v", err)
	}
	_, err = commsRun(t, "send-test", "--to", "not an address")
	commandtest.WantUsage(t, err, `--to "not an address" is not an email address; give one such as you@example.com (see 'app comms send-test --help')`)
	out, err = commsRun(t, "send-test", "--to", "ada@example.com")
	if err != nil || !strings.Contains(out, "kept in the outbox (COMMS_EMAIL_PROVIDER=outbox)") {
		t.Errorf("send-test to the outbox: %v\n%s", err, out)
	}

	mp := mailpittest.Start(t)
	t.Setenv("COMMS_EMAIL_PROVIDER", "smtp")
	t.Setenv("COMMS_SMTP_HOST", "127.0.0.1")
	t.Setenv("COMMS_SMTP_PORT", strconv.Itoa(mp.SMTPPort))
	t.Setenv("COMMS_SMTP_TLS_POLICY", "none")
	out, err = commsRun(t, "send-test", "--to", "ada@example.com", "--template", "verify-email")
	if err != nil || !strings.Contains(out, "sent with smtp") {
		t.Fatalf("send-test through Mailpit: %v\n%s", err, out)
	}
	got := mp.Message("Confirm your email address for Acme")
	if !strings.Contains(got.HTML, "https://example.com/verify?token=sample") || !strings.Contains(got.Text, "24 hours") {
		t.Errorf("verify-email as received: %+v", got)
	}
}

// The HTTP-API providers send through the app's outbound client service, one named client each.
func TestProvidersUseOutboundClients(t *testing.T) {
	t.Parallel()
	clients, err := httpclient.NewClients(httpclient.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_test", SMSProvider: ProviderTwilio,
		TwilioAccountSID: "AC123", TwilioAuthToken: "secret", TwilioFrom: "+15005550006"}
	if _, err := New(s, &Opts{HTTP: clients}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range clients.Clients() {
		names = append(names, c.Name())
	}
	if got := strings.Join(names, ","); got != "comms-resend,comms-twilio" {
		t.Errorf("outbound clients %q, want comms-resend,comms-twilio", got)
	}
}

// send-test's outcome line names the provider's ID only when it gave one.
func TestPrintOutcome(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    Record
		want string
	}{
		{Record{ID: "m1", Status: StatusSent, Provider: ProviderResend, ProviderID: "re_1"}, "message m1 sent with resend (id re_1)\n"},
		{Record{ID: "m2", Status: StatusSent, Provider: ProviderResend}, "message m2 sent with resend\n"},
		{Record{ID: "m3", Status: StatusFailed, Provider: ProviderPostmark, Error: "refused"}, "message m3 failed with postmark: refused\n"},
	} {
		var b strings.Builder
		printOutcome(&b, tt.r)
		if b.String() != tt.want {
			t.Errorf("printOutcome(%+v) = %q, want %q", tt.r, b.String(), tt.want)
		}
	}
}

// send-test-sms checks the SMS provider as send-test does email: to the outbox by default,
// through Twilio's API when set, and a refusal is one line with what to check. It reads the
// environment: not parallel.
func TestSendTestSMS(t *testing.T) {
	t.Setenv("COMMS_APP_NAME", "Acme")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"send-test-sms"}, "--to is required"},
		{[]string{"send-test-sms", "--to", "0612345678"}, "--to: "},
		{[]string{"send-test-sms", "--to", "+14155550123", "extra"}, `comms send-test-sms takes no arguments, got "extra"`},
		// A bad --body is the flag's fault, like a bad --to, not a failed send.
		{[]string{"send-test-sms", "--to", "+14155550123", "--body", strings.Repeat("😀", MaxSMSBody/2+1)}, "--body: SMS too long: the body is 1602 characters"},
		{[]string{"send-test-sms", "--to", "+14155550123", "--body", " \n "}, "--body is blank"},
	} {
		if _, err := commsRun(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	// A number pasted with spaces around it is taken, as the service takes it.
	out, err := commsRun(t, "send-test-sms", "--to", " +14155550123 ")
	if err != nil || !strings.Contains(out, "kept in the outbox (COMMS_SMS_PROVIDER=outbox)") {
		t.Errorf("send-test-sms to the outbox: %v\n%s", err, out)
	}

	api := newFakeAPI(t)
	t.Setenv("COMMS_SMS_PROVIDER", "twilio")
	t.Setenv("COMMS_TWILIO_ACCOUNT_SID", "AC123")
	t.Setenv("COMMS_TWILIO_AUTH_TOKEN", "tok-secret")
	t.Setenv("COMMS_TWILIO_FROM", "+15005550006")
	t.Setenv("COMMS_TWILIO_BASE_URL", api.URL)
	api.reply(201, `{"sid":"SM42","status":"queued"}`, nil)
	out, err = commsRun(t, "send-test-sms", "--to", "+14155550123", "--body", "Your code is 123456")
	form, _ := url.ParseQuery(string(api.body))
	if err != nil || !strings.Contains(out, "sent with twilio (id SM42)") || form.Get("Body") != "Your code is 123456" || form.Get("To") != "+14155550123" {
		t.Errorf("send-test-sms through Twilio: %v, %q, form %v", err, out, form)
	}
	for _, tt := range []struct {
		status int
		answer string
		want   string
	}{
		{401, `{"code":20003,"message":"Authenticate","status":401}`, "check COMMS_TWILIO_ACCOUNT_SID and COMMS_TWILIO_AUTH_TOKEN"},
		{400, `{"code":21608,"message":"The number +14155550123 is unverified.","status":400}`, "verify --to there"},
		{400, `{"code":21606,"message":"The From phone number is not a valid, SMS-capable inbound phone number.","status":400}`, "check COMMS_TWILIO_FROM"},
		{400, `{"code":21211,"message":"Invalid 'To' Phone Number","status":400}`, "check --to"},
		// An account SID that is not the credentials' (or a base URL with a path): no such resource.
		{404, `{"code":20404,"message":"The requested resource /2010-04-01/Accounts/AC123/Messages.json was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`,
			"check COMMS_TWILIO_ACCOUNT_SID and COMMS_TWILIO_BASE_URL"},
	} {
		api.reply(tt.status, tt.answer, nil)
		_, err := commsRun(t, "send-test-sms", "--to", "+14155550123")
		if err == nil || !strings.Contains(err.Error(), "not sent with twilio") || !strings.Contains(err.Error(), tt.want) ||
			strings.Contains(err.Error(), "tok-secret") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Twilio %d: %v, want one line containing %q", tt.status, err, tt.want)
		}
	}

	// An API key instead of the auth token, and an alphanumeric sender ID: the settings are
	// taken, and the fake sees the key's credentials and the sender ID.
	api.requireBasicAuth("SK0123", "key-secret")
	t.Setenv("COMMS_TWILIO_AUTH_TOKEN", "")
	t.Setenv("COMMS_TWILIO_API_KEY_SID", "SK0123")
	t.Setenv("COMMS_TWILIO_API_KEY_SECRET", "key-secret")
	t.Setenv("COMMS_TWILIO_FROM", "Acme")
	api.reply(201, `{"sid":"SM43","status":"queued"}`, nil)
	out, err = commsRun(t, "send-test-sms", "--to", "+447700900123")
	form, _ = url.ParseQuery(string(api.body))
	if err != nil || !strings.Contains(out, "sent with twilio (id SM43)") || form.Get("From") != "Acme" {
		t.Errorf("send-test-sms with an API key and a sender ID: %v, %q, form %v", err, out, form)
	}
	// A refused key: the fix names the API key settings, not the auth token left empty.
	api.requireBasicAuth("SK0123", "another-secret")
	_, err = commsRun(t, "send-test-sms", "--to", "+447700900123")
	if err == nil || !strings.Contains(err.Error(), "check COMMS_TWILIO_API_KEY_SID, COMMS_TWILIO_API_KEY_SECRET and COMMS_TWILIO_ACCOUNT_SID") ||
		strings.Contains(err.Error(), "AUTH_TOKEN") || strings.Contains(err.Error(), "key-secret") {
		t.Errorf("Twilio 401 with an API key: %v", err)
	}
}
