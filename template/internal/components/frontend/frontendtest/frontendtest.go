// Package frontendtest helps components and services test their dashboard panels against the
// real backend handler.
package frontendtest

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Handler starts a fresh container holding the backend, the dashboard built with opts (with
// every panel registered from init()) and what register adds, stops it when the test ends, and
// returns the app's HTTP handler. Requests made with httptest.NewRequest come, as far as the
// handler can tell, from this machine (a developer's own browser, which the dashboard lets in
// without credentials in development); set RemoteAddr to test another peer.
func Handler(t testing.TB, opts *frontend.Opts, register func(*registry.Registry) error) http.Handler {
	t.Helper()
	dash, err := frontend.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	srv := backend.NewServer(backend.Settings{})
	for _, err := range []error{
		registry.Value(reg, srv, registry.Name(backend.Name), registry.Kind(registry.KindComponent)),
		registry.Value(reg, dash, registry.Name(frontend.Name), registry.Kind(registry.KindComponent)),
		register(reg),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := reg.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: "app", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.RemoteAddr == httptestPeer {
			req.RemoteAddr = "127.0.0.1:1234"
		}
		h.ServeHTTP(w, req)
	})
}

// httptestPeer is the peer address httptest.NewRequest gives a request.
const httptestPeer = "192.0.2.1:1234"
