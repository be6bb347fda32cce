package comms

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/command"
)

func commsCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   Name,
		Short: "Send a test email, list and preview the email templates",
		Example: fmt.Sprintf(`  %[1]s comms send-test --to you@example.com
  %[1]s comms send-test --to you@example.com --template welcome
  %[1]s comms templates
  %[1]s comms templates password-reset`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(sendTestCmd(env), templatesCmd(env))
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
the dashboard's Comms panel.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return command.UsageError(cmd, "--to is required: the address to send the test to")
			}
			if err := checkAddress("--to", to); err != nil {
				return command.UsageError(cmd, "%v", err)
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
				var id ID
				var err error
				if name != "" {
					data, serr := svc.Templates().Sample(name)
					if serr != nil {
						return serr
					}
					id, err = svc.SendTemplate(ctx, name, to, data)
				} else {
					id, err = svc.Send(ctx, testMessage(to, svc.Settings().AppName))
				}
				if id == "" {
					return err
				}
				r, gerr := svc.Message(ctx, id)
				if gerr != nil {
					return errors.Join(err, gerr)
				}
				printOutcome(env.Stdout, r)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "address to send the test email to")
	cmd.Flags().StringVar(&name, "template", "", "send this template with its sample data ('comms templates' lists them)")
	return cmd
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

func printOutcome(w io.Writer, r Record) {
	switch r.Status {
	case StatusSent:
		if r.Provider == ProviderOutbox {
			fmt.Fprintf(w, "message %s kept in the outbox (COMMS_EMAIL_PROVIDER=outbox): see the dashboard's Comms panel\n", r.ID)
			return
		}
		fmt.Fprintf(w, "message %s sent with %s (id %s)\n", r.ID, r.Provider, r.ProviderID)
	case StatusQueued:
		fmt.Fprintf(w, "message %s queued for delivery\n", r.ID)
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
		Args: cobra.MaximumNArgs(1),
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
				return printTemplate(env.Stdout, t, args[0])
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
