// Command bare serves GET /health/live with a bare net/http handler returning the same JSON body
// as a generated app's liveness endpoint: the ceiling the generated app is compared against.
//
// The -read-header-timeout, -read-timeout, -write-timeout and -idle-timeout flags set the
// http.Server's timeouts (0, the default, means none, as http.ListenAndServe); bench/compare.sh
// passes the generated app's defaults (backend settings.go: 5s, 30s, 30s, 120s) so that the
// servers differ only in what handles the request (net/http sets read and write deadlines on
// the connection for every request when they are set).
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8100", "listen address")
	body := flag.String("body", `{"status":"ok"}`, "JSON body to return")
	readHeader := flag.Duration("read-header-timeout", 0, "http.Server ReadHeaderTimeout (0: none)")
	read := flag.Duration("read-timeout", 0, "http.Server ReadTimeout (0: none)")
	write := flag.Duration("write-timeout", 0, "http.Server WriteTimeout (0: none)")
	idle := flag.Duration("idle-timeout", 0, "http.Server IdleTimeout (0: none)")
	flag.Parse()
	payload := []byte(*body)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(payload)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: *readHeader,
		ReadTimeout: *read, WriteTimeout: *write, IdleTimeout: *idle}
	log.Fatal(srv.ListenAndServe())
}
