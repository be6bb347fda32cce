package comms

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := func() Message {
		return Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"}
	}
	tests := []struct {
		name string
		mod  func(*Message)
		want error
	}{
		{"ok", func(*Message) {}, nil},
		{"no recipient", func(m *Message) { m.To = nil }, ErrNoRecipient},
		{"blank recipients", func(m *Message) { m.To = []string{" ", ""} }, ErrNoRecipient},
		{"bad to", func(m *Message) { m.To = []string{"not an address"} }, ErrInvalidAddress},
		{"no domain", func(m *Message) { m.To = []string{"ada@"} }, ErrInvalidAddress},
		{"recipients at the limit", func(m *Message) {
			m.To, m.Cc, m.Bcc = addresses(1, 20), addresses(21, 40), addresses(41, MaxRecipients)
		}, nil},
		{"too many recipients", func(m *Message) { m.To, m.Bcc = addresses(1, 30), addresses(31, MaxRecipients+1) }, ErrTooManyRecipients},
		{"two in one", func(m *Message) { m.Cc = []string{"a@example.com, b@example.com"} }, ErrInvalidAddress},
		{"bad bcc", func(m *Message) { m.Bcc = []string{"<@>"} }, ErrInvalidAddress},
		{"bad from", func(m *Message) { m.From = "nobody" }, ErrInvalidAddress},
		{"bad reply-to", func(m *Message) { m.ReplyTo = "x@" }, ErrInvalidAddress},
		{"crlf subject", func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.com" }, ErrHeaderInjection},
		{"lf subject", func(m *Message) { m.Subject = "Hi\nthere" }, ErrHeaderInjection},
		{"crlf name", func(m *Message) { m.To = []string{"Ada\r\nBcc: x@example.com <ada@example.com>"} }, ErrHeaderInjection},
		{"crlf from name", func(m *Message) { m.From = "\"App\nX\" <a@example.com>" }, ErrHeaderInjection},
		{"encoded crlf name", func(m *Message) { m.To = []string{"=?utf-8?q?Ada=0D=0ABcc=3A_x=40example.com?= <ada@example.com>"} }, ErrHeaderInjection},
		{"encoded lf reply-to name", func(m *Message) { m.ReplyTo = "=?utf-8?b?SGVscAo=?= <help@example.com>" }, ErrHeaderInjection},
		{"encoded nul from name", func(m *Message) { m.From = "=?utf-8?q?App=00?= <a@example.com>" }, ErrInvalidAddress},
		{"encoded unicode name", func(m *Message) { m.To = []string{"=?utf-8?q?Zo=C3=AB_Lovelace?= <zoe@example.com>"} }, nil},
		{"quoted name with comma and quote", func(m *Message) { m.To = []string{`"Lovelace, Ada \"A.\"" <ada@example.com>`} }, nil},
		{"escape in filename", func(m *Message) { m.Attachments = []Attachment{{Filename: "a\x1b[2J.txt", Content: []byte("x")}} }, ErrInvalidAttachment},
		{"nul in content type", func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a.txt", ContentType: "text/plain\x00", Content: []byte("x")}}
		}, ErrInvalidAttachment},
		{"crlf header", func(m *Message) { m.Headers = map[string]string{"X-Tag": "a\r\nBcc: x@example.com"} }, ErrHeaderInjection},
		{"nul subject", func(m *Message) { m.Subject = "Hi\x00there" }, ErrInvalidHeader},
		{"escape in subject", func(m *Message) { m.Subject = "Hi \x1b[31mred" }, ErrInvalidHeader},
		{"tab in subject", func(m *Message) { m.Subject = "Hi\tthere" }, nil},
		{"nul header", func(m *Message) { m.Headers = map[string]string{"X-Tag": "a\x00b"} }, ErrInvalidHeader},
		{"del header", func(m *Message) { m.Headers = map[string]string{"X-Tag": "a\x7fb"} }, ErrInvalidHeader},
		{"bad header name", func(m *Message) { m.Headers = map[string]string{"X Tag": "a"} }, ErrInvalidHeader},
		{"reserved header", func(m *Message) { m.Headers = map[string]string{"bcc": "x@example.com"} }, ErrInvalidHeader},
		{"crlf filename", func(m *Message) { m.Attachments = []Attachment{{Filename: "a\r\n.txt", Content: []byte("x")}} }, ErrHeaderInjection},
		{"no body", func(m *Message) { m.Text = " " }, ErrNoContent},
		{"no subject", func(m *Message) { m.Subject = "" }, ErrNoContent},
		{"blank subject", func(m *Message) { m.Subject = " \t" }, ErrNoContent},
		{"too large bytes", func(m *Message) { m.Attachments = []Attachment{{Filename: "a", Content: make([]byte, 1025)}} }, ErrAttachmentTooLarge},
		{"too large in total", func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", Content: make([]byte, 600)}, {Filename: "b", Content: make([]byte, 600), ContentID: "b"}}
		}, ErrAttachmentTooLarge},
		{"too large file", func(m *Message) { m.Attachments = []Attachment{{Path: big}} }, ErrAttachmentTooLarge},
		{"missing file", func(m *Message) { m.Attachments = []Attachment{{Path: filepath.Join(t.TempDir(), "none")}} }, ErrInvalidAttachment},
		{"both content and path", func(m *Message) { m.Attachments = []Attachment{{Filename: "a", Path: big, Content: []byte("x")}} }, ErrInvalidAttachment},
		{"no filename", func(m *Message) { m.Attachments = []Attachment{{Content: []byte("x")}} }, ErrInvalidAttachment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok()
			tt.mod(&m)
			_, err := prepare(m, DefaultFrom, 1024)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("prepare = %v, want %v", err, tt.want)
			}
		})
	}
}

// addresses returns user<from>@example.com to user<to>@example.com.
func addresses(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("user%d@example.com", i))
	}
	return out
}

func TestPrepareDefaults(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "report.csv")
	if err := os.WriteFile(file, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := prepare(Message{To: []string{" ada@example.com "}, Subject: "Report", HTML: "<p>x</p>", Attachments: []Attachment{{Path: file}, {Filename: "logo.png", Content: []byte("\x89PNG\r\n\x1a\n"), ContentID: "logo"}}}, DefaultFrom, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != DefaultFrom || m.To[0] != "ada@example.com" {
		t.Errorf("from %q, to %q", m.From, m.To)
	}
	a := m.Attachments[0]
	if a.Filename != "report.csv" || a.Path != "" || string(a.Content) != "a,b\n1,2\n" || !strings.HasPrefix(a.ContentType, "text/csv") {
		t.Errorf("file attachment = %+v", a)
	}
	if m.Attachments[1].ContentType != "image/png" || !m.Attachments[1].Inline() {
		t.Errorf("inline image = %+v", m.Attachments[1])
	}
}

func TestPhone(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"+14155550123", "+442071838750", "+33123456789"} {
		if err := ValidatePhone(good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for _, bad := range []string{"", "14155550123", "+0123456", "+1 415 555 0123", "+1415555012345678", "+1-415-555-0123", "+1\n4155550123"} {
		if err := ValidatePhone(bad); !errors.Is(err, ErrInvalidPhone) {
			t.Errorf("%q: %v, want ErrInvalidPhone", bad, err)
		}
	}
	// Twilio counts UTF-16 code units: an emoji is two, an accented letter one.
	for _, tt := range []struct {
		name string
		body string
		ok   bool
	}{
		{"ascii at the limit", strings.Repeat("x", MaxSMSBody), true},
		{"accents at the limit", strings.Repeat("é", MaxSMSBody), true},
		{"emoji at the limit", strings.Repeat("😀", MaxSMSBody/2), true},
		{"emoji above the limit", strings.Repeat("😀", MaxSMSBody/2+1), false},
		{"1600 emoji", strings.Repeat("😀", MaxSMSBody), false},
	} {
		if _, err := prepareSMS(SMS{To: "+14155550123", Body: tt.body}); (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrSMSTooLong) {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	if _, err := prepareSMS(SMS{To: "+14155550123", Body: strings.Repeat("x", MaxSMSBody+1)}); !errors.Is(err, ErrSMSTooLong) {
		t.Errorf("long SMS: %v", err)
	}
	if _, err := prepareSMS(SMS{To: "+14155550123"}); !errors.Is(err, ErrNoContent) {
		t.Errorf("empty SMS: %v", err)
	}
}
