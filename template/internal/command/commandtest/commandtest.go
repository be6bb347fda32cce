// Package commandtest runs a subcommand a component or service contributes the way the app's
// binary runs it, so each part's command tests say only what they check.
package commandtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Run runs "app NAME args..." where NAME is the command build makes, against the services of
// r, and returns what the command wrote to stdout and to stderr (its logs and prompts).
func Run(ctx context.Context, r *registry.Registry, build command.Builder, args ...string) (stdout, stderr string, err error) {
	return RunWithInput(ctx, r, build, nil, args...)
}

// RunWithInput is Run with stdin read from in (a password typed at a prompt, say).
func RunWithInput(ctx context.Context, r *registry.Registry, build command.Builder, in io.Reader, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	sub := build(&command.Env{Name: "app", Stdout: &out, Stderr: &errOut, Registry: r})
	// Under a root like the binary's: quiet on errors and usage, which the binary prints itself.
	root := &cobra.Command{Use: "app", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(sub)
	// The binary's argument rule (a command without Args takes none) and its flag errors.
	command.UsageArgs(root)
	root.SetFlagErrorFunc(command.FlagError)
	root.SetArgs(append([]string{sub.Name()}, args...))
	if in != nil {
		root.SetIn(in)
	}
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// WantUsage reports a test error unless err is the usage error (*command.Usage) the binary
// answers with exit status 2, worded exactly as want.
func WantUsage(t testing.TB, err error, want string) {
	t.Helper()
	var u *command.Usage
	if !errors.As(err, &u) || err.Error() != want {
		t.Errorf("error %v, want the usage error %q", err, want)
	}
}
