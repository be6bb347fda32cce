// Package prompt asks the user questions: through a terminal form when stdin is a terminal, and
// through plain line prompts otherwise (pipes, CI logs, screen readers).
package prompt

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"

	"golang.org/x/term"
)

// ErrAborted is returned when the user cancels a prompt: Ctrl-C in a form, or an interrupt signal
// (the context given to the prompt ends).
var ErrAborted = errors.New("prompt: aborted")

// ErrEndOfInput is returned when input ends before a question is answered (stdin closed, or
// redirected from a file with too few answers). It is not an interrupt: nobody is there to
// answer, so callers say how to run without questions.
var ErrEndOfInput = errors.New("prompt: stdin closed before the question was answered")

// Option is one choice of a multi-select.
type Option struct {
	Value       string
	Label       string
	Description string
	// Unavailable, when set, says why the option cannot be chosen (for example "coming soon"):
	// it is shown with that reason and cannot be selected.
	Unavailable string
	// Elsewhere, when set, marks a name that is not a choice of this question but is likely
	// typed at it: one chosen at another question. It is not shown; typed, it is refused with
	// this text, which says what the name is and where to choose it ("a service, not a
	// component; pick it at the services question").
	Elsewhere string
}

// Prompter asks questions. Implementations are not safe for concurrent use.
type Prompter interface {
	// Text asks for one line; def is used when the answer is empty; validate may reject it.
	Text(ctx context.Context, title, def string, validate func(string) error) (string, error)
	// MultiSelect asks for any number of the available options and returns their values in
	// option order.
	MultiSelect(ctx context.Context, title string, options []Option, selected []string) ([]string, error)
	// Confirm asks a yes/no question.
	Confirm(ctx context.Context, title string, def bool) (bool, error)
}

// IsTerminal reports whether in is a terminal, where a person can answer.
func IsTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a terminal form when in is a terminal, plain line prompts otherwise.
func New(in io.Reader, out io.Writer) Prompter {
	if IsTerminal(in) {
		return &Form{In: in, Out: out}
	}
	return NewLines(in, out)
}

// ordered returns values in option order, so answers do not depend on typing order.
func ordered(options []Option, values []string) []string {
	var out []string
	for _, o := range options {
		if slices.Contains(values, o.Value) {
			out = append(out, o.Value)
		}
	}
	return out
}
