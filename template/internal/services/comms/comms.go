// Package comms is the communications service: transactional email and SMS.
//
// Email goes through one EmailProvider chosen by COMMS_EMAIL_PROVIDER: SMTP (go-mail;
// STARTTLS or implicit TLS, PLAIN or LOGIN), Resend, Postmark, or the development outbox,
// the default, which sends nothing and shows every message in the dashboard's Comms panel as
// the recipient would see it. SMS goes through Twilio or the same outbox
// (COMMS_SMS_PROVIDER). Every message is recorded with its status (queued, then sent or
// failed with the reason, the provider's ID and the attempts): in memory, or in the database
// when the app has one (the comms+database glue, commsdb, registers that Store).
//
// Services take *Service as a constructor parameter and call Send, SendTemplate or SendSMS:
//
//	id, err := c.SendTemplate(ctx, "welcome", user.Email, map[string]any{
//		"Name": user.Name, "LoginURL": loginURL,
//	})
//
// Bad input is refused before anything is recorded, each with its sentinel error: an
// invalid address (ErrInvalidAddress), a line break in a subject, name or header
// (ErrHeaderInjection), attachments over COMMS_MAX_ATTACHMENT_BYTES (ErrAttachmentTooLarge),
// no recipient (ErrNoRecipient), an unknown template or a missing template variable
// (ErrUnknownTemplate, ErrTemplate), a phone number not in E.164 form (ErrInvalidPhone).
//
// Delivery is synchronous unless a Dispatcher is registered: the comms+worker glue
// (commsworker) registers one that stores each message with a job in one transaction (the
// caller's, when it passes one); the job calls DeliverWith and retries temporary failures
// (Temporary) with backoff.
package comms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// Name is the service's name in the catalog, in config and in the registry.
const Name = "comms"

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds the Service to r with its settings, its dashboard panel and the comms
// command. init() does it for registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, frontend.Panel{Title: "Comms", Render: renderPanel, PanelOpts: frontend.PanelOpts{
		Order:     30,
		Actions:   map[string]frontend.ActionFunc{"resend": resendAction},
		Resources: map[string]frontend.ResourceFunc{"preview": previewResource},
	}})
	registry.Contribute(r, Name, command.Builder(commsCommand))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide5(r, newService, registry.Describe("email and SMS: providers, templates, the development outbox, message status")),
	)
}

// Dispatcher takes over the delivery of recorded messages: Dispatch must make sure that
// Service.Deliver(ctx, id) runs later (a job in a queue), and returns once that is certain.
// Without one, Send delivers at once and returns the outcome. It is a registry service,
// found when present: the comms+worker glue provides one.
type Dispatcher interface {
	Dispatch(ctx context.Context, id ID, ch Channel) error
}

// RecordDispatcher is a Dispatcher that stores a new message and its dispatch together, in
// one database transaction, so that neither exists without the other: no job for a message
// that was rolled back, no message left queued without a job. Send calls RecordAndDispatch
// instead of Store.Add then Dispatch. ctx may carry the caller's own transaction, in the
// dispatcher's terms (the worker glue's commsworker.WithTx); the message then commits or
// rolls back with the caller's data.
type RecordDispatcher interface {
	Dispatcher
	RecordAndDispatch(ctx context.Context, r Record) error
}

// Opts are the collaborators of New; nil or zero fields mean the defaults.
type Opts struct {
	// Store keeps messages; nil means a MemoryStore of Settings.OutboxSize.
	Store Store
	// Dispatcher, when set, takes over delivery (see Dispatcher).
	Dispatcher Dispatcher
	// Email and SMS replace the providers the settings choose (tests).
	Email EmailProvider
	SMS   SMSProvider
	// HTTP makes the clients of the HTTP-API providers (Resend, Postmark, Twilio): retries,
	// a breaker per host, redacted logs. Nil means plain clients with COMMS_HTTP_TIMEOUT.
	HTTP *httpclient.Clients
	// Production makes the health check report the outbox as degraded: nothing is delivered.
	Production bool
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service sends and records email and SMS. It is safe for concurrent use.
type Service struct {
	settings   Settings
	email      EmailProvider
	sms        SMSProvider
	store      Store
	dispatcher Dispatcher
	templates  *Templates
	production bool
	logger     *slog.Logger
	now        func() time.Time

	// smsKept counts the SMS kept in the outbox since start while the app runs in production
	// without an SMS provider: an app that sends none is not degraded for lacking one.
	smsKept atomic.Int64

	healthMu   sync.Mutex
	healthAt   time.Time
	healthErr  error
	healthBusy bool
}

func newService(_ context.Context, s Settings, core config.Core, clients *httpclient.Clients, store registry.Maybe[Store], disp registry.Maybe[Dispatcher]) (*Service, error) {
	opts := &Opts{Production: core.Production(), Logger: slog.Default(), HTTP: clients}
	opts.Store, _ = store.Get()
	opts.Dispatcher, _ = disp.Get()
	return New(s, opts)
}

// New returns the service for settings s (defaults filled in) and opts.
func New(s Settings, opts *Opts) (*Service, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Opts{}
	}
	if opts.Production {
		if err := s.validateProduction(); err != nil {
			return nil, err
		}
	}
	templates, err := LoadTemplates(s.TemplatesDir, s.AppName)
	if err != nil {
		return nil, err
	}
	svc := &Service{
		settings: s, store: opts.Store, dispatcher: opts.Dispatcher, templates: templates,
		email: opts.Email, sms: opts.SMS, production: opts.Production, logger: opts.Logger, now: opts.Now,
	}
	if svc.store == nil {
		svc.store = NewMemoryStore(s.OutboxSize)
	}
	if svc.logger == nil {
		svc.logger = slog.Default()
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	if svc.email == nil {
		if svc.email, err = EmailProviderFor(s, opts.HTTP); err != nil {
			return nil, err
		}
	}
	if svc.sms == nil {
		if svc.sms, err = SMSProviderFor(s, opts.HTTP); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// EmailProviderFor returns the email provider settings s choose; an HTTP-API provider gets its
// client from clients (see Opts.HTTP).
func EmailProviderFor(s Settings, clients *httpclient.Clients) (EmailProvider, error) {
	switch s.EmailProvider {
	case ProviderSMTP:
		return NewSMTP(SMTPParams{Host: s.SMTPHost, Port: s.SMTPPort, ImplicitTLS: s.SMTPImplicit, TLSPolicy: s.SMTPTLSPolicy,
			Auth: s.SMTPAuth, Username: s.SMTPUsername, Password: s.SMTPPassword, Timeout: s.SMTPTimeout})
	case ProviderResend:
		client, err := httpClient(clients, ProviderResend, s.HTTPTimeout)
		if err != nil {
			return nil, err
		}
		return NewResend(client, s.ResendBaseURL, s.ResendAPIKey), nil
	case ProviderPostmark:
		client, err := httpClient(clients, ProviderPostmark, s.HTTPTimeout)
		if err != nil {
			return nil, err
		}
		return NewPostmark(client, s.PostmarkBaseURL, s.PostmarkToken, s.PostmarkStream), nil
	case ProviderOutbox, "":
		return Outbox{}, nil
	}
	return nil, fmt.Errorf("%w: unknown email provider %q", ErrNotConfigured, s.EmailProvider)
}

// SMSProviderFor returns the SMS provider settings s choose; Twilio gets its client from
// clients (see Opts.HTTP).
func SMSProviderFor(s Settings, clients *httpclient.Clients) (SMSProvider, error) {
	if s.SMSProvider != ProviderTwilio {
		return Outbox{}, nil
	}
	client, err := httpClient(clients, ProviderTwilio, s.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	return NewTwilio(client, TwilioParams{BaseURL: s.TwilioBaseURL, AccountSID: s.TwilioAccountSID,
		AuthToken: s.TwilioAuthToken, APIKeySID: s.TwilioAPIKeySID, APIKeySecret: s.TwilioAPIKeySecret, From: s.TwilioFrom, MessagingServiceSID: s.TwilioMessagingServiceSID}), nil
}

// Settings returns the service's settings, defaults filled in.
func (s *Service) Settings() Settings { return s.settings }

// Production reports whether the service runs in production (APP_ENV): the services that
// send through it, and take no config.Core of their own, pick their defaults by it.
func (s *Service) Production() bool { return s.production }

// Templates returns the service's email templates.
func (s *Service) Templates() *Templates { return s.templates }

// Store returns where the service records messages.
func (s *Service) Store() Store { return s.store }

// EmailProvider and SMSProvider return the providers in use.
func (s *Service) EmailProvider() EmailProvider { return s.email }

// SMSProvider returns the SMS provider in use.
func (s *Service) SMSProvider() SMSProvider { return s.sms }

// Send checks m, records it as queued and delivers it (or hands it to the Dispatcher). Bad
// input is refused with one of the package's errors and nothing is recorded. A delivery that
// fails returns the message's ID with the error: the message stays recorded as failed with
// the reason.
func (s *Service) Send(ctx context.Context, m Message) (ID, error) {
	m, err := prepare(m, s.settings.From, s.settings.MaxAttachmentBytes)
	if err != nil {
		return "", err
	}
	return s.submit(ctx, Record{Channel: ChannelEmail, Email: &m}, false)
}

// SendNow is Send delivered at once, through this process's email provider, even when a
// Dispatcher is registered: the message is recorded like any other, and the outcome is known
// when SendNow returns. It is for checking the provider (comms send-test), where a queued
// message would only say that a worker, perhaps another process with other settings, will try
// later. A delivery failure is not logged: the caller reports it.
func (s *Service) SendNow(ctx context.Context, m Message) (ID, error) {
	m, err := prepare(m, s.settings.From, s.settings.MaxAttachmentBytes)
	if err != nil {
		return "", err
	}
	return s.submit(ctx, Record{Channel: ChannelEmail, Email: &m}, true)
}

// SendSMSNow is SendSMS delivered here and now, as SendNow does an email: for checking the
// SMS provider (comms send-test-sms).
func (s *Service) SendSMSNow(ctx context.Context, to, body string) (ID, error) {
	m, err := prepareSMS(SMS{To: to, Body: body})
	if err != nil {
		return "", err
	}
	return s.submit(ctx, Record{Channel: ChannelSMS, SMS: &m}, true)
}

// SendTemplate renders the template name with data and sends it to one address. A
// template that defines "sensitive" makes the message sensitive (Message.Sensitive).
func (s *Service) SendTemplate(ctx context.Context, name, to string, data any) (ID, error) {
	m, err := s.templateMessage(name, to, data)
	if err != nil {
		return "", err
	}
	return s.Send(ctx, m)
}

// templateMessage is the email of template name rendered with data, to one address.
func (s *Service) templateMessage(name, to string, data any) (Message, error) {
	r, err := s.templates.Render(name, data)
	if err != nil {
		return Message{}, err
	}
	return Message{To: []string{to}, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Template: name, Sensitive: r.Sensitive}, nil
}

// SendSMS sends body to the number to, in E.164 form (+14155550123), as Send does an email.
func (s *Service) SendSMS(ctx context.Context, to, body string) (ID, error) {
	return s.SendSMSMessage(ctx, SMS{To: to, Body: body})
}

// SendSMSMessage sends m as SendSMS does; set m.Sensitive for a body that carries a secret
// (a one-time code), so the store keeps it only until a provider has delivered it.
func (s *Service) SendSMSMessage(ctx context.Context, m SMS) (ID, error) {
	m, err := prepareSMS(m)
	if err != nil {
		return "", err
	}
	return s.submit(ctx, Record{Channel: ChannelSMS, SMS: &m}, false)
}

// Resend sends a recorded message again, as a new message (its own ID and status), through
// the providers in use now: an outbox message once a real provider is set up, a failed one
// after the cause was fixed. A sensitive message whose body was removed after delivery is
// refused with ErrRedacted: what it carried (a one-time link) must be requested anew. A
// message still being retried (queued after a failed attempt) is refused with ErrRetrying.
func (s *Service) Resend(ctx context.Context, id ID) (ID, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if r.Email != nil && r.Email.Redacted {
		return "", fmt.Errorf("%w: message %s held %s, which is not kept once delivered; request a new one instead", ErrRedacted, id, r.Email.Sensitive)
	}
	if r.SMS != nil && r.SMS.Redacted {
		return "", fmt.Errorf("%w: message %s held %s, which is not kept once delivered; request a new one instead", ErrRedacted, id, r.SMS.Sensitive)
	}
	if r.Status == StatusQueued && r.Error != "" {
		return "", fmt.Errorf("%w: resending message %s now would deliver it twice; wait until it is sent or fails", ErrRetrying, id)
	}
	return s.submit(ctx, Record{Channel: r.Channel, Email: r.Email, SMS: r.SMS}, false)
}

// submit records a checked message and delivers or dispatches it; direct delivers it here
// whatever the Dispatcher (SendNow).
func (s *Service) submit(ctx context.Context, r Record, direct bool) (ID, error) {
	if r.Channel == ChannelSMS && s.production && s.sms.Name() == ProviderOutbox {
		s.smsKept.Add(1)
	}
	now := s.now().UTC()
	r.ID, r.Status, r.CreatedAt, r.UpdatedAt = newID(now), StatusQueued, now, now
	if direct {
		if err := s.store.Add(ctx, r); err != nil {
			return "", fmt.Errorf("comms: record message: %w", err)
		}
		return r.ID, s.DeliverWith(ctx, r.ID, DeliverOpts{CallerReports: true})
	}
	if rd, ok := s.dispatcher.(RecordDispatcher); ok {
		// Nothing is stored when this fails, so there is no status to record.
		if err := rd.RecordAndDispatch(ctx, r); err != nil {
			return "", fmt.Errorf("comms: record and dispatch message: %w", err)
		}
		return r.ID, nil
	}
	if err := s.store.Add(ctx, r); err != nil {
		return "", fmt.Errorf("comms: record message: %w", err)
	}
	if s.dispatcher != nil {
		if err := s.dispatcher.Dispatch(ctx, r.ID, r.Channel); err != nil {
			err = fmt.Errorf("comms: dispatch message %s: %w", r.ID, err)
			s.record(ctx, r.ID, Update{Status: StatusFailed, Error: err.Error()})
			return r.ID, err
		}
		return r.ID, nil
	}
	return r.ID, s.Deliver(ctx, r.ID)
}

// DeliverOpts adjust DeliverWith for a dispatcher that retries; the zero value is Deliver.
type DeliverOpts struct {
	// WillRetry says the dispatcher tries again after a temporary failure (see Temporary): the
	// message then stays queued, with the error and the attempt recorded, rather than failed.
	// A permanent failure marks it failed either way.
	WillRetry bool
	// CallerReports says the caller reports a failure itself (SendNow returns it, the worker
	// logs each failed job attempt with its error): it is not logged here too, so one failure
	// makes one log line.
	CallerReports bool
}

// Deliver makes one delivery attempt of the recorded message id and records its outcome. A
// message already sent is not sent again (a job retried after its send succeeded), so
// dispatchers may call it more than once.
func (s *Service) Deliver(ctx context.Context, id ID) error {
	return s.DeliverWith(ctx, id, DeliverOpts{})
}

// DeliverWith is Deliver for a dispatcher: one attempt, recorded as opts say. The error is
// the provider's, for Temporary and RetryAfter to classify.
func (s *Service) DeliverWith(ctx context.Context, id ID, opts DeliverOpts) error {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if r.Status == StatusSent {
		return nil
	}
	var provider, providerID string
	ctx, span := startSend(ctx, &r)
	ctx = context.WithValue(ctx, messageIDKey{}, r.ID)
	switch {
	case r.Email != nil:
		provider = s.email.Name()
		providerID, err = s.email.SendEmail(ctx, r.Email)
	case r.SMS != nil:
		provider = s.sms.Name()
		providerID, err = s.sms.SendSMS(ctx, r.SMS)
	default:
		err = fmt.Errorf("comms: message %s has no content", id)
	}
	if span != nil {
		endSend(span, provider, err)
	}
	u := Update{Status: StatusSent, Provider: provider, ProviderID: providerID, Attempt: true}
	if err != nil {
		u.Status, u.Error = StatusFailed, err.Error()
		if opts.WillRetry && Temporary(err) {
			u.Status = StatusQueued
		}
	} else if redact(r, provider) {
		// The redacted copy travels with the "sent" status, in one store write, rather than
		// in a write of its own: redacting first is impossible (the body is needed to send),
		// and redacting after would leave a crash or a failed write between the two with a
		// record that says sent and still holds the secret. As it is, a record either is
		// queued or failed with its body (it must still be sent), or sent without it. A crash
		// after the provider accepted the message and before this write leaves it queued with
		// its body, as it leaves any message unrecorded as sent.
		if r.Email != nil {
			u.Email = r.Email.Redact()
		} else {
			u.SMS = r.SMS.Redact()
		}
	}
	s.record(ctx, id, u)
	if err != nil {
		if !opts.CallerReports {
			s.logger.WarnContext(ctx, "comms: delivery failed", "id", id, "channel", r.Channel, "provider", provider,
				"status", u.Status, "error", err)
		}
		return err
	}
	s.logger.DebugContext(ctx, "comms: delivered", "id", id, "channel", r.Channel, "provider", provider, "provider_id", providerID)
	return nil
}

// redact reports whether r must lose its body now that provider delivered it: a sensitive
// email or SMS delivered by a provider other than the development outbox, which delivers
// nowhere else (its panel is where a developer reads the link or the code).
func redact(r Record, provider string) bool {
	if provider == ProviderOutbox {
		return false
	}
	return r.Email != nil && r.Email.Sensitive != "" && !r.Email.Redacted ||
		r.SMS != nil && r.SMS.Sensitive != "" && !r.SMS.Redacted
}

// record stores a transition; a store failure is logged, since the delivery's own outcome
// is what the caller needs (and it is already decided).
func (s *Service) record(ctx context.Context, id ID, u Update) {
	u.At = s.now().UTC()
	if err := s.store.Update(context.WithoutCancel(ctx), id, u); err != nil {
		s.logger.ErrorContext(ctx, "comms: record message status", "id", id, "status", u.Status, "body_removed", u.Email != nil, "error", err)
	}
}

// Message returns the recorded message id.
func (s *Service) Message(ctx context.Context, id ID) (Record, error) { return s.store.Get(ctx, id) }

// Messages lists recorded messages, newest first.
func (s *Service) Messages(ctx context.Context, p ListParams) ([]Record, error) {
	return s.store.List(ctx, p)
}

var _ registry.HealthChecker = (*Service)(nil)
