package backend

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// HandlerOpts adjust Handler. A nil *HandlerOpts means all defaults.
type HandlerOpts struct {
	// Title names the API in /openapi.json and /docs. Default "API".
	Title string
	// Version is the API version in /openapi.json. Default "dev".
	Version string
	// Revision is the source revision the binary was built from, for pages; may be empty.
	Revision string
	// Logger receives access logs and panics. Default slog.Default().
	Logger *slog.Logger
	// Routes are the route sets to mount. Nil means those contributed to the registry the
	// server was built from (none for a server made with NewServer).
	Routes registry.All[Routes]
	// Telemetry instruments the requests (spans and metrics). Nil means the one contributed
	// to the registry the server was built from, if any; without one nothing is wrapped.
	Telemetry *Telemetry
}

func (o *HandlerOpts) withDefaults() HandlerOpts {
	var out HandlerOpts
	if o != nil {
		out = *o
	}
	if out.Title == "" {
		out.Title = "API"
	}
	if out.Version == "" {
		out.Version = "dev"
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}

// Handler builds the app's HTTP handler on c: middleware, the core routes
// (health, OpenAPI, docs) and then every contributed Routes set. c should
// be started before the handler serves; readiness reports 503 until it is.
// The contributed HealthAccess checks are resolved here, once: when one
// needs a service of c (the dashboard's does), c must be started first.
func (s *Server) Handler(c *registry.Container, opts *HandlerOpts) (http.Handler, error) {
	if c == nil {
		return nil, errors.New("backend: build handler: nil container")
	}
	o := opts.withDefaults()
	details, err := s.detailsPolicy(c)
	if err != nil {
		return nil, err
	}
	ids := newRequestIDs()
	telemetry := s.telemetry
	if o.Telemetry != nil {
		telemetry = *o.Telemetry
	}
	traced := telemetry.TracerProvider != nil

	mux := chi.NewRouter()
	// RFC 9110 has every server answer HEAD wherever it answers GET: a HEAD for a GET
	// route is routed to it (net/http drops the body), so that a client or a proxy
	// checking a resource (curl -I, link checkers) does not get a 405 that lists GET.
	mux.Use(headAsGet)
	// The middleware wraps the router rather than being installed in it (mux.Use), so that
	// the request context it makes also carries chi's routing context: chi then routes
	// with it instead of copying the request once more (see requestIDMiddleware).
	middleware := []func(http.Handler) http.Handler{
		// First, so that everything after it sees the client's address.
		realClient(s.proxies),
		// The request's context: its ID, its registry scope and chi's routing context,
		// one allocation and one WithContext.
		requestIDMiddleware(ids, c, mux),
	}
	if telemetry.enabled() {
		// After the request context (the ID, the routing context, the recorder), before
		// the access log, whose line then carries the trace.
		mw, err := instrument(telemetry, mux)
		if err != nil {
			return nil, err
		}
		middleware = append(middleware, mw)
	}
	middleware = append(middleware,
		hsts(s.production, s.settings.HSTSMaxAge),
		accessLog(o.Logger, traced),
		recoverer(o.Logger),
		limitBody(s.settings.MaxBodyBytes),
		// Innermost: the scope's instances close before the access log line and
		// before recoverer's 500.
		closeScope(c),
	)
	var chain http.Handler = mux
	for _, mw := range slices.Backward(middleware) {
		chain = mw(chain)
	}
	// The root handler answers GET and HEAD /health/live before the router;
	// registering it here too makes other methods get 405 rather than 404.
	mux.Method(http.MethodGet, LivePath, http.HandlerFunc(writeLive))
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "No route matches "+clip(r.URL.Path)+"; see /docs for the API.")
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allowed := allowedMethods(mux, r)
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		writeProblem(w, r, http.StatusMethodNotAllowed, clip(r.Method)+" is not allowed on "+clip(r.URL.Path)+".")
	})

	cfg := huma.DefaultConfig(o.Title, o.Version)
	// huma's default docs page loads its scripts from a CDN; ours is embedded.
	cfg.DocsPath = ""
	// huma's own hook builds $schema links from the request's Host headers.
	cfg.CreateHooks = []func(huma.Config) huma.Config{schemaLinks(s.settings.BaseURL)}
	// First, so that the schema link transformer (added by the hook above) copies the
	// problem as it will be sent.
	cfg.Transformers = append([]huma.Transformer{humaProblems(o.Logger, s.settings.MaxBodyBytes)}, cfg.Transformers...)
	cfg.Formats = jsonFormats(cfg.Formats)
	// The adapter's rules for a parameter depend on its Go type, which the registry notes.
	types := newTypedRegistry(cfg.Components.Schemas)
	cfg.Components.Schemas = types
	adapter := &limitedAdapter{Adapter: humachi.NewAdapter(mux), maxBody: s.settings.MaxBodyBytes, types: types}
	api := huma.NewAPI(cfg, adapter)
	adapter.api = api

	r := &Router{API: api, Mux: mux, Container: c, Logger: o.Logger, Title: o.Title, Revision: o.Revision, HealthTimeout: s.settings.HealthTimeout}
	s.mountHealth(r, details)
	if err := mountDocs(r, o.Title); err != nil {
		return nil, err
	}
	sets := o.Routes
	if sets == nil {
		sets = s.routes
	}
	if err := mountAll(sets, r); err != nil {
		return nil, err
	}
	return &rootHandler{ids: ids, logger: o.Logger, next: chain}, nil
}

// headAsGet routes a HEAD request for a path without a HEAD route as a GET, keeping its
// method (net/http then writes no body). It is chi's middleware.GetHead, written here
// because the generator vendors only the packages the template already imports.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			rctx := chi.RouteContext(r.Context())
			path := rctx.RoutePath
			if path == "" {
				path = r.URL.RawPath
				if path == "" {
					path = r.URL.Path
				}
			}
			if !rctx.Routes.Match(chi.NewRouteContext(), http.MethodHead, path) {
				rctx.RouteMethod = http.MethodGet
				rctx.RoutePath = path
			}
		}
		next.ServeHTTP(w, r)
	})
}

// methods are those a 405's Allow header may list: the ones chi routes.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

// allowedMethods lists the methods mux routes for r's path, for the Allow header
// RFC 9110 requires on a 405. chi notes them while routing but gives them only to
// its own 405 handler, which ours replaces; asking the tree again costs a lookup
// per method, on refused requests only.
func allowedMethods(mux *chi.Mux, r *http.Request) []string {
	return AllowedMethods(mux, r, "")
}

// AllowedMethods lists the methods mux routes for r's path other than through the route
// pattern catchAll ("" for none), for the Allow header of a 405. A catch-all that takes
// every method (the dashboard's page for unknown addresses) keeps chi from ever answering
// 405 under it; its handler asks this to tell a known address asked with the wrong method
// from an unknown one. A lookup per method, on refused requests only.
func AllowedMethods(mux chi.Routes, r *http.Request, catchAll string) []string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allowed []string
	get := false
	for _, m := range methods {
		// A GET route answers HEAD too (headAsGet), as the liveness path does.
		if p := mux.Find(chi.NewRouteContext(), m, path); (p != "" && p != catchAll) || (m == http.MethodHead && get) {
			allowed = append(allowed, m)
			get = get || m == http.MethodGet
		}
	}
	return allowed
}

// rootHandler answers GET /health/live before the router and middleware: the
// liveness probe runs every few seconds forever and must cost next to nothing
// (it is benchmarked against a bare net/http handler). Everything else goes
// through the router.
type rootHandler struct {
	ids    *requestIDs
	logger *slog.Logger
	next   http.Handler
}

// Preallocated header values: net/http only reads them, so sharing is safe
// and saves allocations on every probe.
var (
	liveBody          = []byte(`{"status":"ok"}` + "\n")
	liveContentType   = []string{"application/json"}
	liveContentLength = []string{fmt.Sprint(len(liveBody))}
	liveCacheControl  = []string{"no-store"}
)

// writeLive writes the liveness answer without allocating.
func writeLive(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr["Content-Type"] = liveContentType
	hdr["Content-Length"] = liveContentLength
	hdr["Cache-Control"] = liveCacheControl
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(liveBody)
	}
}

func (h *rootHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != LivePath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.next.ServeHTTP(w, r)
		return
	}
	h.serveLive(w, r)
}

// serveLive answers the liveness probe. It is apart from ServeHTTP so that its locals (the
// log attributes) are not on the stack of every other request: a streamed answer holds that
// stack for minutes, and Go keeps a goroutine's stack at least four times what it uses.
func (h *rootHandler) serveLive(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr[requestIDHeaderKey] = []string{h.ids.fromRequest(r)}
	writeLive(w, r)
	if ctx := r.Context(); h.logger.Enabled(ctx, slog.LevelDebug) {
		h.logger.LogAttrs(ctx, slog.LevelDebug, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", http.StatusOK),
			slog.String("request_id", hdr.Get(RequestIDHeader)),
		)
	}
}
