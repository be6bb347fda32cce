package frontend

import (
	"strings"
	"sync"
	"testing"
)

// TestTemplate: a template parses on its first Execute, once however many run at once, and
// one that does not parse fails every Execute with the parse error instead of the program's
// start.
func TestTemplate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, text, want, wantErr string
	}{
		{name: "plain", text: `<p>{{.}}</p>`, want: "<p>&lt;b&gt;</p>"},
		{name: "funcs", text: `<p>{{up .}}</p>`, want: "<p>&lt;B&gt;</p>"},
		{name: "broken", text: `<p>{{if .}}</p>`, wantErr: `frontend: template: template: broken:1: unexpected EOF`},
		{name: "unknown func", text: `{{nope .}}`, wantErr: `function "nope" not defined`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tmpl := NewTemplate(c.name, map[string]any{"up": strings.ToUpper}, c.text)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					var b strings.Builder
					err := tmpl.Execute(&b, "<b>")
					switch {
					case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
						t.Errorf("error %v, want one with %q", err, c.wantErr)
					case c.wantErr == "" && err != nil:
						t.Errorf("error %v", err)
					case c.wantErr == "" && b.String() != c.want:
						t.Errorf("got %q, want %q", b.String(), c.want)
					}
				})
			}
			wg.Wait()
		})
	}
	// PanelContext.Execute takes it as it takes an html/template.Template.
	got, err := (&PanelContext{}).Execute(NewTemplate("p", nil, `<i>{{.}}</i>`), "x")
	if err != nil || got != "<i>x</i>" {
		t.Errorf("Execute = %q, %v", got, err)
	}
}
