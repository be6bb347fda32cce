package backend

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Router is what a route contributor gets to mount its endpoints.
type Router struct {
	// API registers typed operations, documented in /openapi.json:
	// huma.Get(r.API, "/items", listItems). For a group of operations under a prefix use
	// backend.NewGroup(r.API, "/prefix"), not huma.NewGroup (see NewGroup).
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

// Routes mounts the endpoints of one component or service. It is a contribution kind, named
// by its contributor, registered from init():
//
//	func init() {
//		registry.Contribute(registry.Default, "users", backend.Routes(func(r *backend.Router) error {
//			huma.Get(r.API, "/users/{id}", getUser)
//			return nil
//		}))
//	}
//
// The server mounts every contributed set once per handler, after the core routes, in name
// order. A duplicate name or a nil function fails the container's Build with the file:line
// of each registration.
type Routes func(*Router) error

// mountAll runs every mount function in name order and joins their errors,
// each prefixed with the contributor's name.
func mountAll(sets registry.All[Routes], r *Router) error {
	sets = slices.Clone(sets)
	slices.SortFunc(sets, func(x, y registry.Contribution[Routes]) int { return strings.Compare(x.Name, y.Name) })
	var errs []error
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
func mountOne(s registry.Contribution[Routes], r *Router) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("backend: mount routes %q (registered at %s): panic: %v", s.Name, s.Registered, v)
		}
	}()
	if err := s.Value(r); err != nil {
		return fmt.Errorf("backend: mount routes %q: %w", s.Name, err)
	}
	return nil
}
