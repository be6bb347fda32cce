package comms

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// ID names one message (email or SMS) in the store, the panel and the logs.
type ID string

// newID returns a random ID that sorts by creation time: 12 hex digits of milliseconds, then
// 16 of randomness, so two instances never collide and listings can order by it.
func newID(now time.Time) ID {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return ID(fmt.Sprintf("%012x%s", now.UnixMilli(), hex.EncodeToString(b[:])))
}

// Message is one email. Addresses are written as net/mail parses them: "ada@example.com" or
// "Ada Lovelace <ada@example.com>". The zero From means COMMS_FROM.
type Message struct {
	From    string   `json:"from,omitempty"`
	To      []string `json:"to,omitempty"`
	Cc      []string `json:"cc,omitempty"`
	Bcc     []string `json:"bcc,omitempty"`
	ReplyTo string   `json:"reply_to,omitempty"`
	Subject string   `json:"subject"`
	// Text and HTML are the two bodies; at least one is needed. With both, mail clients show
	// the HTML and fall back to the text.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
	// Attachments are files attached to the message, and inline images when ContentID is set.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Headers are extra headers (List-Unsubscribe, X-Entity-Ref-ID...). The service sets the
	// address, subject, date, MIME and Message-ID headers itself and refuses them here.
	Headers map[string]string `json:"headers,omitempty"`
	// Template is the template the message was rendered from, set by SendTemplate; shown in
	// the panel, never sent.
	Template string `json:"template,omitempty"`
	// Sensitive, when not empty, says what secret the bodies carry ("the password reset
	// link"): once a provider other than the development outbox has delivered the message,
	// the store keeps its envelope (addresses, subject, status, provider ID, times,
	// attachment names and sizes) but not its bodies, headers or attachment contents, so
	// whoever reads the store or the Comms panel cannot use the secret. SendTemplate sets it
	// from the template's "sensitive" block. Never sent. Keep the secret out of the subject,
	// which stays.
	Sensitive string `json:"sensitive,omitempty"`
	// Redacted is set on the stored copy of a sensitive message whose bodies were removed
	// after delivery (see Redact); such a message cannot be resent.
	Redacted bool `json:"redacted,omitempty"`
}

// Redact returns the envelope of m without what may carry its secret: the bodies, the
// custom headers and the attachments' bytes (their names, types and sizes stay). The copy
// is marked Redacted; m is left alone.
func (m *Message) Redact() *Message {
	out := *m
	out.Text, out.HTML, out.Headers, out.Redacted = "", "", nil, true
	out.To, out.Cc, out.Bcc = slices.Clone(m.To), slices.Clone(m.Cc), slices.Clone(m.Bcc)
	out.Attachments = nil
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, Attachment{Filename: a.Filename, ContentType: a.ContentType,
			ContentID: a.ContentID, Size: a.Len()})
	}
	return &out
}

// Attachment is a file attached to a message: its bytes in Content, or a Path read when the
// message is sent (the bytes are then kept with the message, so a resend needs no file).
// With ContentID it is an inline image, which the HTML shows with <img src="cid:ContentID">.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"` // empty: from the file name, else sniffed
	Content     []byte `json:"content,omitempty"`
	Path        string `json:"path,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
	// Size is the length of Content once Content was removed (a redacted message); 0
	// otherwise: use Len.
	Size int64 `json:"size,omitempty"`
}

// Len is the attachment's size in bytes, whether or not its content is still kept.
func (a Attachment) Len() int64 {
	if a.Content == nil {
		return a.Size
	}
	return int64(len(a.Content))
}

// Inline reports whether a is an inline image rather than a download.
func (a Attachment) Inline() bool { return a.ContentID != "" }

// SMS is one text message.
type SMS struct {
	To   string `json:"to"`
	Body string `json:"body"`
	// Sensitive, when not empty, says what secret the body carries ("a sign-in code"): as
	// for an email (Message.Sensitive), once a provider other than the development outbox
	// has delivered it, the store keeps the number, status and times but not the body.
	Sensitive string `json:"sensitive,omitempty"`
	// Redacted is set on the stored copy of a sensitive SMS whose body was removed after
	// delivery; such a message cannot be resent.
	Redacted bool `json:"redacted,omitempty"`
}

// Redact returns m without its body, marked Redacted; m is left alone.
func (m *SMS) Redact() *SMS {
	out := *m
	out.Body, out.Redacted = "", true
	return &out
}

// MaxSMSBody is the longest SMS body accepted, in characters as Twilio counts them (UTF-16
// code units: an emoji or another character beyond U+FFFF counts as two): Twilio's limit,
// above which it refuses the message (error 21617). It splits a long body into segments of
// 153 characters, or 67 when a character is not in GSM-7 (an accent, an emoji), each billed.
const MaxSMSBody = 1600

// MaxRecipients is the most addresses one email may have in To, Cc and Bcc together: Resend's
// and Postmark's limit per message, and half the 100 an SMTP server must accept (RFC 5321
// 4.5.3.1.8), so a message the service takes is one every provider takes, the development
// outbox included. A server past its own limit answers each further RCPT with 452, a
// temporary refusal: the worker would retry the message for weeks with the same answer.
const MaxRecipients = 50

// reservedHeaders are set by the service from the Message's fields or by the MIME writer;
// a custom header of that name would duplicate or contradict them.
var reservedHeaders = []string{
	"bcc", "cc", "content-transfer-encoding", "content-type", "date", "from", "message-id",
	"mime-version", "reply-to", "sender", "subject", "to",
}

// headerName is RFC 5322's field name: printable ASCII but the colon; the usual letters,
// digits and dashes are what every provider accepts.
var headerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// e164 is a phone number in E.164 form: +, a country code not starting with 0, at most 15
// digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// ValidatePhone reports whether number is in E.164 form, wrapping ErrInvalidPhone.
func ValidatePhone(number string) error {
	if !e164.MatchString(number) {
		return fmt.Errorf("%w: %q is not in E.164 form, such as +14155550123 (a +, the country code and the number, digits only)", ErrInvalidPhone, number)
	}
	return nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// controlChar returns the first control character in s other than tab (NUL, ESC, DEL...): a
// header cannot carry them (RFC 5322), and servers and mail clients truncate, refuse or show
// them differently, so what the recipient sees would not be what was sent.
func controlChar(s string) (rune, bool) {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return r, true
		}
	}
	return 0, false
}

// hasControlChar reports whether any of s holds a control character (see controlChar).
func hasControlChar(s ...string) bool {
	for _, v := range s {
		if _, ok := controlChar(v); ok {
			return true
		}
	}
	return false
}

// oneLine is s with its runs of white space, line breaks included, made single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkAddress parses one address of field (From, To...).
func checkAddress(field, addr string) error {
	if hasLineBreak(addr) {
		return fmt.Errorf("%w: %s address %q contains a line break", ErrHeaderInjection, field, addr)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return fmt.Errorf("%w: %s %q: %s", ErrInvalidAddress, field, addr, strings.TrimPrefix(err.Error(), "mail: "))
	}
	if !strings.Contains(a.Address, "@") || strings.HasPrefix(a.Address, "@") || strings.HasSuffix(a.Address, "@") {
		return fmt.Errorf("%w: %s %q has no domain", ErrInvalidAddress, field, addr)
	}
	// The name as net/mail decodes it: an RFC 2047 encoded word ("=?utf-8?q?Ada=0D=0A...?=")
	// holds no line break as written, yet the API providers, which decode the name to build
	// the header, would write one.
	if hasLineBreak(a.Name) {
		return fmt.Errorf("%w: %s address %q has a line break in its encoded name", ErrHeaderInjection, field, addr)
	}
	if r, ok := controlChar(a.Name); ok {
		return fmt.Errorf("%w: %s address %q has the control character %U in its name", ErrInvalidAddress, field, addr, r)
	}
	return nil
}

// prepare checks m and returns the copy the service stores and sends: From defaulted,
// addresses trimmed, file attachments read. maxBytes bounds the attachments' total size.
func prepare(m Message, from string, maxBytes int64) (Message, error) {
	m.From = strings.TrimSpace(m.From)
	if m.From == "" {
		m.From = from
	}
	m.ReplyTo = strings.TrimSpace(m.ReplyTo)
	// The reason is shown in the panel on one line; a message that comes in redacted has
	// nothing left to send.
	m.Sensitive = oneLine(m.Sensitive)
	if m.Redacted {
		return Message{}, fmt.Errorf("%w: its body was removed after delivery", ErrRedacted)
	}
	trim := func(list []string) []string {
		out := make([]string, 0, len(list))
		for _, a := range list {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	m.To, m.Cc, m.Bcc = trim(m.To), trim(m.Cc), trim(m.Bcc)

	if err := checkAddress("From", m.From); err != nil {
		return Message{}, err
	}
	if m.ReplyTo != "" {
		if err := checkAddress("Reply-To", m.ReplyTo); err != nil {
			return Message{}, err
		}
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"To", m.To}, {"Cc", m.Cc}, {"Bcc", m.Bcc}} {
		for _, a := range f.list {
			if err := checkAddress(f.name, a); err != nil {
				return Message{}, err
			}
		}
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		return Message{}, fmt.Errorf("%w: the email has no To, Cc or Bcc address", ErrNoRecipient)
	}
	if n := len(m.To) + len(m.Cc) + len(m.Bcc); n > MaxRecipients {
		return Message{}, fmt.Errorf("%w: the email has %d addresses in To, Cc and Bcc, more than %d; send it as several messages", ErrTooManyRecipients, n, MaxRecipients)
	}
	// Resend refuses an email without a subject (a 422 only after it was recorded and queued);
	// Postmark and SMTP take one, but the reader sees "(no subject)" and spam filters count it
	// against the sender. Refusing it for every provider, as templates already do, keeps an
	// app that works on Mailpit in development from failing once it switches to Resend.
	if strings.TrimSpace(m.Subject) == "" {
		return Message{}, fmt.Errorf("%w: the email has no subject; set Subject", ErrNoContent)
	}
	if hasLineBreak(m.Subject) {
		return Message{}, fmt.Errorf("%w: the subject contains a line break", ErrHeaderInjection)
	}
	if r, ok := controlChar(m.Subject); ok {
		return Message{}, fmt.Errorf("%w: the subject contains the control character %U", ErrInvalidHeader, r)
	}
	if strings.TrimSpace(m.Text) == "" && strings.TrimSpace(m.HTML) == "" {
		return Message{}, fmt.Errorf("%w: the email has neither a text nor an HTML body", ErrNoContent)
	}
	if len(m.Headers) > 0 {
		headers := make(map[string]string, len(m.Headers))
		for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
			value := m.Headers[name]
			switch {
			case !headerName.MatchString(name):
				return Message{}, fmt.Errorf("%w: %q is not a header name (letters, digits and dashes)", ErrInvalidHeader, name)
			case slices.Contains(reservedHeaders, strings.ToLower(name)):
				return Message{}, fmt.Errorf("%w: %s is set from the message's fields, not through Headers", ErrInvalidHeader, name)
			case hasLineBreak(value):
				return Message{}, fmt.Errorf("%w: header %s contains a line break", ErrHeaderInjection, name)
			}
			if r, ok := controlChar(value); ok {
				return Message{}, fmt.Errorf("%w: header %s contains the control character %U", ErrInvalidHeader, name, r)
			}
			headers[name] = value
		}
		m.Headers = headers
	}
	atts, err := loadAttachments(m.Attachments, maxBytes)
	if err != nil {
		return Message{}, err
	}
	m.Attachments = atts
	return m, nil
}

// loadAttachments checks the attachments, reads the ones given by path and bounds their total
// size, checked before each file is read so an oversized file is never loaded.
func loadAttachments(in []Attachment, maxBytes int64) ([]Attachment, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]Attachment, 0, len(in))
	var total int64
	tooLarge := func(name string) error {
		return fmt.Errorf("%w: with %q the attachments come to more than %d bytes (COMMS_MAX_ATTACHMENT_BYTES)", ErrAttachmentTooLarge, name, maxBytes)
	}
	for i, a := range in {
		if a.Filename == "" && a.Path != "" {
			a.Filename = filepath.Base(a.Path)
		}
		switch {
		case a.Filename == "":
			return nil, fmt.Errorf("%w: attachment %d has no file name", ErrInvalidAttachment, i+1)
		case hasLineBreak(a.Filename) || hasLineBreak(a.ContentType) || hasLineBreak(a.ContentID):
			return nil, fmt.Errorf("%w: attachment %q has a line break in its name, type or content ID", ErrHeaderInjection, a.Filename)
		case hasControlChar(a.Filename, a.ContentType, a.ContentID):
			// A header parameter, like the subject, cannot carry them (an escape sequence in
			// a file name would be shown, or run, by whatever lists the attachment).
			return nil, fmt.Errorf("%w: attachment %q has a control character in its name, type or content ID", ErrInvalidAttachment, a.Filename)
		case strings.ContainsAny(a.ContentID, "<> "):
			return nil, fmt.Errorf("%w: attachment %q: content ID %q may not hold <, > or spaces", ErrInvalidAttachment, a.Filename, a.ContentID)
		case a.Path != "" && a.Content != nil:
			return nil, fmt.Errorf("%w: attachment %q has both content and a path; give one", ErrInvalidAttachment, a.Filename)
		}
		a.Size = 0 // Len counts Content; Size is only for a redacted copy
		if a.Path != "" {
			info, err := os.Stat(a.Path)
			if err != nil {
				return nil, fmt.Errorf("%w: attachment %q: %w", ErrInvalidAttachment, a.Filename, err)
			}
			if total+info.Size() > maxBytes {
				return nil, tooLarge(a.Filename)
			}
			data, err := os.ReadFile(a.Path)
			if err != nil {
				return nil, fmt.Errorf("%w: attachment %q: %w", ErrInvalidAttachment, a.Filename, err)
			}
			a.Content, a.Path = data, ""
		}
		total += int64(len(a.Content))
		if total > maxBytes {
			return nil, tooLarge(a.Filename)
		}
		if a.ContentType == "" {
			a.ContentType = mime.TypeByExtension(filepath.Ext(a.Filename))
		}
		if a.ContentType == "" {
			a.ContentType = http.DetectContentType(a.Content)
		}
		out = append(out, a)
	}
	return out, nil
}

// smsLength is the length of body in UTF-16 code units, as Twilio counts it.
func smsLength(body string) int {
	n := 0
	for _, r := range body {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++ // invalid UTF-8 is sent as U+FFFD
		}
	}
	return n
}

// prepareSMS checks an SMS.
func prepareSMS(m SMS) (SMS, error) {
	m.To = strings.TrimSpace(m.To)
	if m.To == "" {
		return SMS{}, fmt.Errorf("%w: the SMS has no number", ErrNoRecipient)
	}
	if err := ValidatePhone(m.To); err != nil {
		return SMS{}, err
	}
	m.Sensitive = oneLine(m.Sensitive)
	if m.Redacted {
		return SMS{}, fmt.Errorf("%w: its body was removed after delivery", ErrRedacted)
	}
	if strings.TrimSpace(m.Body) == "" {
		return SMS{}, fmt.Errorf("%w: the SMS body is empty", ErrNoContent)
	}
	if n := smsLength(m.Body); n > MaxSMSBody {
		return SMS{}, fmt.Errorf("%w: the body is %d characters as Twilio counts them (an emoji counts as two), more than %d", ErrSMSTooLong, n, MaxSMSBody)
	}
	return m, nil
}
