// Package app is the app binary's command line: `serve` runs the HTTP server,
// `health` asks a running server how it is, `services` shows what is
// registered, `version` says what was built. cmd/<name>/main.go calls Main.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Exit codes of Main.
const (
	ExitOK      = 0
	ExitFailure = 1 // something went wrong at run time (bad config, failed start, unhealthy)
	ExitUsage   = 2 // the command line was wrong
)

// Main runs the command line named name with os.Args and returns the exit
// code for os.Exit.
func Main(name string) int {
	if p, ok := gcPercent(os.LookupEnv); ok {
		debug.SetGCPercent(p)
	}
	a := &cli{
		name:   name,
		stdout: os.Stdout,
		stderr: os.Stderr,
		reg:    registry.Default,
	}
	// Deferred calls run while a panic unwinds, before its trace is printed: what is logged
	// so far goes out first (close is idempotent; run closes too).
	defer a.logs.close()
	return run(context.Background(), a, os.Args[1:])
}

// DefaultGCPercent is the app's GOGC when the environment sets none. A started app holds about
// 2 MB of live heap for good (route tables, the OpenAPI document, templates, River's state), and
// at Go's default of 100 the collector runs after every 2-3 MB allocated, marking those 2 MB
// each time: under load that was 5% of the server's CPU, against 1.5% for a bare chi + huma
// server with nothing live (bench/RESULTS.md, issue 18). 200 lets 6 MB go by between
// collections, a few MB more heap under load; idle memory is the same.
const DefaultGCPercent = 200

// gcPercent returns the GC percentage to set, and false when GOGC is in the environment (the
// runtime has applied it: an operator's value wins).
func gcPercent(lookup func(string) (string, bool)) (int, bool) {
	if _, set := lookup("GOGC"); set {
		return 0, false
	}
	return DefaultGCPercent, true
}

// cli is what every command shares. Tests make their own with a fresh
// registry and buffers.
type cli struct {
	name   string
	stdout io.Writer
	stderr io.Writer
	reg    *registry.Registry
	logs   logWriters // buffered log output, flushed when run returns
}

// run executes args and maps the outcome to an exit code, printing errors as
// one line on stderr.
func run(ctx context.Context, a *cli, args []string) int {
	root, err := a.rootCmd()
	if err != nil {
		// A contribution mistake (two commands named alike) is the program's, not the user's.
		fmt.Fprintf(a.stderr, "%s: %s\n", a.name, oneLine(err))
		return ExitFailure
	}
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	// Every log line out before the final message, and before Main's caller exits.
	a.logs.close()
	if err == nil {
		return ExitOK
	}
	var silent silentError
	if errors.As(err, &silent) {
		return silent.code
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", a.name, oneLine(err))
	var usage *command.Usage
	if errors.As(err, &usage) {
		return ExitUsage
	}
	return ExitFailure
}

// oneLine joins the lines of err (errors.Join puts each on its own line).
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ; ")), " ")
}

var usageErr = command.UsageError

// silentError ends a command with an exit code after it has already said
// what it had to say (health probe: "not ready" is output, not an error).
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func (a *cli) rootCmd() (*cobra.Command, error) {
	root := &cobra.Command{
		Use:   a.name,
		Short: a.name + " is a web application",
		Long: a.name + ` is a web application. One binary carries every part of it; subcommands
run the server, check it, and show how it is put together.

Configuration comes from environment variables, and from a .env file in the
working directory for variables that are not set. See .env.example for the
full list with defaults.`,
		Example: fmt.Sprintf(`  # Run the server on http://127.0.0.1:8000 (API docs at /docs)
  %[1]s serve

  # Check a running server
  %[1]s health status

  # See every component and service and what each depends on
  %[1]s services`, a.name),
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          command.Group,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate(a.name + " " + versionLine() + "\n")
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(command.FlagError)
	root.AddCommand(a.serveCmd(), a.healthCmd(), a.servicesCmd(), a.versionCmd())
	contributed, err := a.contributed()
	if err != nil {
		return nil, err
	}
	root.AddCommand(contributed...)
	command.UsageArgs(root)
	return root, nil
}
