package comms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Resend sends email through Resend's API (POST /emails, https://resend.com/docs/api-reference/emails/send-email).
type Resend struct {
	client  *http.Client
	baseURL string
	apiKey  string
}

// NewResend returns the provider for the API at baseURL (DefaultResendBaseURL in
// production) with key; client carries the timeouts and retries.
func NewResend(client *http.Client, baseURL, apiKey string) *Resend {
	return &Resend{client: client, baseURL: strings.TrimRight(baseURL, "/"), apiKey: apiKey}
}

// Name implements EmailProvider.
func (*Resend) Name() string { return ProviderResend }

type resendAttachment struct {
	Filename    string `json:"filename"`
	Content     []byte `json:"content"` // encoding/json writes []byte as base64, as Resend wants
	ContentType string `json:"content_type,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
}

type resendRequest struct {
	From        string             `json:"from"`
	To          []string           `json:"to,omitempty"`
	Cc          []string           `json:"cc,omitempty"`
	Bcc         []string           `json:"bcc,omitempty"`
	ReplyTo     []string           `json:"reply_to,omitempty"`
	Subject     string             `json:"subject"`
	HTML        string             `json:"html,omitempty"`
	Text        string             `json:"text,omitempty"`
	Headers     map[string]string  `json:"headers,omitempty"`
	Attachments []resendAttachment `json:"attachments,omitempty"`
}

// resendError is Resend's error body: {"statusCode":422,"name":"validation_error","message":"..."}.
type resendError struct {
	StatusCode int    `json:"statusCode"`
	Name       string `json:"name"`
	Message    string `json:"message"`
}

// SendEmail implements EmailProvider.
func (p *Resend) SendEmail(ctx context.Context, m *Message) (string, error) {
	if len(m.To) == 0 {
		// The API requires To: an email to Cc or Bcc only is refused there, so it is here.
		return "", fmt.Errorf("%w: %s needs a To address (Cc or Bcc alone is refused); put one recipient in To", ErrNoRecipient, ProviderResend)
	}
	req := resendRequest{From: apiAddress(m.From), To: apiAddresses(m.To), Cc: apiAddresses(m.Cc), Bcc: apiAddresses(m.Bcc),
		Subject: m.Subject, HTML: m.HTML, Text: m.Text, Headers: m.Headers}
	if m.ReplyTo != "" {
		req.ReplyTo = []string{apiAddress(m.ReplyTo)}
	}
	for _, a := range m.Attachments {
		req.Attachments = append(req.Attachments, resendAttachment{Filename: a.Filename, Content: a.Content, ContentType: a.ContentType, ContentID: a.ContentID})
	}
	var out struct {
		ID string `json:"id"`
	}
	err := postJSON(ctx, p.client, p.baseURL+"/emails", req, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+p.apiKey)
		// Resend sends a message once per key for 24 hours: a retry after a timeout (the
		// client's or the worker's) cannot send it twice.
		if key := idempotencyKey(ctx); key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
	}, &out, failure(ProviderResend, func(body []byte) (code, message string, ok bool) {
		var re resendError
		if json.Unmarshal(body, &re) != nil || re.Name == "" && re.Message == "" {
			return "", "", false
		}
		return re.Name, re.Message, true
	}))
	if err != nil {
		return "", sendError(ProviderResend, err)
	}
	return out.ID, nil
}

var _ EmailProvider = (*Resend)(nil)
