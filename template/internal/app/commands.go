package app

import (
	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
)

// env is what contributed commands see of this invocation.
func (a *cli) env() *command.Env {
	return &command.Env{Name: a.name, Stdout: a.stdout, Stderr: a.stderr, Registry: a.reg, NewLogger: a.newLogger}
}

// contributed builds the commands components and services contribute (the database adds
// `migrate`, auth adds `users`).
func (a *cli) contributed() ([]*cobra.Command, error) {
	return command.Assemble(a.env())
}
