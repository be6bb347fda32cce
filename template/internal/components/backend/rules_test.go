package backend

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// rulesQueryInput has a time parameter in the query (and rulesPathInput one in the path),
// scalar query parameters, an exploded array (?tag=a&tag=b) and a comma-separated one
// (?id=1,2, huma's default).
type rulesQueryInput struct {
	At   time.Time `query:"at"`
	N    int       `query:"n"`
	Name string    `query:"name"`
	Tags []string  `query:"tag,explode"`
	IDs  []int     `query:"id"`
}

type rulesPathInput struct {
	At time.Time `path:"at"`
}

type rulesQueryOutput struct {
	Body struct {
		N    int      `json:"n"`
		Tags []string `json:"tags"`
	}
}

// rulesSmallLimit is the own body limit of the test operations that set one.
const rulesSmallLimit = 1024

var rulesRoutes = Routes(func(r *Router) error {
	echo := func(_ context.Context, in *echoInput) (*echoOutput, error) {
		out := &echoOutput{}
		out.Body.Text = in.Body.Text
		return out, nil
	}
	huma.Register(r.API, huma.Operation{OperationID: "test-rules-small", Method: http.MethodPost,
		Path: "/test/rules/small", MaxBodyBytes: rulesSmallLimit}, echo)
	// Hidden operations are not added to the OpenAPI, so an OnAddOperation hook never sees
	// them; the rules apply to them all the same.
	huma.Register(r.API, huma.Operation{OperationID: "test-rules-hidden", Method: http.MethodPost,
		Path: "/test/rules/hidden", MaxBodyBytes: rulesSmallLimit, Hidden: true}, echo)
	// A group copies each operation for its prefix before the adapter sees it.
	group := NewGroup(r.API, "/test/rules/group")
	huma.Register(group, huma.Operation{OperationID: "test-rules-group-small", Method: http.MethodPost,
		Path: "/small", MaxBodyBytes: rulesSmallLimit}, echo)
	huma.Post(group, "/echo", echo)
	nested := NewGroup(group, "/nested")
	huma.Register(nested, huma.Operation{OperationID: "test-rules-nested-small", Method: http.MethodPost,
		Path: "/small", MaxBodyBytes: rulesSmallLimit}, echo)
	// huma's own group: its copies keep huma's read at the declared limit (see NewGroup).
	humaGroup := huma.NewGroup(r.API, "/test/rules/huma-group")
	huma.Register(humaGroup, huma.Operation{OperationID: "test-rules-huma-group-small", Method: http.MethodPost,
		Path: "/small", MaxBodyBytes: rulesSmallLimit}, echo)
	huma.Get(r.API, "/test/rules/query", func(_ context.Context, in *rulesQueryInput) (*rulesQueryOutput, error) {
		out := &rulesQueryOutput{}
		out.Body.N, out.Body.Tags = in.N, in.Tags
		return out, nil
	})
	huma.Get(r.API, "/test/rules/at/{at}", func(context.Context, *rulesPathInput) (*struct{}, error) {
		return nil, nil
	})
	return nil
})

// textBody is an echo body of exactly n bytes.
func textBody(n int) string {
	const frame = `{"text":""}`
	return `{"text":"` + strings.Repeat("x", n-len(frame)) + `"}`
}

// TestBodyLimitRules: every operation's body limit, MAX_BODY_BYTES or its own lower one,
// takes a body of exactly the limit (huma refused it as larger than the limit) and refuses
// one byte more with a 413 saying the limit, and the body's size when Content-Length gave it
// (an operation's own limit was only checked once huma had read that far, without the
// size); a route outside huma keeps the same bound.
func TestBodyLimitRules(t *testing.T) {
	t.Parallel()
	const maxBody = 2048
	f := setup(t, setupOpts{settings: Settings{MaxBodyBytes: maxBody}, routes: rulesRoutes})
	const send = "; send less, for example in smaller parts."
	tests := []struct {
		name, path string
		size       int
		chunked    bool // sent without a Content-Length
		status     int
		detail     string // of the 413
	}{
		{name: "own limit, exactly", path: "/test/rules/small", size: rulesSmallLimit, status: 200},
		{name: "own limit, exactly, chunked", path: "/test/rules/small", size: rulesSmallLimit, chunked: true, status: 200},
		{name: "own limit, one more", path: "/test/rules/small", size: rulesSmallLimit + 1, status: 413,
			detail: "The request body is 1025 bytes, more than 1 KiB, this endpoint's limit" + send},
		{name: "own limit, one more, chunked", path: "/test/rules/small", size: rulesSmallLimit + 1, chunked: true, status: 413,
			detail: "The request body is larger than 1 KiB, this endpoint's limit" + send},
		{name: "hidden operation, exactly", path: "/test/rules/hidden", size: rulesSmallLimit, status: 200},
		{name: "hidden operation, one more", path: "/test/rules/hidden", size: rulesSmallLimit + 1, status: 413,
			detail: "The request body is 1025 bytes, more than 1 KiB, this endpoint's limit" + send},
		{name: "group, own limit, exactly", path: "/test/rules/group/small", size: rulesSmallLimit, status: 200},
		{name: "group, own limit, exactly, chunked", path: "/test/rules/group/small", size: rulesSmallLimit, chunked: true, status: 200},
		{name: "group, own limit, one more", path: "/test/rules/group/small", size: rulesSmallLimit + 1, status: 413,
			detail: "The request body is 1025 bytes, more than 1 KiB, this endpoint's limit" + send},
		{name: "group, own limit, one more, chunked", path: "/test/rules/group/small", size: rulesSmallLimit + 1, chunked: true, status: 413,
			detail: "The request body is larger than 1 KiB, this endpoint's limit" + send},
		{name: "nested group, exactly, chunked", path: "/test/rules/group/nested/small", size: rulesSmallLimit, chunked: true, status: 200},
		{name: "nested group, one more, chunked", path: "/test/rules/group/nested/small", size: rulesSmallLimit + 1, chunked: true, status: 413,
			detail: "The request body is larger than 1 KiB, this endpoint's limit" + send},
		{name: "group, MAX_BODY_BYTES, exactly, chunked", path: "/test/rules/group/echo", size: maxBody, chunked: true, status: 200},
		{name: "group, MAX_BODY_BYTES, one more, chunked", path: "/test/rules/group/echo", size: maxBody + 1, chunked: true, status: 413,
			detail: "The request body is larger than 2 KiB, the limit (MAX_BODY_BYTES)" + send},
		// huma's read, at the declared limit, stops at 1024 bytes and named 1023.
		{name: "huma's group, one more, chunked", path: "/test/rules/huma-group/small", size: rulesSmallLimit + 1, chunked: true, status: 413,
			detail: "The request body is larger than 1 KiB, this endpoint's limit" + send},
		{name: "MAX_BODY_BYTES, exactly", path: "/test/echo", size: maxBody, status: 200},
		{name: "MAX_BODY_BYTES, exactly, chunked", path: "/test/echo", size: maxBody, chunked: true, status: 200},
		{name: "MAX_BODY_BYTES, one more", path: "/test/echo", size: maxBody + 1, status: 413,
			detail: "The request body is 2049 bytes, more than 2 KiB, the limit (MAX_BODY_BYTES)" + send},
		{name: "MAX_BODY_BYTES, one more, chunked", path: "/test/echo", size: maxBody + 1, chunked: true, status: 413,
			detail: "The request body is larger than 2 KiB, the limit (MAX_BODY_BYTES)" + send},
		{name: "outside huma, exactly", path: "/test/raw", size: maxBody, status: 200},
		{name: "outside huma, exactly, chunked", path: "/test/raw", size: maxBody, chunked: true, status: 200},
		{name: "outside huma, one more", path: "/test/raw", size: maxBody + 1, status: 413,
			detail: "The request body is 2049 bytes, more than 2 KiB, the limit (MAX_BODY_BYTES)" + send},
		// The route's own handler answers a failed read; it reads no more than the limit.
		{name: "outside huma, one more, chunked", path: "/test/raw", size: maxBody + 1, chunked: true, status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader = strings.NewReader(textBody(tt.size))
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: the request has none
			}
			rec := f.do(t, http.MethodPost, tt.path, body, jsonHeader())
			switch {
			case tt.status == http.StatusOK:
				if rec.Code != http.StatusOK {
					t.Fatalf("a body of %d bytes: %d %s, want 200", tt.size, rec.Code, rec.Body)
				}
				if tt.path == "/test/raw" && rec.Body.String() != strconv.Itoa(tt.size) {
					t.Errorf("the route read %s bytes, want %d", rec.Body, tt.size)
				}
			case tt.detail == "":
				if rec.Code != tt.status {
					t.Errorf("a body of %d bytes: %d, want %d", tt.size, rec.Code, tt.status)
				}
			default:
				if p := problem(t, rec, tt.status); p.Detail != tt.detail {
					t.Errorf("detail = %q\nwant     %q", p.Detail, tt.detail)
				}
			}
		})
	}
}

// TestParamRules: a time parameter that does not parse is told how to write it, naming the
// usual mistakes (a date alone, an offset's + read as a space), and a scalar query parameter
// given more than once is refused rather than read as its first value, as is an array
// written comma-separated (huma reads the first too); an exploded array repeats.
func TestParamRules(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: rulesRoutes})
	const vf = "validation failed: "
	const twice = " is given 2 times, and only one value can count: give "
	tests := []struct {
		name, target string
		status       int
		detail       string   // of the 422
		where        []string // its errors' locations
		n            int      // what the operation read, on 200
		tags         []string
	}{
		{name: "date without a time", target: "/test/rules/query?at=2026-01-02", status: 422,
			detail: vf + "query.at: is a date without a time: give an RFC 3339 time such as 2026-01-02T00:00:00Z", where: []string{"query.at"}},
		{name: "offset's + read as a space", target: "/test/rules/query?at=2026-01-02T15:04:05+01:00", status: 422,
			detail: vf + "query.at: has a space where its offset's + was (a + in a URL's query reads as a space): write the + as %2B, such as at=2026-01-02T15:04:05%2B01:00, or give the time in UTC with Z",
			where:  []string{"query.at"}},
		{name: "offset's + escaped", target: "/test/rules/query?at=2026-01-02T15:04:05%2B01:00", status: 200},
		{name: "not a time", target: "/test/rules/query?at=yesterday", status: 422,
			detail: vf + "query.at: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z", where: []string{"query.at"}},
		{name: "path: date without a time", target: "/test/rules/at/2026-01-02", status: 422,
			detail: vf + "path.at: is a date without a time: give an RFC 3339 time such as 2026-01-02T00:00:00Z", where: []string{"path.at"}},
		// A path's + is a +: a space there is no offset's.
		{name: "path: a space", target: "/test/rules/at/2026-01-02T15:04:05%2001:00", status: 422,
			detail: vf + "path.at: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z", where: []string{"path.at"}},
		{name: "scalar twice", target: "/test/rules/query?n=1&n=2", status: 422,
			detail: vf + "query.n:" + twice + "n once", where: []string{"query.n"}},
		{name: "scalar twice, escaped", target: "/test/rules/query?n=1&%6E=2", status: 422,
			detail: vf + "query.n:" + twice + "n once", where: []string{"query.n"}},
		{name: "scalar three times", target: "/test/rules/query?n=1&n=2&n", status: 422,
			detail: vf + "query.n: is given 3 times, and only one value can count: give n once", where: []string{"query.n"}},
		{name: "two scalars twice", target: "/test/rules/query?name=a&n=1&name=b&n=2", status: 422,
			detail: vf + "query.n:" + twice + "n once; and 1 more", where: []string{"query.n", "query.name"}},
		{name: "comma-separated array repeated", target: "/test/rules/query?id=1,2&id=3", status: 422,
			detail: vf + "query.id:" + twice + "id once, its values separated by commas", where: []string{"query.id"}},
		{name: "exploded array repeated", target: "/test/rules/query?tag=a&tag=b&n=3", status: 200, n: 3, tags: []string{"a", "b"}},
		{name: "each once", target: "/test/rules/query?n=3&name=x&at=2026-01-02T15:04:05Z", status: 200, n: 3},
		{name: "undeclared twice", target: "/test/rules/query?n=3&other=1&other=2", status: 200, n: 3},
		{name: "a name's prefix", target: "/test/rules/query?n=3&nn=1&n_=2", status: 200, n: 3},
		// url.ParseQuery drops these pairs: the operation would answer as if they were not given.
		{name: "malformed escape", target: "/test/rules/query?name=100%&n=3", status: 400,
			detail: vf + `query.name: has a malformed percent-escape ("%"): write a literal % as %25`, where: []string{"query.name"}},
		{name: "malformed escape, not hex", target: "/test/rules/query?n=3&name=%zz", status: 400,
			detail: vf + `query.name: has a malformed percent-escape ("%zz"): write a literal % as %25`, where: []string{"query.name"}},
		{name: "malformed escape after a good one", target: "/test/rules/query?name=%41%4", status: 400,
			detail: vf + `query.name: has a malformed percent-escape ("%4"): write a literal % as %25`, where: []string{"query.name"}},
		{name: "malformed escape in a key", target: "/test/rules/query?n%=3", status: 400,
			detail: vf + `query: has a malformed percent-escape ("%"): write a literal % as %25`, where: []string{"query"}},
		{name: "semicolon", target: "/test/rules/query?n=3;name=x", status: 400,
			detail: vf + "query.n: has a ';', which does not separate parameters: separate them with '&', or write a ';' in a value as %3B", where: []string{"query.n"}},
		{name: "escaped percent and semicolon", target: "/test/rules/query?name=100%25%3B&n=3", status: 200, n: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := f.do(t, http.MethodGet, tt.target, nil, nil)
			if tt.status == http.StatusOK {
				if rec.Code != http.StatusOK && rec.Code != http.StatusNoContent {
					t.Fatalf("GET %s: %d %s, want 200", tt.target, rec.Code, rec.Body)
				}
				if rec.Code == http.StatusOK {
					got := decode[struct {
						N    int      `json:"n"`
						Tags []string `json:"tags"`
					}](t, rec)
					if got.N != tt.n || strings.Join(got.Tags, ",") != strings.Join(tt.tags, ",") {
						t.Errorf("GET %s: read n=%d tags=%q, want %d %q", tt.target, got.N, got.Tags, tt.n, tt.tags)
					}
				}
				return
			}
			p := problem(t, rec, tt.status)
			if p.Detail != tt.detail {
				t.Errorf("detail = %q\nwant     %q", p.Detail, tt.detail)
			}
			var where []string
			for _, e := range p.Errors {
				where = append(where, e.Location)
			}
			if strings.Join(where, ",") != strings.Join(tt.where, ",") {
				t.Errorf("errors at %q, want %q", where, tt.where)
			}
		})
	}
}

// BenchmarkRepeatedQuery is what the repeated-parameter rule costs a request whose query has
// several parameters, none repeated (the common case it must not slow down): no allocation.
func BenchmarkRepeatedQuery(b *testing.B) {
	params := []onceParam{{name: "from"}, {name: "to"}, {name: "limit"}, {name: "bucket"}}
	const q = "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&limit=10&bucket=hour"
	b.ReportAllocs()
	for b.Loop() {
		if errs := repeatedQuery(q, params); errs != nil {
			b.Fatal(errs)
		}
	}
}

// seenRequest is what a test API middleware saw of a request once the operation answered.
type seenRequest struct {
	path   string
	status int
}

// TestRefusalsThroughMiddlewares: a request the rules refuse goes through the API's
// middlewares as one huma refuses does, each once, with the refusal's status: a middleware
// recording requests (analytics' ANALYTICS_TRACK_REQUESTS) missed the 413s and the repeated
// parameters' 422s, answered before any middleware ran.
func TestRefusalsThroughMiddlewares(t *testing.T) {
	t.Parallel()
	const maxBody = 2048
	seen := make(chan seenRequest, 10)
	routes := Routes(func(r *Router) error {
		r.API.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
			next(ctx)
			seen <- seenRequest{path: ctx.Operation().Path, status: ctx.Status()}
		})
		huma.Register(r.API, huma.Operation{OperationID: "test-seen-small", Method: http.MethodPost,
			Path: "/test/seen/small", MaxBodyBytes: rulesSmallLimit},
			func(_ context.Context, in *struct {
				N    int `query:"n"`
				Body struct {
					Text string `json:"text"`
				}
			}) (*struct{}, error) {
				return nil, nil
			})
		return nil
	})
	f := setup(t, setupOpts{settings: Settings{MaxBodyBytes: maxBody}, routes: routes})
	tests := []struct {
		name, query string
		size        int
		chunked     bool
		status      int
	}{
		{name: "accepted", size: 100, status: http.StatusNoContent},
		{name: "too large by its length", size: rulesSmallLimit + 1, status: http.StatusRequestEntityTooLarge},
		{name: "too large, chunked", size: rulesSmallLimit + 1, chunked: true, status: http.StatusRequestEntityTooLarge},
		{name: "too large for MAX_BODY_BYTES, chunked", size: maxBody + 1, chunked: true, status: http.StatusRequestEntityTooLarge},
		{name: "parameter repeated", query: "?n=1&n=2", size: 100, status: http.StatusUnprocessableEntity},
		{name: "huma's own refusal", query: "?n=ten", size: 100, status: http.StatusUnprocessableEntity},
	}
	for _, tt := range tests { // in turn: one channel
		var body io.Reader = strings.NewReader(textBody(tt.size))
		if tt.chunked {
			body = io.MultiReader(body)
		}
		rec := f.do(t, http.MethodPost, "/test/seen/small"+tt.query, body, jsonHeader())
		if rec.Code != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.status)
		}
		var got []seenRequest
		for len(seen) > 0 {
			got = append(got, <-seen)
		}
		if want := (seenRequest{path: "/test/seen/small", status: tt.status}); len(got) != 1 || got[0] != want {
			t.Errorf("%s: the middleware saw %+v, want once %+v", tt.name, got, want)
		}
	}
}
