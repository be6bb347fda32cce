package prompt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

var testOptions = []Option{
	{Value: "database", Label: "database", Description: "Embedded SQLite by default"},
	{Value: "oauth", Label: "oauth", Description: "Sign in with Google", Unavailable: "coming soon"},
	{Value: "cache", Label: "cache", Description: "Key-value cache"},
	{Value: "auth", Label: "auth", Description: "Users and sessions", Elsewhere: "a service, not a component; pick it at the services question"},
}

func TestLinesAnswers(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		ask     func(context.Context, *Lines) (any, error)
		want    any
		wantErr error
		wantOut []string
		notOut  []string
	}{
		{
			name:  "text default",
			input: "\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Text(ctx, "Project name", "my-api", nil)
			},
			want: "my-api", wantOut: []string{"Project name [my-api]: "},
		},
		{
			name:  "text validated again",
			input: "bad name\ngood\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Text(ctx, "Name", "", func(s string) error {
					if strings.Contains(s, " ") {
						return errors.New("no spaces")
					}
					return nil
				})
			},
			want: "good", wantOut: []string{"  no spaces\n"},
		},
		{
			name:  "numbers map to available options only",
			input: "2,1\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Components:", testOptions, nil)
			},
			want:    []string{"database", "cache"},
			wantOut: []string{"  1) [ ] database  Embedded SQLite by default\n", "  2) [ ] cache     Key-value cache\n", "         oauth     coming soon: Sign in with Google\n"},
		},
		{
			name:  "unavailable refused by name",
			input: "oauth\ncache\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Services:", testOptions, nil)
			},
			want: []string{"cache"}, wantOut: []string{"'oauth' is coming soon and cannot be chosen yet"},
		},
		{
			name:  "misspelt name refused with the nearest",
			input: "cahce\ncache\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Components:", testOptions, nil)
			},
			want: []string{"cache"}, wantOut: []string{"'cahce' is not a choice; choose from database, cache or 1-2; did you mean 'cache'?\n"},
		},
		{
			name:  "name of another question refused with where to choose it",
			input: "auth\ncache\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Components:", testOptions, nil)
			},
			want: []string{"cache"}, wantOut: []string{"  'auth' is a service, not a component; pick it at the services question\n"},
			notOut: []string{"Users and sessions", "not a choice"},
		},
		{
			name:  "misspelt name of another question",
			input: "auht\ncache\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Components:", testOptions, nil)
			},
			want: []string{"cache"}, wantOut: []string{"'auht' is not a choice; choose from database, cache or 1-2; did you mean 'auth'? It is a service, not a component; pick it at the services question\n"},
		},
		{
			name:  "empty keeps the marked ones",
			input: "\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Components:", testOptions, []string{"cache", "oauth"})
			},
			want: []string{"cache"}, wantOut: []string{"[x] cache"},
		},
		{
			name:  "confirm default",
			input: "\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Confirm(ctx, "Go?", true)
			},
			want: true, wantOut: []string{"Go? [Y/n]: "},
		},
		{
			name:  "confirm asks again",
			input: "maybe\nn\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Confirm(ctx, "Go?", true)
			},
			want: false, wantOut: []string{"please answer y or n"},
		},
		{
			name:  "last line without newline",
			input: "y",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Confirm(ctx, "Go?", false)
			},
			want: true,
		},
		{
			name: "end of input at text",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Text(ctx, "Name", "", nil)
			},
			want: "", wantErr: ErrEndOfInput, wantOut: []string{"Name: \n"},
		},
		{
			name:  "end of input at multi-select",
			input: "nope\n",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.MultiSelect(ctx, "Components:", testOptions, nil)
			},
			want: []string(nil), wantErr: ErrEndOfInput,
		},
		{
			name: "end of input at confirm",
			ask: func(ctx context.Context, l *Lines) (any, error) {
				return l.Confirm(ctx, "Go?", true)
			},
			want: false, wantErr: ErrEndOfInput,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := tt.ask(t.Context(), NewLines(strings.NewReader(tt.input), &out))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrEndOfInput) && errors.Is(err, ErrAborted) {
				t.Errorf("end of input reported as an interrupt: %v", err)
			}
			if g, ok := got.([]string); ok {
				if !slices.Equal(g, tt.want.([]string)) {
					t.Errorf("got %q, want %q", g, tt.want)
				}
			} else if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// A multi-select answered on a line takes the words a person tries for all or none of the
// choices; a word that is also a choice's name stays that name, and the hint says only the
// words that mean all or none at this question.
func TestLinesMultiSelectWords(t *testing.T) {
	named := func(values ...string) []Option {
		opts := slices.Clone(testOptions)
		for _, v := range values {
			opts = append(opts, Option{Value: v, Label: v, Description: "a part named " + v})
		}
		return opts
	}
	tests := []struct {
		name     string
		options  []Option
		input    string
		want     []string
		wantHint string
		notHint  string
	}{
		{"empty keeps the marked ones", testOptions, "\n", []string{"cache"},
			"(empty for the marked ones, 'all' for all, 'none' for none): ", ""},
		{"all is every available choice", testOptions, "all\n", []string{"database", "cache"}, "", ""},
		{"all in capitals", testOptions, "ALL\n", []string{"database", "cache"}, "", ""},
		{"none", testOptions, "none\n", nil, "", ""},
		{"None", testOptions, "None\n", nil, "", ""},
		{"no", testOptions, "no\n", nil, "", ""},
		{"n", testOptions, "n\n", nil, "", ""},
		{"dash", testOptions, "-\n", nil, "", ""},
		{"a choice named all is that choice", named("all"), "all\n", []string{"all"},
			"(empty for the marked ones, 'none' for none): ", "'all' for all"},
		{"a choice named none is that choice", named("none"), "none\n", []string{"none"},
			"(empty for the marked ones, 'all' for all, '-' for none): ", "'none' for none"},
		{"n still none beside a choice named none", named("none"), "n\n", nil, "", ""},
		{"a choice named n is that choice", named("n"), "n\n", []string{"n"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := NewLines(strings.NewReader(tt.input), &out).MultiSelect(t.Context(), "Components:", tt.options, []string{"cache"})
			if err != nil {
				t.Fatalf("err = %v\n%s", err, out.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q\n%s", got, tt.want, out.String())
			}
			if strings.Contains(out.String(), "not a choice") {
				t.Errorf("answer %q refused:\n%s", tt.input, out.String())
			}
			if tt.wantHint != "" && !strings.Contains(out.String(), tt.wantHint) {
				t.Errorf("output lacks %q:\n%s", tt.wantHint, out.String())
			}
			if tt.notHint != "" && strings.Contains(out.String(), tt.notHint) {
				t.Errorf("output has %q:\n%s", tt.notHint, out.String())
			}
		})
	}
}

// An interrupt while a question waits for input ends the question at once, and the line typed
// afterwards answers the next question rather than being lost.
func TestLinesInterrupt(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	l := NewLines(r, io.Discard)
	ctx, interrupt := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := l.Text(ctx, "Name", "", nil)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	interrupt()
	select {
	case err := <-done:
		if !errors.Is(err, ErrAborted) {
			t.Fatalf("err = %v, want ErrAborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an interrupt did not end the question")
	}
	go w.Write([]byte("later\n"))
	got, err := l.Text(t.Context(), "Name", "", nil)
	if err != nil || got != "later" {
		t.Errorf("next question = %q, %v; want the line typed after the interrupt", got, err)
	}
}

// The form's labels must fit the terminal without huh wrapping or cutting them, or the height
// counted for the list would be wrong and options would scroll out of sight.
func TestLayoutFits(t *testing.T) {
	long := Option{Value: "worker", Label: "worker", Description: "Background jobs on River, stored in the app's database (needs database)"}
	soon := Option{Value: "ai", Label: "ai", Description: "Chat and completions with OpenAI, Anthropic and local models behind one interface", Unavailable: "coming soon"}
	tests := []struct {
		width      int
		single     bool
		wantHeight int // lines of the available options
	}{
		{width: 120, single: true, wantHeight: 3},
		{width: 80, single: false, wantHeight: 6},
		{width: 40, single: false, wantHeight: 8},
	}
	for _, tt := range tests {
		// As the form lays out: the options shown, not the names of other questions.
		avail, unavail := split(append(slices.Clone(testOptions), long, soon))
		opts := slices.Concat(avail, unavail)
		l := newLayout(tt.width, opts)
		if l.single != tt.single {
			t.Errorf("width %d: single-line = %v, want %v", tt.width, l.single, tt.single)
		}
		height := 0
		for _, o := range opts {
			var label string
			if o.Unavailable != "" {
				label = l.unavailable(o)
				if lines(label) != 1 {
					t.Errorf("width %d: unavailable row %q takes %d lines", tt.width, label, lines(label))
				}
				if columns(label) > l.field {
					t.Errorf("width %d: unavailable row %q is wider than the field (%d)", tt.width, label, l.field)
				}
				continue
			}
			label = l.option(o)
			height += lines(label)
			for _, line := range strings.Split(label, "\n") {
				if columns(line) > l.text {
					t.Errorf("width %d: line %q is wider than the list (%d)", tt.width, line, l.text)
				}
			}
			if !strings.Contains(strings.ReplaceAll(label, "\n", " "), o.Description) {
				t.Errorf("width %d: label %q lost part of %q", tt.width, label, o.Description)
			}
		}
		if height != tt.wantHeight {
			t.Errorf("width %d: options take %d lines, want %d", tt.width, height, tt.wantHeight)
		}
	}
}

// TestFormEscapeAborts: Esc leaves the terminal form as Ctrl-C does (nothing is written), the
// key people press first to get out of a question.
func TestFormEscapeAborts(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	f := &Form{In: strings.NewReader("\x1b"), Out: io.Discard}
	_, err := f.Confirm(ctx, "Generate this project?", true)
	if !errors.Is(err, ErrAborted) || ctx.Err() != nil {
		t.Fatalf("Esc: err = %v (context: %v), want ErrAborted at once", err, ctx.Err())
	}
}

// TestLinesEchoPipedAnswers: answers piped in (not typed at a terminal, which echoes them itself)
// are written after their question, so a transcript or CI log shows what was answered, one
// question to a line.
func TestLinesEchoPipedAnswers(t *testing.T) {
	var out bytes.Buffer
	l := NewLines(strings.NewReader("bad name\nmyapp\ncache\n\nmaybe\ny"), &out)
	ctx := t.Context()
	valid := func(s string) error {
		if strings.Contains(s, " ") {
			return errors.New("no spaces")
		}
		return nil
	}
	if _, err := l.Text(ctx, "Project name", "", valid); err != nil {
		t.Fatal(err)
	}
	if _, err := l.MultiSelect(ctx, "Components:", testOptions, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Text(ctx, "Module", "example.com/myapp", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Confirm(ctx, "Go?", false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Project name: bad name\n  no spaces\n",
		"Project name: myapp\n",
		"'none' for none): cache\n",
		"Module [example.com/myapp]: \n",
		"Go? [y/N]: maybe\n  please answer y or n\n",
		"Go? [y/N]: y\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
