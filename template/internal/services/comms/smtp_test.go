package comms

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

// TestSMTPMailpit sends one email with every feature through Mailpit and reads it back
// through Mailpit's API: recipients (bcc delivered, absent from the headers), both MIME
// parts, attachments and the inline image byte for byte, the custom header.
func TestSMTPMailpit(t *testing.T) {
	t.Parallel()
	mp, p := mailpitSMTP(t)
	svc, err := New(Settings{}, &Opts{Email: p})
	if err != nil {
		t.Fatal(err)
	}
	pdf := make([]byte, 70_000) // several base64 lines, every byte value
	for i := range pdf {
		pdf[i] = byte(i * 7)
	}
	file := filepath.Join(t.TempDir(), "report.csv")
	if err := os.WriteFile(file, []byte("name,total\nada,42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\nnot really a png")
	id, err := svc.Send(t.Context(), Message{
		From: "Acme Billing <billing@acme.test>", To: []string{"Ada Lovelace <ada@example.com>"}, Cc: []string{"grace@example.com"},
		Bcc: []string{"audit@example.com"}, ReplyTo: "help@acme.test", Subject: "Invoice 7 – été",
		Text: "Your invoice is attached.\n", HTML: `<p>Your invoice is attached.</p><img src="cid:logo@acme">`,
		Headers: map[string]string{"X-Entity-Ref-ID": "inv-7", "List-Unsubscribe": "<mailto:unsub@acme.test>"},
		Attachments: []Attachment{
			{Filename: "invoice.pdf", Content: pdf},
			{Path: file},
			{Filename: "logo.png", Content: png, ContentID: "logo@acme"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := svc.Message(t.Context(), id)
	if r.Status != StatusSent || r.Provider != ProviderSMTP || r.ProviderID == "" {
		t.Fatalf("record %+v", r)
	}

	got := mp.Message("Invoice 7 – été")
	addrs := func(list []mailpittest.Address) []string {
		var out []string
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	if got.From.Address != "billing@acme.test" || got.From.Name != "Acme Billing" || !slices.Equal(addrs(got.To), []string{"ada@example.com"}) ||
		got.To[0].Name != "Ada Lovelace" || !slices.Equal(addrs(got.Cc), []string{"grace@example.com"}) ||
		!slices.Equal(addrs(got.Bcc), []string{"audit@example.com"}) || !slices.Equal(addrs(got.ReplyTo), []string{"help@acme.test"}) {
		t.Errorf("addresses: from %v, to %v, cc %v, bcc %v, reply-to %v", got.From, got.To, got.Cc, got.Bcc, got.ReplyTo)
	}
	if got.MessageID != r.ProviderID {
		t.Errorf("Message-ID %q, recorded provider ID %q", got.MessageID, r.ProviderID)
	}
	if !msgIDPattern.MatchString("<"+got.MessageID+">") || !strings.HasSuffix(got.MessageID, "@acme.test") {
		t.Errorf("Message-ID %q: not <dot-atom@acme.test>, the From address's domain", got.MessageID)
	}
	if strings.TrimSpace(got.Text) != "Your invoice is attached." || !strings.Contains(got.HTML, `<img src="cid:logo@acme">`) {
		t.Errorf("parts: text %q, html %q", got.Text, got.HTML)
	}
	// Mailpit writes a Bcc header of its own for envelope recipients the headers do not
	// name (so its UI can show them); what the provider writes has none.
	var headers map[string][]string
	mp.Get("/api/v1/message/"+got.ID+"/headers", &headers)
	if slices.Contains(headers["To"], "audit@example.com") || slices.Contains(headers["Cc"], "audit@example.com") {
		t.Errorf("the bcc address is in To or Cc: %v", headers)
	}
	built, err := p.build(r.Email)
	if err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	if _, err := built.WriteTo(&wire); err != nil {
		t.Fatal(err)
	}
	if head, _, _ := strings.Cut(wire.String(), "\r\n\r\n"); strings.Contains(strings.ToLower(head), "\nbcc:") || strings.Contains(head, "audit@") {
		t.Errorf("the message as written carries the bcc address:\n%s", head)
	}
	if h := headers["X-Entity-Ref-Id"]; len(h) == 0 {
		if h = headers["X-Entity-Ref-ID"]; len(h) != 1 || h[0] != "inv-7" {
			t.Errorf("custom header: %v", headers)
		}
	}
	if h := headers["List-Unsubscribe"]; len(h) != 1 || h[0] != "<mailto:unsub@acme.test>" {
		t.Errorf("List-Unsubscribe: %v", h)
	}
	raw := string(mp.Get("/api/v1/message/"+got.ID+"/raw", nil))
	if !strings.Contains(raw, "multipart/alternative") || !strings.Contains(raw, "text/plain") || !strings.Contains(raw, "text/html") {
		t.Errorf("raw message lacks the two parts:\n%.2000s", raw)
	}

	want := map[string][]byte{"invoice.pdf": pdf, "report.csv": []byte("name,total\nada,42\n")}
	if len(got.Attachments) != 2 {
		t.Fatalf("attachments %+v", got.Attachments)
	}
	for _, a := range got.Attachments {
		if body := mp.Get("/api/v1/message/"+got.ID+"/part/"+a.PartID, nil); !bytes.Equal(body, want[a.FileName]) {
			t.Errorf("attachment %s: %d bytes differ from the %d sent", a.FileName, len(body), len(want[a.FileName]))
		}
	}
	if len(got.Inline) != 1 || got.Inline[0].ContentID != "logo@acme" {
		t.Fatalf("inline %+v", got.Inline)
	}
	if body := mp.Get("/api/v1/message/"+got.ID+"/part/"+got.Inline[0].PartID, nil); !bytes.Equal(body, png) {
		t.Errorf("inline image differs: %q", body)
	}
	if h := svc.CheckHealth(t.Context()); h.Details["smtp"] != "ok" {
		t.Errorf("health %+v", h)
	}
}

// STARTTLS required by both sides, with PLAIN and LOGIN authentication against Mailpit's
// password file; a wrong password, an untrusted certificate and a server without STARTTLS
// are each a clear error, and the failed message is recorded with it.
func TestSMTPStartTLSAndAuth(t *testing.T) {
	t.Parallel()
	cert, key, pool := mailpittest.SelfSigned(t)
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("ada:correct-horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailpittest.Start(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls", "--smtp-auth-file", auth)
	params := func(mod func(*SMTPParams)) SMTPParams {
		p := SMTPParams{Host: "127.0.0.1", Port: mp.SMTPPort, TLSPolicy: TLSRequire, Username: "ada", Password: "correct-horse",
			Timeout: 5 * time.Second, TLSConfig: trust(pool)}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	send := func(p SMTPParams, subject string) (Record, error) {
		t.Helper()
		prov, err := NewSMTP(p)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(Settings{}, &Opts{Email: prov})
		if err != nil {
			t.Fatal(err)
		}
		id, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: subject, Text: "hello"})
		r, _ := svc.Message(t.Context(), id)
		return r, err
	}
	for _, mech := range []string{AuthPlain, AuthLogin} {
		if _, err := send(params(func(p *SMTPParams) { p.Auth = mech }), "over TLS with "+mech); err != nil {
			t.Fatalf("%s: %v", mech, err)
		}
		mp.Message("over TLS with " + mech)
	}
	r, err := send(params(func(p *SMTPParams) { p.Password = "wrong" }), "wrong password")
	if !errors.Is(err, ErrSMTPAuth) || r.Status != StatusFailed || !strings.Contains(r.Error, "authentication failed") {
		t.Errorf("wrong password: %v, record %+v", err, r)
	}
	if _, err := send(params(func(p *SMTPParams) { p.TLSConfig = nil }), "untrusted"); !errors.Is(err, ErrSMTPTLS) {
		t.Errorf("untrusted certificate: %v", err)
	}
	if _, err := send(params(func(p *SMTPParams) { p.TLSPolicy = TLSNone; p.Username = "" }), "no TLS"); err == nil {
		t.Error("a plain-text send went through a server that requires STARTTLS")
	}

	plain := mailpittest.Start(t)
	if _, err := send(params(func(p *SMTPParams) { p.Port = plain.SMTPPort; p.Username = "" }), "tls required"); !errors.Is(err, ErrSMTPTLSRequired) {
		t.Errorf("server without STARTTLS, TLS required: %v", err)
	}
	if _, err := send(params(func(p *SMTPParams) { p.Port = plain.SMTPPort; p.Username = ""; p.TLSPolicy = TLSOpportunistic }), "opportunistic"); err != nil {
		t.Errorf("opportunistic on a server without STARTTLS: %v", err)
	}
	plain.Message("opportunistic")
}

// Implicit TLS (SMTPS): TLS from the first byte.
func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	cert, key, pool := mailpittest.SelfSigned(t)
	mp := mailpittest.Start(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls")
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: mp.SMTPPort, ImplicitTLS: true, Timeout: 5 * time.Second, TLSConfig: trust(pool)})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Settings{}, &Opts{Email: p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "implicit", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	mp.Message("implicit")
}

// A server that is down is ErrSMTPUnreachable, recorded, and degrades health.
func TestSMTPDown(t *testing.T) {
	t.Parallel()
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: testserver.FreePort(t), TLSPolicy: TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Settings{}, &Opts{Email: p})
	if err != nil {
		t.Fatal(err)
	}
	id, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "down", Text: "hello"})
	if !errors.Is(err, ErrSMTPUnreachable) {
		t.Fatalf("down: %v", err)
	}
	if r, _ := svc.Message(t.Context(), id); r.Status != StatusFailed || !strings.Contains(r.Error, "unreachable") {
		t.Errorf("record %+v", r)
	}
	if h := svc.CheckHealth(t.Context()); h.Status != "degraded" || h.Details["smtp"] != "unreachable" || h.Details["failed_last_day"] != 1 {
		t.Errorf("health %+v", h)
	}
}

// A server that stops answering in the middle of a conversation must not hold a send or a
// check past its context: a worker shutting down cancels its jobs and must get them back, to
// be retried, not stuck until COMMS_SMTP_TIMEOUT runs out for each command. The server
// cancels once the command it never answers has arrived, so the client is past dialling
// (where go-mail honours the context) and waits for the answer. The timeout is long enough
// that a call ending on it fails the test on the error it returns.
func TestSMTPCancelledWhileServerSilent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		hangOn string // the command the server never answers
		call   func(context.Context, *SMTP) error
	}{
		{"send", "MAIL FROM", func(ctx context.Context, p *SMTP) error {
			_, err := p.SendEmail(ctx, &Message{From: "app@example.com", To: []string{"ada@example.com"}, Subject: "silent", Text: "hello"})
			return err
		}},
		{"check", "EHLO", func(ctx context.Context, p *SMTP) error { return p.Check(ctx) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			hung := make(chan net.Conn, 1)
			go silentSMTP(ln, tc.hangOn, func(c net.Conn) { hung <- c; cancel() })
			p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLSPolicy: TLSNone, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.call(ctx, p)
			select {
			case c := <-hung:
				defer func() { _ = c.Close() }()
			default:
				t.Fatalf("the client never sent %s: %v", tc.hangOn, err)
			}
			if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrSMTPUnreachable) || errors.Is(err, ErrSMTPRejected) {
				t.Fatalf("error %v, want the cancellation of an unanswered command", err)
			}
			if !Temporary(err) {
				t.Errorf("a cancelled attempt counts as permanent: %v", err)
			}
		})
	}
}

// silentSMTP serves one connection of ln: it greets, answers EHLO (and any other command
// with 250) until the client sends a line starting with hangOn; then it calls hang with the
// connection and answers nothing more.
func silentSMTP(ln net.Listener, hangOn string, hang func(net.Conn)) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	if _, err := c.Write([]byte("220 silent ESMTP\r\n")); err != nil {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(strings.ToUpper(line), hangOn) {
			hang(c)
			return
		}
		if _, err := c.Write([]byte("250 ok\r\n")); err != nil {
			return
		}
	}
}

// trust is a TLS config trusting pool only.
func trust(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }

// msgIDPattern is RFC 5322's msg-id with dot-atoms on both sides, written out apart from the
// code's own pattern: atext runs joined by single dots, never a dot at either end.
var msgIDPattern = regexp.MustCompile("^<" + atomRun + `(\.` + atomRun + ")*@" + atomRun + `(\.` + atomRun + ")*>$")

const atomRun = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"

// The Message-ID is a dot-atom on both sides (go-mail's own could start or end its random
// part with a dot, or hold two in a row) and names the sender's domain, not the host; the
// host name is the fallback only when From has no usable domain.
func TestMessageID(t *testing.T) {
	t.Parallel()
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: 25, TLSPolicy: TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for range 5000 {
		msg, err := p.build(&Message{From: "Acme Billing <Billing@Mail.Acme.test>", To: []string{"ada@example.com"}, Subject: "hi", Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		id := msg.GetMessageID()
		if !msgIDPattern.MatchString(id) || !strings.HasSuffix(id, "@mail.acme.test>") {
			t.Fatalf("Message-ID %q: not <dot-atom@mail.acme.test>", id)
		}
		if seen[id] {
			t.Fatalf("Message-ID %q made twice", id)
		}
		seen[id] = true
	}

	host, _ := os.Hostname()
	for _, tt := range []struct{ from, want string }{
		{"noreply@example.com", "example.com"},
		{"App <noreply@EXAMPLE.org>", "example.org"},
		{"App <noreply@bücher.example>", ""}, // not ASCII: the host name or localhost
		{"no address", ""},
		{"", ""},
	} {
		id := "<" + newMessageID(tt.from, time.Now()) + ">"
		if !msgIDPattern.MatchString(id) {
			t.Errorf("from %q: Message-ID %q is not <dot-atom@dot-atom>", tt.from, id)
		}
		_, domain, _ := strings.Cut(strings.Trim(id, "<>"), "@")
		switch {
		case tt.want != "" && domain != tt.want:
			t.Errorf("from %q: domain %q, want %q", tt.from, domain, tt.want)
		case tt.want == "" && domain != strings.ToLower(host) && domain != "localhost":
			t.Errorf("from %q: domain %q, want the host name %q or localhost", tt.from, domain, host)
		}
	}

	// As written on the wire: one line, the ID go-mail reports.
	msg, err := p.build(&Message{From: "noreply@acme.test", To: []string{"ada@example.com"}, Subject: "hi", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	if _, err := msg.WriteTo(&wire); err != nil {
		t.Fatal(err)
	}
	if want := "\r\nMessage-ID: " + msg.GetMessageID() + "\r\n"; !strings.Contains(wire.String(), want) {
		t.Errorf("the message as written lacks %q:\n%s", want, wire.String())
	}
}

// A subject that needs encoding starts on the Subject line itself, even a long one (go-mail
// alone folds a long one so the header starts with an empty line, which some parsers read as
// a leading space); no line passes 76 characters, and it decodes back exactly. A printable
// ASCII subject is go-mail's, as before, unless a word of it is too long for a line.
func TestSubjectEncoding(t *testing.T) {
	t.Parallel()
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: 25, TLSPolicy: TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{
		"Invoice 7 – été",
		"Confirmez votre adresse électronique pour Acme — le lien est valable 24 heures, une seule fois",
		strings.Repeat("日本語のお知らせ ", 12) + "✓ 🎉",
		"Reçu: 100% = ok? a_b =?UTF-8?q?not-a-word?= " + strings.Repeat("é", 80),
		"Your Acme password was changed",
		"A plain ASCII subject that is long enough to be folded by go-mail on the spaces between its words",
		"bad \xff byte é",
		// Printable ASCII with a word too long for a line: go-mail folds only at spaces, so
		// the header held a line of 1,200 characters, past RFC 5322's 998.
		strings.Repeat("x", 1200),
		"Your order https://shop.example.com/orders/" + strings.Repeat("0123456789abcdef", 8) + "?utm_source=email is on its way",
		strings.Repeat("y", subjectFirstWord+1) + " fits no first line",
	} {
		msg, err := p.build(&Message{From: "noreply@acme.test", To: []string{"ada@example.com"}, Subject: subject, Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		var wire bytes.Buffer
		if _, err := msg.WriteTo(&wire); err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(wire.String(), "\r\n\r\n")
		for line := range strings.SplitSeq(head, "\r\n") {
			if strings.HasPrefix(line, "Subject:") && !strings.HasPrefix(line, "Subject: ") {
				t.Errorf("subject %q: the header starts with an empty line:\n%s", subject, head)
			}
			if len(line) > 76 && !strings.HasPrefix(line, "Content-") {
				t.Errorf("subject %q: a header line of %d characters: %q", subject, len(line), line)
			}
		}
		parsed, err := mail.ReadMessage(strings.NewReader(wire.String()))
		if err != nil {
			t.Fatal(err)
		}
		raw := parsed.Header.Get("Subject")
		got, err := new(mime.WordDecoder).DecodeHeader(raw)
		if err != nil {
			t.Fatalf("subject %q: decode %q: %v", subject, raw, err)
		}
		if want := strings.ToValidUTF8(subject, "\uFFFD"); got != subject && got != want {
			t.Errorf("subject %q reads back as %q (raw %q)", subject, got, raw)
		}
	}
}

// Through Mailpit, a long subject that needs encoding reads back whole, with no leading space.
func TestSMTPLongSubject(t *testing.T) {
	t.Parallel()
	mp, p := mailpitSMTP(t)
	svc, err := New(Settings{}, &Opts{Email: p})
	if err != nil {
		t.Fatal(err)
	}
	subject := "Confirmez votre adresse électronique pour Acme — le lien est valable 24 heures ✓"
	if _, err := svc.Send(t.Context(), Message{From: "noreply@acme.test", To: []string{"ada@example.com"}, Subject: subject, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	got := mp.Message(subject) // waits for this exact subject: a leading space would not match
	raw := string(mp.Get("/api/v1/message/"+got.ID+"/raw", nil))
	if !strings.Contains(raw, "\r\nSubject: =?UTF-8?q?") {
		t.Errorf("the Subject header does not start on its own line:\n%.1000s", raw)
	}
	if !msgIDPattern.MatchString("<"+got.MessageID+">") || !strings.HasSuffix(got.MessageID, "@acme.test") {
		t.Errorf("Message-ID %q: not <dot-atom@acme.test>", got.MessageID)
	}
}

// mailpitSMTP starts Mailpit and the SMTP provider that sends to it (plain, no TLS).
func mailpitSMTP(t *testing.T) (*mailpittest.Server, *SMTP) {
	t.Helper()
	mp := mailpittest.Start(t)
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: mp.SMTPPort, TLSPolicy: TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return mp, p
}

// TestSMTPTransportWording: a transport failure is classified by netfail and its error names
// the setting to check, where classify used to say only "unreachable" or "TLS handshake
// failed" and leave the user to read Go's dial text.
func TestSMTPTransportWording(t *testing.T) {
	t.Parallel()
	cert, key, _ := mailpittest.SelfSigned(t)
	tlsMP := mailpittest.Start(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls")
	plain := mailpittest.Start(t)
	tests := []struct {
		name   string
		params SMTPParams
		is     error
		want   string
	}{
		{"implicit TLS to a plain port", SMTPParams{Host: "127.0.0.1", Port: plain.SMTPPort, ImplicitTLS: true},
			ErrSMTPTLS, "set COMMS_SMTP_IMPLICIT_TLS=false"},
		{"untrusted certificate", SMTPParams{Host: "127.0.0.1", Port: tlsMP.SMTPPort, ImplicitTLS: true},
			ErrSMTPTLS, "certificate is not trusted"},
		{"nothing listens", SMTPParams{Host: "127.0.0.1", Port: testserver.FreePort(t), TLSPolicy: TLSNone},
			ErrSMTPUnreachable, "check COMMS_SMTP_PORT"},
		{"no such host", SMTPParams{Host: "smtp.example.invalid", Port: 587, TLSPolicy: TLSNone},
			ErrSMTPUnreachable, "check COMMS_SMTP_HOST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.params.Timeout = 5 * time.Second
			p, err := NewSMTP(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Check(t.Context())
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want %v saying %q", err, tc.is, tc.want)
			}
		})
	}
}
