package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Env is what a command contributed by a component or service sees of the app.
type Env struct {
	// Name is the binary's name, for help text and messages.
	Name   string
	Stdout io.Writer
	Stderr io.Writer
	// Registry holds every registered service; Start builds and starts it.
	Registry *registry.Registry
}

// Start loads the core settings, sets up logging and starts every registered service, as serve
// does. The caller must Stop the container. Commands that need no service should not call it.
func (e *Env) Start(ctx context.Context) (*registry.Container, *slog.Logger, error) {
	c, logger, err := e.Build()
	if err != nil {
		return nil, nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, nil, err
	}
	return c, logger, nil
}

// Build is Start without starting: the container is validated, nothing runs yet.
func (e *Env) Build() (*registry.Container, *slog.Logger, error) {
	core, err := config.Load[config.Core]()
	if err != nil {
		return nil, nil, err
	}
	logger := newLogger(core, e.Stderr)
	slog.SetDefault(logger)
	if err := config.Err(); err != nil {
		return nil, nil, err
	}
	c, err := e.Registry.BuildWith(&registry.ContainerOpts{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return c, logger, nil
}

// UsageError reports a command-line mistake in a contributed command: exit status 2 and a
// pointer to the command's help.
func UsageError(cmd *cobra.Command, format string, args ...any) error {
	return usageErr(cmd, format, args...)
}

var (
	commandsMu sync.Mutex
	commands   []func(*Env) *cobra.Command
)

// AddCommand contributes a subcommand to the binary; components and services call it from
// init() (the database adds `migrate`, auth adds `users`). build runs once per invocation.
func AddCommand(build func(*Env) *cobra.Command) {
	commandsMu.Lock()
	defer commandsMu.Unlock()
	commands = append(commands, build)
}

func (a *cli) contributed() []*cobra.Command {
	commandsMu.Lock()
	builders := append([]func(*Env) *cobra.Command(nil), commands...)
	commandsMu.Unlock()
	env := &Env{Name: a.name, Stdout: a.stdout, Stderr: a.stderr, Registry: a.reg}
	var out []*cobra.Command
	for _, build := range builders {
		if cmd := build(env); cmd != nil {
			out = append(out, cmd)
		}
	}
	return out
}

// WithService starts the app's services as Start does, runs fn with the service of type T and
// stops them again, joining any stop error to fn's. It is the body of most contributed
// commands: `jobs retry`, `schedule run`, `users list`.
func WithService[T any](ctx context.Context, env *Env, fn func(context.Context, T) error) (err error) {
	c, _, err := env.Start(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Stop(context.WithoutCancel(ctx))) }()
	svc, err := registry.Get[T](c)
	if err != nil {
		return err
	}
	return fn(ctx, svc)
}
