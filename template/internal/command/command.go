// Package command is what components and services need to add subcommands to the app's
// binary and to run a role (serve, worker, scheduler): Env, Role, Builder, WithService,
// UsageError (with ExactArgs, NoArgs and IntRange, the usual checks) and Run. The app's root command (internal/app) imports it; components import it
// instead of the app, so the plug-in API does not depend on the binary that uses it.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/startpages"
)

// Role is what a process is for. The container provides it to constructors (a dependency
// of type Role), so components that can run work in-process decide when they are built.
type Role string

const (
	// RoleNone is the role of commands that only inspect or manage the app (migrate, health,
	// jobs list...): they run no background work.
	RoleNone Role = ""
	// RoleServe is the role of the serve command.
	RoleServe Role = "serve"
)

// Builder makes a subcommand; components contribute one per command from init():
//
//	func init() { registry.Contribute(registry.Default, "migrate", command.Builder(migrateCmd)) }
//
// The contribution's name must be the command's name. It runs once per invocation.
type Builder func(*Env) *cobra.Command

// Env is what a command contributed by a component or service sees of the app.
type Env struct {
	// Name is the binary's name, for help text and messages.
	Name   string
	Stdout io.Writer
	Stderr io.Writer
	// Registry holds every registered service; Build and Start build it into a container.
	Registry *registry.Registry
	// NewLogger makes the process's logger from the core settings; nil means a plain text or
	// JSON handler on Stderr.
	NewLogger func(core config.Core, w io.Writer) *slog.Logger
}

// Build loads the core settings (once: the container provides them as config.Core), sets up
// logging and validates the container for role, which the container provides as a Role.
// Nothing runs yet.
func (e *Env) Build(role Role) (*registry.Container, *slog.Logger, error) {
	core, err := config.Load[config.Core]()
	if err != nil {
		return nil, nil, err
	}
	logger := e.logger(core)
	slog.SetDefault(logger)
	r := e.Registry.Clone()
	// Hidden: they are how the process runs, not services an operator looks at.
	if err := errors.Join(registry.Value(r, role, registry.Hidden()), registry.Value(r, core, registry.Hidden())); err != nil {
		return nil, nil, err
	}
	c, err := r.BuildWith(&registry.ContainerOpts{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return c, logger, nil
}

// build is Build for a container about to start: every declared setting is checked first, so
// every bad one is reported at once, before any service is constructed. Build alone does not
// check them: commands that only list or describe (the settings, the service graph) must work
// while a setting is wrong.
func (e *Env) build(role Role) (*registry.Container, *slog.Logger, error) {
	c, logger, err := e.Build(role)
	if err != nil {
		return nil, nil, err
	}
	if err := config.Check(e.Registry); err != nil {
		return nil, nil, err
	}
	return c, logger, nil
}

func (e *Env) logger(core config.Core) *slog.Logger {
	if e.NewLogger != nil {
		return e.NewLogger(core, e.Stderr)
	}
	opts := &slog.HandlerOptions{Level: core.Level()}
	if core.Format() == config.FormatJSON {
		return slog.New(slog.NewJSONHandler(e.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.Stderr, opts))
}

// Start is Build, then starts every service. The caller must Stop the container. Commands
// that need no service should not call it.
func (e *Env) Start(ctx context.Context, role Role) (*registry.Container, *slog.Logger, error) {
	c, logger, err := e.build(role)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, nil, err
	}
	return c, logger, nil
}

// Run is the body of every long-running command (serve, worker, scheduler): it builds the
// container for role, starts it, and calls run with a context that ends on SIGINT or SIGTERM.
// run returns when that context ends (or on its own failure); then the services stop in
// reverse order. After the first signal a second one kills the process the default way, for
// when a drain takes too long. Start failures need no Stop: Start rolled back already.
func (e *Env) Run(ctx context.Context, role Role, run func(ctx context.Context, c *registry.Container, logger *slog.Logger) error) error {
	c, logger, err := e.build(role)
	if err != nil {
		return err
	}
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	context.AfterFunc(ctx, stopSignals)

	if err := c.Start(ctx); err != nil {
		return err
	}
	if role != RoleServe {
		// serve builds its handler first: it calls ReleaseStartPages once it listens.
		ReleaseStartPages(ctx, c, logger)
	}
	err = run(ctx, c, logger)
	logger.Info("stopping services", "role", string(role))
	if stopErr := c.Stop(context.WithoutCancel(ctx)); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("stop: %w", stopErr))
	}
	if err == nil {
		logger.Info("stopped", "role", string(role))
	}
	return err
}

// ReleaseStartPages unmaps what only the start used of the executable (package startpages),
// unless APP_RELEASE_START_PAGES=false: once at once, and once more after
// StartPagesSettle, when the work that starts in the background (the worker's leader election
// and maintenance, the scheduler's first ticks, the first probes) has run its first round. A
// long-running role calls it once its start is over: Run does for worker and scheduler, serve
// once it listens. It returns at once; ctx ending cancels the second round.
func ReleaseStartPages(ctx context.Context, c *registry.Container, logger *slog.Logger) {
	core, err := registry.Get[config.Core](c)
	if err != nil {
		return
	}
	releaseStartPages(ctx, core, logger, StartPagesSettle)
}

// releaseStartPages is ReleaseStartPages' work; the channel closes when it is done (nil when
// the setting turns it off).
func releaseStartPages(ctx context.Context, core config.Core, logger *slog.Logger, settle time.Duration) <-chan struct{} {
	if !core.ReleaseStartPages {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		release := func() bool {
			r, err := startpages.Release()
			switch {
			case errors.Is(err, startpages.ErrUnsupported):
				return false
			case err != nil:
				logger.Debug("start-up pages kept mapped", "error", err)
				return false
			}
			logger.Debug("start-up pages unmapped", "mappings", r.Mappings, "rss_file_before", r.Before, "rss_file_after", r.After)
			return true
		}
		if !release() {
			return
		}
		t := time.NewTimer(settle)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			release()
		}
	}()
	return done
}

// StartPagesSettle is how long after its start ReleaseStartPages releases a second time.
const StartPagesSettle = 5 * time.Second

// WithService starts the app's services as Start does (with RoleNone), runs fn with the
// service of type T and stops them again, joining any stop error to fn's. It is the body of
// most contributed commands: `jobs retry`, `schedule run`, `users list`.
func WithService[T any](ctx context.Context, env *Env, fn func(context.Context, T) error) (err error) {
	c, _, err := env.Start(ctx, RoleNone)
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

// Usage is a mistake on the command line: the binary exits 2 and points to the help of the
// command involved.
type Usage struct {
	Err  error
	Path string // command path, e.g. "<name> services graph"
}

func (e *Usage) Error() string {
	return fmt.Sprintf("%v (see '%s --help')", e.Err, e.Path)
}

func (e *Usage) Unwrap() error { return e.Err }

// UsageError reports a command-line mistake in cmd: exit status 2 and a pointer to its help.
func UsageError(cmd *cobra.Command, format string, args ...any) error {
	return &Usage{Err: fmt.Errorf(format, args...), Path: cmd.CommandPath()}
}

// FlagError is the flag error function of the binary's root command (and commandtest's): a
// usage error pointing to the help of cmd. A value the flag's type cannot parse reads as what
// the flag takes, "--page \"abc\" is not a whole number", rather than pflag's
// "strconv.ParseInt: parsing \"abc\": invalid syntax", which names Go functions.
func FlagError(cmd *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		if want := flagTakes(bad.GetFlag().Value.Type(), bad.Unwrap()); want != "" {
			err = fmt.Errorf("--%s %q %s", bad.GetFlag().Name, bad.GetValue(), want)
		}
	}
	return &Usage{Err: err, Path: cmd.CommandPath()}
}

// flagTakes says what a flag of pflag type typ takes, given why parsing failed; "" keeps
// pflag's own message (a type whose error is already meant for people).
func flagTakes(typ string, cause error) string {
	if errors.Is(cause, strconv.ErrRange) {
		return "is out of range"
	}
	switch typ {
	case "int", "int8", "int16", "int32", "int64", "intSlice", "int32Slice", "int64Slice":
		return "is not a whole number"
	case "uint", "uint8", "uint16", "uint32", "uint64", "uintSlice":
		return "is not a whole number, 0 or more"
	case "float32", "float64", "float32Slice", "float64Slice":
		return "is not a number"
	case "duration", "durationSlice":
		return "is not a duration such as 90s, 15m or 24h"
	case "bool", "boolSlice":
		return "is not true or false"
	}
	return ""
}

// IntRange is nil when the value v of the integer flag named flag ("--page") is from lo to hi,
// and otherwise a usage error naming the flag and the values it takes; hi math.MaxInt means no
// upper bound ("--page must be 1 or more"). Commands check their numeric flags with it rather
// than letting the service clamp 0 or a negative number to something else: a command that was
// asked for page 0 and shows page 1 answers a question nobody asked, without saying so.
func IntRange(cmd *cobra.Command, flag string, v, lo, hi int) error {
	if v >= lo && v <= hi {
		return nil
	}
	if hi == math.MaxInt {
		return UsageError(cmd, "%s must be %d or more (got %d)", flag, lo, v)
	}
	return UsageError(cmd, "%s must be from %d to %d (got %d)", flag, lo, hi, v)
}

// Group is the RunE of a command that only holds subcommands (with Args: cobra.ArbitraryArgs):
// its help without arguments, a usage error naming an unknown subcommand otherwise, with the
// subcommand a typo most likely meant ("migrate stauts": did you mean "status"?).
func Group(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd, args[0])
}

// unknownCommand is the usage error for arg given to cmd, a command with subcommands, where a
// subcommand was wanted: "unknown command", with the subcommand a typo most likely meant.
func unknownCommand(cmd *cobra.Command, arg string) error {
	msg := fmt.Sprintf("unknown command %q for %q", arg, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		// cobra sets its default of 2 only on the way to its own "unknown command" error,
		// which a command with RunE never reaches; at 0 only prefixes would be suggested.
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(arg); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return UsageError(cmd, "%s", msg)
}

// NoArgs is the Args of a command that takes no arguments, and what UsageArgs gives every
// command without subcommands that sets none. Its usage error says so and shows what was
// given, `users list takes no arguments, got "extra"`: cobra's NoArgs calls a stray argument
// an unknown command, which sends the reader looking for a subcommand that was never meant.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	return UsageError(cmd, "%s takes no arguments, got %s", pathBelowRoot(cmd), strings.Join(quoted, " "))
}

// pathBelowRoot is cmd's path without the binary's name ("users list"), which the binary
// already prints before every error; the root's own name for the root.
func pathBelowRoot(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// UsageArgs makes the argument check of cmd and of every command under it return a Usage
// error, so bad arguments exit 2 like bad flags do. A command without a check takes no
// arguments: one that takes some must say so with Args (ExactArgs("ID"), cobra.RangeArgs...),
// or its own arguments are refused, by NoArgs (a leaf: "takes no arguments") or as an unknown
// subcommand (a command with subcommands). A check that already returns a Usage error
// (ExactArgs does) is kept as it is. The binary and commandtest both apply it, so command
// tests see what the binary does.
func UsageArgs(cmd *cobra.Command) {
	check := cmd.Args
	switch {
	case check != nil && !cmd.HasSubCommands() && sameFunc(check, cobra.NoArgs):
		// cobra's NoArgs, set by a command to say it takes none, would call the argument an
		// unknown command.
		check = NoArgs
	case check != nil:
	case cmd.HasSubCommands():
		check = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(c, args[0])
			}
			return nil
		}
	default:
		check = NoArgs
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			var u *Usage
			if errors.As(err, &u) {
				return err
			}
			return &Usage{Err: err, Path: c.CommandPath()}
		}
		return nil
	}
	for _, sub := range cmd.Commands() {
		UsageArgs(sub)
	}
}

// sameFunc says whether a and b are the same top-level function.
func sameFunc(a, b cobra.PositionalArgs) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

// ExactArgs is the Args of a command that takes exactly the arguments names, as its Use line
// spells them ("set-role EMAIL ROLE": ExactArgs("EMAIL", "ROLE")). It is cobra.ExactArgs with
// a usage error that says which arguments the command takes: cobra's "accepts 2 arg(s),
// received 1" leaves the reader to count, and does not say which one is missing. An empty
// argument is refused as missing. The command is named by its path below the root ("users
// activate needs EMAIL"), as NoArgs names it: a bare "activate" or "create" leaves the reader
// to guess which part's command it was.
func ExactArgs(names ...string) cobra.PositionalArgs {
	want := strings.Join(names, " and ")
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return UsageError(cmd, "%s needs %s", pathBelowRoot(cmd), want)
		case len(args) > len(names) && len(names) == 0:
			return NoArgs(cmd, args)
		case len(args) > len(names):
			return UsageError(cmd, "%s takes only %s; got %d arguments", pathBelowRoot(cmd), want, len(args))
		}
		// An empty argument ("$EMAIL" unset in a script) names nothing: said here, it is not
		// looked up as " is not an email address" or reported as a missing record.
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return UsageError(cmd, "%s needs %s; %s is empty", pathBelowRoot(cmd), want, names[i])
			}
		}
		return nil
	}
}

// Assemble builds the commands contributed to env.Registry, in registration order. A builder
// that returns nil adds nothing. Two contributions with one name, or a command whose name
// differs from its contribution's, is an error naming both file:lines.
func Assemble(env *Env) ([]*cobra.Command, error) {
	contribs := registry.Contributions[Builder](env.Registry)
	seen := make(map[string]string, len(contribs))
	var (
		out  []*cobra.Command
		errs []error
	)
	for _, c := range contribs {
		if prev, dup := seen[c.Name]; dup {
			errs = append(errs, fmt.Errorf("command %q contributed twice: at %s and at %s", c.Name, prev, c.Registered))
			continue
		}
		seen[c.Name] = c.Registered
		if c.Value == nil {
			errs = append(errs, fmt.Errorf("command %q (contributed at %s): nil builder", c.Name, c.Registered))
			continue
		}
		cmd := c.Value(env)
		if cmd == nil {
			continue
		}
		if cmd.Name() != c.Name {
			errs = append(errs, fmt.Errorf("command %q (contributed at %s) builds a command named %q", c.Name, c.Registered, cmd.Name()))
			continue
		}
		out = append(out, cmd)
	}
	return out, errors.Join(errs...)
}
