package comms

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/aegisgo/aegis/template/internal/config"
)

// The templates shipped with the app. For a name N: N.txt.tmpl defines "subject" and
// "content" (the text body), N.html.tmpl defines "content" (the HTML body; optional), and
// N.json holds sample data for previews ('comms templates', the send-test command). The
// layouts (layout.txt.tmpl, layout.html.tmpl) define "layout", which wraps "content".
// A text template that defines "sensitive" marks its emails as carrying a secret (a
// one-time link, a code): the block says what, as in
// {{define "sensitive"}}the password reset link{{end}}, and the message store drops their
// bodies once a provider has delivered them (see Message.Sensitive).
//
//go:embed templates
var templateFiles embed.FS

// Rendered is a template rendered with data: the three parts of an email, and whether it
// carries a secret.
type Rendered struct {
	Subject string
	Text    string
	HTML    string // empty when the template has no HTML part
	// Sensitive is what the template's "sensitive" block says is secret in the email ("the
	// password reset link"); empty when the template defines no such block. SendTemplate
	// passes it on as Message.Sensitive.
	Sensitive string
}

// sensitiveBlock is the text template block that marks a template as sensitive.
const sensitiveBlock = "sensitive"

// defaultSensitive is the reason of a template whose "sensitive" block is empty: defining
// the block is what marks it, so an empty one still does.
const defaultSensitive = "a secret"

// Templates are the app's email templates, parsed once. Executing them is safe for
// concurrent use. A variable the data lacks is an error (missingkey=error), never empty text.
type Templates struct {
	byName map[string]*emailTemplate
	names  []string
}

type emailTemplate struct {
	text   *texttemplate.Template
	html   *htmltemplate.Template // nil: text only
	sample []byte                 // JSON; nil: none
}

// LoadTemplates parses the built-in templates, with the files of dir (when not empty)
// replacing those of the same name and adding new ones. appName is what {{app}} gives.
// Any template that does not parse is an error naming its file.
func LoadTemplates(dir, appName string) (*Templates, error) {
	base, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("comms: templates: %w", err)
	}
	if dir == "" {
		return parseTemplates(base, appName)
	}
	// The errors are *config.Error: the app prints them as they are, naming the setting and the
	// fix, not inside the registry's account of which constructor failed where.
	const (
		name = "COMMS_TEMPLATES_DIR"
		fix  = "set it to a folder of template files, or leave it empty for the built-in templates"
	)
	info, err := os.Stat(dir)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, config.Invalid(name, dir, "does not exist", fix)
	case errors.As(err, &pe):
		return nil, config.Invalid(name, dir, "cannot be read ("+pe.Err.Error()+")", fix)
	case err != nil:
		return nil, config.Invalid(name, dir, "cannot be read", fix)
	case !info.IsDir():
		return nil, config.Invalid(name, dir, "is not a folder", fix)
	}
	tpl, err := parseTemplates(overlay{top: os.DirFS(dir), base: base}, appName)
	if err != nil {
		return nil, config.Invalid(name, dir, "holds a template that does not load: "+strings.TrimPrefix(err.Error(), "comms: "),
			"fix that file, or remove it to use the built-in one of its name")
	}
	return tpl, nil
}

// overlay reads a file from top when it has one, else from base.
type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err == nil {
		return f, nil
	}
	return o.base.Open(name)
}

// names lists the templates of both layers.
func (o overlay) names() ([]string, error) {
	var all []string
	for _, layer := range []fs.FS{o.top, o.base} {
		n, err := templateNames(layer)
		if err != nil {
			return nil, err
		}
		all = append(all, n...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

const (
	textSuffix = ".txt.tmpl"
	htmlSuffix = ".html.tmpl"
	layoutName = "layout"
)

// templateNames lists the names of the text templates of files (every template has one).
func templateNames(files fs.FS) ([]string, error) {
	matches, err := fs.Glob(files, "*"+textSuffix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if name := strings.TrimSuffix(m, textSuffix); name != layoutName {
			out = append(out, name)
		}
	}
	return out, nil
}

func parseTemplates(files fs.FS, appName string) (*Templates, error) {
	var names []string
	var err error
	if o, ok := files.(overlay); ok {
		names, err = o.names()
	} else {
		names, err = templateNames(files)
	}
	if err != nil {
		return nil, fmt.Errorf("comms: templates: %w", err)
	}
	read := func(name string) ([]byte, bool, error) {
		b, err := fs.ReadFile(files, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
	textLayout, _, err := read(layoutName + textSuffix)
	if err != nil {
		return nil, fmt.Errorf("comms: template %s: %w", layoutName+textSuffix, err)
	}
	htmlLayout, _, err := read(layoutName + htmlSuffix)
	if err != nil {
		return nil, fmt.Errorf("comms: template %s: %w", layoutName+htmlSuffix, err)
	}
	textFuncs := texttemplate.FuncMap{"app": func() string { return appName }}
	htmlFuncs := htmltemplate.FuncMap{"app": func() string { return appName }}

	t := &Templates{byName: map[string]*emailTemplate{}, names: names}
	for _, name := range names {
		body, _, err := read(name + textSuffix)
		if err != nil {
			return nil, fmt.Errorf("comms: template %s: %w", name+textSuffix, err)
		}
		et := &emailTemplate{}
		et.text, err = texttemplate.New(name).Option("missingkey=error").Funcs(textFuncs).Parse(string(textLayout))
		if err == nil {
			_, err = et.text.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("comms: template %s: %w", name+textSuffix, err)
		}
		for _, part := range []string{"subject", "content", "layout"} {
			if et.text.Lookup(part) == nil {
				return nil, fmt.Errorf("comms: template %s defines no %q (the text layout gives \"layout\"; the template \"subject\" and \"content\")", name+textSuffix, part)
			}
		}
		html, ok, err := read(name + htmlSuffix)
		if err != nil {
			return nil, fmt.Errorf("comms: template %s: %w", name+htmlSuffix, err)
		}
		if ok {
			et.html, err = htmltemplate.New(name).Option("missingkey=error").Funcs(htmlFuncs).Parse(string(htmlLayout))
			if err == nil {
				_, err = et.html.Parse(string(html))
			}
			if err != nil {
				return nil, fmt.Errorf("comms: template %s: %w", name+htmlSuffix, err)
			}
		}
		if et.sample, _, err = read(name + ".json"); err != nil {
			return nil, fmt.Errorf("comms: template %s.json: %w", name, err)
		}
		if et.sample != nil && !json.Valid(et.sample) {
			return nil, fmt.Errorf("comms: template %s.json is not valid JSON", name)
		}
		t.byName[name] = et
	}
	return t, nil
}

// Names lists the templates, sorted.
func (t *Templates) Names() []string { return slices.Clone(t.names) }

// Sample returns the template's sample data (from its .json file), or an empty map.
func (t *Templates) Sample(name string) (map[string]any, error) {
	et, ok := t.byName[name]
	if !ok {
		return nil, t.unknown(name)
	}
	data := map[string]any{}
	if et.sample != nil {
		if err := json.Unmarshal(et.sample, &data); err != nil {
			return nil, fmt.Errorf("comms: template %s.json: %w", name, err)
		}
	}
	return data, nil
}

func (t *Templates) unknown(name string) error {
	return fmt.Errorf("%w %q; the templates are %s", ErrUnknownTemplate, name, strings.Join(t.names, ", "))
}

// Render renders the template name with data: a map or a struct whose fields the template
// names. A variable data lacks is an error wrapping ErrTemplate, as is a subject with a line
// break.
func (t *Templates) Render(name string, data any) (Rendered, error) {
	et, ok := t.byName[name]
	if !ok {
		return Rendered{}, t.unknown(name)
	}
	var subject, text, html bytes.Buffer
	fail := func(part string, err error) (Rendered, error) {
		return Rendered{}, fmt.Errorf("%w: %s (%s): %w", ErrTemplate, name, part, err)
	}
	if err := et.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return fail("subject", err)
	}
	if err := et.text.ExecuteTemplate(&text, "layout", data); err != nil {
		return fail("text", err)
	}
	if et.html != nil {
		if err := et.html.ExecuteTemplate(&html, "layout", data); err != nil {
			return fail("html", err)
		}
	}
	r := Rendered{Subject: strings.TrimSpace(subject.String()), Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}
	if et.text.Lookup(sensitiveBlock) != nil {
		var reason bytes.Buffer
		if err := et.text.ExecuteTemplate(&reason, sensitiveBlock, data); err != nil {
			return fail(sensitiveBlock, err)
		}
		if r.Sensitive = oneLine(reason.String()); r.Sensitive == "" {
			r.Sensitive = defaultSensitive
		}
	}
	if hasLineBreak(r.Subject) {
		return Rendered{}, fmt.Errorf("%w: %s: the subject has a line break (from the data?)", ErrHeaderInjection, name)
	}
	if r.Subject == "" {
		return fail("subject", errors.New("the subject is empty"))
	}
	return r, nil
}
