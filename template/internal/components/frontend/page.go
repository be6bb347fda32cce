package frontend

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed templates
var templateFS embed.FS

// pageNames are the full pages; each is templates/<name>.html defining
// "content" (and its fragments), parsed together with the layout.
var pageNames = []string{"overview", "graph", "routes", "panel"}

var funcs = template.FuncMap{
	"latency": formatLatency,
	"anchor":  anchor,
	"uptime":  formatUptime,
	"bytes":   formatBytes,
	"utc":     func(t time.Time) string { return t.UTC().Format("15:04:05 UTC") },
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":    strings.Join,
	"lower":   strings.ToLower,
}

func parsePages() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("frontend: parse page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// navItem is one link of the dashboard's navigation.
type navItem struct {
	Href, Label string
	Current     bool
}

// pageData is what the layout renders around a page's content.
type pageData struct {
	App           string
	Heading       string
	CSS, HTMX, JS string
	CSRF          string // token for forms
	HTMXHeaders   string // hx-headers JSON carrying the token
	Nav           []navItem
	Logout        string // where to POST to sign out; "" without a session login
	Content       any
}

// page builds the layout data for a page; key marks the current nav item.
func (s *site) page(w http.ResponseWriter, req *http.Request, d *Dashboard, key, heading string, content any) pageData {
	token := d.csrfToken(w, req)
	hdr, _ := json.Marshal(map[string]string{CSRFHeader: token})
	nav := []navItem{
		{Href: OverviewPath, Label: "Overview"},
		{Href: GraphPath, Label: "Service graph"},
		{Href: RoutesPath, Label: "Routes"},
	}
	current := map[string]string{"overview": OverviewPath, "graph": GraphPath, "routes": RoutesPath}[key]
	for _, p := range d.panels {
		href := PanelsPath + "/" + p.name
		nav = append(nav, navItem{Href: href, Label: p.title})
		if key == "panel:"+p.name {
			current = href
		}
	}
	for i := range nav {
		nav[i].Current = nav[i].Href == current
	}
	logout := ""
	if s.authenticator(d) != nil {
		logout = LogoutPath
	}
	urls := d.urls()
	return pageData{
		Logout: logout,
		App:    s.title, Heading: heading, CSS: urls.css, HTMX: urls.htmx, JS: urls.js,
		CSRF: token, HTMXHeaders: string(hdr),
		Nav:     nav,
		Content: content,
	}
}
