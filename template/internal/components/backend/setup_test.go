package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// fakeService is a singleton with health and readiness checks the test controls.
type fakeService struct {
	health    registry.Health
	hang      chan struct{} // when non-nil, CheckHealth blocks until it is closed
	ready     error         // what Ready returns
	readyHang chan struct{} // when non-nil, Ready blocks until it is closed
}

func (f *fakeService) CheckHealth(context.Context) registry.Health {
	if f.hang != nil {
		<-f.hang // deliberately ignores ctx: a truly stuck check
	}
	return f.health
}

func (f *fakeService) Ready(context.Context) error {
	if f.readyHang != nil {
		<-f.readyHang // deliberately ignores ctx, like hang
	}
	return f.ready
}

// service describes one fake service for setup.
type service struct {
	name     string
	status   registry.Status
	message  string // the check's message; default "fake <status>"
	hang     bool   // both checks hang, unless slowHealth
	optional bool
	// slowHealth: only CheckHealth hangs (an expensive full check); Ready answers.
	slowHealth bool
}

type setupOpts struct {
	settings Settings
	services []service
	noStart  bool
	// production serves as with APP_ENV=production.
	production bool
	// access are the HealthAccess contributions the server gets.
	access   []HealthAccess
	infoLogs bool // log at info like a production app; default debug, to see every line
	// routes are mounted after testRoutes, for the routes of one test.
	routes Routes
}

// fixture is what most tests need: a container holding the backend (and
// fakes), its Server, the built handler and the captured logs.
type fixture struct {
	c    *registry.Container
	srv  *Server
	h    http.Handler
	logs *logtest.Buffer
}

func setup(t testing.TB, o setupOpts) fixture {
	t.Helper()
	s := o.settings
	if s.HealthTimeout == 0 {
		// The fakes answer at once, but a loaded CI machine can hold a check's goroutine past a
		// short bound, which then reports a healthy service unhealthy. The tests of a hung
		// check set their own bound.
		s.HealthTimeout = 10 * time.Second
	}
	srv := NewServer(s)
	srv.production = o.production
	for i, a := range o.access {
		srv.access = append(srv.access, registry.Contribution[HealthAccess]{Name: fmt.Sprint("access", i), Value: a})
	}
	reg := registry.New()
	errs := []error{registry.Value(reg, srv, registry.Component(Name))}
	for _, sv := range o.services {
		msg := sv.message
		if msg == "" {
			msg = "fake " + string(sv.status)
		}
		// Readiness follows the status: an unhealthy fake is not ready either.
		f := &fakeService{health: registry.Health{Status: sv.status, Message: msg}}
		if sv.status == registry.StatusUnhealthy {
			f.ready = errors.New(msg)
		}
		if sv.hang || sv.slowHealth {
			f.hang = make(chan struct{})
			t.Cleanup(func() { close(f.hang) })
			if !sv.slowHealth {
				f.readyHang = f.hang
			}
		}
		opts := []registry.Option{registry.Name(sv.name)}
		if sv.optional {
			opts = append(opts, registry.Optional())
		}
		errs = append(errs, registry.Value(reg, f, opts...))
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	start := registrytest.Start
	if o.noStart {
		start = registrytest.Build
	}
	c := start(t, reg)
	level := slog.LevelDebug
	if o.infoLogs {
		level = slog.LevelInfo
	}
	logs := &logtest.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	routes := registry.All[Routes]{{Name: "testroutes", Value: testRoutes}}
	if o.routes != nil {
		routes = append(routes, registry.Contribution[Routes]{Name: "testcase", Value: o.routes})
	}
	h, err := srv.Handler(c, &HandlerOpts{Title: "testapp", Version: "1.0", Logger: logger, Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{c: c, srv: srv, h: h, logs: logs}
}

// do sends one request through the fixture's handler.
func (f fixture) do(t *testing.T, method, target string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, target, body)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// decode unmarshals a response body into a T.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
	return v
}

// problem asserts rec is an RFC 9457 problem with the given status.
func problem(t *testing.T, rec *httptest.ResponseRecorder, status int) huma.ErrorModel {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	p := decode[huma.ErrorModel](t, rec)
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem = %+v, want status %d and a title", p, status)
	}
	return p
}
