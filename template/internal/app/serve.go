package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func (a *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server until interrupted",
		Long: `Run the HTTP server until interrupted.

serve reads the configuration, starts every component and service in
dependency order, and answers HTTP on HOST:PORT (127.0.0.1:8000 by default).
On SIGINT (Ctrl+C) or SIGTERM it stops accepting connections, lets running
requests finish (HTTP_SHUTDOWN_TIMEOUT), then stops the services in reverse
order. A second Ctrl+C exits at once.

It exits 1 with a one-line message when the configuration is invalid or a
service fails to start.`,
		Example: fmt.Sprintf(`  %[1]s serve

  # Listen on every interface, port 8080, with JSON logs
  HOST=0.0.0.0 PORT=8080 LOG_FORMAT=json %[1]s serve

  # Debug logs, including health probes
  LOG_LEVEL=debug %[1]s serve`, a.name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context())
		},
	}
}

func (a *cli) serve(ctx context.Context) error {
	// The HTTP server drains before the services stop, so no request sees a stopped service.
	return a.env().Run(ctx, command.RoleServe, a.serveHTTP)
}

func (a *cli) serveHTTP(ctx context.Context, c *registry.Container, logger *slog.Logger) error {
	srv, err := registry.Get[*backend.Server](c)
	if err != nil {
		return err
	}
	core, err := registry.Get[config.Core](c)
	if err != nil {
		return err
	}
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: a.name, Version: version, Revision: revision(), Logger: logger})
	if err != nil {
		return err
	}
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	command.ReleaseStartPages(ctx, c, logger)
	url := listenURL(srv.Settings(), ln.Addr().String())
	if core.Format() == config.FormatText {
		// For the person at the terminal. With JSON logs (production's default, or
		// LOG_FORMAT=json) the log line below says it: collectors merge stdout with stderr,
		// so a plain line would be a record that does not parse.
		fmt.Fprintf(a.stdout, "%s is listening on %s (API docs at %s%s); press Ctrl+C to stop\n", a.name, url, url, backend.DocsPath)
	}
	logger.Info("listening", "url", url, "env", core.Env)
	return srv.Serve(ctx, ln, h)
}
