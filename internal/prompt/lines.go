package prompt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/aegisgo/aegis/internal/catalog"
)

// Lines prompts one line at a time: for pipes and for users who prefer plain text.
type Lines struct {
	in  *bufio.Reader
	out io.Writer
	// echo writes each answer after its question: a terminal shows what is typed, a pipe does
	// not, and a transcript of piped answers would list questions without them.
	echo bool
	// pending holds a read that was still waiting for input when its context ended; the next
	// question takes its answer rather than reading beside it.
	pending chan lineRead
}

type lineRead struct {
	line string
	err  error
}

// NewLines returns line prompts reading answers from in.
func NewLines(in io.Reader, out io.Writer) *Lines {
	return &Lines{in: bufio.NewReader(in), out: out, echo: !IsTerminal(in)}
}

// readLine returns the next answer. A read blocks until input arrives, so it runs apart and an
// interrupt (ctx ending) is answered at once rather than after the next line.
func (l *Lines) readLine(ctx context.Context) (string, error) {
	if ctx.Err() != nil {
		return "", ErrAborted
	}
	if l.pending == nil {
		l.pending = make(chan lineRead, 1)
		go func(c chan<- lineRead) {
			line, err := l.in.ReadString('\n')
			c <- lineRead{line, err}
		}(l.pending)
	}
	var r lineRead
	select {
	case <-ctx.Done():
		fmt.Fprintln(l.out)
		return "", ErrAborted
	case r = <-l.pending:
		l.pending = nil
	}
	switch {
	case errors.Is(r.err, io.EOF) && r.line == "":
		// End the prompt's line so what follows starts on its own.
		fmt.Fprintln(l.out)
		return "", ErrEndOfInput
	case r.err != nil && !errors.Is(r.err, io.EOF):
		return "", fmt.Errorf("prompt: read answer: %w", r.err)
	}
	answer := strings.TrimSpace(r.line)
	if l.echo {
		fmt.Fprintln(l.out, answer)
	}
	return answer, nil
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
// spaces; an empty answer keeps the preselection, 'all' chooses every available option and
// 'none' (or 'no', 'n', '-') none of them. Unavailable options are listed after the others,
// unnumbered, with their reason.
func (l *Lines) MultiSelect(ctx context.Context, title string, options []Option, selected []string) ([]string, error) {
	avail, unavail := split(options)
	fmt.Fprintln(l.out, title)
	width := 0
	for _, o := range slices.Concat(avail, unavail) {
		width = max(width, len(o.Label))
	}
	for i, o := range avail {
		mark := " "
		if slices.Contains(selected, o.Value) {
			mark = "x"
		}
		fmt.Fprintf(l.out, "  %d) [%s] %-*s  %s\n", i+1, mark, width, o.Label, o.Description)
	}
	for _, o := range unavail {
		fmt.Fprintf(l.out, "  %*s %-*s  %s: %s\n", len(strconv.Itoa(len(avail)))+5, "", width, o.Label, o.Unavailable, o.Description)
	}
	words := answerWords(options)
	for {
		fmt.Fprint(l.out, multiSelectHint(words))
		answer, err := l.readLine(ctx)
		if err != nil {
			return nil, err
		}
		if answer == "" {
			return ordered(avail, selected), nil
		}
		switch words[strings.ToLower(answer)] {
		case answerAll:
			return ordered(avail, valuesOf(avail)), nil
		case answerNone:
			return nil, nil
		}
		values, err := parseChoices(answer, avail, unavail, elsewhere(options))
		if err != nil {
			fmt.Fprintf(l.out, "  %v\n", err)
			continue
		}
		return values, nil
	}
}

// answer is what a whole-line word answers to a multi-select.
type answer int

const (
	answerChoices answer = iota // not a word: names or numbers
	answerAll
	answerNone
)

// answerWords returns the words that answer a multi-select with all or none of its options:
// what a person tries, 'all', 'none', 'no', 'n', '-'. A word that is also the name of an
// option (shown or not) stays that option's name, so no answer means two things.
func answerWords(options []Option) map[string]answer {
	words := map[string]answer{"all": answerAll, "none": answerNone, "no": answerNone, "n": answerNone, "-": answerNone}
	for _, o := range options {
		delete(words, strings.ToLower(o.Value))
	}
	return words
}

// multiSelectHint is the line that asks for the answer, naming the words answerWords kept.
func multiSelectHint(words map[string]answer) string {
	hint := "Enter names or numbers separated by commas (empty for the marked ones"
	if _, ok := words["all"]; ok {
		hint += ", 'all' for all"
	}
	for _, w := range []string{"none", "-"} {
		if words[w] == answerNone {
			hint += fmt.Sprintf(", '%s' for none", w)
			break
		}
	}
	return hint + "): "
}

func valuesOf(options []Option) []string {
	values := make([]string, len(options))
	for i, o := range options {
		values[i] = o.Value
	}
	return values
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

// split separates the options that can be chosen from those shown that cannot, keeping their
// order; names chosen elsewhere are in neither.
func split(options []Option) (avail, unavail []Option) {
	for _, o := range options {
		switch {
		case o.Elsewhere != "":
		case o.Unavailable != "":
			unavail = append(unavail, o)
		default:
			avail = append(avail, o)
		}
	}
	return avail, unavail
}

// elsewhere returns the options that are names of another question.
func elsewhere(options []Option) []Option {
	var out []Option
	for _, o := range options {
		if o.Elsewhere != "" {
			out = append(out, o)
		}
	}
	return out
}

func parseChoices(answer string, avail, unavail, other []Option) ([]string, error) {
	var values []string
	for _, tok := range strings.FieldsFunc(answer, func(r rune) bool { return r == ',' || r == ' ' }) {
		tok = strings.ToLower(tok)
		found := ""
		if n, err := strconv.Atoi(tok); err == nil && n >= 1 && n <= len(avail) {
			found = avail[n-1].Value
		}
		for _, o := range avail {
			if o.Value == tok {
				found = o.Value
			}
		}
		if found == "" {
			if i := slices.IndexFunc(unavail, func(o Option) bool { return o.Value == tok }); i >= 0 {
				return nil, fmt.Errorf("'%s' is %s and cannot be chosen yet", tok, unavail[i].Unavailable)
			}
			if i := slices.IndexFunc(other, func(o Option) bool { return o.Value == tok }); i >= 0 {
				return nil, fmt.Errorf("'%s' is %s", tok, other[i].Elsewhere)
			}
			names := valuesOf(avail)
			// A misspelt name of another question is suggested with where to choose it.
			near := slices.Clone(names)
			for _, o := range other {
				near = append(near, o.Value)
			}
			hint := ""
			if i, ok := catalog.Nearest(tok, near); ok && i < len(names) {
				hint = fmt.Sprintf("; did you mean '%s'?", names[i])
			} else if ok {
				o := other[i-len(names)]
				hint = fmt.Sprintf("; did you mean '%s'? It is %s", o.Value, o.Elsewhere)
			}
			return nil, fmt.Errorf("'%s' is not a choice; choose from %s or 1-%d%s", tok, strings.Join(names, ", "), len(avail), hint)
		}
		if !slices.Contains(values, found) {
			values = append(values, found)
		}
	}
	return ordered(avail, values), nil
}
