package backend

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

const testPassword = "hunter2hunter2"

type loginInput struct {
	Token string `header:"X-Token" maxLength:"4"`
	Count int    `query:"count" maximum:"10"`
	Word  string `query:"word" maxLength:"2"`
	Body  struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
}

// sharedProblem is returned on every request, as an app's package-level error
// would be: sending it must not change it.
var sharedProblem = huma.NewError(http.StatusUnprocessableEntity, humaValidationFailed,
	&huma.ErrorDetail{Location: "body.password", Message: "too weak", Value: testPassword})

// problemRoutes answer with problems of every origin: huma's validation, an
// operation's huma error, a plain error (huma's 500) and the router's own.
var problemRoutes = Routes(func(r *Router) error {
	huma.Post(r.API, "/test/login", func(context.Context, *loginInput) (*struct{}, error) {
		return nil, nil
	})
	huma.Get(r.API, "/test/unauthorized", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, huma.Error401Unauthorized("sign in first")
	})
	huma.Get(r.API, "/test/failure", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, errors.New("disk on fire")
	})
	huma.Get(r.API, "/test/shared", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, sharedProblem
	})
	huma.Get(r.API, "/test/unavailable", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, huma.Error503ServiceUnavailable("ai is not configured")
	})
	huma.Get(r.API, "/test/badgateway", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, huma.Error502BadGateway("upstream said no")
	})
	r.Mux.Get("/test/both", func(http.ResponseWriter, *http.Request) {})
	r.Mux.Post("/test/both", func(http.ResponseWriter, *http.Request) {})
	return nil
})

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// TestProblemsHideRequestValues sends requests huma refuses and checks that no
// problem repeats what the client sent in a body or a header, that a short query
// value is still shown, and that the detail names the first error.
func TestProblemsHideRequestValues(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: problemRoutes})
	login := `{"email":"a@b.co","password":"` + testPassword + `","admin":true}`
	tests := []struct {
		name       string
		target     string
		body       string
		header     http.Header
		status     int
		wantDetail string // prefix of the detail
		wantLoc    string // location of some error
		wantValue  any    // that error's value (nil: none)
		hidden     string // must not appear in the body
	}{
		{name: "unexpected property", target: "/test/login", body: login, header: jsonHeader(),
			status: 422, wantDetail: `validation failed: body.admin: unknown property "admin"; remove it`,
			wantLoc: "body.admin", hidden: testPassword},
		{name: "not JSON", target: "/test/login", body: login, header: http.Header{"Content-Type": {"text/plain"}},
			status: 415, wantDetail: "validation failed: body: ", wantLoc: "body", hidden: testPassword},
		{name: "malformed JSON", target: "/test/login", body: `{"email":"a@b.co","password":"` + testPassword, header: jsonHeader(),
			status: 400, wantDetail: "validation failed: body: the JSON ends before it is complete; send the whole body", wantLoc: "body", hidden: testPassword},
		{name: "header", target: "/test/login", body: `{}`,
			header: http.Header{"Content-Type": {"application/json"}, "X-Token": {"secret-token-value"}},
			status: 422, wantDetail: "validation failed: header.X-Token: ", wantLoc: "header.X-Token", hidden: "secret-token-value"},
		{name: "short query", target: "/test/login?word=abc", body: `{}`, header: jsonHeader(),
			status: 422, wantDetail: "validation failed: query.word: ", wantLoc: "query.word", wantValue: "abc"},
		{name: "long query", target: "/test/login?word=" + strings.Repeat("q", 65), body: `{}`, header: jsonHeader(),
			status: 422, wantLoc: "query.word", hidden: strings.Repeat("q", 65)},
		{name: "number query", target: "/test/login?count=11", body: `{}`, header: jsonHeader(),
			status: 422, wantLoc: "query.count", wantValue: float64(11)},
		{name: "several", target: "/test/login?count=11&word=abc", body: `{"admin":1}`, header: jsonHeader(),
			status: 422, wantDetail: "validation failed: ", wantLoc: "query.word", wantValue: "abc"},
		{name: "shared error", target: "/test/shared", status: 422,
			wantDetail: "validation failed: body.password: too weak", wantLoc: "body.password", hidden: testPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.body == "" {
				method = http.MethodGet
			}
			// Twice: the second answer shows whether the first changed a shared error.
			for range 2 {
				rec := f.do(t, method, tt.target, strings.NewReader(tt.body), tt.header)
				p := problem(t, rec, tt.status)
				if tt.hidden != "" && strings.Contains(rec.Body.String(), tt.hidden) {
					t.Errorf("problem repeats %q: %s", tt.hidden, rec.Body)
				}
				if !strings.HasPrefix(p.Detail, tt.wantDetail) || strings.Contains(p.Detail, "\n") {
					t.Errorf("detail = %q, want one line starting %q", p.Detail, tt.wantDetail)
				}
				if n := len(p.Errors); n > 1 && !strings.HasSuffix(p.Detail, "; and "+string(rune('0'+n-1))+" more") {
					t.Errorf("detail = %q with %d errors, want it to count the others", p.Detail, n)
				}
				found := false
				for _, e := range p.Errors {
					if e.Location == tt.wantLoc {
						found = true
						if e.Value != tt.wantValue || e.Message == "" {
							t.Errorf("error at %s = %+v, want value %v and a message", e.Location, e, tt.wantValue)
						}
					}
				}
				if !found {
					t.Errorf("no error at %s: %s", tt.wantLoc, rec.Body)
				}
				if p.Instance != strings.SplitN(tt.target, "?", 2)[0] {
					t.Errorf("instance = %q, want the path", p.Instance)
				}
			}
		})
	}
	if d := sharedProblem.(*huma.ErrorModel); d.Detail != humaValidationFailed || d.Errors[0].Value != testPassword {
		t.Errorf("the shared error was changed: %+v %+v", d, d.Errors[0])
	}
}

// TestProblemsNosniff checks that every problem carries X-Content-Type-Options:
// nosniff, whichever layer wrote it.
func TestProblemsNosniff(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: problemRoutes})
	tests := []struct {
		name   string
		method string
		target string
		body   string
		status int
	}{
		{"huma 400", http.MethodPost, "/test/login", `{`, 400},
		{"huma 401", http.MethodGet, "/test/unauthorized", "", 401},
		{"huma 415", http.MethodPost, "/test/login", "", 415},
		{"huma 422", http.MethodPost, "/test/login", `{"admin":true}`, 422},
		{"huma 500", http.MethodGet, "/test/failure", "", 500},
		{"huma 503", http.MethodGet, "/test/unavailable", "", 503},
		{"router 404", http.MethodGet, "/test/nothing", "", 404},
		{"router 405", http.MethodDelete, "/test/login", "", 405},
		{"router 500", http.MethodGet, "/test/panic", "", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := jsonHeader()
			if tt.status == 415 {
				header = http.Header{"Content-Type": {"text/plain"}}
				tt.body = "x"
			}
			rec := f.do(t, tt.method, tt.target, strings.NewReader(tt.body), header)
			problem(t, rec, tt.status)
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

// TestMethodNotAllowedAllow checks the Allow header RFC 9110 requires on a 405.
func TestMethodNotAllowedAllow(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: problemRoutes})
	tests := []struct {
		method, target, want string
	}{
		{http.MethodDelete, "/test/login", "POST"},
		{http.MethodOptions, "/test/login", "POST"},
		{http.MethodPut, "/test/both", "GET, HEAD, POST"},
		{http.MethodPost, LivePath, "GET, HEAD"},
		{http.MethodPost, "/test/unauthorized", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := f.do(t, tt.method, tt.target, nil, nil)
			problem(t, rec, http.StatusMethodNotAllowed)
			if got := rec.Header().Get("Allow"); got != tt.want {
				t.Errorf("Allow = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHeadOnGetRoutes sends HEAD to GET routes, huma's and the router's: RFC 9110
// has a server answer HEAD wherever it answers GET, with GET's status and headers.
func TestHeadOnGetRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: problemRoutes})
	tests := []struct {
		target string
		status int
	}{
		{"/test/unauthorized", http.StatusUnauthorized},
		{"/test/both", http.StatusOK},
		{"/openapi.json", http.StatusOK},
		{"/test/nothing", http.StatusNotFound},
		{"/test/login", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			head := f.do(t, http.MethodHead, tt.target, nil, nil)
			get := f.do(t, http.MethodGet, tt.target, nil, nil)
			if head.Code != tt.status {
				t.Errorf("HEAD status = %d, want %d", head.Code, tt.status)
			}
			if tt.status == http.StatusMethodNotAllowed {
				return
			}
			if head.Code != get.Code || head.Header().Get("Content-Type") != get.Header().Get("Content-Type") {
				t.Errorf("HEAD = %d %q, GET = %d %q; want the same status and Content-Type",
					head.Code, head.Header().Get("Content-Type"), get.Code, get.Header().Get("Content-Type"))
			}
		})
	}
}

// TestLongPathClipped sends a path of half a megabyte: the 404 and its access line
// show its start and its length, not the whole of it twice.
func TestLongPathClipped(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	path := "/" + strings.Repeat("a", 500_000)
	rec := f.do(t, http.MethodGet, path, nil, nil)
	p := problem(t, rec, http.StatusNotFound)
	if rec.Body.Len() > 2000 {
		t.Errorf("404 body is %d bytes, want the path clipped", rec.Body.Len())
	}
	want := path[:maxShown] + "…(500001 bytes)"
	if p.Instance != want || !strings.Contains(p.Detail, want) {
		t.Errorf("instance %q, detail %q; want both to show %q", p.Instance, p.Detail, want)
	}
	lines := f.logs.Records(t, "request")
	if len(lines) != 1 || lines[0]["path"] != want {
		t.Errorf("access lines %v, want one with path %q", lines, want)
	}
	if n := len(f.logs.String()); n > 2000 {
		t.Errorf("logs are %d bytes, want the path clipped", n)
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 150) // 300 bytes; byte 200 is the start of a character
	odd := "x" + long                // 301 bytes; byte 200 is inside one
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"/api/v1/ping", "/api/v1/ping"},
		{strings.Repeat("a", maxShown), strings.Repeat("a", maxShown)},
		{strings.Repeat("a", maxShown+1), strings.Repeat("a", maxShown) + "…(201 bytes)"},
		{long, long[:200] + "…(300 bytes)"},
		{odd, odd[:199] + "…(301 bytes)"},
	}
	for _, tt := range tests {
		if got := clip(tt.in); got != tt.want {
			t.Errorf("clip(%d bytes) = %q, want %q", len(tt.in), got, tt.want)
		}
	}
}

// TestAccessLogLevels checks the access line's level by status: a 503 (a part of
// the app off) is a warning, other 5xx are errors.
func TestAccessLogLevels(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: problemRoutes, infoLogs: true})
	tests := []struct {
		target string
		level  string
	}{
		{"/test/unauthorized", "INFO"},
		{"/test/unavailable", "WARN"},
		{"/test/failure", "ERROR"},
		{"/test/badgateway", "ERROR"},
	}
	for _, tt := range tests {
		f.do(t, http.MethodGet, tt.target, nil, nil)
	}
	levels := map[string]any{}
	for _, rec := range f.logs.Records(t, "request") {
		levels[rec["path"].(string)] = rec["level"]
	}
	for _, tt := range tests {
		if levels[tt.target] != tt.level {
			t.Errorf("%s logged at %v, want %s", tt.target, levels[tt.target], tt.level)
		}
	}
}

// TestPlainErrorHidden checks that an operation's plain error reaches the log,
// with the request ID, and not the client, who gets the recoverer's answer.
func TestPlainErrorHidden(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: problemRoutes})
	rec := f.do(t, http.MethodGet, "/test/failure", nil, nil)
	p := problem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "disk on fire") || len(p.Errors) != 0 {
		t.Errorf("the client sees the error: %s", rec.Body)
	}
	if p.Detail != unexpectedDetail || p.Instance != "/test/failure" {
		t.Errorf("problem = %+v, want the recoverer's detail and the path", p)
	}
	logged := f.logs.Records(t, "request failed")
	if len(logged) != 1 {
		t.Fatalf("%d 'request failed' records, want 1: %s", len(logged), f.logs)
	}
	id := rec.Header().Get("X-Request-ID")
	if l := logged[0]; l["error"] != "disk on fire" || l["level"] != "ERROR" || l["request_id"] != id || id == "" {
		t.Errorf("logged %v, want the error at ERROR with request ID %q", l, id)
	}
}

func TestSeconds(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0 seconds", 1: "1 second", 2: "2 seconds", 900: "900 seconds"} {
		if got := Seconds(n); got != want {
			t.Errorf("Seconds(%d) = %q, want %q", n, got, want)
		}
	}
}
