package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"charm.land/huh/v2"
	"golang.org/x/term"
)

// Form prompts with charmbracelet/huh forms on a terminal.
type Form struct {
	In  io.Reader
	Out io.Writer
}

// theme is the form's look; option layout measures its prefixes, so both use the same one.
var theme = huh.ThemeFunc(huh.ThemeCharm)

// keyMap is huh's default with the toggle key named "space" (huh's own help says "x", and
// descriptions and help must name the same key) and esc quitting as ctrl+c does.
func keyMap() *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	km.MultiSelect.Toggle.SetHelp("space", "toggle")
	km.MultiSelect.Next.SetHelp("enter", "confirm")
	km.MultiSelect.Submit.SetHelp("enter", "confirm")
	// Esc is the key people press first to get out of a question; huh quits only on ctrl+c
	// and ignores esc, which left them stuck. No field we show uses esc (filtering is off).
	km.Quit.SetKeys("ctrl+c", "esc")
	return km
}

func (f *Form) run(ctx context.Context, fields ...huh.Field) error {
	in, done := formInput(f.In)
	defer done()
	err := huh.NewForm(huh.NewGroup(fields...)).
		WithInput(in).WithOutput(f.Out).WithShowHelp(true).
		WithTheme(theme).WithKeyMap(keyMap()).
		RunWithContext(ctx)
	// An interrupt signal ends ctx, which huh reports as a timeout or a kill.
	if errors.Is(err, huh.ErrUserAborted) || (err != nil && ctx.Err() != nil) {
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

// MultiSelect shows every option at once: huh sizes a list without a height to its own lines
// minus the title's, so it would hide options, and with one option hide all of them. The height is
// set to what the options need; huh shrinks it (and scrolls) only when the terminal is shorter.
// Unavailable options follow in a note under the list, where they cannot be selected.
func (f *Form) MultiSelect(ctx context.Context, title string, options []Option, selected []string) ([]string, error) {
	avail, unavail := split(options)
	lay := newLayout(f.width(), slices.Concat(avail, unavail))
	km := keyMap()
	desc := fmt.Sprintf("%s to toggle, %s to confirm", km.MultiSelect.Toggle.Help().Key, km.MultiSelect.Submit.Help().Key)

	title, desc = wrap(title, lay.field), wrap(desc, lay.field)
	opts := make([]huh.Option[string], len(avail))
	height := lines(title) + lines(desc)
	for i, o := range avail {
		label := lay.option(o)
		height += lines(label)
		opts[i] = huh.NewOption(label, o.Value).Selected(slices.Contains(selected, o.Value))
	}
	var values []string
	fields := []huh.Field{huh.NewMultiSelect[string]().Title(title).Description(desc).
		Options(opts...).Value(&values).Filterable(false).Height(height)}
	if len(unavail) > 0 {
		rows := make([]string, len(unavail))
		for i, o := range unavail {
			rows[i] = lay.unavailable(o)
		}
		fields = append(fields, huh.NewNote().Title("Not selectable yet:").Description(strings.Join(rows, "\n")))
	}
	err := f.run(ctx, fields...)
	return ordered(avail, values), err
}

func (f *Form) Confirm(ctx context.Context, title string, def bool) (bool, error) {
	value := def
	err := f.run(ctx, huh.NewConfirm().Title(title).Affirmative("Yes").Negative("No").Value(&value))
	return value, err
}

// width is the terminal's width in columns, 80 when it cannot be told.
func (f *Form) width() int {
	for _, s := range []any{f.Out, f.In} {
		if file, ok := s.(*os.File); ok {
			if w, _, err := term.GetSize(int(file.Fd())); err == nil && w > 0 {
				return w
			}
		}
	}
	return 80
}

// layout formats option labels to fit the terminal: one line each, names in a column, when every
// option fits; otherwise the name on one line and the description wrapped under it. Nothing is
// left for huh to wrap or cut, so the lines counted for the height are the lines shown.
type layout struct {
	field  int // columns inside the field's border
	text   int // columns left for an option's text after the list prefixes
	name   int // width of the name column
	single bool
}

func newLayout(width int, options []Option) layout {
	st := theme.Theme(true).Focused
	prefix := columns(st.MultiSelectSelector.Value()) +
		max(columns(st.SelectedPrefix.Value()), columns(st.UnselectedPrefix.Value()))
	// One column spare: writing the last column makes some terminals wrap.
	l := layout{field: max(24, width-st.Base.GetHorizontalFrameSize()-1)}
	l.text = l.field - prefix
	for _, o := range options {
		l.name = max(l.name, columns(o.Label))
	}
	l.single = true
	for _, o := range options {
		if o.Unavailable == "" && l.name+2+columns(o.Description) > l.text {
			l.single = false
		}
	}
	return l
}

func (l layout) option(o Option) string {
	if o.Description == "" {
		return o.Label
	}
	if l.single {
		return fmt.Sprintf("%-*s  %s", l.name, o.Label, o.Description)
	}
	return o.Label + "\n" + wrap(o.Description, l.text)
}

// unavailable is one line of the note under the list: aligned with the option names and cut to
// the width (an unavailable option's details are for reading about, not choosing).
func (l layout) unavailable(o Option) string {
	indent := l.field - l.text
	row := fmt.Sprintf("%*s%-*s  %s: %s", indent, "", l.name, o.Label, o.Unavailable, o.Description)
	if columns(row) <= l.field {
		return row
	}
	r := []rune(row)[:l.field-1]
	return strings.TrimRight(string(r), " ") + "…"
}

// columns is the width of s on a terminal; the labels and prefixes measured here are text of
// one-column characters.
func columns(s string) int { return utf8.RuneCountInString(s) }

// wrap breaks s at spaces into lines of at most width columns (a longer word keeps its own line).
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+columns(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += columns(w)
	}
	return b.String()
}

func lines(s string) int { return strings.Count(s, "\n") + 1 }
