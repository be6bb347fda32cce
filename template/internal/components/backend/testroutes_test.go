package backend

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// slowEntered returns the channel /test/slow?key=key signals when it starts,
// so a test knows its request is in flight. Keys keep parallel tests apart.
func slowEntered(key string) chan struct{} {
	ch, _ := slowSignals.LoadOrStore(key, make(chan struct{}, 1))
	return ch.(chan struct{})
}

var slowSignals sync.Map

type echoInput struct {
	Body struct {
		Text string `json:"text"`
	}
}

type slowEchoInput struct {
	MS   int `query:"ms"`
	Body struct {
		Text string `json:"text"`
	}
}

// numbersInput has the fields whose range JSON's numbers can exceed.
type numbersInput struct {
	Body struct {
		ConversationID int64  `json:"conversation_id,omitempty"`
		Small          uint8  `json:"small,omitempty"`
		Count          int    `json:"count,omitempty"`
		Name           string `json:"name,omitempty"`
		Items          []struct {
			Qty int `json:"qty"`
		} `json:"items,omitempty"`
		Tags map[string]struct {
			Qty int `json:"qty"`
		} `json:"tags,omitempty"`
	}
}

type echoOutput struct {
	Body struct {
		Text string `json:"text"`
	}
}

// testRoutes are mounted by every test handler, as a contributor's would be.
var testRoutes = Routes(func(r *Router) error {
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
		slowEntered(req.URL.Query().Get("key")) <- struct{}{}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			_, _ = w.Write([]byte("done"))
		case <-req.Context().Done():
		}
	})
	// Reads its body within 100 ms, then works for ?ms; a cancelled context is a 503.
	huma.Register(r.API, huma.Operation{OperationID: "test-slow-echo", Method: http.MethodPost, Path: "/test/slow-echo",
		BodyReadTimeout: 100 * time.Millisecond},
		func(ctx context.Context, in *slowEchoInput) (*echoOutput, error) {
			select {
			case <-time.After(time.Duration(in.MS) * time.Millisecond):
			case <-ctx.Done():
				return nil, huma.Error503ServiceUnavailable("cancelled")
			}
			out := &echoOutput{}
			out.Body.Text = in.Body.Text
			return out, nil
		})
	huma.Post(r.API, "/test/numbers", func(context.Context, *numbersInput) (*struct{}, error) {
		return nil, nil
	})
	huma.Post(r.API, "/test/echo", func(_ context.Context, in *echoInput) (*echoOutput, error) {
		out := &echoOutput{}
		out.Body.Text = in.Body.Text
		return out, nil
	})
	return nil
})
