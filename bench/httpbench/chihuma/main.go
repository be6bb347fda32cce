// Command chihuma serves GET /api/v1/ping with chi and huma v2 (the versions the generated app
// uses) and nothing else: one typed operation returning the same JSON as the ping operation that
// bench/compare.sh adds to the generated app. It is the anchor the app's API requests are
// compared against (the app adds its middleware stack, request scope and access log on top).
// It also answers GET /health/live like the bare server, so both anchors take the same probes.
// The -read-header-timeout, -read-timeout, -write-timeout and -idle-timeout flags set the
// http.Server's timeouts as in bench/httpbench/bare (0, the default: none). -spin adds that much
// busy work to each ping (bench/compare.sh spin: what a microsecond more per request costs the
// server on this machine).
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
)

// PingBody is the answer of GET /api/v1/ping.
type PingBody struct {
	Message string `json:"message" example:"pong" doc:"Always pong"`
}

type pingOutput struct{ Body PingBody }

func main() {
	addr := flag.String("addr", "127.0.0.1:8101", "listen address")
	readHeader := flag.Duration("read-header-timeout", 0, "http.Server ReadHeaderTimeout (0: none)")
	read := flag.Duration("read-timeout", 0, "http.Server ReadTimeout (0: none)")
	write := flag.Duration("write-timeout", 0, "http.Server WriteTimeout (0: none)")
	idle := flag.Duration("idle-timeout", 0, "http.Server IdleTimeout (0: none)")
	spin := flag.Duration("spin", 0, "busy work added to each ping (0: none)")
	flag.Parse()
	mux := chi.NewRouter()
	cfg := huma.DefaultConfig("chihuma", "1.0.0")
	cfg.DocsPath = ""
	api := humachi.New(mux, cfg)
	huma.Register(api, huma.Operation{OperationID: "ping", Method: http.MethodGet, Path: "/api/v1/ping",
		Summary: "Answer pong", Tags: []string{"ping"}},
		func(context.Context, *struct{}) (*pingOutput, error) {
			for began := time.Now(); time.Since(began) < *spin; {
			}
			return &pingOutput{Body: PingBody{Message: "pong"}}, nil
		})
	mux.Get("/health/live", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: *readHeader,
		ReadTimeout: *read, WriteTimeout: *write, IdleTimeout: *idle}
	log.Fatal(srv.ListenAndServe())
}
