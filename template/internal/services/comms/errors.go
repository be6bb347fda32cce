package comms

import (
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// Errors of the comms service. Each is wrapped with the detail (the field, the address, the
// size) so callers test them with errors.Is and people read the whole message.
var (
	// ErrNoRecipient: an email without To, Cc or Bcc, or an SMS without a number.
	ErrNoRecipient = errors.New("comms: no recipient")
	// ErrTooManyRecipients: an email with more than MaxRecipients addresses in To, Cc and Bcc.
	ErrTooManyRecipients = errors.New("comms: too many recipients")
	// ErrInvalidAddress: an address net/mail cannot parse, or a list where one address belongs.
	ErrInvalidAddress = errors.New("comms: invalid email address")
	// ErrHeaderInjection: CR or LF in the subject, a display name or a header, which would
	// let the text start headers of its own.
	ErrHeaderInjection = errors.New("comms: line break in a header")
	// ErrInvalidHeader: a custom header with a name that is not a header name, or one the
	// service sets itself (From, To, Subject...); a control character in the subject or a
	// header's value.
	ErrInvalidHeader = errors.New("comms: invalid header")
	// ErrNoContent: an email without a subject, or with neither a text nor an HTML body, or an
	// empty SMS.
	ErrNoContent = errors.New("comms: empty message")
	// ErrAttachmentTooLarge: attachments and inline images above COMMS_MAX_ATTACHMENT_BYTES.
	ErrAttachmentTooLarge = errors.New("comms: attachments too large")
	// ErrInvalidAttachment: an attachment without a name, with both or neither of content
	// and path, or whose file cannot be read.
	ErrInvalidAttachment = errors.New("comms: invalid attachment")
	// ErrInvalidPhone: a number not in E.164 form (+ and up to 15 digits).
	ErrInvalidPhone = errors.New("comms: invalid phone number")
	// ErrSMSTooLong: an SMS body above MaxSMSBody characters.
	ErrSMSTooLong = errors.New("comms: SMS too long")
	// ErrUnknownTemplate: SendTemplate or Render with a name no template has.
	ErrUnknownTemplate = errors.New("comms: unknown template")
	// ErrTemplate: a template that fails to render, such as one using a missing variable.
	ErrTemplate = errors.New("comms: template failed")
	// ErrNotFound: no message with that ID in the store.
	ErrNotFound = errors.New("comms: message not found")
	// ErrRedacted: a resend of a sensitive message whose body was removed after delivery (see
	// Message.Sensitive); whatever it carried (a one-time link) must be asked for anew.
	ErrRedacted = errors.New("comms: message body removed after delivery")
	// ErrRetrying: a resend of a message the worker is still retrying (queued after a failed
	// attempt): the copy and the retried original would both arrive.
	ErrRetrying = errors.New("comms: message is being retried")
	// ErrUnreadableAnswer: an HTTP provider accepted the message (a 2xx status) with an answer
	// that does not decode. The message was probably sent, so it is not tried again: a retry
	// would send it twice.
	ErrUnreadableAnswer = errors.New("comms: provider accepted the message but its answer does not decode")
	// ErrNotConfigured: a provider chosen without the settings it needs.
	ErrNotConfigured = errors.New("comms: provider not configured")

	// ErrSMTPUnreachable: the SMTP server did not answer (down, wrong host or port, timeout).
	ErrSMTPUnreachable = errors.New("comms: SMTP server unreachable")
	// ErrSMTPTLSRequired: COMMS_SMTP_TLS_POLICY=require and the server offers no STARTTLS.
	ErrSMTPTLSRequired = errors.New("comms: SMTP server offers no TLS and COMMS_SMTP_TLS_POLICY=require")
	// ErrSMTPTLS: the TLS handshake failed (certificate not trusted, wrong name, protocol).
	ErrSMTPTLS = errors.New("comms: SMTP TLS handshake failed")
	// ErrSMTPAuth: the server refused the credentials or offers no usable mechanism.
	ErrSMTPAuth = errors.New("comms: SMTP authentication failed")
	// ErrSMTPRejected: the server refused the sender, a recipient or the message.
	ErrSMTPRejected = errors.New("comms: SMTP server rejected the message")
)

// ProviderError is an error answer from an HTTP provider (Resend, Postmark, Twilio).
// Temporary tells a retrying caller (the worker glue) whether trying again may help: rate
// limits (429, and Twilio's full sender queue, 21611) and server errors (5xx) are temporary,
// the rest (bad key, bad request) are not.
type ProviderError struct {
	Provider   string        // "resend", "postmark", "twilio"
	StatusCode int           // HTTP status
	Code       string        // the provider's own error code, when it gives one
	Message    string        // the provider's message, trimmed
	RetryAfter time.Duration // from Retry-After on a 429 or 503; 0 when absent
}

func (e *ProviderError) Error() string {
	msg := fmt.Sprintf("comms: %s answered %d", e.Provider, e.StatusCode)
	if e.Code != "" {
		msg += " (code " + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		msg += "; retry after " + e.RetryAfter.String()
	}
	return msg
}

// Temporary reports whether a later attempt may succeed.
func (e *ProviderError) Temporary() bool {
	// Resend's 409 concurrent_idempotent_requests: the same message's earlier attempt is
	// still in progress there; the next one gets its outcome.
	// Twilio's 21611, a 400: the sender's queue holds hours of messages already; it clears
	// as they go out.
	return e.StatusCode == 429 || e.StatusCode == 408 || e.StatusCode >= 500 ||
		e.StatusCode == 409 && e.Code == "concurrent_idempotent_requests" ||
		e.Provider == ProviderTwilio && e.Code == "21611"
}

// retryAfter parses a Retry-After header, seconds or an HTTP-date (httpclient.RetryAfter), into
// a wait from now in whole seconds; 0 when absent, unreadable or already past.
func retryAfter(v string, now time.Time) time.Duration {
	if d, ok := httpclient.RetryAfter(v, now); ok && d > 0 {
		return d.Round(time.Second)
	}
	return 0
}

// Temporary reports whether a delivery that failed with err may succeed if tried again, for
// dispatchers that retry (the worker glue): a server that is down or times out, a rate limit
// or a server error of an HTTP provider (ProviderError.Temporary), an SMTP 4xx answer (to
// AUTH too) or a connection lost in the middle of a session. A
// refused address (SMTP 5xx, an API's 4xx), refused credentials, a TLS problem, a provider
// that is not configured, an accepted message whose answer does not decode and bad input are
// permanent: trying again sends nothing. An error the service cannot place (a transport error
// of an HTTP provider) counts as temporary, since retries are bounded and a message already
// sent is not sent again. An attempt that timed out after the provider took the message may
// still be repeated: Resend gets the message's Idempotency-Key and sends it once; Postmark,
// Twilio and SMTP have no such key and may deliver it twice.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if pe, ok := errors.AsType[*ProviderError](err); ok {
		return pe.Temporary()
	}
	if se, ok := errors.AsType[*gomail.SendError](err); ok && errors.Is(err, ErrSMTPRejected) {
		// One refused recipient aborts the whole transaction, so one refused for good makes
		// every later attempt fail too.
		if se.Reason == gomail.ErrSMTPRcptTo && refusedForGood(se) {
			return false
		}
		return se.IsTemp()
	}
	// A refusal of the credentials may be temporary too: RFC 4954's 454 (the server cannot
	// check them now, its user database is down).
	if te, ok := errors.AsType[*textproto.Error](err); ok && errors.Is(err, ErrSMTPAuth) {
		return te.Code/100 == 4
	}
	for _, permanent := range []error{
		ErrSMTPRejected, ErrSMTPAuth, ErrSMTPTLS, ErrSMTPTLSRequired, ErrNotConfigured, ErrNotFound, ErrUnreadableAnswer,
		ErrNoRecipient, ErrTooManyRecipients, ErrInvalidAddress, ErrHeaderInjection, ErrInvalidHeader, ErrNoContent,
		ErrAttachmentTooLarge, ErrInvalidAttachment, ErrInvalidPhone, ErrSMSTooLong, ErrRedacted,
	} {
		if errors.Is(err, permanent) {
			return false
		}
	}
	// The rest: ErrSMTPUnreachable, a timeout, a transport error of an HTTP provider, a
	// cancelled attempt (a worker shutting down).
	return true
}

// RetryAfter is how long the provider asked to wait before the next attempt (Retry-After on
// a 429 or 503), or 0 when it did not say.
func RetryAfter(err error) time.Duration {
	if pe, ok := errors.AsType[*ProviderError](err); ok {
		return pe.RetryAfter
	}
	return 0
}

// rcptAnswer is one refusal in the text of go-mail's RCPT TO SendError: a textproto.Error,
// written "%03d %q", so a quote inside the server's text is escaped and cannot start a match.
var rcptAnswer = regexp.MustCompile(`([0-9]{3}) "(?:[^"\\]|\\.)*"`)

// refusedForGood reports whether any recipient of a failed RCPT TO stage was refused with a
// 5yz answer. go-mail keeps every refusal, but its IsTemp and ErrorCode tell only of the
// last one, and the list is in its text alone.
func refusedForGood(e *gomail.SendError) bool {
	text := e.Error()
	if i := strings.LastIndex(text, ", affected recipient(s): "); i >= 0 {
		text = text[:i]
	}
	for _, m := range rcptAnswer.FindAllStringSubmatch(text, -1) {
		if m[1][0] == '5' {
			return true
		}
	}
	return false
}
