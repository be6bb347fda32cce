package backend

import (
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// WriteProblem writes an RFC 9457 problem+json response with status and
// detail, for handlers outside huma (the dashboard's refusals).
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	writeProblem(w, r, status, detail)
}

// writeProblem writes an RFC 9457 problem+json response in the same shape huma
// uses for its own errors, so clients see one error format whichever layer
// answered.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	body, err := json.Marshal(&huma.ErrorModel{
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
	})
	if err != nil {
		// ErrorModel holds only strings and ints here; Marshal cannot fail.
		body = []byte(`{"status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
