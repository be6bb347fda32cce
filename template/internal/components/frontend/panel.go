package frontend

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// RenderFunc renders a panel's body. It runs on every page view and every
// refresh, concurrently for different requests, so it should be quick and
// hold no state of its own. Text it puts into the HTML must be escaped:
// build the HTML with html/template (PanelContext.Execute helps).
type RenderFunc func(*PanelContext) (template.HTML, error)

// ActionFunc performs one action of a panel (retry a job, deactivate a
// user). It runs only for POST requests that passed the access rules and
// the CSRF check. Its error is shown to the operator, so it should say what
// went wrong in words they can act on.
type ActionFunc func(*PanelContext) error

// PanelContext is what a panel's functions get.
type PanelContext struct {
	// Request is the HTTP request; for an action, its form is parsed.
	Request *http.Request
	// Container resolves services: registry.Get[*worker.Client](p.Container).
	Container *registry.Container
	// Panel is the panel's name.
	Panel string
	// Action is the action being run, or "" while rendering.
	Action string
	// Notice is what the operator reads after an action that succeeded;
	// an action may set it (default "Done: <action>.").
	Notice string

	csrf string
}

// ActionURL is the URL to POST to for the panel's action name.
func (p *PanelContext) ActionURL(action string) string {
	return PanelsPath + "/" + url.PathEscape(p.Panel) + "/actions/" + url.PathEscape(action)
}

// CSRFField is the hidden form field that every action form must carry (htmx
// requests send the token as a header already).
func (p *PanelContext) CSRFField() template.HTML {
	return template.HTML(`<input type="hidden" name="` + CSRFField + `" value="` + template.HTMLEscapeString(p.csrf) + `">`)
}

// CSRFToken is the token itself, for forms built by other means.
func (p *PanelContext) CSRFToken() string { return p.csrf }

// Execute runs t with data and returns the result: a convenience for render
// functions built on html/template (pass p.CSRFField() and p.ActionURL(...)
// in data for action forms).
func (p *PanelContext) Execute(t *template.Template, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// PanelOpts adjust a panel. A nil *PanelOpts means defaults.
type PanelOpts struct {
	// Order places the panel in the navigation: lower first, then by name.
	Order int
	// Refresh, when positive, re-renders the panel every Refresh seconds
	// (rounded up to at least 2).
	Refresh int
	// Actions are the panel's POST actions by name.
	Actions map[string]ActionFunc
}

type panel struct {
	name, title string
	render      RenderFunc
	opts        PanelOpts
	where       string
}

// PanelBook is a list of panels. Panel writes to the default one; a
// Dashboard built with Opts.Panels shows another, so tests can hold exactly
// the panels they ask for.
type PanelBook struct {
	mu     sync.Mutex
	panels []panel
	errs   []error
}

var panels = &PanelBook{}

// NewPanelBook returns an empty PanelBook.
func NewPanelBook() *PanelBook { return &PanelBook{} }

var panelName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Panel registers a dashboard panel from init(): a page at
// /dashboard/panels/<name> titled title, linked from the navigation, whose
// body render returns. A duplicate or invalid name (lowercase letters,
// digits and dashes), a nil render or a bad action is an error returned
// when the dashboard is built (the app does not start), with the file:line
// of the call. Put the registration in the contributing component's own
// folder, so the panel leaves with the component.
//
//	func init() {
//		frontend.Panel("jobs", "Jobs", renderJobs, &frontend.PanelOpts{
//			Refresh: 5,
//			Actions: map[string]frontend.ActionFunc{"retry": retryJob},
//		})
//	}
//
// An action button is a form that posts to p.ActionURL(name) and carries
// p.CSRFField(). With the htmx attributes below it swaps the panel in place
// with the outcome; without JavaScript the post redirects back to the page:
//
//	<form method="post" action="{{.URL}}" hx-post="{{.URL}}" hx-target="closest .panel" hx-swap="outerHTML">
//		{{.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><button>Retry</button>
//	</form>
func Panel(name, title string, render RenderFunc, opts *PanelOpts) {
	_, file, line, _ := runtime.Caller(1)
	panels.add(name, title, render, opts, fmt.Sprintf("%s:%d", file, line))
}

// Add registers a panel in b; see Panel.
func (b *PanelBook) Add(name, title string, render RenderFunc, opts *PanelOpts) {
	_, file, line, _ := runtime.Caller(1)
	b.add(name, title, render, opts, fmt.Sprintf("%s:%d", file, line))
}

func (b *PanelBook) add(name, title string, render RenderFunc, opts *PanelOpts, where string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !panelName.MatchString(name):
		b.errs = append(b.errs, fmt.Errorf("frontend: panel %q registered at %s: the name must be lowercase letters, digits and dashes", name, where))
		return
	case render == nil:
		b.errs = append(b.errs, fmt.Errorf("frontend: panel %q registered at %s has a nil render function", name, where))
		return
	}
	for _, p := range b.panels {
		if p.name == name {
			b.errs = append(b.errs, fmt.Errorf("frontend: panel %q registered at %s was already registered at %s", name, where, p.where))
			return
		}
	}
	p := panel{name: name, title: cmp.Or(title, name), render: render, where: where}
	if opts != nil {
		p.opts = *opts
	}
	for action, fn := range p.opts.Actions {
		if !panelName.MatchString(action) || fn == nil {
			b.errs = append(b.errs, fmt.Errorf("frontend: panel %q registered at %s: action %q needs a name of lowercase letters, digits and dashes and a non-nil function", name, where, action))
			return
		}
	}
	b.panels = append(b.panels, p)
}

// list returns the panels by order, then name.
func (b *PanelBook) list() []panel {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.panels)
	slices.SortFunc(out, func(x, y panel) int {
		return cmp.Or(cmp.Compare(x.opts.Order, y.opts.Order), cmp.Compare(x.name, y.name))
	})
	return out
}

// Err reports every registration mistake.
func (b *PanelBook) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Join(b.errs...)
}

func (b *PanelBook) find(name string) (panel, bool) {
	for _, p := range b.list() {
		if p.name == name {
			return p, true
		}
	}
	return panel{}, false
}

// PanelView is a rendered panel.
type PanelView struct {
	Name, Title string
	Body        template.HTML
	Error       string // the render error, shown instead of the body
	Notice      string // the outcome of an action
	Refresh     int    // seconds between refreshes; 0: none
}

func (s *site) renderPanel(req *http.Request, d *Dashboard, p panel, csrf, notice string) PanelView {
	pc := &PanelContext{Request: req, Container: s.c, Panel: p.name, csrf: csrf}
	v := PanelView{Name: p.name, Title: p.title, Notice: notice}
	if p.opts.Refresh > 0 {
		v.Refresh = max(p.opts.Refresh, 2)
	}
	body, err := safeRender(p.render, pc)
	if err != nil {
		s.r.Logger.ErrorContext(req.Context(), "frontend: render panel", "panel", p.name, "error", err)
		v.Error = err.Error()
	}
	v.Body = body
	return v
}

// safeRender turns a panic in a contributed panel into an error, so one
// broken panel cannot take the page down.
func safeRender(fn RenderFunc, pc *PanelContext) (body template.HTML, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panel %s panicked: %v", pc.Panel, v)
		}
	}()
	return fn(pc)
}

func safeAction(fn ActionFunc, pc *PanelContext) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("action %s of panel %s panicked: %v", pc.Action, pc.Panel, v)
		}
	}()
	return fn(pc)
}

func (s *site) findPanel(w http.ResponseWriter, req *http.Request, d *Dashboard) (panel, bool) {
	p, ok := d.opts.Panels.find(chi.URLParam(req, "name"))
	if !ok {
		http.Error(w, "No such dashboard panel.", http.StatusNotFound)
	}
	return p, ok
}

func (s *site) panel(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	p, ok := s.findPanel(w, req, d)
	if !ok {
		return
	}
	data := s.page(w, req, d, "panel:"+p.name, p.title, nil)
	data.Content = s.renderPanel(req, d, p, data.CSRF, req.URL.Query().Get("notice"))
	s.render(w, req, d, "panel", "layout", data)
}

func (s *site) panelFragment(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	p, ok := s.findPanel(w, req, d)
	if !ok {
		return
	}
	s.render(w, req, d, "panel", "live", s.renderPanel(req, d, p, d.csrfToken(w, req), ""))
}

// action runs a panel's action (the guard has checked access and CSRF). An
// htmx request gets the re-rendered panel; a plain form post is redirected
// back to the panel's page (post/redirect/get).
func (s *site) action(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	p, ok := s.findPanel(w, req, d)
	if !ok {
		return
	}
	name := chi.URLParam(req, "action")
	fn, ok := p.opts.Actions[name]
	if !ok {
		http.Error(w, "No such action on this panel.", http.StatusNotFound)
		return
	}
	pc := &PanelContext{Request: req, Container: s.c, Panel: p.name, Action: name, csrf: d.csrfToken(w, req)}
	notice := "Done: " + name + "."
	err := safeAction(fn, pc)
	if err == nil && pc.Notice != "" {
		notice = pc.Notice
	}
	if err != nil {
		s.r.Logger.WarnContext(req.Context(), "frontend: panel action failed", "panel", p.name, "action", name, "error", err)
		notice = "Failed: " + err.Error()
	}
	if req.Header.Get("HX-Request") == "true" {
		// 200 even when the action failed: htmx swaps only successful
		// responses, and the notice belongs on screen.
		s.render(w, req, d, "panel", "live", s.renderPanel(req, d, p, pc.csrf, notice))
		return
	}
	http.Redirect(w, req, backTo(req, p.name, notice), http.StatusSeeOther)
}

// backTo is the panel's page with the notice, keeping the query the page was viewed with (a
// search, say) when the form was posted from it: the Referer, sent same-origin only.
func backTo(req *http.Request, panel, notice string) string {
	page := PanelsPath + "/" + url.PathEscape(panel)
	q := url.Values{}
	if ref, err := url.Parse(req.Referer()); err == nil && ref.Host == req.Host && ref.EscapedPath() == page {
		q = ref.Query()
	}
	q.Set("notice", notice)
	return page + "?" + q.Encode()
}
