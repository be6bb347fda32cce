package backend

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// slowEntered receives a value each time /test/slow starts, so a test knows
// a request is in flight.
var slowEntered = make(chan struct{}, 16)

type echoInput struct {
	Body struct {
		Text string `json:"text"`
	}
}

type echoOutput struct {
	Body struct {
		Text string `json:"text"`
	}
}

// Test routes, registered like any contributor's.
func init() {
	Routes("testroutes", func(r *Router) error {
		r.Mux.Get("/test/panic", func(http.ResponseWriter, *http.Request) {
			panic("boom: secret internals")
		})
		r.Mux.Get("/test/log", func(w http.ResponseWriter, req *http.Request) {
			r.Logger.InfoContext(req.Context(), "inside handler")
			w.WriteHeader(http.StatusNoContent)
		})
		r.Mux.Post("/test/raw", func(w http.ResponseWriter, req *http.Request) {
			n, err := io.Copy(io.Discard, req.Body)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			_, _ = w.Write([]byte(strconv.FormatInt(n, 10)))
		})
		r.Mux.Get("/test/slow", func(w http.ResponseWriter, req *http.Request) {
			ms, _ := strconv.Atoi(req.URL.Query().Get("ms"))
			slowEntered <- struct{}{}
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				_, _ = w.Write([]byte("done"))
			case <-req.Context().Done():
			}
		})
		huma.Post(r.API, "/test/echo", func(_ context.Context, in *echoInput) (*echoOutput, error) {
			out := &echoOutput{}
			out.Body.Text = in.Body.Text
			return out, nil
		})
		return nil
	})
}
