package backend

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// teachInput has a parameter or field for each kind of error huma's
// validation reports.
type teachInput struct {
	When time.Time `query:"when"`
	Day  time.Time `query:"day" timeFormat:"2006-01-02"`
	N    int       `query:"n"`
	Flag bool      `query:"flag"`
	Req  string    `query:"req" required:"true"`
	Body struct {
		Must  string   `json:"must"`
		Name  string   `json:"name,omitempty" minLength:"2" maxLength:"5"`
		At    string   `json:"at,omitempty" format:"date-time"`
		Date  string   `json:"date,omitempty" format:"date"`
		Email string   `json:"email,omitempty" format:"email"`
		URI   string   `json:"uri,omitempty" format:"uri"`
		ID    string   `json:"id,omitempty" format:"uuid"`
		Size  int      `json:"size,omitempty" minimum:"1" maximum:"1000000"`
		Ratio float64  `json:"ratio,omitempty"`
		On    bool     `json:"on,omitempty"`
		Color string   `json:"color,omitempty" enum:"red,green"`
		Tags  []string `json:"tags,omitempty" maxItems:"2"`
	}
}

type teachSmallInput struct {
	Body struct {
		Text string `json:"text"`
	}
}

var teachRoutes = Routes(func(r *Router) error {
	huma.Post(r.API, "/test/teach", func(context.Context, *teachInput) (*struct{}, error) {
		return nil, nil
	})
	huma.Register(r.API, huma.Operation{OperationID: "test-teach-small", Method: http.MethodPost,
		Path: "/test/teach-small", MaxBodyBytes: 1536},
		func(context.Context, *teachSmallInput) (*struct{}, error) { return nil, nil })
	return nil
})

// TestValidationTeaches sends one request per kind of validation error huma
// reports and checks the problem's detail says where, what is wrong and what
// to send, in the client's terms: huma's own ("expected length <= 5", "invalid
// date/time for format 2006-01-02T15:04:05.999999999Z07:00") did not.
func TestValidationTeaches(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: teachRoutes})
	const vf = "validation failed: "
	tests := []struct {
		name, query, body string
		path              string // default /test/teach
		chunked           bool   // sent without a Content-Length
		status            int
		detail            string
	}{
		{name: "max length", body: `{"must":"x","name":"abcdéf"}`, status: 422,
			detail: vf + "body.name: must be at most 5 characters (it has 6); send a shorter one"},
		{name: "min length", body: `{"must":"x","name":"é"}`, status: 422,
			detail: vf + "body.name: must be at least 2 characters (it has 1)"},
		{name: "date-time", body: `{"must":"x","at":"2026-12-07 10:00"}`, status: 422,
			detail: vf + "body.at: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z"},
		{name: "date", body: `{"must":"x","date":"07/12/2026"}`, status: 422,
			detail: vf + "body.date: must be a date such as 2026-12-07"},
		{name: "email", body: `{"must":"x","email":"nobody"}`, status: 422,
			detail: vf + "body.email: must be an email address such as name@example.com"},
		{name: "uri", body: `{"must":"x","uri":":"}`, status: 422,
			detail: vf + "body.uri: must be a URI such as https://example.com/path"},
		{name: "uuid", body: `{"must":"x","id":"123"}`, status: 422,
			detail: vf + "body.id: must be a UUID such as 123e4567-e89b-12d3-a456-426614174000"},
		{name: "maximum", body: `{"must":"x","size":2000000}`, status: 422,
			detail: vf + "body.size: must be at most 1000000"},
		{name: "minimum", body: `{"must":"x","size":-1}`, status: 422,
			detail: vf + "body.size: must be at least 1"},
		{name: "number", body: `{"must":"x","ratio":"half"}`, status: 422,
			detail: vf + "body.ratio: must be a number"},
		{name: "integer", body: `{"must":"x","size":1.5}`, status: 422,
			detail: vf + "body.size: must be a whole number"},
		{name: "boolean", body: `{"must":"x","on":"yes"}`, status: 422,
			detail: vf + "body.on: must be true or false"},
		{name: "string", body: `{"must":7}`, status: 422,
			detail: vf + "body.must: must be a string"},
		{name: "enum", body: `{"must":"x","color":"blue"}`, status: 422,
			detail: vf + "body.color: must be one of: red, green"},
		{name: "max items", body: `{"must":"x","tags":["a","b","c"]}`, status: 422,
			detail: vf + "body.tags: must have at most 2 items (it has 3); send fewer"},
		{name: "unexpected property", body: `{"must":"x","colour":"red"}`, status: 422,
			detail: vf + `body.colour: unknown property "colour"; remove it (or check its spelling)`},
		{name: "required property", body: `{}`, status: 422,
			detail: vf + "body.must: is required; add it"},
		{name: "required query parameter", query: "x=1", body: `{"must":"x"}`, status: 422,
			detail: vf + "query.req: is required; add it"},
		{name: "query date-time", query: "req=1&when=tomorrow", body: `{"must":"x"}`, status: 422,
			detail: vf + "query.when: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z"},
		{name: "query date", query: "req=1&day=tomorrow", body: `{"must":"x"}`, status: 422,
			detail: vf + "query.day: must be a date such as 2026-12-07"},
		{name: "query integer", query: "req=1&n=ten", body: `{"must":"x"}`, status: 422,
			detail: vf + "query.n: must be a whole number such as 10"},
		{name: "query boolean", query: "req=1&flag=maybe", body: `{"must":"x"}`, status: 422,
			detail: vf + "query.flag: must be true or false"},
		{name: "too large, MAX_BODY_BYTES", query: "req=1", body: `{"must":"` + strings.Repeat("x", 1<<20) + `"}`,
			chunked: true, status: 413,
			detail: "The request body is larger than 1 MiB, the limit (MAX_BODY_BYTES); send less, for example in smaller parts."},
		{name: "too large, the operation's limit", path: "/test/teach-small", body: `{"text":"` + strings.Repeat("x", 2000) + `"}`,
			chunked: true, status: 413,
			detail: "The request body is larger than 1.5 KiB (1536 bytes), this endpoint's limit; send less, for example in smaller parts."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := tt.path
			if target == "" {
				target = "/test/teach?req=1"
				if tt.query != "" {
					target = "/test/teach?" + tt.query
				}
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: the request has none
			}
			rec := f.do(t, http.MethodPost, target, body, jsonHeader())
			p := problem(t, rec, tt.status)
			if p.Detail != tt.detail {
				t.Errorf("detail = %q\nwant     %q", p.Detail, tt.detail)
			}
		})
	}
}

// Messages huma's validation has that no request above reaches keep their
// meaning; one that teach does not know is passed on as it was.
func TestTeachMessages(t *testing.T) {
	t.Parallel()
	tests := []struct{ loc, msg, wantLoc, want string }{
		{"body", "expected property b to be present when a is present", "body.b", "is required when a is present; add it"},
		{"body.n", "expected number < 1e+06", "body.n", "must be less than 1000000"},
		{"body.n", "expected number > 0.5", "body.n", "must be greater than 0.5"},
		{"query.at", "invalid date/time for format 15:04", "query.at", "must be a time written like 10:00"},
		{"body.x", "expected value to match at least one schema but matched none", "body.x",
			"expected value to match at least one schema but matched none"},
	}
	for _, tt := range tests {
		loc, msg := teach(&huma.ErrorDetail{Location: tt.loc, Message: tt.msg})
		if loc != tt.wantLoc || msg != tt.want {
			t.Errorf("teach(%q, %q) = %q, %q; want %q, %q", tt.loc, tt.msg, loc, msg, tt.wantLoc, tt.want)
		}
	}
}

// paramParseInput has a query parameter of each type huma parses from text itself.
type paramParseInput struct {
	N      int           `query:"n"`
	U      uint          `query:"u"`
	F      float64       `query:"f"`
	Fs     []float64     `query:"fs"`
	B      bool          `query:"b"`
	At     time.Time     `query:"at"`
	Clock  time.Time     `query:"clock" timeFormat:"15:04"`
	Wait   string        `query:"wait" format:"duration"`
	Within time.Duration `query:"within"`
	IP     netip.Addr    `query:"ip"`
	Net    netip.Prefix  `query:"net"`
}

var paramParseRoutes = Routes(func(r *Router) error {
	huma.Get(r.API, "/test/param-parse", func(context.Context, *paramParseInput) (*struct{}, error) {
		return nil, nil
	})
	return nil
})

// TestParamParseTeaches: a query parameter whose value its type cannot parse is told what
// was wrong and shown a valid value. huma says "invalid integer" for "ten", for -1 given an
// unsigned parameter and for a number past int64 alike, refuses a duration given to a
// time.Duration parameter (nanoseconds to huma) as not an integer, and passes a netip
// type's error on as Go wrote it ("invalid value: ParseAddr(\"x\"): unable to parse IP").
func TestParamParseTeaches(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: paramParseRoutes})
	tests := []struct{ query, want string }{
		{"n=ten", "query.n: must be a whole number such as 10"},
		{"n=1.5", "query.n: must be a whole number such as 10"},
		{"n=99999999999999999999", "query.n: is too large a number; send a smaller whole number such as 10"},
		{"n=-99999999999999999999", "query.n: is too small a number; send a whole number such as 10"},
		{"u=-1", "query.u: must be a whole number of 0 or more, such as 10"},
		{"u=%2B1", "query.u: must be a whole number written without a sign, such as 10"},
		{"f=half", "query.f: must be a number such as 1.5"},
		{"fs=1,x", "query.fs: must be a number such as 1.5"},
		{"b=maybe", "query.b: must be true or false"},
		{"at=garbage", "query.at: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z"},
		{"clock=noon", "query.clock: must be a time written like 10:00"},
		{"wait=5", "query.wait: must be a duration such as 1h30m or 90s"},
		{"within=1h", "query.within: must be a whole number such as 10; a duration is given in nanoseconds (1h is 3600000000000)"},
		{"within=soon", "query.within: must be a whole number such as 10"},
		{"ip=x", "query.ip: must be an IP address such as 192.0.2.1 or 2001:db8::1"},
		{"net=192.0.2.0", "query.net: must be an IP prefix such as 192.0.2.0/24 or 2001:db8::/32"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			rec := f.do(t, http.MethodGet, "/test/param-parse?"+tt.query, nil, nil)
			p := problem(t, rec, http.StatusUnprocessableEntity)
			if want := "validation failed: " + tt.want; p.Detail != want {
				t.Errorf("detail = %q\nwant     %q", p.Detail, want)
			}
		})
	}
}
