package frontend

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
)

// Route is one HTTP route on the routes page.
type Route struct {
	Method  string
	Path    string
	Summary string
	Tags    []string
	Docs    string // link to the operation in /docs, or "" when it is not in the API
}

// RouteList is the routes page.
type RouteList struct {
	Routes []Route
	API    int // how many are described in /openapi.json
}

// routeList walks the router (every route, plain pages included) and takes
// the summary of each from huma's OpenAPI document. It runs per request, so
// it sees the routes every contributor mounted, before or after the frontend.
func routeList(mux chi.Routes, api huma.API) RouteList {
	ops := map[string]*huma.Operation{}
	if oa := api.OpenAPI(); oa != nil {
		for path, item := range oa.Paths {
			for method, op := range operations(item) {
				if op != nil {
					ops[method+" "+path] = op
				}
			}
		}
	}
	var out RouteList
	seen := map[string]bool{}
	add := func(method, path string) {
		key := method + " " + path
		if seen[key] {
			return
		}
		seen[key] = true
		r := Route{Method: method, Path: path}
		if op, ok := ops[key]; ok {
			r.Summary, r.Tags = op.Summary, op.Tags
			tag := "default"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if op.OperationID != "" {
				r.Docs = "/docs#/" + tag + "/" + op.OperationID
			}
			out.API++
		}
		out.Routes = append(out.Routes, r)
	}
	_ = chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		add(method, strings.TrimSuffix(route, "/*"))
		return nil
	})
	// Operations described but answered outside the router (/health/live).
	for key := range ops {
		method, path, _ := strings.Cut(key, " ")
		add(method, path)
	}
	slices.SortFunc(out.Routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(methodRank(a.Method), methodRank(b.Method)), cmp.Compare(a.Method, b.Method))
	})
	return out
}

func operations(p *huma.PathItem) map[string]*huma.Operation {
	return map[string]*huma.Operation{
		http.MethodGet: p.Get, http.MethodPut: p.Put, http.MethodPost: p.Post, http.MethodDelete: p.Delete,
		http.MethodOptions: p.Options, http.MethodHead: p.Head, http.MethodPatch: p.Patch, http.MethodTrace: p.Trace,
	}
}

func methodRank(m string) int {
	i := slices.Index([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}, m)
	if i < 0 {
		return 99
	}
	return i
}

func (s *site) routes(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "routes", "layout", s.page(w, req, d, "routes", "Routes", routeList(s.r.Mux, s.r.API)))
}
