package backend

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// TestSchemaLinksIgnoreHost: huma builds the $schema URL of JSON responses
// from Host, X-Forwarded-Host or Forwarded, so anyone could make the app
// print links to a host of theirs (cache poisoning, phishing). The links
// come from BASE_URL instead, and are relative without it.
func TestSchemaLinksIgnoreHost(t *testing.T) {
	t.Parallel()
	const evil = "evil.example"
	hostile := []http.Header{
		{"X-Forwarded-Host": {evil}},
		{"Forwarded": {"for=1.2.3.4;host=" + evil + ";proto=https"}},
		{"X-Forwarded-Host": {evil + "/x"}, "Forwarded": {"host=" + evil}},
		{},
	}
	tests := []struct {
		name       string
		baseURL    string
		wantSchema string
	}{
		{name: "no base URL", wantSchema: `"$schema":"/schemas/ReadyBody.json"`},
		{name: "base URL", baseURL: "https://api.example.com/", wantSchema: `"$schema":"https://api.example.com/schemas/ReadyBody.json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, setupOpts{settings: Settings{BaseURL: tt.baseURL}})
			for _, h := range hostile {
				for _, target := range []string{ReadyPath, "/test/echo"} {
					method, body := http.MethodGet, ""
					if target == "/test/echo" {
						method, body = http.MethodPost, `{"text":"hi"}`
					}
					req := h.Clone()
					req.Set("Content-Type", "application/json")
					rec := f.do(t, method, "http://"+evil+target, strings.NewReader(body), req)
					if strings.Contains(rec.Body.String(), evil) {
						t.Errorf("%s %s with %v: body names the hostile host: %s", method, target, h, rec.Body)
					}
					for _, l := range rec.Header().Values("Link") {
						if strings.Contains(l, evil) {
							t.Errorf("%s %s with %v: Link header %q names the hostile host", method, target, h, l)
						}
					}
					if target == ReadyPath && !strings.Contains(rec.Body.String(), tt.wantSchema) {
						t.Errorf("GET %s with %v: body %s lacks %s", target, h, rec.Body, tt.wantSchema)
					}
				}
			}
		})
	}
}

type linkedBody struct {
	Name   string `json:"name"`
	hidden int
	Count  int `json:"count"`
}

// TestSchemaLinksRepeat: the transformer keeps huma's outcome for each response type and
// operation after the first response (schemaLinkCache), so every later response must be
// the first one's bytes: the body with its $schema, the Link header (added to one the
// operation sets), and bodies huma leaves alone (a list, a map, none) as they are: a list
// or map body was a 500, the transformer comparing it with huma's result.
func TestSchemaLinksRepeat(t *testing.T) {
	t.Parallel()
	type linkOut struct {
		Link string `header:"Link"`
		Body *linkedBody
	}
	routes := func(r *Router) error {
		huma.Get(r.API, "/api/v1/links/pointer", func(context.Context, *struct{}) (*struct{ Body *linkedBody }, error) {
			return &struct{ Body *linkedBody }{Body: &linkedBody{Name: "a", hidden: 1, Count: 2}}, nil
		})
		huma.Get(r.API, "/api/v1/links/value", func(context.Context, *struct{}) (*struct{ Body linkedBody }, error) {
			return &struct{ Body linkedBody }{Body: linkedBody{Name: "b", Count: 3}}, nil
		})
		huma.Get(r.API, "/api/v1/links/own-link", func(context.Context, *struct{}) (*linkOut, error) {
			return &linkOut{Link: `</other>; rel="next"`, Body: &linkedBody{Name: "c"}}, nil
		})
		huma.Get(r.API, "/api/v1/links/list", func(context.Context, *struct{}) (*struct{ Body []string }, error) {
			return &struct{ Body []string }{Body: []string{"x", "y"}}, nil
		})
		huma.Get(r.API, "/api/v1/links/map", func(context.Context, *struct{}) (*struct{ Body map[string]int }, error) {
			return &struct{ Body map[string]int }{Body: map[string]int{"x": 1}}, nil
		})
		huma.Get(r.API, "/api/v1/links/nil", func(context.Context, *struct{}) (*struct{ Body *linkedBody }, error) {
			return &struct{ Body *linkedBody }{}, nil
		})
		huma.Get(r.API, "/api/v1/links/missing", func(context.Context, *struct{}) (*struct{ Body *linkedBody }, error) {
			return nil, huma.Error404NotFound("no such link")
		})
		return nil
	}
	tests := []struct {
		path      string
		wantBody  string // in every response's body ("" for none)
		wantLinks []string
	}{
		{"/api/v1/links/pointer", `{"$schema":"https://api.example.com/schemas/LinkedBody.json","name":"a","count":2}`,
			[]string{`</schemas/LinkedBody.json>; rel="describedBy"`}},
		{"/api/v1/links/value", `{"$schema":"https://api.example.com/schemas/LinkedBody.json","name":"b","count":3}`,
			[]string{`</schemas/LinkedBody.json>; rel="describedBy"`}},
		{"/api/v1/links/own-link", `"name":"c"`,
			[]string{`</other>; rel="next"`, `</schemas/LinkedBody.json>; rel="describedBy"`}},
		{"/api/v1/links/list", `["x","y"]`, nil},
		{"/api/v1/links/map", `{"x":1}`, nil},
		{"/api/v1/links/nil", "", nil},
		{"/api/v1/links/missing", `"$schema":"https://api.example.com/schemas/ErrorModel.json"`,
			[]string{`</schemas/ErrorModel.json>; rel="describedBy"`}},
	}
	// First responses at once, from a new handler: each goroutine's responses are the
	// expected ones while the outcomes are being kept (run with -race too).
	concurrent := setup(t, setupOpts{settings: Settings{BaseURL: "https://api.example.com/"}, routes: routes})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, tt := range tests {
				rec := concurrent.do(t, http.MethodGet, tt.path, nil, nil)
				if !strings.Contains(rec.Body.String(), tt.wantBody) || !slices.Equal(rec.Header().Values("Link"), tt.wantLinks) {
					t.Errorf("concurrent GET %s: %d %s, Link %q", tt.path, rec.Code, rec.Body, rec.Header().Values("Link"))
				}
			}
		})
	}
	wg.Wait()
	f := setup(t, setupOpts{settings: Settings{BaseURL: "https://api.example.com/"}, routes: routes})
	// Interleaved, so that a response with its own Link header comes between others.
	first := map[string]*httptest.ResponseRecorder{}
	for round := range 3 {
		for _, tt := range tests {
			rec := f.do(t, http.MethodGet, tt.path, nil, nil)
			if rec.Code >= 500 {
				t.Fatalf("round %d: GET %s: %d %s", round, tt.path, rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("round %d: GET %s: body %s, want it to hold %s", round, tt.path, rec.Body, tt.wantBody)
			}
			if got := rec.Header().Values("Link"); !slices.Equal(got, tt.wantLinks) {
				t.Errorf("round %d: GET %s: Link %q, want %q", round, tt.path, got, tt.wantLinks)
			}
			if round == 0 {
				first[tt.path] = rec
				continue
			}
			if got, want := rec.Body.String(), first[tt.path].Body.String(); got != want {
				t.Errorf("round %d: GET %s: body %s, the first response's %s", round, tt.path, got, want)
			}
		}
	}
}
