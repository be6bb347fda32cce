package comms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
)

// Postmark sends email through Postmark's API (POST /email,
// https://postmarkapp.com/developer/api/email-api).
type Postmark struct {
	client  *http.Client
	baseURL string
	token   string
	stream  string
}

// NewPostmark returns the provider for the API at baseURL (DefaultPostmarkBaseURL in
// production) with a server token, sending through message stream (empty: "outbound").
func NewPostmark(client *http.Client, baseURL, token, stream string) *Postmark {
	if stream == "" {
		stream = DefaultPostmarkStream
	}
	return &Postmark{client: client, baseURL: strings.TrimRight(baseURL, "/"), token: token, stream: stream}
}

// Name implements EmailProvider.
func (*Postmark) Name() string { return ProviderPostmark }

type postmarkHeader struct {
	Name  string
	Value string
}

type postmarkAttachment struct {
	Name        string
	Content     string // base64
	ContentType string
	ContentID   string `json:",omitempty"` // "cid:logo" for inline images
}

type postmarkRequest struct {
	From          string
	To            string
	Cc            string               `json:",omitempty"`
	Bcc           string               `json:",omitempty"`
	ReplyTo       string               `json:",omitempty"`
	Subject       string               `json:",omitempty"`
	HtmlBody      string               `json:",omitempty"`
	TextBody      string               `json:",omitempty"`
	Headers       []postmarkHeader     `json:",omitempty"`
	Attachments   []postmarkAttachment `json:",omitempty"`
	MessageStream string               `json:",omitempty"`
}

// postmarkAnswer is Postmark's answer, success and error alike: ErrorCode 0 means sent.
type postmarkAnswer struct {
	ErrorCode int
	Message   string
	MessageID string
}

// SendEmail implements EmailProvider.
func (p *Postmark) SendEmail(ctx context.Context, m *Message) (string, error) {
	if len(m.To) == 0 {
		// The API requires To: an email to Cc or Bcc only is refused there, so it is here.
		return "", fmt.Errorf("%w: %s needs a To address (Cc or Bcc alone is refused); put one recipient in To", ErrNoRecipient, ProviderPostmark)
	}
	req := postmarkRequest{
		From: apiAddress(m.From), To: postmarkList(m.To), Cc: postmarkList(m.Cc), Bcc: postmarkList(m.Bcc),
		ReplyTo: apiAddress(m.ReplyTo), Subject: m.Subject, HtmlBody: m.HTML, TextBody: m.Text, MessageStream: p.stream,
	}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		req.Headers = append(req.Headers, postmarkHeader{Name: name, Value: m.Headers[name]})
	}
	for _, a := range m.Attachments {
		pa := postmarkAttachment{Name: a.Filename, Content: base64.StdEncoding.EncodeToString(a.Content), ContentType: a.ContentType}
		if a.ContentID != "" {
			pa.ContentID = "cid:" + a.ContentID
		}
		req.Attachments = append(req.Attachments, pa)
	}
	var out postmarkAnswer
	err := postJSON(ctx, p.client, p.baseURL+"/email", req, func(r *http.Request) {
		r.Header.Set("X-Postmark-Server-Token", p.token)
	}, &out, failure(ProviderPostmark, func(body []byte) (code, message string, ok bool) {
		var pa postmarkAnswer
		if json.Unmarshal(body, &pa) != nil || pa.ErrorCode == 0 && pa.Message == "" {
			return "", "", false
		}
		return errorCode(pa.ErrorCode), pa.Message, true
	}))
	if err != nil {
		return "", sendError(ProviderPostmark, err)
	}
	if out.ErrorCode != 0 {
		// Postmark documents 200 with ErrorCode 0 for success; anything else is refused.
		return "", &ProviderError{Provider: ProviderPostmark, StatusCode: http.StatusOK, Code: strconv.Itoa(out.ErrorCode), Message: out.Message}
	}
	return out.MessageID, nil
}

// postmarkList is a list of addresses as Postmark takes it: one string, comma separated.
func postmarkList(list []string) string {
	return strings.Join(apiAddresses(list), ",")
}

// apiAddresses is apiAddress of each of list.
func apiAddresses(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = apiAddress(a)
	}
	return out
}

// nameSpecials are the characters that make a display name a quoted string (RFC 5322's
// specials).
const nameSpecials = `()<>[]:;@\,."`

// apiAddress writes an address for an HTTP API (Postmark, Resend) in the one form both
// document, "Name <address>", the name quoted when it holds a special character. Postmark
// splits its address fields at commas outside quotes, so an address net/mail reads with a
// comma outside quotes ("ada@example.com (Ada, Countess)", a comment) was cut in two and the
// message refused; the name stays in UTF-8, as given.
func apiAddress(addr string) string {
	a, err := mail.ParseAddress(addr)
	if err != nil || addr == "" {
		return addr // checked before sending; left as it is
	}
	switch {
	case a.Name == "":
		return a.Address
	case strings.ContainsAny(a.Name, nameSpecials):
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a.Name) + `" <` + a.Address + ">"
	}
	return a.Name + " <" + a.Address + ">"
}

var _ EmailProvider = (*Postmark)(nil)
