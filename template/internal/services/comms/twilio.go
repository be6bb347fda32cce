package comms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Twilio sends SMS through Twilio's Programmable Messaging API
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json).
type Twilio struct {
	client              *http.Client
	baseURL             string
	accountSID          string
	user, password      string // basic auth: the account SID and auth token, or an API key's SID and secret
	from, messagingSvcs string
}

// TwilioParams configure NewTwilio. From or MessagingServiceSID is needed; the service wins.
type TwilioParams struct {
	BaseURL    string // empty: DefaultTwilioBaseURL
	AccountSID string
	AuthToken  string
	// APIKeySID and APIKeySecret, when set, authenticate instead of AuthToken (Twilio's
	// advice for production: a key can be revoked alone); the URL keeps AccountSID.
	APIKeySID           string
	APIKeySecret        string
	From                string
	MessagingServiceSID string
}

// NewTwilio returns the provider; client carries the timeouts and retries.
func NewTwilio(client *http.Client, p TwilioParams) *Twilio {
	if p.BaseURL == "" {
		p.BaseURL = DefaultTwilioBaseURL
	}
	user, password := p.AccountSID, p.AuthToken
	if p.APIKeySID != "" {
		user, password = p.APIKeySID, p.APIKeySecret
	}
	return &Twilio{client: client, baseURL: strings.TrimRight(p.BaseURL, "/"), accountSID: p.AccountSID, user: user, password: password,
		from: p.From, messagingSvcs: p.MessagingServiceSID}
}

// Name implements SMSProvider.
func (*Twilio) Name() string { return ProviderTwilio }

// twilioError is Twilio's error body: {"code":21211,"message":"...","more_info":"...","status":400}.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// SendSMS implements SMSProvider.
func (p *Twilio) SendSMS(ctx context.Context, m *SMS) (string, error) {
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if p.messagingSvcs != "" {
		form.Set("MessagingServiceSid", p.messagingSvcs)
	} else {
		form.Set("From", p.from)
	}
	endpoint := p.baseURL + "/2010-04-01/Accounts/" + url.PathEscape(p.accountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("comms: twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(p.user, p.password)
	var out struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	err = do(p.client, req, &out, failure(ProviderTwilio, func(body []byte) (code, message string, ok bool) {
		var te twilioError
		if json.Unmarshal(body, &te) != nil || te.Code == 0 && te.Message == "" {
			return "", "", false
		}
		if te.MoreInfo != "" {
			te.Message += " (" + te.MoreInfo + ")"
		}
		return errorCode(te.Code), te.Message, true
	}))
	if err != nil {
		return "", sendError(ProviderTwilio, err)
	}
	return out.SID, nil
}

var _ SMSProvider = (*Twilio)(nil)
