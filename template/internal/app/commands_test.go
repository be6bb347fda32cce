package app

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func greetCmd(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:  "greet NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := env.Build(command.RoleNone)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "hello %s from %s (%d services)\n", args[0], env.Name, len(c.Graph().Nodes))
			return nil
		},
	}
}

// waveCmd takes its argument through command.ExactArgs, whose usage error the binary prints as is.
func waveCmd(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:  "wave NAME",
		Args: command.ExactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			fmt.Fprintf(env.Stdout, "waved at %s\n", args[0])
			return nil
		},
	}
}

func TestContributedCommand(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	registry.Contribute(reg, "greet", command.Builder(greetCmd))
	registry.Contribute(reg, "wave", command.Builder(waveCmd))
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"greet", "ada"}, ExitOK, "hello ada from demo (0 services)\n"},
		{[]string{"greet"}, ExitUsage, "see 'demo greet --help'"},
		{[]string{"wave", "ada"}, ExitOK, "waved at ada\n"},
		{[]string{"wave"}, ExitUsage, "demo: wave needs NAME (see 'demo wave --help')\n"},
		{[]string{"wave", "ada", "bob"}, ExitUsage, "demo: wave takes only NAME; got 2 arguments (see 'demo wave --help')\n"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), &cli{name: "demo", stdout: &out, stderr: &errb, reg: reg}, tt.args)
		if code != tt.code || !bytes.Contains(append(out.Bytes(), errb.Bytes()...), []byte(tt.want)) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, code, out.String(), errb.String(), tt.code, tt.want)
		}
	}
}

// Two contributions of one command, or one named unlike its command, are the program's
// mistake: exit 1 naming where each was contributed, whatever the arguments.
func TestContributedCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		add  func(r *registry.Registry)
		want []string
	}{
		{"twice", func(r *registry.Registry) {
			registry.Contribute(r, "greet", command.Builder(greetCmd))
			registry.Contribute(r, "greet", command.Builder(greetCmd))
		}, []string{`command "greet" contributed twice`, "commands_test.go:"}},
		{"misnamed", func(r *registry.Registry) {
			registry.Contribute(r, "hello", command.Builder(greetCmd))
		}, []string{`command "hello"`, `builds a command named "greet"`}},
	}
	for _, tt := range tests {
		reg := registry.New()
		tt.add(reg)
		var out, errb bytes.Buffer
		code := run(context.Background(), &cli{name: "demo", stdout: &out, stderr: &errb, reg: reg}, []string{"version"})
		if code != ExitFailure {
			t.Errorf("%s: exit %d, want %d", tt.name, code, ExitFailure)
		}
		for _, w := range tt.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%s: stderr %q lacks %q", tt.name, errb.String(), w)
			}
		}
	}
}
