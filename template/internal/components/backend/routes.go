package backend

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Router is what a route contributor gets to mount its endpoints.
type Router struct {
	// API registers typed operations, documented in /openapi.json:
	// huma.Get(r.API, "/items", listItems).
	API huma.API
	// Mux mounts plain net/http handlers (pages, files, websockets) that do
	// not belong in the API description.
	Mux chi.Router
	// Container resolves services: registry.Get[*Users](r.Container) once at
	// mount time for singletons, or registry.FromContext(req.Context()) inside
	// a handler for request-scoped ones.
	Container *registry.Container
	// Logger is the server's logger.
	Logger *slog.Logger
	// Title is the app's display name (HandlerOpts.Title), for pages.
	Title string
	// Revision is the source revision of the binary (HandlerOpts.Revision), for pages.
	Revision string
	// HealthTimeout bounds each health check a page or endpoint runs
	// (HEALTH_TIMEOUT).
	HealthTimeout time.Duration
}

// routeSet is one contributor's mount function and where it was registered.
type routeSet struct {
	name  string
	where string
	mount func(*Router) error
}

// RouteBook is a list of route contributions. Routes writes to the default one; a handler
// built with HandlerOpts.Routes mounts another, so tests can build a handler that holds only
// the routes they ask for, whatever else the test binary links in.
type RouteBook struct {
	mu   sync.Mutex
	sets []routeSet
	errs []error
}

var routes = &RouteBook{}

// NewRouteBook returns an empty RouteBook.
func NewRouteBook() *RouteBook { return &RouteBook{} }

// Add registers fn to mount the routes of name in b; see Routes.
func (b *RouteBook) Add(name string, fn func(*Router) error) {
	_, file, line, _ := runtime.Caller(1)
	b.add(name, fn, fmt.Sprintf("%s:%d", file, line))
}

// Routes registers fn to mount the routes of name (a component or service)
// when the handler is built. Call it from init(); fn runs once per handler,
// after the core routes, in name order. A duplicate name or a nil fn is
// reported when the handler is built, with the file:line of both calls.
func Routes(name string, fn func(*Router) error) {
	_, file, line, _ := runtime.Caller(1)
	routes.add(name, fn, fmt.Sprintf("%s:%d", file, line))
}

func (b *RouteBook) add(name string, fn func(*Router) error, where string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case strings.TrimSpace(name) == "":
		b.errs = append(b.errs, fmt.Errorf("backend: routes registered at %s have no name", where))
		return
	case fn == nil:
		b.errs = append(b.errs, fmt.Errorf("backend: routes %q registered at %s have a nil mount function", name, where))
		return
	}
	for _, s := range b.sets {
		if s.name == name {
			b.errs = append(b.errs, fmt.Errorf("backend: routes %q registered at %s were already registered at %s", name, where, s.where))
			return
		}
	}
	b.sets = append(b.sets, routeSet{name: name, where: where, mount: fn})
}

// mountAll runs every mount function in name order and joins their errors,
// each prefixed with the contributor's name.
func (b *RouteBook) mountAll(r *Router) error {
	b.mu.Lock()
	sets := slices.Clone(b.sets)
	errs := slices.Clone(b.errs)
	b.mu.Unlock()
	slices.SortFunc(sets, func(x, y routeSet) int { return strings.Compare(x.name, y.name) })
	for _, s := range sets {
		if err := mountOne(s, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mountOne runs one contributor's mount function. huma panics on a bad
// operation (duplicate ID, invalid schema) and chi on a bad pattern; both are
// programming errors in the contributor, turned into an error naming it.
func mountOne(s routeSet, r *Router) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("backend: mount routes %q (registered at %s): panic: %v", s.name, s.where, v)
		}
	}()
	if err := s.mount(r); err != nil {
		return fmt.Errorf("backend: mount routes %q: %w", s.name, err)
	}
	return nil
}
