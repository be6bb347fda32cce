package comms

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fakeAPI is an httptest server that records the last request and answers with the next
// canned answer.
type fakeAPI struct {
	*httptest.Server
	req     *http.Request
	body    []byte
	status  int
	answer  string
	headers map[string]string
	// user and password, when set, are the only basic-auth credentials the fake takes:
	// others get Twilio's 401 (code 20003), as the real API answers them.
	user, password string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.req = r
		f.body, _ = io.ReadAll(r.Body)
		if user, password, ok := r.BasicAuth(); f.user != "" && (!ok || user != f.user || password != f.password) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`)
			return
		}
		for k, v := range f.headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.answer)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) reply(status int, answer string, headers map[string]string) {
	f.status, f.answer, f.headers = status, answer, headers
}

// requireBasicAuth makes the fake refuse, as Twilio does, a request without these credentials.
func (f *fakeAPI) requireBasicAuth(user, password string) { f.user, f.password = user, password }

func testEmail(t *testing.T) *Message {
	t.Helper()
	m, err := prepare(Message{
		From: "Acme <noreply@acme.test>", To: []string{"Ada <ada@example.com>"}, Cc: []string{"cc@example.com"}, Bcc: []string{"bcc@example.com"},
		ReplyTo: "help@acme.test", Subject: "Hello", Text: "hi", HTML: "<p>hi</p>", Headers: map[string]string{"X-Entity-Ref-ID": "42"},
		Attachments: []Attachment{{Filename: "a.txt", Content: []byte("attached")}, {Filename: "logo.png", Content: []byte("png"), ContentID: "logo"}},
	}, DefaultFrom, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestResend(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := NewResend(api.Client(), api.URL, "re_key")
	api.reply(200, `{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}`, nil)
	id, err := p.SendEmail(t.Context(), testEmail(t))
	if err != nil || id != "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794" {
		t.Fatalf("SendEmail = %q, %v", id, err)
	}
	if api.req.Method != http.MethodPost || api.req.URL.Path != "/emails" || api.req.Header.Get("Authorization") != "Bearer re_key" ||
		api.req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s, headers %v", api.req.Method, api.req.URL.Path, api.req.Header)
	}
	var got struct {
		From, Subject, HTML, Text string
		To, Cc, Bcc               []string
		ReplyTo                   []string          `json:"reply_to"`
		Headers                   map[string]string `json:"headers"`
		Attachments               []struct {
			Filename, Content string
			ContentID         string `json:"content_id"`
		}
	}
	if err := json.Unmarshal(api.body, &got); err != nil {
		t.Fatal(err)
	}
	content, _ := base64.StdEncoding.DecodeString(got.Attachments[0].Content)
	if got.From != "Acme <noreply@acme.test>" || got.To[0] != "Ada <ada@example.com>" || got.Cc[0] != "cc@example.com" || got.Bcc[0] != "bcc@example.com" ||
		got.ReplyTo[0] != "help@acme.test" || got.Subject != "Hello" || got.HTML != "<p>hi</p>" || got.Text != "hi" || got.Headers["X-Entity-Ref-ID"] != "42" ||
		got.Attachments[0].Filename != "a.txt" || string(content) != "attached" || got.Attachments[1].ContentID != "logo" {
		t.Errorf("request body %s", api.body)
	}

	api.reply(422, `{"statusCode":422,"name":"validation_error","message":"Invalid `+"`to`"+` field."}`, nil)
	_, err = p.SendEmail(t.Context(), testEmail(t))
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.StatusCode != 422 || pe.Code != "validation_error" || !strings.Contains(pe.Message, "Invalid") || pe.Temporary() {
		t.Errorf("422: %v", err)
	}
	api.reply(429, `{"statusCode":429,"name":"rate_limit_exceeded","message":"Too many requests."}`, map[string]string{"Retry-After": "2"})
	_, err = p.SendEmail(t.Context(), testEmail(t))
	if !errors.As(err, &pe) || pe.StatusCode != 429 || !pe.Temporary() || pe.RetryAfter != 2*time.Second {
		t.Errorf("429: %v", err)
	}
	api.reply(502, `<html>bad gateway</html>`, nil)
	_, err = p.SendEmail(t.Context(), testEmail(t))
	if !errors.As(err, &pe) || pe.StatusCode != 502 || !pe.Temporary() || !strings.Contains(pe.Message, "bad gateway") {
		t.Errorf("502: %v", err)
	}
}

func TestPostmark(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := NewPostmark(api.Client(), api.URL, "pm_token", "")
	api.reply(200, `{"To":"ada@example.com","SubmittedAt":"2026-01-01T00:00:00Z","MessageID":"b7bc2f4a-e38e-4336-af7d-e6c392c2f817","ErrorCode":0,"Message":"OK"}`, nil)
	id, err := p.SendEmail(t.Context(), testEmail(t))
	if err != nil || id != "b7bc2f4a-e38e-4336-af7d-e6c392c2f817" {
		t.Fatalf("SendEmail = %q, %v", id, err)
	}
	if api.req.URL.Path != "/email" || api.req.Header.Get("X-Postmark-Server-Token") != "pm_token" || api.req.Header.Get("Accept") != "application/json" {
		t.Errorf("request %s, headers %v", api.req.URL.Path, api.req.Header)
	}
	var got postmarkRequest
	if err := json.Unmarshal(api.body, &got); err != nil {
		t.Fatal(err)
	}
	content, _ := base64.StdEncoding.DecodeString(got.Attachments[0].Content)
	if got.From != "Acme <noreply@acme.test>" || got.To != "Ada <ada@example.com>" || got.Cc != "cc@example.com" || got.Bcc != "bcc@example.com" ||
		got.ReplyTo != "help@acme.test" || got.HtmlBody != "<p>hi</p>" || got.TextBody != "hi" || got.MessageStream != "outbound" ||
		len(got.Headers) != 1 || got.Headers[0] != (postmarkHeader{"X-Entity-Ref-ID", "42"}) || string(content) != "attached" ||
		got.Attachments[0].ContentType != "text/plain; charset=utf-8" || got.Attachments[1].ContentID != "cid:logo" {
		t.Errorf("request body %s", api.body)
	}

	api.reply(422, `{"ErrorCode":300,"Message":"Invalid 'To' address: 'x'."}`, nil)
	_, err = p.SendEmail(t.Context(), testEmail(t))
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.StatusCode != 422 || pe.Code != "300" || !strings.Contains(pe.Message, "Invalid 'To'") || pe.Temporary() {
		t.Errorf("422: %v", err)
	}
	api.reply(401, `{"ErrorCode":10,"Message":"No Account or Server API tokens were supplied in the HTTP headers."}`, nil)
	if _, err = p.SendEmail(t.Context(), testEmail(t)); !errors.As(err, &pe) || pe.StatusCode != 401 || pe.Code != "10" {
		t.Errorf("401: %v", err)
	}
	api.reply(429, `{"ErrorCode":429,"Message":"Rate limit exceeded"}`, map[string]string{"Retry-After": "5"})
	if _, err = p.SendEmail(t.Context(), testEmail(t)); !errors.As(err, &pe) || !pe.Temporary() || pe.RetryAfter != 5*time.Second {
		t.Errorf("429: %v", err)
	}
	api.reply(500, `{"ErrorCode":0,"Message":"Internal server error"}`, nil)
	if _, err = p.SendEmail(t.Context(), testEmail(t)); !errors.As(err, &pe) || pe.StatusCode != 500 || !pe.Temporary() {
		t.Errorf("500: %v", err)
	}
	// A 200 whose ErrorCode is not 0 is still a refusal.
	api.reply(200, `{"ErrorCode":406,"Message":"You tried to send to a recipient that has been marked as inactive."}`, nil)
	if _, err = p.SendEmail(t.Context(), testEmail(t)); !errors.As(err, &pe) || pe.Code != "406" {
		t.Errorf("200 with ErrorCode 406: %v", err)
	}
}

// Postmark takes each address field as one string, split at the commas outside quotes: every
// address the service accepts arrives whole, with its name, however it was written (a name
// with a comma or quotes, a comment holding a comma, a name in UTF-8).
func TestPostmarkAddressLists(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	api.reply(200, `{"MessageID":"b7bc2f4a","ErrorCode":0,"Message":"OK"}`, nil)
	m, err := prepare(Message{
		From:    "Acme Support (billing, EU) <noreply@acme.test>",
		To:      []string{"ada@example.com (Ada, Countess)", `"Lovelace, Ada" <ada2@example.com>`, "Zoë Ölund <zoe@example.com>"},
		Cc:      []string{`"Bob \"B.\" Jones" <bob@example.com>`, "plain@example.com"},
		Subject: "Hi", Text: "hello",
	}, DefaultFrom, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPostmark(api.Client(), api.URL, "pm", "").SendEmail(t.Context(), &m); err != nil {
		t.Fatal(err)
	}
	var got postmarkRequest
	if err := json.Unmarshal(api.body, &got); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		field, value string
		want         []mail.Address
	}{
		{"From", got.From, []mail.Address{{Name: "Acme Support", Address: "noreply@acme.test"}}},
		{"To", got.To, []mail.Address{{Name: "Ada, Countess", Address: "ada@example.com"}, {Name: "Lovelace, Ada", Address: "ada2@example.com"},
			{Name: "Zoë Ölund", Address: "zoe@example.com"}}},
		{"Cc", got.Cc, []mail.Address{{Name: `Bob "B." Jones`, Address: "bob@example.com"}, {Address: "plain@example.com"}}},
	} {
		parts := splitOutsideQuotes(tt.value)
		if len(parts) != len(tt.want) {
			t.Errorf("%s %q: Postmark reads %d addresses %q, want %d", tt.field, tt.value, len(parts), parts, len(tt.want))
			continue
		}
		for i, part := range parts {
			a, err := mail.ParseAddress(part)
			if err != nil || a.Address != tt.want[i].Address || tt.field != "From" && a.Name != tt.want[i].Name {
				t.Errorf("%s %q: address %d %q reads as %v, %v; want %v", tt.field, tt.value, i, part, a, err, tt.want[i])
			}
		}
	}
}

// splitOutsideQuotes splits s at the commas outside double quotes, as Postmark reads its
// address fields.
func splitOutsideQuotes(s string) []string {
	var (
		out    []string
		quoted bool
		start  int
	)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Resend gets every address in its documented "Name <address>" form: a comment or a quoted
// name, which net/mail accepts, arrives as the name it stands for.
func TestResendAddresses(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	api.reply(200, `{"id":"49a3999c"}`, nil)
	m, err := prepare(Message{From: "noreply@acme.test (Acme)", To: []string{"ada@example.com (Ada, Countess)", "Zoë <zoe@example.com>"},
		ReplyTo: `"Help, Acme" <help@acme.test>`, Subject: "Hi", Text: "hello"}, DefaultFrom, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewResend(api.Client(), api.URL, "re").SendEmail(t.Context(), &m); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From    string
		To      []string
		ReplyTo []string `json:"reply_to"`
	}
	if err := json.Unmarshal(api.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.From != "Acme <noreply@acme.test>" || len(got.To) != 2 || got.To[0] != `"Ada, Countess" <ada@example.com>` ||
		got.To[1] != "Zoë <zoe@example.com>" || len(got.ReplyTo) != 1 || got.ReplyTo[0] != `"Help, Acme" <help@acme.test>` {
		t.Errorf("request body %s", api.body)
	}
}

// With an API key, Twilio takes the key's SID and secret as the basic-auth credentials while
// the URL keeps the account SID; the auth token is not sent.
func TestTwilioAPIKey(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	api.requireBasicAuth("SK0123456789abcdef", "key-secret")
	api.reply(201, `{"sid":"SM77","status":"queued"}`, nil)
	s := Settings{SMSProvider: ProviderTwilio, TwilioAccountSID: "AC123", TwilioAPIKeySID: "SK0123456789abcdef",
		TwilioAPIKeySecret: "key-secret", TwilioFrom: "+15005550006", TwilioBaseURL: api.URL}.WithDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("API key settings: %v", err)
	}
	p, err := SMSProviderFor(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"})
	if err != nil || id != "SM77" || api.req.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
		t.Errorf("SendSMS with an API key = %q, %v (path %s)", id, err, api.req.URL.Path)
	}
	// The fake refuses other credentials: the account SID with the key's secret is one.
	wrong := NewTwilio(api.Client(), TwilioParams{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "key-secret", From: "+15005550006"})
	var pe *ProviderError
	if _, err := wrong.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"}); !errors.As(err, &pe) || pe.StatusCode != 401 || pe.Code != "20003" {
		t.Errorf("account SID as the user: %v, want Twilio's 401 20003", err)
	}
}

func TestTwilio(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := NewTwilio(api.Client(), TwilioParams{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok", From: "+15005550006"})
	api.reply(201, `{"sid":"SM1234567890abcdef","status":"queued","to":"+14155550123"}`, nil)
	id, err := p.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "Your code is 123456"})
	if err != nil || id != "SM1234567890abcdef" {
		t.Fatalf("SendSMS = %q, %v", id, err)
	}
	user, pass, _ := api.req.BasicAuth()
	form, _ := url.ParseQuery(string(api.body))
	if api.req.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || user != "AC123" || pass != "tok" ||
		api.req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		form.Get("To") != "+14155550123" || form.Get("From") != "+15005550006" || form.Get("Body") != "Your code is 123456" || form.Has("MessagingServiceSid") {
		t.Errorf("request %s, auth %s:%s, form %v", api.req.URL.Path, user, pass, form)
	}
	p = NewTwilio(api.Client(), TwilioParams{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok", MessagingServiceSID: "MG9"})
	if _, err := p.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if form, _ := url.ParseQuery(string(api.body)); form.Get("MessagingServiceSid") != "MG9" || form.Has("From") {
		t.Errorf("with a messaging service: %v", form)
	}

	// An alphanumeric sender ID goes in From as it is.
	p = NewTwilio(api.Client(), TwilioParams{BaseURL: api.URL, AccountSID: "AC123", AuthToken: "tok", From: "Acme Shop"})
	if _, err := p.SendSMS(t.Context(), &SMS{To: "+447700900123", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if form, _ := url.ParseQuery(string(api.body)); form.Get("From") != "Acme Shop" || form.Has("MessagingServiceSid") {
		t.Errorf("with an alphanumeric sender ID: %v", form)
	}

	api.reply(400, `{"code":21211,"message":"The 'To' number +1415 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, nil)
	_, err = p.SendSMS(t.Context(), &SMS{To: "+1415", Body: "x"})
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.StatusCode != 400 || pe.Code != "21211" || !strings.Contains(pe.Message, "docs/errors/21211") || pe.Temporary() {
		t.Errorf("400: %v", err)
	}
	api.reply(429, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`, map[string]string{"Retry-After": "1"})
	if _, err = p.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"}); !errors.As(err, &pe) || pe.Code != "20429" || !pe.Temporary() || pe.RetryAfter != time.Second {
		t.Errorf("429: %v", err)
	}
	// 21611, the sender's queue full (more than hours of messages waiting), comes as a 400,
	// yet it clears as the queue drains: the worker tries again rather than failing the SMS.
	api.reply(400, `{"code":21611,"message":"This 'From' number has exceeded the maximum number of queued messages","more_info":"https://www.twilio.com/docs/errors/21611","status":400}`, nil)
	if _, err = p.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"}); !errors.As(err, &pe) || pe.Code != "21611" || !Temporary(err) {
		t.Errorf("400 queue full: %v (temporary %v), want temporary", err, Temporary(err))
	}
	api.reply(503, ``, nil)
	if _, err = p.SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"}); !errors.As(err, &pe) || pe.StatusCode != 503 {
		t.Errorf("503: %v", err)
	}
}

// A provider that does not answer is a transport error, not a ProviderError.
func TestProviderDown(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	url := api.URL
	api.Close()
	_, err := NewResend(&http.Client{Timeout: time.Second}, url, "k").SendEmail(t.Context(), testEmail(t))
	if err == nil || isProviderError(err) || !strings.HasPrefix(err.Error(), "comms: resend:") {
		t.Errorf("down: %v", err)
	}
}

// A 2xx answer that does not decode means the provider took the message: the error says so
// and is permanent, since a retry (the worker's) would send the message a second time.
func TestUnreadableAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		send   func(url string) error
	}{
		{"resend", 200, func(url string) error {
			_, err := NewResend(&http.Client{Timeout: time.Second}, url, "k").SendEmail(t.Context(), testEmail(t))
			return err
		}},
		{"postmark", 200, func(url string) error {
			_, err := NewPostmark(&http.Client{Timeout: time.Second}, url, "k", "").SendEmail(t.Context(), testEmail(t))
			return err
		}},
		{"twilio", 201, func(url string) error {
			_, err := NewTwilio(&http.Client{Timeout: time.Second}, TwilioParams{BaseURL: url, AccountSID: "AC1", AuthToken: "k", From: "+14155550100"}).
				SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"})
			return err
		}},
	}
	for _, tt := range tests {
		api := newFakeAPI(t)
		api.reply(tt.status, `{"id": "49a3`, nil)
		err := tt.send(api.URL)
		if !errors.Is(err, ErrUnreadableAnswer) || Temporary(err) {
			t.Errorf("%s: malformed %d answer = %v (Temporary %v), want ErrUnreadableAnswer, not temporary", tt.name, tt.status, err, Temporary(err))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "comms: "+tt.name+": accepted the message") {
			t.Errorf("%s: error %q does not say the provider accepted the message", tt.name, err)
		}
	}
}

// Every attempt at one message carries the same Idempotency-Key, so Resend sends it once even
// when an attempt that timed out had reached it; another message has another key.
func TestResendIdempotencyKey(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	api.reply(500, `{"statusCode":500,"name":"internal_server_error","message":"An unexpected error occurred."}`, nil)
	svc, err := New(Settings{EmailProvider: ProviderResend, ResendAPIKey: "re_k", ResendBaseURL: api.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"})
	if err == nil {
		t.Fatal("send to a failing Resend succeeded")
	}
	first := api.req.Header.Get("Idempotency-Key")
	if first != "comms/"+string(id) {
		t.Errorf("first attempt's Idempotency-Key = %q, want comms/%s", first, id)
	}
	api.reply(200, `{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}`, nil)
	if err := svc.Deliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	if again := api.req.Header.Get("Idempotency-Key"); again != first {
		t.Errorf("second attempt's Idempotency-Key = %q, want the first's %q", again, first)
	}
	if _, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if other := api.req.Header.Get("Idempotency-Key"); other == first || other == "" {
		t.Errorf("another message's Idempotency-Key = %q, want its own", other)
	}
}

// An error answer without a code of its own does not show "(code 0)".
func TestErrorWithoutCode(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	client := &http.Client{Timeout: time.Second}
	api.reply(500, `{"ErrorCode":0,"Message":"Internal server error"}`, nil)
	_, err := NewPostmark(client, api.URL, "k", "").SendEmail(t.Context(), testEmail(t))
	if err == nil || err.Error() != "comms: postmark answered 500: Internal server error" {
		t.Errorf("postmark: %v", err)
	}
	api.reply(500, `{"message":"An internal server error occurred","status":500}`, nil)
	_, err = NewTwilio(client, TwilioParams{BaseURL: api.URL, AccountSID: "AC1", AuthToken: "k", From: "+14155550100"}).SendSMS(t.Context(), &SMS{To: "+14155550123", Body: "x"})
	if err == nil || err.Error() != "comms: twilio answered 500: An internal server error occurred" {
		t.Errorf("twilio: %v", err)
	}
}

// Resend and Postmark require To: an email to Bcc only is refused before the call, as
// ErrNoRecipient (permanent), rather than by a 422 from the API.
func TestAPIProvidersNeedTo(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	api.reply(200, `{"id":"x","MessageID":"x","ErrorCode":0}`, nil)
	client := &http.Client{Timeout: time.Second}
	for _, p := range []EmailProvider{NewResend(client, api.URL, "k"), NewPostmark(client, api.URL, "k", "")} {
		m := testEmail(t)
		m.To, m.Cc = nil, nil
		_, err := p.SendEmail(t.Context(), m)
		if !errors.Is(err, ErrNoRecipient) || Temporary(err) || !strings.Contains(err.Error(), p.Name()+" needs a To address") {
			t.Errorf("%s, Bcc only: %v, want ErrNoRecipient naming the provider", p.Name(), err)
		}
	}
	if api.req != nil {
		t.Errorf("a Bcc-only email reached the API: %s %s", api.req.Method, api.req.URL)
	}
}

// A proxy's HTML error page in front of the API is cut to its title, not pasted tags and all.
func TestHTMLErrorPage(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", "comms: resend answered 502: 502 Bad Gateway"},
		{"<h1>Service &amp; API down</h1>", "comms: resend answered 502: Service & API down"},
		{"upstream connect error", "comms: resend answered 502: upstream connect error"},
		// Neither a page in Latin-1 nor the cut of a long one leaves invalid UTF-8.
		{"Dienst nicht verf\xfcgbar", "comms: resend answered 502: Dienst nicht verf\uFFFDgbar"},
		{strings.Repeat("x", 298) + "—gateway timeout", "comms: resend answered 502: " + strings.Repeat("x", 298) + "…"},
	}
	for _, tt := range tests {
		api := newFakeAPI(t)
		api.reply(502, tt.body, nil)
		_, err := NewResend(&http.Client{Timeout: time.Second}, api.URL, "k").SendEmail(t.Context(), testEmail(t))
		if err == nil || err.Error() != tt.want {
			t.Errorf("502 %q: %v, want %q", tt.body, err, tt.want)
		}
	}
}
