// Package prompt asks the user questions: through a terminal form when stdin is a terminal, and
// through plain line prompts otherwise (pipes, CI logs, screen readers).
package prompt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"charm.land/huh/v2"
	"golang.org/x/term"
)

// ErrAborted is returned when the user cancels a prompt (Ctrl-C, end of input).
var ErrAborted = errors.New("prompt: aborted")

// Option is one choice of a multi-select.
type Option struct {
	Value       string
	Label       string
	Description string
}

// Prompter asks questions. Implementations are not safe for concurrent use.
type Prompter interface {
	// Text asks for one line; def is used when the answer is empty; validate may reject it.
	Text(ctx context.Context, title, def string, validate func(string) error) (string, error)
	// MultiSelect asks for any number of options and returns their values in option order.
	MultiSelect(ctx context.Context, title string, options []Option, selected []string) ([]string, error)
	// Confirm asks a yes/no question.
	Confirm(ctx context.Context, title string, def bool) (bool, error)
}

// New returns a terminal form when in is a terminal, plain line prompts otherwise.
func New(in io.Reader, out io.Writer) Prompter {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &Form{In: in, Out: out}
	}
	return NewLines(in, out)
}

// Form prompts with charmbracelet/huh forms on a terminal.
type Form struct {
	In  io.Reader
	Out io.Writer
}

func (f *Form) run(ctx context.Context, field huh.Field) error {
	err := huh.NewForm(huh.NewGroup(field)).WithInput(f.In).WithOutput(f.Out).WithShowHelp(true).RunWithContext(ctx)
	if errors.Is(err, huh.ErrUserAborted) || errors.Is(err, context.Canceled) {
		return ErrAborted
	}
	return err
}

func (f *Form) Text(ctx context.Context, title, def string, validate func(string) error) (string, error) {
	value := def
	in := huh.NewInput().Title(title).Value(&value)
	if validate != nil {
		in = in.Validate(validate)
	}
	err := f.run(ctx, in)
	return strings.TrimSpace(value), err
}

func (f *Form) MultiSelect(ctx context.Context, title string, options []Option, selected []string) ([]string, error) {
	opts := make([]huh.Option[string], len(options))
	for i, o := range options {
		label := o.Label
		if o.Description != "" {
			label += " - " + o.Description
		}
		opts[i] = huh.NewOption(label, o.Value).Selected(slices.Contains(selected, o.Value))
	}
	var values []string
	err := f.run(ctx, huh.NewMultiSelect[string]().Title(title).
		Description("space to toggle, enter to confirm").Options(opts...).Value(&values))
	return ordered(options, values), err
}

func (f *Form) Confirm(ctx context.Context, title string, def bool) (bool, error) {
	value := def
	err := f.run(ctx, huh.NewConfirm().Title(title).Affirmative("Yes").Negative("No").Value(&value))
	return value, err
}

// Lines prompts one line at a time: for pipes and for users who prefer plain text.
type Lines struct {
	in  *bufio.Reader
	out io.Writer
}

// NewLines returns line prompts reading answers from in.
func NewLines(in io.Reader, out io.Writer) *Lines {
	return &Lines{in: bufio.NewReader(in), out: out}
}

func (l *Lines) readLine(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", ErrAborted
	}
	line, err := l.in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(l.out)
			return "", ErrAborted
		}
		return "", fmt.Errorf("prompt: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func (l *Lines) Text(ctx context.Context, title, def string, validate func(string) error) (string, error) {
	for {
		if def != "" {
			fmt.Fprintf(l.out, "%s [%s]: ", title, def)
		} else {
			fmt.Fprintf(l.out, "%s: ", title)
		}
		answer, err := l.readLine(ctx)
		if err != nil {
			return "", err
		}
		if answer == "" {
			answer = def
		}
		if validate != nil {
			if err := validate(answer); err != nil {
				fmt.Fprintf(l.out, "  %v\n", err)
				continue
			}
		}
		return answer, nil
	}
}

// MultiSelect lists the options numbered and accepts names or numbers separated by commas or
// spaces; an empty answer keeps the preselection.
func (l *Lines) MultiSelect(ctx context.Context, title string, options []Option, selected []string) ([]string, error) {
	fmt.Fprintln(l.out, title)
	for i, o := range options {
		mark := " "
		if slices.Contains(selected, o.Value) {
			mark = "x"
		}
		fmt.Fprintf(l.out, "  %d) [%s] %-10s %s\n", i+1, mark, o.Label, o.Description)
	}
	for {
		fmt.Fprint(l.out, "Enter names or numbers separated by commas (empty for the marked ones, 'none' for none): ")
		answer, err := l.readLine(ctx)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(answer) {
		case "":
			return ordered(options, selected), nil
		case "none", "-":
			return nil, nil
		}
		values, err := parseChoices(answer, options)
		if err != nil {
			fmt.Fprintf(l.out, "  %v\n", err)
			continue
		}
		return values, nil
	}
}

func (l *Lines) Confirm(ctx context.Context, title string, def bool) (bool, error) {
	hint := "y/N"
	if def {
		hint = "Y/n"
	}
	for {
		fmt.Fprintf(l.out, "%s [%s]: ", title, hint)
		answer, err := l.readLine(ctx)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(answer) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(l.out, "  please answer y or n")
	}
}

func parseChoices(answer string, options []Option) ([]string, error) {
	var values []string
	for _, tok := range strings.FieldsFunc(answer, func(r rune) bool { return r == ',' || r == ' ' }) {
		tok = strings.ToLower(tok)
		found := ""
		if n, err := strconv.Atoi(tok); err == nil && n >= 1 && n <= len(options) {
			found = options[n-1].Value
		}
		for _, o := range options {
			if o.Value == tok {
				found = o.Value
			}
		}
		if found == "" {
			names := make([]string, len(options))
			for i, o := range options {
				names[i] = o.Value
			}
			return nil, fmt.Errorf("'%s' is not a choice; choose from %s or 1-%d", tok, strings.Join(names, ", "), len(options))
		}
		if !slices.Contains(values, found) {
			values = append(values, found)
		}
	}
	return ordered(options, values), nil
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
