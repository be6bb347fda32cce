// Command otlpsink is an OTLP/HTTP endpoint that takes every export and keeps nothing: what
// bench/compare.sh obs points the traced app at, so the app pays for encoding and sending
// its spans as it would to a real collector, without a collector's own cost on the machine.
// An empty protobuf body is a valid, empty Export*ServiceResponse.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4318", "listen address")
	flag.Parse()
	var exports, bytes atomic.Int64
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		exports.Add(1)
		bytes.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
	// GET /stats tells the harness that the exports arrived.
	http.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "exports "+strconv.FormatInt(exports.Load(), 10)+" bytes "+strconv.FormatInt(bytes.Load(), 10)+"\n")
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
