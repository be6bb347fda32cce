package frontend

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

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
	// Request is the HTTP request; for an action, its form is parsed and its context is
	// not cancelled if the browser leaves (it ends after a minute).
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
	// word is the contributed ErrorWording, for Problem; nil when none is.
	word ErrorWording
}

// Operator is who signed in to the dashboard, when the app's own accounts
// sign operators in (see the package's Operator).
func (p *PanelContext) Operator() (Identity, bool) { return Operator(p.Request.Context()) }

// ActionURL is the URL to POST to for the panel's action name.
func (p *PanelContext) ActionURL(action string) string {
	return PanelsPath + "/" + url.PathEscape(p.Panel) + "/actions/" + url.PathEscape(action)
}

// ResourceURL is the URL of the panel's resource name (see PanelOpts.Resources); add a query
// for the ResourceFunc to read.
func (p *PanelContext) ResourceURL(name string) string {
	return PanelsPath + "/" + url.PathEscape(p.Panel) + "/resources/" + url.PathEscape(name)
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
func (p *PanelContext) Execute(t Executor, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// PanelOpts adjust a panel; the zero value means defaults.
type PanelOpts struct {
	// Order places the panel in the navigation: lower first, then by name.
	Order int
	// Refresh, when positive, re-renders the panel every Refresh seconds
	// (rounded up to at least 2).
	Refresh int
	// Actions are the panel's POST actions by name.
	Actions map[string]ActionFunc
	// Resources are documents the panel's page embeds or links to, by name: served at
	// p.ResourceURL(name), each with its own headers (see Resource).
	Resources map[string]ResourceFunc
}

// ResourceFunc makes a sub-resource of a panel: a document the panel shows in an iframe (a
// preview of content the app did not write, such as an email) or offers for download. It runs
// for GET requests that passed the access rules, with the query in p.Request. An error
// wrapping ErrNoResource answers 404; any other is logged and answered with a plain 500.
type ResourceFunc func(p *PanelContext) (Resource, error)

// ErrNoResource is what a ResourceFunc returns (wrapped) when what the request names does
// not exist.
var ErrNoResource = errors.New("frontend: no such resource")

// Resource is a panel's sub-resource, served as its own response rather than inside the
// dashboard's page, so it gets a Content-Security-Policy of its own instead of the
// dashboard's (whose style-src 'self' would block an email's inline styles, for example).
// Whatever CSP says, the response is sandboxed (CSP sandbox: no scripts, forms or
// same-origin access, even when opened directly), never cached, and may be framed by the
// dashboard's own pages only.
type Resource struct {
	// ContentType is the media type; empty means text/html; charset=utf-8.
	ContentType string
	// Body is the content.
	Body []byte
	// CSP is the Content-Security-Policy for the content; empty means default-src 'none'
	// (nothing loads: no styles, images or fonts). The frontend appends sandbox and
	// frame-ancestors 'self'.
	CSP string
	// Filename, when set, makes the response a download (Content-Disposition: attachment).
	Filename string
}

// Panel is a dashboard panel: a contribution kind, named by the panel's URL name, registered
// from the contributing component's own folder so the panel leaves with the component. It is
// a page at /dashboard/panels/<name> titled Title, linked from the navigation, whose body
// Render returns. An invalid name (lowercase letters, digits and dashes), a nil Render, a bad
// action or a name used twice fails the container's Build with the file:line of the
// registration.
//
//	func init() {
//		registry.Contribute(registry.Default, "jobs", frontend.Panel{Title: "Jobs", Render: renderJobs,
//			PanelOpts: frontend.PanelOpts{Refresh: 5, Actions: map[string]frontend.ActionFunc{"retry": retryJob}}})
//	}
//
// An action button is a form that posts to p.ActionURL(name) and carries
// p.CSRFField(). With the htmx attributes below it swaps the panel in place
// with the outcome; without JavaScript the post redirects back to the page, with the
// query it was viewed with (a search, a page number) less notice and confirm. An action
// that asks first without JavaScript shows its confirming form at the page's ?confirm=...
// address; the post's redirect drops it, so the page does not ask again:
//
//	<form method="post" action="{{.URL}}" hx-post="{{.URL}}" hx-target="closest .panel" hx-swap="outerHTML">
//		{{.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><button>Retry</button>
//	</form>
type Panel struct {
	// Title is the panel's heading and navigation label; empty means its name.
	Title  string
	Render RenderFunc
	PanelOpts
}

var panelName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// ValidateContribution checks the panel's name, render function and actions.
func (p Panel) ValidateContribution(name string) error {
	switch {
	case !panelName.MatchString(name):
		return errors.New("frontend: a panel name must be lowercase letters, digits and dashes")
	case p.Render == nil:
		return errors.New("frontend: the panel has a nil render function")
	}
	for action, fn := range p.Actions {
		if !panelName.MatchString(action) || fn == nil {
			return fmt.Errorf("frontend: panel action %q needs a name of lowercase letters, digits and dashes and a non-nil function", action)
		}
	}
	for res, fn := range p.Resources {
		if !panelName.MatchString(res) || fn == nil {
			return fmt.Errorf("frontend: panel resource %q needs a name of lowercase letters, digits and dashes and a non-nil function", res)
		}
	}
	return nil
}

// panel is a validated panel with its name.
type panel struct {
	name, title string
	render      RenderFunc
	opts        PanelOpts
}

// panelList is the dashboard's panels by order, then name.
type panelList []panel

// newPanelList validates ps (which may come from a test rather than the registry) and sorts
// them. Errors name each panel and where it was registered.
func newPanelList(ps registry.All[Panel]) (panelList, error) {
	var (
		out  panelList
		errs []error
		seen = map[string]string{}
	)
	for _, c := range ps {
		if prev, dup := seen[c.Name]; dup {
			errs = append(errs, fmt.Errorf("frontend: panel %q registered at %s was already registered at %s", c.Name, c.Registered, prev))
			continue
		}
		if err := c.Value.ValidateContribution(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("panel %q registered at %s: %w", c.Name, c.Registered, err))
			continue
		}
		seen[c.Name] = c.Registered
		out = append(out, panel{name: c.Name, title: cmp.Or(c.Value.Title, c.Name), render: c.Value.Render, opts: c.Value.PanelOpts})
	}
	slices.SortFunc(out, func(x, y panel) int {
		return cmp.Or(cmp.Compare(x.opts.Order, y.opts.Order), cmp.Compare(x.name, y.name))
	})
	return out, errors.Join(errs...)
}

func (l panelList) find(name string) (panel, bool) {
	for _, p := range l {
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
	Notice      notice // the outcome of an action
	Refresh     int    // seconds between refreshes; 0: none
}

func (s *site) renderPanel(req *http.Request, d *Dashboard, p panel, csrf string, n notice) PanelView {
	pc := &PanelContext{Request: req, Container: s.c, Panel: p.name, csrf: csrf, word: d.opts.Wording}
	v := PanelView{Name: p.name, Title: p.title, Notice: n}
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
	p, ok := d.panels.find(chi.URLParam(req, "name"))
	if !ok {
		notFound(w, req, "No such dashboard panel: pick one from the dashboard's navigation.")
	}
	return p, ok
}

func (s *site) panel(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	p, ok := s.findPanel(w, req, d)
	if !ok {
		return
	}
	data := s.page(w, req, d, "panel:"+p.name, p.title, nil)
	// A plain form's outcome (the flash) is the latest when there are both: its post
	// redirected here, after any htmx action whose answer was lost.
	n := d.takeUnseen(req, p.name)
	if f := d.takeFlash(w, req, p.name); f.Text != "" {
		n = f
	}
	data.Content = s.renderPanel(req, d, p, data.CSRF, n)
	s.render(w, req, d, "panel", "layout", data)
}

func (s *site) panelFragment(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	p, ok := s.findPanel(w, req, d)
	if !ok {
		return
	}
	s.render(w, req, d, "panel", "live", s.renderPanel(req, d, p, d.csrfToken(w, req), notice{}))
}

// actionTimeout bounds an action that no longer has a browser waiting for it.
const actionTimeout = time.Minute

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
		notFound(w, req, "No such action on this panel: reload the panel for the actions it offers.")
		return
	}
	// The action runs to its end even if the browser leaves (a reload mid-way, which cancels
	// the request's context): a deactivation or resend cut short by a reload would leave the
	// operator guessing what happened, where a finished one is shown on the next load.
	// From here on req is that request: the action parses its form into it, and the panel
	// re-rendered after reads the same form (the search it keeps), whose body is read once.
	browser := req.Context() // ends when the browser leaves
	ctx, cancel := context.WithTimeout(context.WithoutCancel(browser), actionTimeout)
	defer cancel()
	req = req.WithContext(ctx)
	pc := &PanelContext{Request: req, Container: s.c, Panel: p.name, Action: name, csrf: d.csrfToken(w, req), word: d.opts.Wording}
	n := notice{Text: "Done: " + name + "."}
	err := safeAction(fn, pc)
	if err == nil && pc.Notice != "" {
		n.Text = pc.Notice
	}
	if err != nil {
		s.r.Logger.WarnContext(req.Context(), "frontend: panel action failed", "panel", p.name, "action", name, "error", err)
		n = notice{Text: "Failed: " + err.Error(), Failed: true}
	}
	if req.Header.Get("HX-Request") == "true" {
		if browser.Err() != nil {
			// The browser left before the answer (a reload, another page): the
			// next load of this panel shows the outcome instead (see unseenOutcomes).
			d.keepUnseen(req, p.name, n)
			return
		}
		// 200 even when the action failed: htmx swaps only successful
		// responses, and the notice belongs on screen.
		s.render(w, req, d, "panel", "live", s.renderPanel(req, d, p, pc.csrf, n))
		return
	}
	d.setFlash(w, req, p.name, n)
	http.Redirect(w, req, backTo(req, p.name), http.StatusSeeOther)
}

// resourceCSP is appended to every resource's own policy: the content runs no script and has
// an opaque origin whether it is framed or opened directly, and only the dashboard may frame
// it.
const resourceCSP = "; sandbox; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// resource serves a panel's sub-resource with its own headers (see Resource).
func (s *site) resource(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	p, ok := s.findPanel(w, req, d)
	if !ok {
		return
	}
	name := chi.URLParam(req, "resource")
	fn, ok := p.opts.Resources[name]
	if !ok {
		notFound(w, req, "No such resource on this panel: reload the panel for its current links.")
		return
	}
	// No CSRF token: a resource is a GET document, sandboxed, with no form that could post.
	pc := &PanelContext{Request: req, Container: s.c, Panel: p.name, word: d.opts.Wording}
	res, err := safeResource(fn, pc)
	switch {
	case errors.Is(err, ErrNoResource):
		http.Error(w, "Not found: "+err.Error(), http.StatusNotFound)
		return
	case err != nil:
		s.r.Logger.ErrorContext(req.Context(), "frontend: panel resource", "panel", p.name, "resource", name, "error", err)
		http.Error(w, "The resource failed to render.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", cmp.Or(res.CSP, "default-src 'none'")+resourceCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", cmp.Or(res.ContentType, "text/html; charset=utf-8"))
	if res.Filename != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": res.Filename}))
	}
	_, _ = w.Write(res.Body)
}

func safeResource(fn ResourceFunc, pc *PanelContext) (res Resource, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("resource of panel %s panicked: %v", pc.Panel, v)
		}
	}()
	return fn(pc)
}

// backTo is the panel's page, keeping the query the page was viewed with (a search, say) when
// the form was posted from it: the Referer, sent same-origin only. The notice goes in the
// flash cookie, never the URL (a notice parameter from an old link is dropped). confirm, a
// panel's confirmation step without JavaScript, is dropped too: the step is done once the
// post is made, and kept it would ask again (see Panel).
func backTo(req *http.Request, panel string) string {
	page := PanelsPath + "/" + url.PathEscape(panel)
	q := url.Values{}
	if ref, err := url.Parse(req.Referer()); err == nil && ref.Host == req.Host && ref.EscapedPath() == page {
		q = ref.Query()
	}
	q.Del("notice")
	q.Del("confirm")
	if len(q) == 0 {
		return page
	}
	return page + "?" + q.Encode()
}

// Executor is a template PanelContext.Execute runs: an *html/template.Template,
// or a *Template parsed on first use.
type Executor interface {
	Execute(w io.Writer, data any) error
}

// Template is an html/template parsed on its first use instead of when the
// program starts: a package-level template.Must(...Parse(...)) runs in the
// package's init, and the app's panels took 0.1-1.9 ms each of every start that
// way (GODEBUG=inittrace=1), for pages most starts never serve. A text that does
// not parse fails every Execute with the parse error (each panel's tests render
// its template).
type Template struct {
	parse func() (*template.Template, error)
}

// NewTemplate returns the template name with funcs (nil for none) and text,
// parsed once, on its first Execute.
func NewTemplate(name string, funcs template.FuncMap, text string) *Template {
	return &Template{parse: sync.OnceValues(func() (*template.Template, error) {
		return template.New(name).Funcs(funcs).Parse(text)
	})}
}

// Execute parses t on its first call, then applies it to data, writing to w.
func (t *Template) Execute(w io.Writer, data any) error {
	tmpl, err := t.parse()
	if err != nil {
		return fmt.Errorf("frontend: template: %w", err)
	}
	return tmpl.Execute(w, data)
}
