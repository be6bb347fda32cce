// Package cli is the aegis command line: init, add, remove, update, services, components, version.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
	"github.com/aegisgo/aegis/internal/prompt"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// Env is what a command run sees of the outside world; tests supply their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Prompter overrides the prompter chosen from Stdin (tests).
	Prompter prompt.Prompter
	// Catalog overrides catalog.Default (tests).
	Catalog *catalog.Catalog
	// Source overrides the reference app compiled into aegis (tests: a part that lives only in
	// test data is overlaid onto it, with its entry in Catalog).
	Source fs.FS
	// Modules overrides the module data compiled into aegis (tests).
	Modules *generate.ModuleData
}

func (e *Env) catalog() catalog.Catalog {
	if e.Catalog != nil {
		return *e.Catalog
	}
	return catalog.Default
}

// prompter is the one questions are asked with: Prompter, else a terminal form or line
// prompts on Stdin.
func (e *Env) prompter() prompt.Prompter {
	if e.Prompter != nil {
		return e.Prompter
	}
	return prompt.New(e.Stdin, e.Stdout)
}

// canAsk tells whether a question can be put to a person: a command that can do without one
// (add with no names) asks only then, so a script that forgot the names gets the usage error.
func (e *Env) canAsk() bool {
	return e.Prompter != nil || prompt.IsTerminal(e.Stdin)
}

// projectOpts is how every command renders projects: the catalog, reference app and module
// data of env, so init, add, remove and update all see the same generator.
func (e *Env) projectOpts() project.Opts {
	return project.Opts{Catalog: e.catalog(), Source: e.Source, Modules: e.Modules}
}

// usageError marks a mistake in how the command was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// noArgs refuses the arguments of a command that takes none by saying so: cobra.NoArgs calls the
// first one an unknown command, which sends the user looking for subcommands there are none of.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return usagef("'%s' takes no arguments, and got %q", cmd.CommandPath(), args[0])
}

// Main runs aegis with args (without the program name) and returns the exit status.
func Main(args []string, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, env)
}

// Run is Main with a caller-supplied context.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Stdin == nil {
		env.Stdin = os.Stdin
	}
	if env.Stdout == nil {
		env.Stdout = os.Stdout
	}
	if env.Stderr == nil {
		env.Stderr = os.Stderr
	}
	var verbose bool
	root := newRoot(&env, &verbose)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	help := "aegis --help"
	if cmd != nil && cmd != root && cmd.Name() != "help" {
		help = cmd.CommandPath() + " --help"
	}
	return report(env.Stderr, err, verbose, help)
}

// explained is an error whose message says in its own words what its cause is and how to fix
// it, keeping the cause for errors.Is and -v: the cause's text would only repeat the message
// ("open X: permission denied" after "cannot read X (permission denied)").
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }

// closedInput says which questions stdin ended before and how to run without them.
type closedInput struct{ msg string }

func (e closedInput) Error() string        { return e.msg }
func (e closedInput) Is(target error) bool { return target == prompt.ErrEndOfInput }

// onClosedInput turns prompt.ErrEndOfInput into a message naming what was left unanswered
// ("init's questions were") and what to do instead; other errors pass unchanged.
func onClosedInput(err error, unanswered, hint string) error {
	if errors.Is(err, prompt.ErrEndOfInput) {
		return closedInput{fmt.Sprintf("stdin closed before %s answered: %s", unanswered, hint)}
	}
	return err
}

// report prints err and returns the exit status; help is the help of the command that failed,
// which a usage error points at.
func report(w io.Writer, err error, verbose bool, help string) int {
	var usage usageError
	var unknown *catalog.UnknownError
	switch {
	case errors.Is(err, prompt.ErrEndOfInput):
		// Nobody is there to answer: a mistake in how aegis was run, not an interrupt.
		fmt.Fprintf(w, "aegis: %v\n", err)
		return ExitUsage
	case errors.Is(err, prompt.ErrAborted) || errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "aegis: interrupted; nothing was written")
		return ExitInterrupted
	case errors.As(err, &unknown) || errors.Is(err, project.ErrUnknown):
		// A name that is no part (or a part given to the other kind's flag) is a usage error,
		// as an unknown command is; the message lists the valid names, so it needs no help.
		fmt.Fprintf(w, "aegis: %v\n", err)
		return ExitUsage
	case errors.As(err, &usage) || isCobraUsage(err):
		fmt.Fprintf(w, "aegis: %s (see '%s')\n", oneLine(err.Error()), help)
		return ExitUsage
	}
	fmt.Fprintf(w, "aegis: %v\n", err)
	if verbose {
		// A cause wrapped with %w is already in its wrapper's message: print only the causes
		// whose text adds something to what was printed (a custom message hides its cause).
		said := err.Error()
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			if msg := e.Error(); !strings.Contains(said, msg) {
				fmt.Fprintf(w, "  caused by: %v\n", msg)
				said += "\n" + msg
			}
		}
	}
	return ExitError
}

// oneLine folds cobra's suggestion block ("\n\nDid you mean this?\n\tinit\n") into the line of
// its error, as every aegis error is one line: unknown command "inti"; did you mean 'init'?
func oneLine(msg string) string {
	head, names, ok := strings.Cut(msg, "\n\nDid you mean this?\n")
	if !ok {
		return msg
	}
	quoted := strings.Fields(names)
	for i, n := range quoted {
		quoted[i] = "'" + n + "'"
	}
	return strings.TrimSpace(head) + "; did you mean " + strings.Join(quoted, " or ") + "?"
}

// isCobraUsage recognises the errors cobra returns for bad commands and arguments.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(env *Env, verbose *bool) *cobra.Command {
	root := &cobra.Command{
		Use:   "aegis",
		Short: "Scaffold production-ready Go web applications from components and services",
		Long: `aegis generates Go web applications that build, pass their own tests and run at once.

` + kinds(env.catalog()) + ` Pick what you need with 'aegis init'
and grow the project later.`,
		Example: `  aegis init my-api
  aegis init user-app --services auth --components database --no-interactive
  aegis add cache          # in the project folder; aegis remove cache takes it out again
  aegis update             # re-render with this aegis, merging your changes
  aegis services
  aegis components`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(verbose, "verbose", "v", false, "print the causes behind an error")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return flagAsValue(cmd) }
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if hint := flagHint(cmd, err); hint != "" {
			return usageError{fmt.Errorf("%w; %s", err, hint)}
		}
		return usageError{err}
	})
	root.AddCommand(newInitCmd(env), newAddCmd(env), newRemoveCmd(env), newUpdateCmd(env), newServicesCmd(env), newComponentsCmd(env), newVersionCmd())
	root.CompletionOptions.HiddenDefaultCmd = true
	// --version prints what 'aegis version' prints, as most command-line tools accept it.
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetHelpCommand(newHelpCmd(root))
	return root
}

// flagAsValue refuses a flag given another flag as its value: 'init x -o -v' would create a
// folder named -v, and 'init x --components --no-interactive' would call --no-interactive an
// unknown component, while the flag meant was silently not in effect. No name, module path or
// flag value of aegis starts with '-'; a folder that does is still reached as ./-v.
func flagAsValue(cmd *cobra.Command) error {
	for _, name := range []string{"output-dir", "project-path", "module", "components", "services"} {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		values := []string{f.Value.String()}
		if list, err := cmd.Flags().GetStringSlice(name); err == nil {
			values = list
		}
		for _, v := range values {
			if len(v) < 2 || v[0] != '-' {
				continue
			}
			fix := "give it its value first"
			if name == "output-dir" || name == "project-path" {
				fix += "; write ./" + v + " for a folder of that name"
			}
			return usagef("--%s got %q as its value, which is a flag: %s", name, v, fix)
		}
	}
	return nil
}

// flagHint names the flag of cmd that an unknown long flag is a typo of ("did you mean
// --dry-run?"), as cobra does for commands; "" when none is near.
func flagHint(cmd *cobra.Command, err error) string {
	if short, ok := strings.CutPrefix(err.Error(), "unknown shorthand flag: '"); ok && len(short) > 1 && short[1] == '\'' {
		return othersFlag(cmd, "-"+short[:1], func(c *cobra.Command) bool { return c.Flags().ShorthandLookup(short[:1]) != nil })
	}
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "=")
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if i, ok := catalog.Nearest(name, names); ok {
		return fmt.Sprintf("did you mean --%s?", names[i])
	}
	return othersFlag(cmd, "--"+name, func(c *cobra.Command) bool { return c.Flags().Lookup(name) != nil })
}

// othersFlag names the other commands that take a flag cmd does not: a user carries --yes from
// add over to update, or --dry-run from add over to init, and the bare "unknown flag" reads as
// a typo. For --yes, update's fix is to drop it, since update asks nothing. "" when no other
// command has it.
func othersFlag(cmd *cobra.Command, flag string, has func(*cobra.Command) bool) string {
	var others []string
	for _, c := range cmd.Root().Commands() {
		if c != cmd && !c.Hidden && has(c) {
			others = append(others, c.Name())
		}
	}
	if len(others) == 0 {
		return ""
	}
	slices.Sort(others)
	list := strings.Join(others, " and ")
	if len(others) > 2 {
		list = strings.Join(others[:len(others)-1], ", ") + " and " + others[len(others)-1]
	}
	if (flag == "--yes" || flag == "-y") && cmd.Name() == "update" {
		return fmt.Sprintf("update asks nothing: drop %s (%s take it)", flag, list)
	}
	return fmt.Sprintf("%s has no %s (%s take it)", cmd.Name(), flag, list)
}

// kinds says what components and services are, with their names from the catalog so the help
// never lags behind it.
func kinds(c catalog.Catalog) string {
	var svcs []string
	for _, e := range c.OfKind(catalog.KindService) {
		if e.Available() && !e.AlwaysOn {
			svcs = append(svcs, e.Name)
		}
	}
	return fmt.Sprintf("Components are how an app works (%s);\nservices are what it does (%s).",
		strings.Join(c.Names(catalog.KindComponent), ", "), strings.Join(svcs, ", "))
}

// newHelpCmd replaces cobra's help command, which prints its own message for an unknown topic
// and exits 0: an unknown topic is a usage error like an unknown command.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(_ *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return usagef("unknown help topic %q: name a command", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}
