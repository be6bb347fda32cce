// Package backend is the HTTP server component: a chi router carrying a huma
// API (OpenAPI 3.1 at /openapi.json, offline docs at /docs), the health
// endpoints, and the middleware every request goes through (request ID,
// access log, panic recovery, body limit, request scope).
//
// Other packages add endpoints from init() by contributing Routes:
//
//	func init() {
//		registry.Contribute(registry.Default, "users", backend.Routes(func(r *backend.Router) error {
//			huma.Get(r.API, "/users/{id}", getUser)
//			return nil
//		}))
//	}
package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the backend's name as a component, in the registry and in config.
const Name = "backend"

func init() {
	// The registry keeps registration errors and returns them from Build, so
	// the result here is already handled.
	_ = Register(registry.Default)
}

// Register adds the backend component to r. init() does it for
// registry.Default; tests call it on a fresh registry.
func Register(r *registry.Registry) error {
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide5(r, newServer,
			registry.Component(Name),
			registry.Describe("HTTP server: chi router, huma API, health endpoints and /docs"),
		),
	)
}

func newServer(_ context.Context, s Settings, core config.Core, routes registry.All[Routes], access registry.All[HealthAccess],
	telemetry registry.Maybe[Telemetry]) (*Server, error) {
	srv := NewServer(s)
	srv.telemetry = telemetry.Value
	srv.production = core.Production()
	srv.routes = routes
	srv.access = access
	return srv, nil
}

// Server is the backend component. It holds the HTTP settings and knows
// whether it is serving; the app builds its Handler once the container is
// started and runs Serve until shutdown.
type Server struct {
	settings Settings
	routes   registry.All[Routes] // contributed; mounted by Handler
	proxies  trustedProxies       // TRUSTED_PROXIES, parsed
	// production is APP_ENV=production: HSTS, and health details only for
	// those who prove who they are.
	production bool
	access     registry.All[HealthAccess] // contributed; may open health details
	telemetry  Telemetry                  // contributed (observability); zero: none
	// reportMaxAge is how long /health/detailed reuses a report (registry.SharedHealth's
	// maxAge: zero is its default); tests set it.
	reportMaxAge time.Duration
	state        atomic.Int32
}

// Server states, reported by CheckHealth and used by readiness.
const (
	stateIdle int32 = iota
	stateServing
	stateDraining
)

// NewServer returns a Server for s (with defaults filled in). Settings that
// do not parse (a bad TRUSTED_PROXIES) count as empty here; Validate, which
// the container runs, reports them.
func NewServer(s Settings) *Server {
	s = s.WithDefaults()
	proxies, _ := parseTrustedProxies(s.TrustedProxies)
	return &Server{settings: s, proxies: proxies}
}

// Settings returns the settings the server runs with.
func (s *Server) Settings() Settings { return s.settings }

// CheckHealth reports the server healthy while it serves or before it
// starts (a process that has not started cannot be probed anyway), and
// degraded while it drains for shutdown.
func (s *Server) CheckHealth(context.Context) registry.Health {
	details := map[string]any{"addr": s.settings.Addr()}
	switch s.state.Load() {
	case stateServing:
		return registry.Health{Status: registry.StatusHealthy, Message: "serving", Details: details}
	case stateDraining:
		return registry.Health{Status: registry.StatusDegraded, Message: "shutting down: finishing in-flight requests", Details: details}
	default:
		return registry.Health{Status: registry.StatusHealthy, Message: "not serving yet", Details: details}
	}
}

// Listen opens the TCP listener for the configured HOST and PORT. Its error
// says what to change when the port is taken or not allowed.
func (s *Server) Listen(ctx context.Context) (net.Listener, error) {
	addr := s.settings.Addr()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("backend: cannot listen on %s: %w; stop the other process or set PORT to a free port", addr, listenCause(err))
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("backend: cannot listen on %s: %w; ports below 1024 need privileges, set PORT to 1024 or above", addr, listenCause(err))
	default:
		return nil, fmt.Errorf("backend: cannot listen on %s: %w; check HOST and PORT", addr, listenCause(err))
	}
}

// listenCause is the reason a listen failed ("address already in use") without what
// net.OpError and os.SyscallError put before it ("listen tcp 127.0.0.1:8000: bind: "), which
// repeats the address the message names and adds the system call's name.
func listenCause(err error) error {
	if op, ok := errors.AsType[*net.OpError](err); ok {
		err = op.Err
	}
	if sc, ok := errors.AsType[*os.SyscallError](err); ok {
		err = sc.Err
	}
	return err
}

var (
	_ registry.HealthChecker = (*Server)(nil)
	_ http.Handler           = (*rootHandler)(nil)
)
