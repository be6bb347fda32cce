package httpclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
)

type echo struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Body   string `json:"body"`
	Type   string `json:"type"`
}

func TestDo(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/echo":
			b, _ := io.ReadAll(r.Body)
			_ = json.NewEncoder(w).Encode(echo{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("Content-Type")})
		case "/v1/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/v1/invalid":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"error":"name is required"}`)
		case "/v1/huge-error":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, strings.Repeat("x", 10_000))
		case "/v1/not-json":
			_, _ = io.WriteString(w, "<html>")
		}
	})
	c := f.client(t, "api", Options{BaseURL: srv.URL + "/v1/"})
	ctx := t.Context()

	got, err := Do[echo](ctx, c, http.MethodPost, "/echo", map[string]int{"n": 1}, WithQuery(map[string][]string{"page": {"2"}}))
	if err != nil {
		t.Fatal(err)
	}
	want := echo{Method: "POST", Path: "/v1/echo", Query: "page=2", Body: `{"n":1}`, Type: "application/json"}
	if got != want {
		t.Errorf("echo %+v, want %+v", got, want)
	}
	if _, err := Do[struct{}](ctx, c, http.MethodDelete, "empty", nil); err != nil {
		t.Errorf("204: %v", err)
	}

	_, err = Do[echo](ctx, c, http.MethodPost, "invalid", struct{}{})
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("422: %v, want an *Error", err)
	}
	if he.Status != 422 || he.Body != `{"error":"name is required"}` || he.Attempts != 1 || he.Method != "POST" ||
		he.Host != srv.host() || he.Path != "/v1/invalid" || he.Client != "api" {
		t.Errorf("422: %+v", he)
	}
	if !strings.Contains(err.Error(), "422 Unprocessable Entity after 1 attempt:") {
		t.Errorf("422: message %q", err)
	}

	_, err = Do[echo](ctx, c, http.MethodGet, "huge-error", nil)
	if !errors.As(err, &he) || he.Status != 400 || len(he.Body) != ErrorBodyMax {
		t.Errorf("400 with a long body: %v (body %d bytes), want %d bytes", err, len(he.Body), ErrorBodyMax)
	}
	if _, err = Do[echo](ctx, c, http.MethodGet, "not-json", nil); !errors.As(err, &he) || !strings.Contains(err.Error(), "decode") {
		t.Errorf("not JSON: %v", err)
	}

	// No answer: Status 0, the cause wrapped, the attempts counted.
	srv.Close()
	_, err = Do[echo](ctx, c, http.MethodGet, "echo", nil)
	if !errors.As(err, &he) || he.Status != 0 || he.Err == nil || he.Attempts != 3 {
		t.Errorf("server gone: %v (%+v), want an *Error after 3 attempts", err, he)
	}
	if _, err := Do[echo](ctx, &Client{name: "bare"}, http.MethodGet, "relative", nil); err == nil {
		t.Error("a relative path without BaseURL: no error")
	}
}

// TestRequestID: the request ID of the context goes out as X-Request-ID, unless the request
// sets its own; the client's default headers go out too.
func TestRequestID(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"id": r.Header.Get("X-Request-ID"), "ua": r.Header.Get("User-Agent")})
	})
	c := f.client(t, "test", Options{BaseURL: srv.URL, Headers: http.Header{"User-Agent": {"app/1"}}})
	ctx := backend.WithRequestID(t.Context(), "req-123")
	got, err := Do[map[string]string](ctx, c, http.MethodGet, "/", nil)
	if err != nil || got["id"] != "req-123" || got["ua"] != "app/1" {
		t.Errorf("sent %v (%v), want X-Request-ID req-123 and User-Agent app/1", got, err)
	}
	got, _ = Do[map[string]string](ctx, c, http.MethodGet, "/", nil, WithHeader("X-Request-ID", "mine"), WithHeader("User-Agent", "other"))
	if got["id"] != "mine" || got["ua"] != "other" {
		t.Errorf("sent %v, want the request's own headers", got)
	}
	got, _ = Do[map[string]string](context.Background(), c, http.MethodGet, "/", nil)
	if got["id"] != "" {
		t.Errorf("sent X-Request-ID %q outside a request", got["id"])
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	c := f.client(t, "test", Options{BaseURL: "https://api.example.com/v1?api-version=2"})
	for path, want := range map[string]string{
		"chat":                      "https://api.example.com/v1/chat?api-version=2",
		"/chat?stream=true":         "https://api.example.com/v1/chat?api-version=2&stream=true",
		"https://other.example/x?y": "https://other.example/x?y",
	} {
		u, err := c.resolve(path)
		if err != nil || u.String() != want {
			t.Errorf("resolve(%q) = %v, %v; want %s", path, u, err, want)
		}
	}
	if _, err := f.cs.New("bad", Options{BaseURL: "ftp://x"}); err == nil {
		t.Error("an ftp base URL: no error")
	}
	if _, err := f.cs.New("test", Options{}); err == nil {
		t.Error("a second client named test: no error")
	}
}

// TestResponseTooLarge: a 2xx answer past MaxResponseBytes is refused as too large, naming the
// option to raise, not as JSON the server got wrong; an answer just within the limit and one
// that is truly invalid keep their outcomes.
func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Query().Get("body"))
	})
	c := f.client(t, "api", Options{BaseURL: srv.URL, MaxResponseBytes: 16})
	for _, tc := range []struct {
		body    string
		tooBig  bool
		wantErr bool
	}{
		{`{"a":"0123456"}`, false, false},  // 15 bytes
		{`{"a":"01234567"}`, false, false}, // 16 bytes: the limit
		{`{"a":"0123456789abcdef"}`, true, true},
		{`{"a":`, false, true},
	} {
		_, err := Do[map[string]string](t.Context(), c, http.MethodGet, "/", nil, WithQuery(url.Values{"body": {tc.body}}))
		if (err != nil) != tc.wantErr || errors.Is(err, ErrResponseTooLarge) != tc.tooBig {
			t.Errorf("%s: error %v, want error %t, too large %t", tc.body, err, tc.wantErr, tc.tooBig)
		}
		if tc.tooBig && (err == nil || !strings.Contains(err.Error(), "larger than 16 bytes (raise Options.MaxResponseBytes)")) {
			t.Errorf("%s: error %v, want it to name the limit", tc.body, err)
		}
	}
}
