package app

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func TestAddCommand(t *testing.T) {
	AddCommand(func(env *Env) *cobra.Command {
		return &cobra.Command{
			Use:  "greet NAME",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, _, err := env.Build()
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "hello %s from %s (%d services)\n", args[0], env.Name, len(c.Graph().Nodes))
				return nil
			},
		}
	})
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"greet", "ada"}, ExitOK, "hello ada from demo (0 services)\n"},
		{[]string{"greet"}, ExitUsage, "see 'demo greet --help'"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), &cli{name: "demo", stdout: &out, stderr: &errb, reg: registry.New()}, tt.args)
		if code != tt.code || !bytes.Contains(append(out.Bytes(), errb.Bytes()...), []byte(tt.want)) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, code, out.String(), errb.String(), tt.code, tt.want)
		}
	}
}
