package commandtest_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// echo prints its arguments and stdin, logs the app's name and fails on "fail".
func echo(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:  "echo [ARG...]",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in, _ := io.ReadAll(cmd.InOrStdin())
			fmt.Fprintf(cmd.OutOrStdout(), "%s|%s", strings.Join(args, ","), in)
			fmt.Fprintf(env.Stderr, "log of %s", env.Name)
			if len(args) > 0 && args[0] == "fail" {
				return errors.New("failed")
			}
			return nil
		},
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name             string
		stdin            io.Reader
		args             []string
		wantOut, wantErr string
	}{
		{"args", nil, []string{"a", "b"}, "a,b|", ""},
		{"stdin", strings.NewReader("secret"), nil, "|secret", ""},
		{"error returned, not printed", nil, []string{"fail"}, "fail|", "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, logs, err := commandtest.RunWithInput(t.Context(), registry.New(), echo, tt.stdin, tt.args...)
			if out != tt.wantOut || logs != "log of app" {
				t.Errorf("stdout %q, stderr %q; want %q, %q", out, logs, tt.wantOut, "log of app")
			}
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// A command that sets no Args takes none, as in the binary: its arguments are a usage error
// (exit 2), which is how a command that forgot Args shows up in its own tests.
func TestRunNoArgsByDefault(t *testing.T) {
	bare := func(*command.Env) *cobra.Command {
		return &cobra.Command{Use: "bare NAME", RunE: func(*cobra.Command, []string) error { return nil }}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no arguments", nil, ""},
		{"an argument", []string{"ada"}, `bare takes no arguments, got "ada" (see 'app bare --help')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := commandtest.Run(t.Context(), registry.New(), bare, tt.args...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			commandtest.WantUsage(t, err, tt.wantErr)
		})
	}
}
