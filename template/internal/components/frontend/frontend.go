// Package frontend is the status page at /: every registered component and
// service with its kind, lifetime, state and health, rendered on the server
// from the container's graph and health report. It needs no JavaScript and
// loads nothing from other hosts. A later dashboard replaces it.
package frontend

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the frontend's name as a component.
const Name = "frontend"

//go:embed page.html style.css
var files embed.FS

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = Register(registry.Default)
	backend.Routes(Name, mount)
}

// Register adds the frontend component to r. init() does it for
// registry.Default; tests call it on a fresh registry.
func Register(r *registry.Registry) error {
	return registry.Provide(r, NewPage,
		registry.Name(Name),
		registry.Kind(registry.KindComponent),
		registry.Describe("Status page at /: components, services and their health"),
	)
}

// Page renders the status page.
type Page struct {
	tmpl *template.Template
	css  template.CSS
}

// NewPage parses the embedded page template.
func NewPage(context.Context) (*Page, error) {
	tmpl, err := template.New("page.html").Funcs(template.FuncMap{
		"latency": formatLatency,
	}).ParseFS(files, "page.html")
	if err != nil {
		return nil, fmt.Errorf("frontend: parse page: %w", err)
	}
	css, err := files.ReadFile("style.css")
	if err != nil {
		return nil, fmt.Errorf("frontend: read style: %w", err)
	}
	// The stylesheet is ours and embedded, so it is trusted CSS.
	return &Page{tmpl: tmpl, css: template.CSS(css)}, nil
}

// Row is one component or service on the page.
type Row struct {
	Name        string
	Kind        string
	Lifetime    string
	State       string
	Description string
	Deps        []string
	Health      string // healthy, degraded, unhealthy, or "" when it has no check
	Message     string
	Latency     time.Duration
	TimedOut    bool
}

// Section is one table on the page.
type Section struct {
	ID      string
	Heading string
	Rows    []Row
}

// View is what the template renders.
type View struct {
	Title     string
	Status    string
	CheckedAt time.Time
	Sections  []Section // components, then services
	CSS       template.CSS
}

// view joins the graph (what exists) with the health report (how it is).
func view(title string, g registry.Graph, rep registry.Report) View {
	checks := make(map[string]registry.CheckResult, len(rep.Checks))
	for _, c := range rep.Checks {
		checks[c.Name] = c
	}
	var components, services []Row
	for _, n := range g.Nodes {
		row := Row{
			Name:        n.Name,
			Kind:        n.Kind,
			Lifetime:    n.Lifetime,
			State:       n.State,
			Description: n.Description,
			Deps:        n.Deps,
		}
		if c, ok := checks[n.Name]; ok {
			row.Health = string(c.Status)
			row.Message = c.Message
			row.Latency = c.Latency
			row.TimedOut = c.TimedOut
		}
		if n.Kind == registry.KindComponent {
			components = append(components, row)
		} else {
			services = append(services, row)
		}
	}
	byName := func(a, b Row) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(components, byName)
	slices.SortFunc(services, byName)
	return View{
		Title:     title,
		Status:    string(rep.Status),
		CheckedAt: rep.CheckedAt,
		Sections: []Section{
			{ID: "components", Heading: "Components", Rows: components},
			{ID: "services", Heading: "Services", Rows: services},
		},
	}
}

func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}

func mount(r *backend.Router) error {
	c := r.Container
	title := r.Title
	timeout := r.HealthTimeout
	r.Mux.Get("/", func(w http.ResponseWriter, req *http.Request) {
		// Resolved per request rather than at mount time, so the handler can be
		// built before the container starts (readiness says 503 meanwhile).
		page, err := registry.Get[*Page](c)
		if err != nil {
			http.Error(w, "The status page is not available yet: the app is starting.", http.StatusServiceUnavailable)
			return
		}
		v := view(title, c.Graph(), c.CheckHealth(req.Context(), timeout))
		v.CSS = page.css
		var buf bytes.Buffer
		if err := page.tmpl.Execute(&buf, v); err != nil {
			r.Logger.ErrorContext(req.Context(), "frontend: render status page", "error", err)
			http.Error(w, "The status page failed to render.", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
	return nil
}
