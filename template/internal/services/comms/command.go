package comms

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/config"
)

func commsCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   Name,
		Short: "Send a test email or SMS, list and preview the email templates",
		Long: `Check the app's email and SMS before a user does: send a test message through
the provider COMMS_EMAIL_PROVIDER (or COMMS_SMS_PROVIDER) chooses and see what
became of it, list the email templates, or render one with its sample data.`,
		Example: fmt.Sprintf(`  %[1]s comms send-test --to you@example.com
  %[1]s comms send-test --to you@example.com --template welcome
  %[1]s comms send-test-sms --to +14155550123
  %[1]s comms templates
  %[1]s comms templates password-reset`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(sendTestCmd(env), sendTestSMSCmd(env), templatesCmd(env))
	return cmd
}

func sendTestCmd(env *command.Env) *cobra.Command {
	var to, name string
	cmd := &cobra.Command{
		Use:   "send-test",
		Short: "Send a test email through the configured provider (COMMS_EMAIL_PROVIDER)",
		Long: `Send one email to --to through the provider COMMS_EMAIL_PROVIDER chooses, and
say what became of it. Without --template it is a short message with a text and
an HTML part; with --template it is that template rendered with its sample data.
With the outbox (the default) nothing leaves the machine: the message shows in
the dashboard's Comms panel. It is sent here and now with this process's
settings, even when a worker delivers the app's other messages, and recorded
like them; a failure exits 1 with the provider's reason and what to check.`,
		Example: fmt.Sprintf(`  %[1]s comms send-test --to you@example.com
  %[1]s comms send-test --to you@example.com --template password-reset`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return command.UsageError(cmd, "--to is required: the address to send the test to")
			}
			if err := checkAddress("--to", to); errors.Is(err, ErrInvalidAddress) {
				// net/mail's reason ("missing '@' or angle-addr") is the parser's words.
				return command.UsageError(cmd, "--to %q is not an email address; give one such as you@example.com", to)
			} else if err != nil {
				return command.UsageError(cmd, "%v", err)
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
				m := testMessage(to, svc.Settings().AppName)
				if name != "" {
					data, err := svc.Templates().Sample(name)
					if errors.Is(err, ErrUnknownTemplate) {
						return unknownTemplate(cmd, "--template", err)
					}
					if err != nil {
						return err
					}
					if m, err = svc.templateMessage(name, to, data); err != nil {
						return err
					}
				}
				// Here and now, with this process's provider: queued for a worker (perhaps
				// another process, with other settings), the outcome would say nothing about
				// the provider this command is asked to check.
				id, err := svc.SendNow(ctx, m)
				return reportTest(ctx, env.Stdout, svc, svc.EmailProvider().Name(), id, err)
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "address to send the test email to")
	cmd.Flags().StringVar(&name, "template", "", "send this template with its sample data ('comms templates' lists them)")
	return cmd
}

func sendTestSMSCmd(env *command.Env) *cobra.Command {
	var to, body string
	cmd := &cobra.Command{
		Use:   "send-test-sms",
		Short: "Send a test SMS through the configured provider (COMMS_SMS_PROVIDER)",
		Long: `Send one SMS to --to (E.164: +, country code, number) through the provider
COMMS_SMS_PROVIDER chooses, and say what became of it. With the outbox (the
default) nothing leaves the machine: the message shows in the dashboard's Comms
panel. Like send-test, it is sent here and now with this process's settings and
recorded; a failure exits 1 with the provider's reason and what to check.`,
		Example: fmt.Sprintf(`  %[1]s comms send-test-sms --to +14155550123
  %[1]s comms send-test-sms --to +447700900123 --body "Your code is 123456"`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A number pasted with a space around it is the number: the service trims it too.
			to = strings.TrimSpace(to)
			if to == "" {
				return command.UsageError(cmd, "--to is required: the number to send the test to, such as +14155550123")
			}
			if err := ValidatePhone(to); err != nil {
				return command.UsageError(cmd, "--to: %s", strings.TrimPrefix(err.Error(), "comms: "))
			}
			// A --body the service would refuse is the flag's fault, said before anything is
			// built or recorded, as --to's is.
			if cmd.Flags().Changed("body") {
				if strings.TrimSpace(body) == "" {
					return command.UsageError(cmd, "--body is blank: give the text of the SMS, or leave --body out for a short test message")
				}
				if _, err := prepareSMS(SMS{To: to, Body: body}); err != nil {
					return command.UsageError(cmd, "--body: %s", strings.TrimPrefix(err.Error(), "comms: "))
				}
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
				text := body
				if text == "" {
					text = "Test SMS from " + svc.Settings().AppName + ", sent at " + time.Now().UTC().Format(time.RFC1123) + "."
				}
				id, err := svc.SendSMSNow(ctx, to, text)
				return reportTest(ctx, env.Stdout, svc, svc.SMSProvider().Name(), id, err)
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "number to send the test SMS to, in E.164 form (+14155550123)")
	cmd.Flags().StringVar(&body, "body", "", "text of the SMS (default: a short test message)")
	return cmd
}

// reportTest prints what became of the test message id that provider was given (SendNow's
// or SendSMSNow's id and err), or returns its failure as one line.
func reportTest(ctx context.Context, w io.Writer, svc *Service, provider string, id ID, err error) error {
	if err != nil {
		if id == "" {
			return err
		}
		return sendTestFailure(id, provider, err, svc.Settings().TwilioAPIKeySID != "")
	}
	r, err := svc.Message(ctx, id)
	if err != nil {
		return fmt.Errorf("comms: message %s was sent, but reading its record failed: %w", id, err)
	}
	printOutcome(w, r)
	return nil
}

func testMessage(to, app string) Message {
	when := time.Now().UTC().Format(time.RFC1123)
	return Message{
		To:      []string{to},
		Subject: "Test email from " + app,
		Text:    "This is a test email from " + app + ", sent at " + when + ".\n\nIf you read this, email works.\n",
		HTML:    "<p>This is a test email from <strong>" + html.EscapeString(app) + "</strong>, sent at " + when + ".</p><p>If you read this, email works.</p>",
	}
}

// sendTestFailure is a failed test send as one line: what failed, the provider's reason and
// which settings to check.
func sendTestFailure(id ID, provider string, err error, twilioAPIKey bool) error {
	return &sendTestError{id: id, provider: provider, err: err, twilioAPIKey: twilioAPIKey}
}

type sendTestError struct {
	id       ID
	provider string
	err      error
	// twilioAPIKey: Twilio authenticates with an API key, not the auth token.
	twilioAPIKey bool
}

func (e *sendTestError) Error() string {
	// The reason's own "comms: " would repeat the line's.
	return fmt.Sprintf("comms: message %s not sent with %s: %s; %s", e.id, e.provider,
		strings.TrimPrefix(e.err.Error(), "comms: "), credentialsFix(e.provider, e.err, e.twilioAPIKey))
}

func (e *sendTestError) Unwrap() error { return e.err }

// credentialsFix says what to check after a delivery failed with err, naming, for Twilio, the
// credentials in use: an API key (twilioAPIKey) or the auth token. Naming the unused one would
// send the user to a setting that is empty on purpose.
func credentialsFix(provider string, err error, twilioAPIKey bool) string {
	switch {
	case errors.Is(err, ErrSMTPUnreachable):
		return "check COMMS_SMTP_HOST and COMMS_SMTP_PORT, and that the server is running"
	case errors.Is(err, ErrSMTPTLSRequired):
		return "use a server that offers STARTTLS, or set COMMS_SMTP_TLS_POLICY=opportunistic"
	case errors.Is(err, ErrSMTPTLS):
		return "check COMMS_SMTP_HOST against the server's certificate, COMMS_SMTP_IMPLICIT_TLS and COMMS_SMTP_PORT"
	case errors.Is(err, ErrSMTPAuth):
		return "check COMMS_SMTP_USERNAME, COMMS_SMTP_PASSWORD and COMMS_SMTP_AUTH"
	case errors.Is(err, ErrSMTPRejected):
		return "check COMMS_FROM (a sender the server accepts) and --to"
	}
	if errors.Is(err, ErrUnreadableAnswer) {
		return "look in the provider's dashboard whether it arrived before sending it again"
	}
	key, baseURL := "", ""
	switch provider {
	case ProviderResend:
		key, baseURL = "COMMS_RESEND_API_KEY", "COMMS_RESEND_BASE_URL"
	case ProviderPostmark:
		key, baseURL = "COMMS_POSTMARK_SERVER_TOKEN", "COMMS_POSTMARK_BASE_URL"
	case ProviderTwilio:
		key, baseURL = "COMMS_TWILIO_ACCOUNT_SID and COMMS_TWILIO_AUTH_TOKEN", "COMMS_TWILIO_BASE_URL"
		if twilioAPIKey {
			// The key must belong to the account in the URL, else Twilio answers 401 too.
			key = "COMMS_TWILIO_API_KEY_SID, COMMS_TWILIO_API_KEY_SECRET and COMMS_TWILIO_ACCOUNT_SID (the account the key belongs to)"
		}
	}
	pe, ok := errors.AsType[*ProviderError](err)
	switch {
	case !ok && baseURL != "":
		// No answer: the network, the address or a server too slow.
		return "check " + baseURL + " and the network; a server that answers slowly needs a longer COMMS_HTTP_TIMEOUT"
	case !ok:
	case pe.Temporary():
		// A rate limit or the provider's own failure: no setting of this app fixes it.
		return "the provider is busy or failing, not refusing the message: try again later"
	case pe.StatusCode == 403 && pe.Code == "validation_error":
		// Resend's 403 for a sender whose domain is not verified (its bad key is invalid_api_key).
		return "check COMMS_FROM: its domain must be verified with " + provider
	case (pe.StatusCode == 401 || pe.StatusCode == 403) && key != "":
		return "check " + key
	case pe.StatusCode == 404 && baseURL != "":
		// No such endpoint or account: the base URL has a path of its own, or (Twilio's
		// 20404) the account SID in the URL is not one of these credentials'.
		if provider == ProviderTwilio {
			return "check COMMS_TWILIO_ACCOUNT_SID and " + baseURL + " (the API's root, such as " + DefaultTwilioBaseURL + ")"
		}
		return "check " + baseURL + ": the API's root, without a path"
	case provider == ProviderTwilio:
		return twilioFix(pe.Code)
	case provider == ProviderPostmark && (pe.Code == "400" || pe.Code == "401"):
		// Sender signature not found, or not confirmed.
		return "check COMMS_FROM: a sender signature or domain confirmed in Postmark"
	case provider == ProviderPostmark && (pe.Code == "300" || pe.Code == "406"):
		// An invalid request (most often an address), an inactive (bounced) recipient.
		return "check --to, and COMMS_FROM"
	case pe.StatusCode >= 400 && pe.StatusCode < 500 || pe.StatusCode == 200:
		// Postmark's 422 and 200 with an ErrorCode, Resend's 422: the message was refused.
		return provider + " refused the message for the reason above; most often COMMS_FROM (a sender it has verified) or --to is the cause"
	}
	return "check the COMMS_ settings for COMMS_EMAIL_PROVIDER=" + provider
}

// twilioFix says what to check after Twilio refused a message with its error code.
func twilioFix(code string) string {
	switch code {
	case "21211", "21614", "21612":
		// Not a valid number; not a mobile number; not reachable from this sender.
		return "check --to: a mobile number Twilio can reach, in E.164 form"
	case "21608":
		return "a trial account sends only to numbers verified in the Twilio console: verify --to there, or upgrade the account"
	case "21610":
		return "the recipient replied STOP to this sender: Twilio sends nothing more until they reply START"
	case "21606", "21659", "21212":
		return "check COMMS_TWILIO_FROM: an SMS-capable number of this Twilio account (or set COMMS_TWILIO_MESSAGING_SERVICE_SID)"
	}
	return "twilio refused the message for the reason above; most often COMMS_TWILIO_FROM or --to is the cause"
}

func printOutcome(w io.Writer, r Record) {
	switch r.Status {
	case StatusSent:
		if r.Provider == ProviderOutbox {
			// The setting to change is the channel's own: an SMS kept says COMMS_SMS_PROVIDER.
			setting := "COMMS_EMAIL_PROVIDER"
			if r.Channel == ChannelSMS {
				setting = "COMMS_SMS_PROVIDER"
			}
			fmt.Fprintf(w, "message %s kept in the outbox (%s=outbox): see the dashboard's Comms panel\n", r.ID, setting)
			return
		}
		if r.ProviderID == "" {
			// SMTP servers and some API answers give no ID of their own.
			fmt.Fprintf(w, "message %s sent with %s\n", r.ID, r.Provider)
			return
		}
		fmt.Fprintf(w, "message %s sent with %s (id %s)\n", r.ID, r.Provider, r.ProviderID)
	default:
		fmt.Fprintf(w, "message %s %s with %s: %s\n", r.ID, r.Status, r.Provider, r.Error)
	}
}

func templatesCmd(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "templates [NAME]",
		Short: "List the email templates, or render one with its sample data",
		Long: `Without NAME, list the email templates (built in, and from COMMS_TEMPLATES_DIR)
with the subject each renders with its sample data. With NAME, print that
template's subject, text and HTML rendered with its sample data (NAME.json).`,
		Example: fmt.Sprintf(`  %[1]s comms templates
  %[1]s comms templates welcome
  COMMS_TEMPLATES_DIR=./emails %[1]s comms templates password-reset`, env.Name),
		// cobra.MaximumNArgs would say "accepts at most 1 arg(s), received 2", naming neither
		// the command nor the argument.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return command.UsageError(cmd, "comms templates takes at most one NAME, got %d arguments; 'comms templates' lists the names", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := config.Load[Settings]()
			if err != nil {
				return err
			}
			s = s.WithDefaults()
			t, err := LoadTemplates(s.TemplatesDir, s.AppName)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				err := printTemplate(env.Stdout, t, args[0])
				if errors.Is(err, ErrUnknownTemplate) {
					return unknownTemplate(cmd, "NAME", err)
				}
				return err
			}
			return listTemplates(env.Stdout, t)
		},
	}
}

func listTemplates(w io.Writer, t *Templates) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPARTS\tSUBJECT (sample data)")
	var errs []error
	for _, name := range t.Names() {
		data, err := t.Sample(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := t.Render(name, data)
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(tw, "%s\t\t(does not render: see below)\n", name)
			continue
		}
		parts := "text"
		if r.HTML != "" {
			parts = "text+html"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, parts, r.Subject)
	}
	_ = tw.Flush()
	return errors.Join(errs...)
}

func printTemplate(w io.Writer, t *Templates, name string) error {
	data, err := t.Sample(name)
	if err != nil {
		return err
	}
	r, err := t.Render(name, data)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Subject: %s\n", r.Subject)
	if r.Sensitive != "" {
		fmt.Fprintf(w, "Sensitive: %s (the body leaves the message store once a provider has delivered it)\n", r.Sensitive)
	}
	fmt.Fprintf(w, "\n--- text ---\n%s", r.Text)
	if r.HTML != "" {
		fmt.Fprintf(w, "\n--- html ---\n%s", r.HTML)
	}
	return nil
}

// unknownTemplate is the usage error (exit 2) for a template name, given as what (a flag or
// an argument), that no template has: err, ErrUnknownTemplate's, lists the names.
func unknownTemplate(cmd *cobra.Command, what string, err error) error {
	return command.UsageError(cmd, "%s: %s", what, strings.TrimPrefix(err.Error(), "comms: "))
}
