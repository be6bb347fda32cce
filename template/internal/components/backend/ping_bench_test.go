package backend

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Issue 18 (a lean generated app): what one API request costs in the app's handler against
// chi + huma alone, in process, without the network. GET /api/v1/ping is a typed huma
// operation returning {"message":"pong"}, registered the way a user file in
// internal/services does (backend.Routes); bench/compare.sh measures the same two over
// real connections (gp and b). Run with
//
//	go test -run '^$' -bench 'Ping' -benchmem ./internal/components/backend
//
// Ping/chihuma is the anchor (chi router + humachi, nothing else); Ping/app_info is the
// handler Server.Handler builds, logging like a production app (JSON, info: one access-log
// line per API request, buffered, to io.Discard here); Ping/app_warn is the same with the access log
// filtered out; app_info_slog formats the line with slog.JSONHandler (any handler other than
// the app's); app_info_devnull and app_info_devnull_buffered log to /dev/null, unbuffered
// and as the app does (logbuf). PingLayers adds the app's middleware to the anchor one at a
// time, in the order Handler installs them, to show what each costs.

type pingBody struct {
	Message string `json:"message" example:"pong" doc:"Always pong"`
}

type pingOutput struct{ Body pingBody }

const pingPath = "/api/v1/ping"

func registerPing(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "ping", Method: http.MethodGet, Path: pingPath,
		Summary: "Answer pong", Tags: []string{"ping"}},
		func(context.Context, *struct{}) (*pingOutput, error) {
			return &pingOutput{Body: pingBody{Message: "pong"}}, nil
		})
}

// pingRoutes is the user file's contribution.
func pingRoutes(r *Router) error {
	registerPing(r.API)
	return nil
}

// nullWriter is a ResponseWriter that keeps nothing, so allocations counted are the
// handler's own (httptest.ResponseRecorder allocates a header map and a body buffer).
type nullWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(code int)        { w.code = code }
func (w *nullWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func benchHandler(b *testing.B, h http.Handler, path string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "127.0.0.1:8000"
	req.RemoteAddr = "127.0.0.1:40000"
	w := &nullWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.code, w.n = 0, 0
		h.ServeHTTP(w, req)
	}
}

// jsonLogger logs like a production app (app/logging.go): JSON (logbuf.JSONHandler, so the
// access log writes its own line), buffered, through LogHandler; to io.Discard.
func jsonLogger(b testing.TB, level slog.Level) *slog.Logger {
	w := logbuf.New(io.Discard, 0, 0)
	b.Cleanup(func() { _ = w.Close() })
	opts := &slog.HandlerOptions{Level: level}
	return slog.New(LogHandler(logbuf.Handler(logbuf.JSONHandler(w, opts), w, slog.LevelError)))
}

// slogLogger is JSON through slog.JSONHandler alone (not a logbuf.LineHandler): the access
// log builds a slog.Record, as it does for any handler other than the app's.
func slogLogger(level slog.Level) *slog.Logger {
	return slog.New(LogHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level})))
}

// chiHuma is the anchor: chi + huma with the same configuration as Handler, and the one operation.
func chiHuma(mws ...func(http.Handler) http.Handler) http.Handler {
	mux := chi.NewRouter()
	mux.Use(mws...)
	cfg := huma.DefaultConfig("API", "dev")
	cfg.DocsPath = ""
	registerPing(humachi.New(mux, cfg))
	return mux
}

// appHandler is the handler the app serves, with the ping route only (the app also mounts
// auth's and the dashboard's routes: more entries in chi's tree, not more work per request).
func appHandler(b *testing.B, logger *slog.Logger) http.Handler {
	f := setup(b, setupOpts{infoLogs: true})
	h, err := f.srv.Handler(f.c, &HandlerOpts{Title: "app", Version: "dev", Logger: logger,
		Routes: registry.All[Routes]{{Name: "ping", Value: pingRoutes}}})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// devNullLogger logs like a production app to /dev/null, a real file: one write(2) per line
// unbuffered (the app before logbuf), or through logbuf as app/logging.go does.
func devNullLogger(b *testing.B, buffered bool) *slog.Logger {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if !buffered {
		return slog.New(LogHandler(slog.NewJSONHandler(f, opts)))
	}
	w := logbuf.New(f, 0, 0)
	b.Cleanup(func() { _ = w.Close() })
	return slog.New(LogHandler(logbuf.Handler(logbuf.JSONHandler(w, opts), w, slog.LevelError)))
}

func BenchmarkPing(b *testing.B) {
	b.Run("chihuma", func(b *testing.B) { benchHandler(b, chiHuma(), pingPath) })
	b.Run("app_info", func(b *testing.B) { benchHandler(b, appHandler(b, jsonLogger(b, slog.LevelInfo)), pingPath) })
	b.Run("app_warn", func(b *testing.B) { benchHandler(b, appHandler(b, jsonLogger(b, slog.LevelWarn)), pingPath) })
	// The access line through slog's own JSON formatting (a handler other than the app's).
	b.Run("app_info_slog", func(b *testing.B) { benchHandler(b, appHandler(b, slogLogger(slog.LevelInfo)), pingPath) })
	// The access log reaching a file: which is what decides buffering the app's log output.
	b.Run("app_info_devnull", func(b *testing.B) { benchHandler(b, appHandler(b, devNullLogger(b, false)), pingPath) })
	b.Run("app_info_devnull_buffered", func(b *testing.B) { benchHandler(b, appHandler(b, devNullLogger(b, true)), pingPath) })
}

// BenchmarkLiveHandler is /health/live in process: a bare handler against the app's, which
// answers it before the router.
func BenchmarkLiveHandler(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		benchHandler(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		}), LivePath)
	})
	b.Run("app", func(b *testing.B) { benchHandler(b, appHandler(b, jsonLogger(b, slog.LevelInfo)), LivePath) })
}

func BenchmarkPingLayers(b *testing.B) {
	f := setup(b, setupOpts{infoLogs: true})
	logger := jsonLogger(b, slog.LevelInfo)
	limit := f.srv.Settings().MaxBodyBytes
	ids := newRequestIDs()
	layers := []struct {
		name string
		mw   func(http.Handler) http.Handler
	}{
		{"1_requestid", requestIDMiddleware(ids, f.c, nil)},
		{"2_accesslog_info", accessLog(logger, false)},
		{"3_recoverer", recoverer(logger)},
		{"4_limitbody", limitBody(limit)},
		{"5_scope", closeScope(f.c)},
	}
	b.Run("0_chihuma", func(b *testing.B) { benchHandler(b, chiHuma(), pingPath) })
	for i := range layers {
		var mws []func(http.Handler) http.Handler
		for _, l := range layers[:i+1] {
			mws = append(mws, l.mw)
		}
		b.Run(layers[i].name, func(b *testing.B) { benchHandler(b, chiHuma(mws...), pingPath) })
	}
	b.Run("6_handler", func(b *testing.B) { benchHandler(b, appHandler(b, logger), pingPath) })
}
