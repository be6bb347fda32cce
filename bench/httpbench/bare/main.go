// Command bare serves GET /health/live with a bare net/http handler returning the same JSON body
// as a generated app's liveness endpoint: the ceiling the generated app is compared against.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8100", "listen address")
	body := flag.String("body", `{"status":"ok"}`, "JSON body to return")
	flag.Parse()
	payload := []byte(*body)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(payload)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
