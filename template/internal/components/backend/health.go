package backend

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Paths of the health endpoints, shared with the app's health commands.
const (
	LivePath     = "/health/live"     // 200 while the process can answer at all
	ReadyPath    = "/health/ready"    // 200 when it can take traffic, else 503
	DetailedPath = "/health/detailed" // every check with status and latency
	ServicesPath = "/health/services" // the service graph
)

// LiveBody is the body of GET /health/live.
type LiveBody struct {
	Status string `json:"status" example:"ok" doc:"Always ok: answering at all is the signal."`
}

// ReadyBody is the body of GET /health/ready.
type ReadyBody struct {
	Status string `json:"status" enum:"ready,not_ready" doc:"ready when the app can take traffic."`
	Reason string `json:"reason,omitempty" doc:"Why the app is not ready."`
}

type readyOutput struct {
	Status       int
	CacheControl string `header:"Cache-Control"`
	Body         ReadyBody
}

// DetailedBody is the body of GET /health/detailed: registry.Report in the
// JSON shape its MarshalJSON writes. It is spelled out here because huma
// builds the API schema (and adds $schema) by reflecting on the Go fields,
// which would bypass Report's own encoding; a test keeps the two in step.
type DetailedBody struct {
	Status     registry.Status `json:"status" enum:"healthy,degraded,unhealthy" doc:"Worst status of the checks; an optional service counts at most as degraded."`
	Checks     []CheckBody     `json:"checks,omitzero" doc:"One entry per singleton component or service, sorted by name. Left out, like checked_at and duration_ms, in production for callers without HEALTH_DETAILS_TOKEN or a dashboard sign-in."`
	CheckedAt  time.Time       `json:"checked_at,omitzero" doc:"When the checks began."`
	DurationMS float64         `json:"duration_ms,omitzero" doc:"How long all the checks took, in milliseconds."`
}

// CheckBody is one entry of DetailedBody.Checks (a registry.CheckResult).
type CheckBody struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind" enum:"component,service"`
	Optional  bool            `json:"optional" doc:"An optional service that fails only degrades the app."`
	Status    registry.Status `json:"status" enum:"healthy,degraded,unhealthy"`
	Message   string          `json:"message"`
	LatencyMS float64         `json:"latency_ms" doc:"How long the check took, in milliseconds."`
	TimedOut  bool            `json:"timed_out" doc:"The check did not finish within HEALTH_TIMEOUT."`
	Details   map[string]any  `json:"details,omitempty"`
}

func detailedBody(rep registry.Report) DetailedBody {
	out := DetailedBody{
		Status:     rep.Status,
		Checks:     make([]CheckBody, len(rep.Checks)),
		CheckedAt:  rep.CheckedAt,
		DurationMS: millis(rep.Duration),
	}
	for i, c := range rep.Checks {
		out.Checks[i] = CheckBody{
			Name: c.Name, Kind: c.Kind, Optional: c.Optional, Status: c.Status, Message: c.Message,
			LatencyMS: millis(c.Latency), TimedOut: c.TimedOut, Details: c.Details,
		}
	}
	return out
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type detailedOutput struct {
	Status       int
	CacheControl string `header:"Cache-Control"`
	Body         DetailedBody
}

type servicesOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         registry.Graph
}

// HealthAccess is a contribution kind: it lets a request see the details of
// /health/detailed and /health/services in production, besides
// HEALTH_DETAILS_TOKEN. A part that authenticates operators (the dashboard,
// with its credentials and its login) contributes one so its users need no
// second secret.
//
// The backend resolves each contribution once, when it builds its handler
// (Server.Handler, on a started container), so the check can use what its
// part built in the container (credentials, a rate limiter, a session
// store) without globals or a lookup per request:
//
//	registry.Contribute(registry.Default, "dashboard", backend.HealthAccess(func(c *registry.Container) (func(*http.Request) bool, error) {
//		d, err := registry.Get[*Dashboard](c)
//		if err != nil {
//			return nil, err
//		}
//		return d.signedIn, nil
//	}))
//
// A nil check (nothing configured to admit with) is skipped; an error fails
// Handler. The check must not write to the request, and should answer
// quickly: monitors poll these endpoints.
type HealthAccess func(c *registry.Container) (func(*http.Request) bool, error)

// detailsPolicy decides who sees the health details; Handler builds one
// with the contributed HealthAccess checks resolved.
type detailsPolicy struct {
	production bool
	token      string                     // HEALTH_DETAILS_TOKEN; empty: none
	admit      []func(*http.Request) bool // resolved HealthAccess checks
}

// detailsPolicy resolves the contributed HealthAccess checks on c.
func (s *Server) detailsPolicy(c *registry.Container) (*detailsPolicy, error) {
	p := &detailsPolicy{production: s.production, token: s.settings.HealthDetailsToken}
	for _, a := range s.access {
		if a.Value == nil {
			continue
		}
		admit, err := a.Value(c)
		if err != nil {
			return nil, fmt.Errorf("backend: health access %q: %w", a.Name, err)
		}
		if admit != nil {
			p.admit = append(p.admit, admit)
		}
	}
	return p, nil
}

type detailsKey struct{}

// gate is the middleware of the detail endpoints: it decides whether the
// caller may see details and tells the handler through the context.
func (p *detailsPolicy) gate(ctx huma.Context, next func(huma.Context)) {
	r, _ := humachi.Unwrap(ctx)
	next(huma.WithValue(ctx, detailsKey{}, p.mayShowDetails(r)))
}

// mayShowDetails reports whether r may see which hosts, users, paths and
// instances the app runs with: always in development; in production with
// the bearer HEALTH_DETAILS_TOKEN (compared in constant time) or when a
// contributed HealthAccess admits it.
func (p *detailsPolicy) mayShowDetails(r *http.Request) bool {
	if !p.production {
		return true
	}
	if p.token != "" {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") && EqualSecret(strings.TrimSpace(got), p.token) {
			return true
		}
	}
	for _, admit := range p.admit {
		if admit(r) {
			return true
		}
	}
	return false
}

// EqualSecret compares in time independent of where, and whether in
// length, the strings differ (hashing first hides the lengths): for tokens
// and passwords from settings.
func EqualSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func showDetails(ctx context.Context) bool {
	show, _ := ctx.Value(detailsKey{}).(bool)
	return show
}

// errDetailsClosed is /health/services' answer to a caller who may not see it.
var errDetailsClosed = huma.ErrorWithHeaders(
	huma.Error401Unauthorized("In production the service graph is shown only with Authorization: Bearer <HEALTH_DETAILS_TOKEN>."),
	http.Header{"WWW-Authenticate": {`Bearer realm="health"`}},
)

func (s *Server) mountHealth(r *Router, details *detailsPolicy) {
	c := r.Container
	timeout := s.settings.HealthTimeout

	// /health/live is answered by rootHandler, ahead of the router; it is only
	// described here so that it appears in the API document.
	liveSchema := r.API.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[LiveBody](), true, "")
	r.API.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "health-live",
		Method:      http.MethodGet,
		Path:        LivePath,
		Summary:     "Liveness probe",
		Description: "Answers 200 in constant time without touching any service. Use it as the liveness probe; it never fails while the process runs.",
		Tags:        []string{"health"},
		Responses: map[string]*huma.Response{
			"200": {Description: "The process is alive.", Content: map[string]*huma.MediaType{"application/json": {Schema: liveSchema}}},
		},
	})

	huma.Register(r.API, huma.Operation{
		OperationID: "health-ready",
		Method:      http.MethodGet,
		Path:        ReadyPath,
		Summary:     "Readiness probe",
		Description: "200 when the app is started and no required service fails its readiness check (the database answers, the worker's loop runs); 503 otherwise (starting, shutting down, or a required service not ready). It runs no full health check, so it answers in about constant time; /health/detailed has the full report.",
		Tags:        []string{"health"},
		Errors:      []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		out := &readyOutput{Status: http.StatusOK, CacheControl: "no-store", Body: ReadyBody{Status: "ready"}}
		if reason := s.notReady(ctx, c, timeout); reason != "" {
			out.Status = http.StatusServiceUnavailable
			out.Body = ReadyBody{Status: "not_ready", Reason: reason}
		}
		return out, nil
	})

	huma.Register(r.API, huma.Operation{
		OperationID: "health-detailed",
		Method:      http.MethodGet,
		Path:        DetailedPath,
		Summary:     "Health of every component and service",
		Description: "Runs every health check concurrently, each bounded by HEALTH_TIMEOUT, and reports status, latency and details per component and service. The report is shared by every caller for up to a second (checked_at says when it began), so polling it from many places costs one check. 503 when the app as a whole is unhealthy. " +
			"In production the checks are shown only with Authorization: Bearer <HEALTH_DETAILS_TOKEN>, or to an operator signed in to the app's dashboard, when it has one; other callers get the overall status alone.",
		Tags:        []string{"health"},
		Errors:      []int{http.StatusServiceUnavailable},
		Middlewares: huma.Middlewares{details.gate},
	}, func(ctx context.Context, _ *struct{}) (*detailedOutput, error) {
		rep := c.SharedHealth(ctx, timeout, s.reportMaxAge)
		status := http.StatusOK
		if rep.Status == registry.StatusUnhealthy {
			status = http.StatusServiceUnavailable
		}
		body := DetailedBody{Status: rep.Status}
		if showDetails(ctx) {
			body = detailedBody(rep)
		}
		return &detailedOutput{Status: status, CacheControl: "no-store", Body: body}, nil
	})

	huma.Register(r.API, huma.Operation{
		OperationID: "health-services",
		Method:      http.MethodGet,
		Path:        ServicesPath,
		Summary:     "Service graph",
		Description: "Every registered component and service with its kind, lifetime, state and dependencies. In production only with Authorization: Bearer <HEALTH_DETAILS_TOKEN>, or to an operator signed in to the app's dashboard, when it has one.",
		Tags:        []string{"health"},
		Errors:      []int{http.StatusUnauthorized},
		Middlewares: huma.Middlewares{details.gate},
	}, func(ctx context.Context, _ *struct{}) (*servicesOutput, error) {
		if !showDetails(ctx) {
			return nil, errDetailsClosed
		}
		return &servicesOutput{CacheControl: "no-store", Body: c.Graph()}, nil
	})
}

// notReady returns why the app cannot take traffic, or "" when it can: the server is not
// draining, every singleton is started, and no required one fails its readiness check
// (registry.ReadinessChecker: the database answers a ping, the worker's loop runs). It runs
// no full health check, so it answers in the same time whatever the data.
func (s *Server) notReady(ctx context.Context, c *registry.Container, timeout time.Duration) string {
	if s.state.Load() == stateDraining {
		return "shutting down"
	}
	if reason := notStarted(c.Graph()); reason != "" {
		return reason
	}
	rep := c.CheckReady(ctx, timeout)
	var failing []string
	for _, ch := range rep.Checks {
		if ch.Status == registry.StatusUnhealthy && !ch.Optional {
			failing = append(failing, ch.Name)
		}
	}
	if len(failing) == 0 {
		return ""
	}
	return "unhealthy: " + strings.Join(failing, ", ")
}

// notStarted says which singleton keeps the container from being started,
// or "" when all are. The graph is the registry's public view of states.
func notStarted(g registry.Graph) string {
	for _, n := range g.Nodes {
		if n.Lifetime == registry.Singleton.String() && n.State != string(registry.StateStarted) {
			return fmt.Sprintf("not started: %s is %s", n.Name, n.State)
		}
	}
	return ""
}
