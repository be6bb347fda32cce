package comms

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanel lists the outbox, shows one email as its recipient would see it (HTML in a
// sandboxed iframe with a restrictive policy, inline image inlined, text part, headers,
// attachments) and resends it, the way a browser without JavaScript does.
func TestPanel(t *testing.T) {
	t.Parallel()
	svc, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	id, err := svc.Send(t.Context(), Message{
		To: []string{"Ada <ada@example.com>"}, Bcc: []string{"audit@example.com"}, Subject: "Invoice <7>",
		Text: "Pay 9 EUR", HTML: `<p style="color:red">Pay <b>9 EUR</b></p><img src="cid:logo"><script>alert(1)</script>`,
		Headers:     map[string]string{"X-Entity-Ref-ID": "inv-7"},
		Attachments: []Attachment{{Filename: "invoice.pdf", Content: []byte("%PDF-1.4")}, {Filename: "logo.png", Content: []byte("PNG"), ContentID: "logo"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendSMS(t.Context(), "+14155550123", "Your code is 123456"); err != nil {
		t.Fatal(err)
	}

	b := frontendtest.NewBrowser(t, h)
	list := b.Get("/dashboard/panels/comms")
	for _, want := range []string{"Email: <strong>outbox</strong>", `href="/dashboard/panels/comms?id=` + string(id) + `"`,
		"Invoice &lt;7&gt;", "Your code is 123456", "&#43;14155550123", `action="/dashboard/panels/comms/actions/resend"`, "2 sent"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	one := b.Get("/dashboard/panels/comms?id=" + string(id))
	for _, want := range []string{
		`sandbox=""`, `src="/dashboard/panels/comms/resources/preview?id=` + string(id) + `"`,
		`<pre class="mail-text">Pay 9 EUR</pre>`, "<th scope=\"row\">X-Entity-Ref-ID</th><td>inv-7</td>",
		"<th scope=\"row\">Bcc</th><td>audit@example.com</td>", "<code>invoice.pdf</code> (application/pdf, 8 bytes)", "inline as <code>cid:logo</code>",
	} {
		if !strings.Contains(one, want) {
			t.Errorf("message view lacks %q", want)
		}
	}
	if strings.Contains(one, "<script>alert(1)</script>") || strings.Contains(one, `<p style="color:red">`) {
		t.Error("the email's HTML reached the page unescaped")
	}

	// The preview is a document of its own, with a policy that lets the email's inline styles
	// and images show and nothing else run or load.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/comms/resources/preview?id="+string(id), nil))
	csp := rec.Header().Get("Content-Security-Policy")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("preview = %d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	for _, want := range []string{"default-src 'none'", "style-src 'unsafe-inline'", "img-src data:", "sandbox", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("preview CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || rec.Header().Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("preview CSP %q, X-Frame-Options %q", csp, rec.Header().Get("X-Frame-Options"))
	}
	for _, want := range []string{`<p style="color:red">`, "data:image/png;base64,UE5H"} { // the inline image, as the mail client shows it
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("preview lacks %q:\n%s", want, rec.Body)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/comms/resources/preview?id=nope", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("preview of an unknown message = %d, want 404", rec.Code)
	}

	after := b.Submit("/dashboard/panels/comms/actions/resend", url.Values{"id": {string(id)}})
	if !strings.Contains(after, "was sent again as") {
		t.Errorf("no notice after resend:\n%s", after)
	}
	if list, _ := svc.Messages(t.Context(), ListParams{}); len(list) != 3 || list[0].Email == nil || list[0].Email.Subject != "Invoice <7>" {
		t.Errorf("after resend: %d messages", len(list))
	}
}

// TestPanelUnknownMessage: a ?id= that names no message (a link kept after the outbox dropped
// the message, an id edited by hand) shows the list with a notice saying so. It failed the
// whole panel ("This panel failed to render: comms: message not found: ..."), the list gone,
// and echoed the id whole however long it was.
func TestPanelUnknownMessage(t *testing.T) {
	t.Parallel()
	svc, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "Still here", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	b := frontendtest.NewBrowser(t, h)
	for _, id := range []string{"01a250ec30e752ba6242a5aaea3c", "<script>", strings.Repeat("a", 5000)} {
		page := b.Get("/dashboard/panels/comms?id=" + url.QueryEscape(id))
		if strings.Contains(page, "failed to render") {
			t.Errorf("?id=%.20s: the panel failed to render", id)
		}
		for _, want := range []string{"No message with that ID", "Still here"} {
			if !strings.Contains(page, want) {
				t.Errorf("?id=%.20s: the page lacks %q", id, want)
			}
		}
		if strings.Contains(page, "<script>") || strings.Contains(page, strings.Repeat("a", 200)) {
			t.Errorf("?id=%.20s: the id is echoed unescaped or whole", id)
		}
	}
}

// A message the worker is retrying has no Resend button (a resend now would deliver it twice);
// a failed one, and one queued without a failed attempt yet, keep theirs.
func TestPanelNoResendWhileRetrying(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := &fakeEmail{err: &ProviderError{Provider: "resend", StatusCode: 503}}
	svc, err := New(Settings{}, &Opts{Email: f, Dispatcher: nopDispatcher{}})
	if err != nil {
		t.Fatal(err)
	}
	retrying, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Retrying", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_ = svc.DeliverWith(ctx, retrying, DeliverOpts{WillRetry: true})
	failed, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Failed", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_ = svc.DeliverWith(ctx, failed, DeliverOpts{})
	waiting, err := svc.Send(ctx, Message{To: []string{"ada@example.com"}, Subject: "Waiting", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	b := frontendtest.NewBrowser(t, h)
	list := b.Get("/dashboard/panels/comms")
	for id, want := range map[ID]bool{retrying: false, failed: true, waiting: true} {
		if got := strings.Contains(list, `name="id" value="`+string(id)+`"`); got != want {
			t.Errorf("list: Resend button for %s = %v, want %v", id, got, want)
		}
		one := b.Get("/dashboard/panels/comms?id=" + string(id))
		if got := strings.Contains(one, "Resend this message"); got != want {
			t.Errorf("message %s: Resend button = %v, want %v", id, got, want)
		}
	}
	// A resend posted all the same (from a page rendered before the failure, or crafted) is
	// refused with the reason, and nothing is sent.
	count := func() int {
		t.Helper()
		all, err := svc.Messages(ctx, ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	before := count()
	after := b.Submit("/dashboard/panels/comms/actions/resend", url.Values{"id": {string(retrying)}})
	if !strings.Contains(after, "would deliver it twice") {
		t.Errorf("no refusal after resending a message being retried:\n%s", after)
	}
	if _, err := svc.Resend(ctx, retrying); !errors.Is(err, ErrRetrying) {
		t.Errorf("Resend of a message being retried: %v, want ErrRetrying", err)
	}
	if got := count(); got != before {
		t.Errorf("the refused resends recorded %d new messages", got-before)
	}
}

// Each cid: reference of the preview becomes its own image: with inline images "logo" and
// "logo-dark", replacing the text "cid:logo" everywhere also rewrote the start of
// "cid:logo-dark", which then showed as a broken image; a reference to no attachment stays.
func TestPreviewContentIDs(t *testing.T) {
	t.Parallel()
	m := &Message{
		HTML: `<img src="cid:logo"><img src="cid:logo-dark"><img src='cid:logo'><img src="cid:missing">`,
		Attachments: []Attachment{
			{Filename: "logo.png", ContentType: "image/png", Content: []byte("light"), ContentID: "logo"},
			{Filename: "logo-dark.png", ContentType: "image/png", Content: []byte("dark"), ContentID: "logo-dark"},
		},
	}
	light := "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("light"))
	dark := "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("dark"))
	want := `<img src="` + light + `"><img src="` + dark + `"><img src='` + light + `'><img src="cid:missing">`
	if got := Preview(m); !strings.HasSuffix(got, want) {
		t.Errorf("Preview =\n%s\nwant it to end with\n%s", got, want)
	}
}
