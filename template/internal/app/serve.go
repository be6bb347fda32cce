package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

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
	env := &Env{Name: a.name, Stdout: a.stdout, Stderr: a.stderr, Registry: a.reg}
	SetRole(RoleServe)
	c, logger, err := env.Build()
	if err != nil {
		return err
	}
	core, err := config.Load[config.Core]()
	if err != nil {
		return err
	}
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// Once shutdown has begun, stop catching signals: a second Ctrl+C then
	// kills the process the default way, for when a drain takes too long.
	context.AfterFunc(ctx, stopSignals)

	if err := c.Start(ctx); err != nil {
		// Start has already stopped whatever it had started.
		return err
	}
	// From here on the container is started and must be stopped whatever
	// happens; the HTTP server drains first so no request sees a stopped
	// service.
	err = a.serveHTTP(ctx, c, core, logger)
	logger.Info("stopping services")
	if stopErr := c.Stop(context.WithoutCancel(ctx)); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("stop: %w", stopErr))
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

func (a *cli) serveHTTP(ctx context.Context, c *registry.Container, core config.Core, logger *slog.Logger) error {
	srv, err := registry.Get[*backend.Server](c)
	if err != nil {
		return err
	}
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: a.name, Version: version, Revision: revision(), Logger: logger, Routes: a.routes})
	if err != nil {
		return err
	}
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	url := listenURL(srv.Settings(), ln.Addr().String())
	fmt.Fprintf(a.stdout, "%s is listening on %s (API docs at %s%s); press Ctrl+C to stop\n", a.name, url, url, backend.DocsPath)
	logger.Info("listening", "url", url, "env", core.Env)
	return srv.Serve(ctx, ln, h)
}
