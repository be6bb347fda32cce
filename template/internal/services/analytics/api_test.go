package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/humatest"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

const readToken = "test-read-token-0123456789abcdefghijklmn"

// apiSetup returns the app's real handler with the service registered, and the service.
func apiSetup(t *testing.T, db *database.DB, s Settings) (http.Handler, *Service) {
	t.Helper()
	svc := newService(t, db, s, nil)
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	return h, svc
}

func send(t *testing.T, h http.Handler, method, path string, body any, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := frontendtest.NewRequest(t, method, path, body, header)
	if ip := header["X-Test-Remote"]; ip != "" {
		req.RemoteAddr = ip
	}
	return frontendtest.Serve(h, req)
}

// getProblem sends GET path (under Prefix) with header and checks its status is want. It
// returns the problem a refusal answered, or nil for a 200 or a wrong status (reported).
func getProblem(t *testing.T, h http.Handler, path string, header map[string]string, want int) *huma.ErrorModel {
	t.Helper()
	rec := send(t, h, http.MethodGet, Prefix+path, nil, header)
	if rec.Code != want {
		t.Errorf("GET %s: %d %s, want %d", path, rec.Code, rec.Body, want)
		return nil
	}
	if want == http.StatusOK {
		return nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	var p huma.ErrorModel
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, rec.Body)
	}
	return &p
}

func batch(events ...map[string]any) map[string]any { return map[string]any{"events": events} }

// TestTrackAPI: a valid batch is accepted and stored; each kind of bad input is a 422 problem
// and nothing of the refused batch is stored.
func TestTrackAPI(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, svc := apiSetup(t, db, Settings{IngestIPLimit: 1000})
		now := time.Now().UTC()
		rec := send(t, h, http.MethodPost, EventsPath, batch(
			map[string]any{"name": "page_view", "properties": map[string]any{"page": "/", "n": 1.5, "ok": true, "none": nil}},
			map[string]any{"name": "signup", "at": now.Add(-time.Hour).Format(time.RFC3339)},
		), nil)
		if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"accepted":2`) {
			t.Fatalf("valid batch: %d %s", rec.Code, rec.Body)
		}
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := storedEvents(t, db); n != 2 {
			t.Fatalf("stored %d, want 2", n)
		}

		big := map[string]any{}
		for i := range MaxProperties + 1 {
			big[fmt.Sprintf("k%d", i)] = i
		}
		var many []map[string]any
		for range MaxBatch + 1 {
			many = append(many, map[string]any{"name": "x"})
		}
		good := map[string]any{"name": "fine"}
		for _, c := range []struct {
			what   string
			body   any
			want   string
			detail string // in the problem's detail, when set
		}{
			{"malformed name", batch(good, map[string]any{"name": "Bad Name"}), "name", ""},
			{"two bad events", batch(map[string]any{"name": "x", "at": now.Add(time.Hour).Format(time.RFC3339)}, map[string]any{"name": "x", "properties": map[string]any{"has space": 1}}), "at", "validation failed: body.events[0].at: must be within the last 24 hours and at most 5 minutes ahead of the server's clock (now "},
			{"name too long", batch(good, map[string]any{"name": "a" + strings.Repeat("b", MaxNameLen)}), "name", ""},
			{"too many properties", batch(good, map[string]any{"name": "x", "properties": big}), "properties", ""},
			{"oversized properties", batch(good, map[string]any{"name": "x", "properties": map[string]any{"s": strings.Repeat("y", MaxPropertyBytes)}}), "properties", ""},
			{"nested property", batch(good, map[string]any{"name": "x", "properties": map[string]any{"o": map[string]any{"a": 1}}}), "properties", `body.events[1].properties: property "o": a value is a string`},
			{"bad property key", batch(good, map[string]any{"name": "x", "properties": map[string]any{"has space": 1}}), "properties", ""},
			// PostgreSQL stores no NUL: one would make it refuse every later batch.
			{"NUL in a property value", batch(good, map[string]any{"name": "x", "properties": map[string]any{"a": "b\u0000c"}}), `holds a NUL character (U+0000), which cannot be stored; remove it","location":"body.events[1].properties"`, ""},
			{"NUL in a property key", batch(good, map[string]any{"name": "x", "properties": map[string]any{"a\u0000": "b"}}), "body.events[1].properties", ""},
			{"NUL in the name", batch(good, map[string]any{"name": "x\u0000"}), "body.events[1].name", ""},
			{"far future", batch(good, map[string]any{"name": "x", "at": now.Add(time.Hour).Format(time.RFC3339)}), "at", "body.events[1].at: must be within the last 24 hours and at most 5 minutes ahead of the server's clock (now "},
			// A client's clock off: the detail says against which clock, and the fix.
			{"far future, the fix", batch(good, map[string]any{"name": "x", "at": now.Add(time.Hour).Format(time.RFC3339)}), "at", "Z): correct the client's clock, or leave at out for the time of arrival; nothing of the batch was stored"},
			{"far past", batch(good, map[string]any{"name": "x", "at": now.Add(-48 * time.Hour).Format(time.RFC3339)}), "at", "body.events[1].at: must be within the last 24 hours and at most 5 minutes ahead of the server's clock (now "},
			{"batch over the limit", map[string]any{"events": many}, "events", ""},
			{"empty batch", batch(), "events", ""},
			{"not JSON", "{", "", ""},
		} {
			rec := send(t, h, http.MethodPost, EventsPath, c.body, nil)
			if rec.Code != http.StatusUnprocessableEntity && !(c.want == "" && rec.Code == http.StatusBadRequest) {
				t.Errorf("%s: status %d, want 422; %s", c.what, rec.Code, rec.Body)
				continue
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("%s: Content-Type %q, want a problem", c.what, ct)
			}
			if c.want != "" && !strings.Contains(rec.Body.String(), c.want) {
				t.Errorf("%s: problem %s does not name %q", c.what, rec.Body, c.want)
			}
			// The one-line detail says what is wrong, not only that the batch was refused.
			var p huma.ErrorModel
			if c.detail != "" && (json.Unmarshal(rec.Body.Bytes(), &p) != nil || !strings.Contains(p.Detail, c.detail) || strings.Contains(p.Detail, "\n")) {
				t.Errorf("%s: detail %q, want one line saying %q", c.what, p.Detail, c.detail)
			}
		}
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := storedEvents(t, db); n != 2 {
			t.Errorf("stored %d after the refused batches, want still 2 (nothing partial)", n)
		}
	})
}

// TestTrackRateLimit: past ANALYTICS_INGEST_IP_LIMIT batches an address gets 429 with
// Retry-After; another address is not affected.
func TestTrackRateLimit(t *testing.T) {
	t.Parallel()
	h, _ := apiSetup(t, databasetest.New(t, database.SQLite), Settings{IngestIPLimit: 3, IngestWindow: time.Minute})
	one := batch(map[string]any{"name": "ping"})
	for i := range 3 {
		if rec := send(t, h, http.MethodPost, EventsPath, one, map[string]string{"X-Test-Remote": "203.0.113.7:1234"}); rec.Code != http.StatusAccepted {
			t.Fatalf("batch %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := send(t, h, http.MethodPost, EventsPath, one, map[string]string{"X-Test-Remote": "203.0.113.7:1234"})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Errorf("fourth batch: %d %v %s, want a 429 problem with Retry-After", rec.Code, rec.Header(), rec.Body)
	}
	if rec := send(t, h, http.MethodPost, EventsPath, one, map[string]string{"X-Test-Remote": "198.51.100.1:1"}); rec.Code != http.StatusAccepted {
		t.Errorf("another address: %d", rec.Code)
	}
}

// TestTrackOverBufferLimit: a batch larger than ANALYTICS_BUFFER_LIMIT, which no wait would
// make fit, is a 422 saying how many events a batch may carry, not a 503 whose Retry-After
// would be retried forever; a batch at the limit is taken.
func TestTrackOverBufferLimit(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, svc := apiSetup(t, db, Settings{BufferSize: 2, BufferLimit: 3, FlushInterval: time.Hour, IngestIPLimit: 100})
		events := func(n int) map[string]any {
			evs := make([]map[string]any, n)
			for i := range evs {
				evs[i] = map[string]any{"name": "big"}
			}
			return batch(evs...)
		}
		for _, tt := range []struct {
			name   string
			n      int
			want   int
			detail string
		}{
			{name: "over the limit", n: 4, want: http.StatusUnprocessableEntity, detail: "body.events: this server holds at most 3 events in memory (ANALYTICS_BUFFER_LIMIT): send at most 3 per batch"},
			{name: "at the limit", n: 3, want: http.StatusAccepted},
		} {
			rec := send(t, h, http.MethodPost, EventsPath, events(tt.n), nil)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.detail) || rec.Header().Get("Retry-After") != "" {
				t.Errorf("%s: %d %v %s, want %d saying %q", tt.name, rec.Code, rec.Header(), rec.Body, tt.want, tt.detail)
			}
			if err := svc.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if n := storedEvents(t, db); n != 3 {
			t.Errorf("stored %d, want the 3 of the batch at the limit", n)
		}
	})
}

// TestTrackFullBuffer: a batch that does not fit the buffer is refused whole with 503, and
// is counted as rejected, not dropped: the client was told to retry it, so nothing is lost
// (counted as dropped, a retried batch would show as both dropped and stored). Health is
// degraded, saying so.
func TestTrackFullBuffer(t *testing.T) {
	t.Parallel()
	full, fullSvc := apiSetup(t, databasetest.New(t, database.SQLite), Settings{BufferSize: 3, BufferLimit: 3, FlushInterval: time.Hour, IngestIPLimit: 100})
	fullSvc.TrackEvent(Event{Name: "a"})
	fullSvc.TrackEvent(Event{Name: "a"})
	rec := send(t, full, http.MethodPost, EventsPath, batch(map[string]any{"name": "a"}, map[string]any{"name": "b"}), nil)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("batch into a full buffer: %d %s", rec.Code, rec.Body)
	}
	if st := fullSvc.Stats(); st.Dropped != 0 || st.Rejected != 2 || st.Tracked != 2 || st.Pending != 2 {
		t.Errorf("stats %+v after a refused batch, want 2 tracked and waiting, 2 rejected, none dropped", st)
	}
	if h := fullSvc.CheckHealth(t.Context()); h.Status != registry.StatusDegraded || strings.Contains(h.Message, "dropped") ||
		!strings.Contains(h.Message, "2 events of API batches rejected") || h.Details["rejected"] != int64(2) {
		t.Errorf("health after a refused batch: %s %q %v, want degraded naming 2 rejected events, none dropped", h.Status, h.Message, h.Details)
	}
	// The panel shows them beside the dropped ones: without the row, the operator saw a
	// degraded badge naming rejected events and no counter of them in the table.
	if rec := send(t, full, http.MethodGet, "/dashboard/panels/analytics", nil, nil); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), `<tr><th scope="row">Rejected</th><td>2 (events of API batches answered 503`) {
		t.Errorf("panel after a refused batch: %d, want a Rejected row of 2: %s", rec.Code, rec.Body)
	}

	h, svc := apiSetup(t, databasetest.New(t, database.SQLite), Settings{BufferSize: 2, BufferLimit: 3, FlushInterval: time.Hour, IngestIPLimit: 100})
	svc.Stop(t.Context()) //nolint:errcheck // stopped: every batch is refused
	rec = send(t, h, http.MethodPost, EventsPath, batch(map[string]any{"name": "a"}), nil)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("batch into a stopped service: %d %s", rec.Code, rec.Body)
	}
}

// TestReadAPI: the GET endpoints need ANALYTICS_READ_TOKEN without the auth service, and
// answer the queries.
func TestReadAPI(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		closed, _ := apiSetup(t, db, Settings{})
		if rec := send(t, closed, http.MethodGet, Prefix+"/counts", nil, nil); rec.Code != http.StatusForbidden {
			t.Errorf("without a read token configured: %d, want 403", rec.Code)
		}
		h, svc := apiSetup(t, db, Settings{ReadToken: readToken})
		for _, e := range []Event{{Name: "signup", UserID: "a"}, {Name: "signup", UserID: "b"}, {Name: "activate", UserID: "a"}} {
			svc.TrackEvent(e)
		}
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if rec := send(t, h, http.MethodGet, Prefix+"/counts", nil, nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", rec.Code)
		}
		if rec := send(t, h, http.MethodGet, Prefix+"/counts", nil, map[string]string{"Authorization": "Bearer wrong"}); rec.Code != http.StatusUnauthorized {
			t.Errorf("with a wrong token: %d, want 401", rec.Code)
		}
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		for path, want := range map[string]string{
			"/counts":                       `"counts":[{"name":"signup","count":2},{"name":"activate","count":1}]`,
			"/counts?limit=1":               `"counts":[{"name":"signup","count":2}]`,
			"/users":                        `"unique_users":2`,
			"/users?name=activate":          `"unique_users":1`,
			"/series?bucket=day":            `"bucket":"day"`,
			"/funnel?steps=signup,activate": `"users":1`,
			"/funnel?steps=signup,activate&window=1h": `"rate":0.5`,
			"/stats": `"stored":3`,
		} {
			rec := send(t, h, http.MethodGet, Prefix+path, nil, auth)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
				t.Errorf("GET %s: %d %s, want %s", path, rec.Code, rec.Body, want)
			}
		}
		for _, path := range []string{"/funnel?steps=signup", "/funnel?steps=a,b&window=soon", "/counts?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "/series?bucket=week"} {
			if rec := send(t, h, http.MethodGet, Prefix+path, nil, auth); rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d %s, want 422", path, rec.Code, rec.Body)
			}
		}
		// Without the auth service there are no user statistics.
		if rec := send(t, h, http.MethodGet, Prefix+"/user-stats", nil, auth); rec.Code != http.StatusNotFound {
			t.Errorf("GET /user-stats without auth: %d, want 404", rec.Code)
		}
		// The OpenAPI document describes the endpoints.
		rec := send(t, h, http.MethodGet, "/openapi.json", nil, nil)
		for _, op := range []string{`"analytics-track"`, `"analytics-counts"`, `"analytics-funnel"`} {
			if !strings.Contains(rec.Body.String(), op) {
				t.Errorf("/openapi.json lacks %s", op)
			}
		}
	})
}

// TestReadEventName: the name filter of /series and /users is an event name; one that
// cannot be one (a typo such as "Signup") is a 422 naming query.name, not a range of zeros
// that reads as "nobody did it".
func TestReadEventName(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, svc := apiSetup(t, db, Settings{ReadToken: readToken})
		svc.TrackEvent(Event{Name: "signup", UserID: "a"})
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		for _, tt := range []struct {
			path string
			want int
		}{
			{"/series?bucket=day&name=signup", http.StatusOK},
			{"/series?bucket=day&name=never_seen", http.StatusOK},
			{"/series?bucket=day&name=Signup", http.StatusUnprocessableEntity},
			{"/series?bucket=day&name=sign%20up", http.StatusUnprocessableEntity},
			{"/series?bucket=day&name=1st", http.StatusUnprocessableEntity},
			{"/users?name=signup", http.StatusOK},
			{"/users?name=SIGNUP", http.StatusUnprocessableEntity},
			{"/users?name=a%2Cb", http.StatusUnprocessableEntity},
			// Given twice: the first counted, the second was ignored without a word.
			{"/series?bucket=day&name=signup&name=never_seen", http.StatusUnprocessableEntity},
			{"/users?name=never_seen&name=signup", http.StatusUnprocessableEntity},
		} {
			p := getProblem(t, h, tt.path, auth, tt.want)
			if p == nil {
				continue
			}
			if !strings.Contains(p.Detail, "query.name") || strings.Contains(p.Detail, "\n") {
				t.Errorf("GET %s: detail %q, want one line naming query.name", tt.path, p.Detail)
			}
		}
	})
}

// TestFunnelSteps: a refused funnel names query.steps (or query.window) and what is wrong.
func TestFunnelSteps(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, _ := apiSetup(t, db, Settings{ReadToken: readToken})
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		for _, tt := range []struct {
			steps string
			want  int
			says  string
		}{
			{"signup,activate", http.StatusOK, ""},
			{"signup,,activate,", http.StatusOK, ""},
			{"signup", http.StatusUnprocessableEntity, "query.steps: give 2 to 10 event names, comma-separated, such as steps=signup,activate (got 1)"},
			{"a,b,c,d,e,f,g,h,i,j,k", http.StatusUnprocessableEntity, "(got 11)"},
			{"signup,Activate", http.StatusUnprocessableEntity, `query.steps: "Activate" is not an event name`},
			{"signup,activate,signup", http.StatusUnprocessableEntity, "query.steps: signup is given twice"},
			{"signup,activate&window=soon", http.StatusUnprocessableEntity, "query.window: must be a positive duration such as 24h"},
			{"signup,activate&window=-1h", http.StatusUnprocessableEntity, "query.window: must be a positive duration"},
		} {
			p := getProblem(t, h, "/funnel?steps="+tt.steps, auth, tt.want)
			if p == nil {
				continue
			}
			where := "query.steps"
			if strings.Contains(tt.steps, "window") {
				where = "query.window"
			}
			if !strings.Contains(p.Detail, tt.says) || len(p.Errors) != 1 || p.Errors[0].Location != where || p.Errors[0].Message == "" {
				t.Errorf("steps=%s: %+v, want a detail saying %q and an error at %s", tt.steps, p, tt.says, where)
			}
		}
	})
}

// TestStatsNoZeroTimes: /stats leaves out last_failure (and last_flush) when there was none,
// instead of a 0001-01-01T00:00:00Z a client would show as a date.
func TestStatsNoZeroTimes(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, svc := apiSetup(t, db, Settings{ReadToken: readToken})
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		for _, tt := range []struct {
			name      string
			track     bool
			want, not []string
		}{
			{"before any write", false, nil, []string{"0001-01-01", `"last_flush"`, `"last_failure"`}},
			{"after a write", true, []string{`"last_flush":"`}, []string{"0001-01-01", `"last_failure"`}},
		} {
			if tt.track {
				svc.TrackEvent(Event{Name: "signup"})
				if err := svc.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			rec := send(t, h, http.MethodGet, Prefix+"/stats", nil, auth)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", tt.name, rec.Code, rec.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("%s: %s lacks %s", tt.name, rec.Body, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(rec.Body.String(), n) {
					t.Errorf("%s: %s holds %s", tt.name, rec.Body, n)
				}
			}
		}
	})
}

// TestReadPastRetention: /users and /funnel count from the raw events, which the retention
// deletes; a range starting before the oldest kept is a 422 naming query.from and the
// earliest from that works, not a silent undercount. /counts and /series read the roll-up
// there and still answer.
func TestReadPastRetention(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, _ := apiSetup(t, db, Settings{ReadToken: readToken, Retention: 48 * time.Hour})
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		at := func(d time.Duration) string { return time.Now().UTC().Add(d).Format(time.RFC3339) }
		for _, tt := range []struct {
			path string
			want int
		}{
			{"/users?from=" + at(-47*time.Hour), http.StatusOK},
			{"/users?from=" + at(-49*time.Hour), http.StatusUnprocessableEntity},
			{"/users?from=2000-01-01T00:00:00Z&to=" + at(-time.Hour), http.StatusUnprocessableEntity},
			{"/funnel?steps=signup,activate&from=" + at(-47*time.Hour), http.StatusOK},
			{"/funnel?steps=signup,activate&from=" + at(-72*time.Hour), http.StatusUnprocessableEntity},
			{"/counts?from=" + at(-72*time.Hour), http.StatusOK},
			{"/series?bucket=day&from=" + at(-72*time.Hour), http.StatusOK},
		} {
			p := getProblem(t, h, tt.path, auth, tt.want)
			if p == nil {
				continue
			}
			if !strings.Contains(p.Detail, "query.from: is before the oldest raw events kept (ANALYTICS_RETENTION=48h0m0s)") ||
				!strings.Contains(p.Detail, "or later") || strings.Contains(p.Detail, "\n") {
				t.Errorf("GET %s: detail %q", tt.path, p.Detail)
			}
		}
	})
}

// TestReadRange: a from or to given as the zero time, and a from that is not before to (given,
// or now by default), are refused with 422 on every read endpoint, naming the parameter and
// the allowed form without echoing it, instead of answering for the default range.
func TestReadRange(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, _ := apiSetup(t, db, Settings{ReadToken: readToken})
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		at := func(d time.Duration) string {
			return time.Now().UTC().Add(d).Truncate(time.Second).Format(time.RFC3339)
		}
		past, earlier, future := at(-time.Hour), at(-2*time.Hour), at(time.Hour)
		tests := []struct {
			name  string
			query string
			want  int
			where []string // the errors' locations, in order
			says  string   // in the detail
		}{
			{name: "defaults", query: "", want: http.StatusOK},
			{name: "a range", query: "from=" + earlier + "&to=" + past, want: http.StatusOK},
			{name: "from only", query: "from=" + past, want: http.StatusOK},
			{name: "zero from", query: "from=0001-01-01T00:00:00Z", want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "query.from: is the zero time"},
			{name: "zero from, with fractions", query: "from=0001-01-01T00:00:00.000Z&to=" + past, want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "RFC 3339"},
			{name: "zero to", query: "from=" + earlier + "&to=0001-01-01T00:00:00Z", want: http.StatusUnprocessableEntity, where: []string{"query.to"}, says: "leave to out for now"},
			{name: "both zero", query: "from=0001-01-01T00:00:00Z&to=0001-01-01T00:00:00Z", want: http.StatusUnprocessableEntity, where: []string{"query.from", "query.to"}, says: "and 1 more"},
			// Not RFC 3339: the detail says how to write it (huma's showed Go's layout); the
			// backend words it, for every time parameter.
			{name: "date only", query: "from=2026-01-01", want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "query.from: is a date without a time: give an RFC 3339 time such as 2026-01-01T00:00:00Z"},
			{name: "offset's + unescaped", query: "from=2026-01-01T00:00:00+01:00", want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "query.from: has a space where its offset's + was (a + in a URL's query reads as a space): write the + as %2B"},
			{name: "not a time", query: "from=" + earlier + "&to=yesterday", want: http.StatusUnprocessableEntity, where: []string{"query.to"}, says: "query.to: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z"},
			{name: "neither a time", query: "from=today&to=now", want: http.StatusUnprocessableEntity, where: []string{"query.from", "query.to"}, says: "query.from: must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z; and 1 more"},
			{name: "from after to", query: "from=" + past + "&to=" + earlier, want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "query.from: must be before to: give RFC 3339 times"},
			{name: "from at to", query: "from=" + past + "&to=" + past, want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "query.from: must be before to"},
			{name: "from after now", query: "from=" + future, want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "must be before to (default: now)"},
			// A parameter given twice: huma read the first and ignored the other, silently; the
			// backend refuses it, for every operation.
			{name: "from twice", query: "from=" + earlier + "&from=" + past, want: http.StatusUnprocessableEntity, where: []string{"query.from"}, says: "query.from: is given 2 times, and only one value can count: give from once"},
			{name: "to twice", query: "from=" + earlier + "&to=" + past + "&to=" + future, want: http.StatusUnprocessableEntity, where: []string{"query.to"}, says: "query.to: is given 2 times"},
			{name: "to past the latest", query: "from=" + earlier + "&to=9999-12-31T23:59:59Z", want: http.StatusUnprocessableEntity, where: []string{"query.to"}, says: "query.to: must be at most 9999-12-31T00:00:00Z"},
		}
		for _, path := range []string{"/counts", "/series", "/users", "/funnel?steps=signup,activate"} {
			for _, tt := range tests {
				q := Prefix + path
				if tt.query != "" {
					sep := "?"
					if strings.Contains(path, "?") {
						sep = "&"
					}
					q += sep + tt.query
				}
				rec := send(t, h, http.MethodGet, q, nil, auth)
				if rec.Code != tt.want {
					t.Errorf("%s, GET %s: %d %s, want %d", tt.name, q, rec.Code, rec.Body, tt.want)
					continue
				}
				if tt.want == http.StatusOK {
					continue
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("%s, GET %s: Content-Type %q", tt.name, q, ct)
				}
				var p huma.ErrorModel
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
					t.Fatalf("%s: %v: %s", tt.name, err, rec.Body)
				}
				if !strings.Contains(p.Detail, tt.says) || strings.Contains(p.Detail, "\n") {
					t.Errorf("%s, GET %s: detail %q, want one line saying %q", tt.name, q, p.Detail, tt.says)
				}
				var where []string
				for _, e := range p.Errors {
					where = append(where, e.Location)
					// Ours echo nothing; huma's parse error (worded by the backend) may echo a
					// short value, as every API problem does.
					if e.Value != nil && !isTimeParseError(e.Message) {
						t.Errorf("%s, GET %s: error %+v echoes the value", tt.name, q, e)
					}
				}
				if !slices.Equal(where, tt.where) {
					t.Errorf("%s, GET %s: errors at %q, want %q", tt.name, q, where, tt.where)
				}
				for _, v := range []string{past, earlier, future} {
					if strings.Contains(rec.Body.String(), v) {
						t.Errorf("%s, GET %s: the problem echoes %s: %s", tt.name, q, v, rec.Body)
					}
				}
			}
		}
	})
}

// scrolledCode is an event name as the panel's tables show it.
var scrolledCode = regexp.MustCompile(`(?s)<div class="scroll"[^>]*><table>.*?<th scope="row"><code>signup</code></th>`)

// TestPanel: the dashboard panel renders the chart as SVG, the top events, unique users, a
// funnel from its form and the buffer's health.
func TestPanel(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	h, svc := apiSetup(t, db, Settings{})
	svc.TrackEvent(Event{Name: "signup", UserID: "a"})
	svc.TrackEvent(Event{Name: "purchase", UserID: "a"})
	svc.TrackEvent(Event{Name: "signup", UserID: "<b>"})
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "?range=7d&steps=signup,purchase", "?range=bogus&steps=only-one"} {
		// The page, and the fragment htmx fetches when the form changes.
		if rec := send(t, h, http.MethodGet, "/dashboard/fragments/panels/analytics"+q, nil, nil); rec.Code != http.StatusOK ||
			!strings.Contains(rec.Body.String(), `class="panel"`) || !strings.Contains(rec.Body.String(), "<svg") {
			t.Errorf("fragment%s: %d %s", q, rec.Code, rec.Body)
		}
		rec := send(t, h, http.MethodGet, "/dashboard/panels/analytics"+q, nil, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("panel%s: %d %s", q, rec.Code, body)
		}
		for _, want := range []string{"<svg", "<rect", "signup", "purchase", "2 unique users", "badge-healthy"} {
			if !strings.Contains(body, want) {
				t.Errorf("panel%s lacks %q", q, want)
			}
		}
		// Event names are code in tables that scroll sideways: a long name (up to 64
		// characters) widened the whole page on a phone, pushing its count out of view.
		// Its sections are headings of the level under the page's h1: an h3 there skipped
		// a level, which screen readers announce as a missing section.
		if strings.Contains(body, "<h3") {
			t.Errorf("panel%s has h3 headings straight under the page's h1", q)
		}
		if !strings.Contains(body, `<div class="scroll chart" tabindex="0" role="group" aria-label="Events chart, scrollable"><svg class="analytics-chart"`) {
			t.Errorf("panel%s: the chart is not in a scrollable chart region", q)
		}
		if !scrolledCode.MatchString(body) {
			t.Errorf("panel%s: the top events are not code in a scrollable table", q)
		}
		switch q {
		case "?range=7d&steps=signup,purchase":
			if !strings.Contains(body, "Funnel") || !strings.Contains(body, "50.0%") {
				t.Errorf("panel%s lacks the funnel", q)
			}
			if strings.Count(body, `<div class="scroll"`) != 2 {
				t.Errorf("panel%s: the funnel's table does not scroll sideways", q)
			}
		case "?range=bogus&steps=only-one":
			if !strings.Contains(body, "give 2 to 10 distinct event names") {
				t.Errorf("panel%s lacks the funnel's advice", q)
			}
		}
	}
}

// TestPanelPastRetention: with a retention shorter than the panel's range, the unique users
// and the funnel count over what is kept and the panel says since when, instead of an error
// or a silent undercount.
func TestPanelPastRetention(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	h, svc := apiSetup(t, db, Settings{Retention: time.Hour})
	svc.TrackEvent(Event{Name: "signup", UserID: "a"})
	svc.TrackEvent(Event{Name: "purchase", UserID: "a"})
	svc.TrackEvent(Event{Name: "signup", UserID: "b"})
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"?range=24h&steps=signup,purchase", "?range=30d&steps=signup,purchase"} {
		rec := send(t, h, http.MethodGet, "/dashboard/panels/analytics"+q, nil, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("panel%s: %d %s", q, rec.Code, body)
		}
		for _, want := range []string{"2 unique users since ", "ANALYTICS_RETENTION keeps no older raw events", "50.0%"} {
			if !strings.Contains(body, want) {
				t.Errorf("panel%s lacks %q", q, want)
			}
		}
	}
}

// TestTrackRequests: with ANALYTICS_TRACK_REQUESTS the API operations mounted after the
// service record api_request events with the route pattern; the analytics endpoints do not.
func TestTrackRequests(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	h, svc := apiSetup(t, db, Settings{TrackRequests: true, ReadToken: readToken})
	send(t, h, http.MethodGet, Prefix+"/stats", nil, map[string]string{"Authorization": "Bearer " + readToken})
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := storedEvents(t, db); n != 0 {
		t.Errorf("the analytics endpoints recorded %d api_request events", n)
	}
	// An operation registered after the middleware, as those of later contributors are.
	_, api := humatest.New(t)
	api.UseMiddleware(svc.trackRequests)
	huma.Get(api, "/api/v1/items/{id}", func(_ context.Context, in *struct {
		ID int `path:"id"`
	}) (*struct{}, error) {
		return nil, huma.Error404NotFound("no such item")
	})
	api.Get("/api/v1/items/7")
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.Recent(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Name != EventAPIRequest || evs[0].Props["route"] != "/api/v1/items/{id}" ||
		evs[0].Props["status"] != float64(404) || evs[0].Props["method"] != "GET" || evs[0].Props["duration_ms"] == nil {
		t.Errorf("recorded %+v, want one api_request with the route pattern and status 404", evs)
	}
}

// TestTrackRefusedRequests: with ANALYTICS_TRACK_REQUESTS a request the backend's rules refuse
// (a body past the operation's limit, a parameter given twice) is recorded as an api_request
// with its status and route pattern like any other: the backend answered them before any API
// middleware ran, so only the access log had them.
func TestTrackRefusedRequests(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	svc := newService(t, db, Settings{TrackRequests: true, ReadToken: readToken}, nil)
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error { return registry.Value(r, svc) })
	// Mounted after analytics (in name order), as an app's routes are.
	items := backend.Routes(func(r *backend.Router) error {
		huma.Register(r.API, huma.Operation{OperationID: "update-item", Method: http.MethodPost,
			Path: "/api/v1/items/{id}", MaxBodyBytes: 1024},
			func(context.Context, *struct {
				ID     int    `path:"id"`
				Format string `query:"format"`
				Body   struct {
					Text string `json:"text"`
				}
			}) (*struct{}, error) {
				return nil, nil
			})
		return nil
	})
	h, err := backend.NewServer(backend.Settings{}).Handler(c, &backend.HandlerOpts{Logger: quiet,
		Routes: registry.All[backend.Routes]{{Name: Name, Value: mount}, {Name: "items", Value: items}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query, text string
		status            int
	}{
		{name: "body too large", text: strings.Repeat("x", 2000), status: http.StatusRequestEntityTooLarge},
		{name: "parameter given twice", query: "?format=a&format=b", text: "x", status: http.StatusUnprocessableEntity},
		{name: "accepted", text: "x", status: http.StatusNoContent},
	}
	for _, tt := range tests {
		rec := send(t, h, http.MethodPost, "/api/v1/items/7"+tt.query, map[string]any{"text": tt.text}, nil)
		if rec.Code != tt.status {
			t.Fatalf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.status)
		}
	}
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.Recent(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, ev := range evs {
		if ev.Name != EventAPIRequest || ev.Props["route"] != "/api/v1/items/{id}" || ev.Props["method"] != http.MethodPost {
			t.Errorf("recorded %+v, want api_request events of POST /api/v1/items/{id}", ev)
			continue
		}
		got = append(got, ev.Props["status"].(float64))
	}
	slices.Sort(got)
	if want := []float64{204, 413, 422}; !slices.Equal(got, want) {
		t.Errorf("recorded statuses %v, want %v", got, want)
	}
}

// TestPanelEmpty: with no events the panel says where events come from, not only that there
// are none.
func TestPanelEmpty(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	h, _ := apiSetup(t, db, Settings{})
	rec := send(t, h, http.MethodGet, "/dashboard/panels/analytics", nil, nil)
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, "POST "+EventsPath) {
		t.Errorf("empty panel: %d, want it to name POST %s:\n%s", rec.Code, EventsPath, body)
	}
}

// panelTotal is the panel's "N events in the last ..." count.
var panelTotal = regexp.MustCompile(`(\d+) events in the last`)

// panelCounts are the counts of the panel's top events table.
var panelCounts = regexp.MustCompile(`<th scope="row"><code>[^<]+</code></th><td>(\d+)</td>`)

// TestPanelTotalsAgree: the panel's total, its top events and its chart count the same
// events, those GET /counts gives for the range the chart shows. The chart widens its range
// to whole buckets, and the total (summed from the bars) counted the events of the first
// hour before the range started, which the top events (over the unwidened range) left out.
func TestPanelTotalsAgree(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name, query string
		at          []time.Duration // events, from now
		want        int64
		from, to    time.Time // the range of GET /counts that must agree
	}{
		{name: "24h", query: "?range=24h", at: []time.Duration{-24*time.Hour - 10*time.Minute, -23 * time.Hour, -time.Hour, 2 * time.Minute},
			want: 3, from: time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)},
		{name: "7d", query: "?range=7d", at: []time.Duration{-7*24*time.Hour - time.Hour, -6*24*time.Hour - 12*time.Hour, -time.Hour},
			want: 2, from: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
				svc := newService(t, db, Settings{ReadToken: readToken}, &Opts{Now: func() time.Time { return now }})
				h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
				for _, d := range tt.at {
					svc.TrackEvent(Event{Name: "signup", UserID: "a", At: now.Add(d)})
				}
				if err := svc.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				rec := send(t, h, http.MethodGet, "/dashboard/panels/analytics"+tt.query, nil, nil)
				body := rec.Body.String()
				m := panelTotal.FindStringSubmatch(body)
				if rec.Code != http.StatusOK || m == nil {
					t.Fatalf("panel: %d, no total:\n%s", rec.Code, body)
				}
				var top int64
				for _, c := range panelCounts.FindAllStringSubmatch(body, -1) {
					n, _ := strconv.ParseInt(c[1], 10, 64)
					top += n
				}
				points, err := svc.Series(t.Context(), Range{From: tt.from, To: tt.to}, panelRanges[tt.name].bucket, "")
				if err != nil {
					t.Fatal(err)
				}
				var bars int64
				for _, p := range points {
					bars += p.Count
				}
				q := Prefix + "/counts?from=" + tt.from.Format(time.RFC3339) + "&to=" + tt.to.Format(time.RFC3339)
				api := send(t, h, http.MethodGet, q, nil, map[string]string{"Authorization": "Bearer " + readToken})
				var out struct {
					Counts []NameCount `json:"counts"`
				}
				if err := json.Unmarshal(api.Body.Bytes(), &out); err != nil || len(out.Counts) != 1 {
					t.Fatalf("GET %s: %d %s", q, api.Code, api.Body)
				}
				// The panel names its range, so an operator can ask the API for the same.
				if span := tt.from.Format("2006-01-02 15:04") + " to " + tt.to.Format("2006-01-02 15:04 UTC"); !strings.Contains(body, span) {
					t.Errorf("panel does not name its range %q:\n%s", span, body)
				}
				if got := m[1]; got != strconv.FormatInt(tt.want, 10) || top != tt.want || bars != tt.want || out.Counts[0].Count != tt.want {
					t.Errorf("panel total %s, its top events %d, the chart %d, GET /counts %d; want %d each", got, top, bars, out.Counts[0].Count, tt.want)
				}
			})
		})
	}
}

// TestPropertyBytes: the properties' bound is on their JSON as a client writes it, so
// characters JSON needs no escape for (<, > and &) count one byte each, as they do in the
// client's JSON.stringify; such properties are stored as sent. Encoding them with HTML
// escaping counted 6 bytes for each and refused properties far under the bound.
func TestPropertyBytes(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, svc := apiSetup(t, db, Settings{IngestIPLimit: 1000})
		// {"s":"..."} is 8 bytes around the value.
		fill := func(s string, size int) string { return strings.Repeat(s, size-8) }
		tests := []struct {
			name  string
			value string
			want  int
		}{
			{name: "plain, at the bound", value: fill("y", MaxPropertyBytes), want: http.StatusAccepted},
			{name: "plain, over the bound", value: fill("y", MaxPropertyBytes+1), want: http.StatusUnprocessableEntity},
			{name: "markup, at the bound", value: fill("<", MaxPropertyBytes), want: http.StatusAccepted},
			{name: "ampersands, at the bound", value: fill("&", MaxPropertyBytes), want: http.StatusAccepted},
			{name: "markup, over the bound", value: fill(">", MaxPropertyBytes+1), want: http.StatusUnprocessableEntity},
			{name: "a quote takes its escape", value: fill("y", MaxPropertyBytes-1) + `"`, want: http.StatusUnprocessableEntity},
		}
		for _, tt := range tests {
			props := map[string]any{"s": tt.value}
			rec := send(t, h, http.MethodPost, EventsPath, batch(map[string]any{"name": "sized", "properties": props}), nil)
			if rec.Code != tt.want {
				t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.want)
				continue
			}
			if tt.want != http.StatusAccepted {
				continue
			}
			if err := svc.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			evs, err := svc.Recent(t.Context(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Props["s"] != tt.value {
				t.Errorf("%s: stored %+v, want the value as sent", tt.name, evs)
			}
		}
	})
}

// TestTrackFullBatchBody: a batch of 100 events, each within every bound, is accepted however
// its client escapes the JSON: with every non-ASCII character written as \u00e9 (Python's
// json.dumps by default), properties of 2048 bytes take 3 times that in the body, and the
// body's 256 KiB refused the batch with 413.
func TestTrackFullBatchBody(t *testing.T) {
	t.Parallel()
	h, svc := apiSetup(t, databasetest.New(t, database.SQLite), Settings{IngestIPLimit: 1000})
	// {"s":"..."} is 8 bytes around the value; é is 2 bytes of UTF-8.
	value := strings.Repeat(`\u00e9`, (MaxPropertyBytes-8)/2)
	if msg := checkProps(map[string]any{"s": strings.Repeat("é", (MaxPropertyBytes-8)/2)}); msg != "" {
		t.Fatalf("the test's properties are refused: %s", msg)
	}
	event := `{"name":"` + strings.Repeat("e", MaxNameLen) + `","at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","properties":{"s":"` + value + `"}}`
	body := `{"events":[` + strings.Repeat(event+",", MaxBatch-1) + event + `]}`
	rec := send(t, h, http.MethodPost, EventsPath, body, nil)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("a full batch of %d bytes, its non-ASCII escaped: %d %.300s, want 202", len(body), rec.Code, rec.Body)
	}
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := svc.Stats(); st.Stored != MaxBatch {
		t.Errorf("stored %d, want the %d events", st.Stored, MaxBatch)
	}
}

// isTimeParseError tells the backend's messages for a time parameter that does not parse.
func isTimeParseError(msg string) bool {
	for _, p := range []string{"must be an RFC 3339 date-time", "is a date without a time", "has a space where its offset's + was"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// TestTrackBodyTooLarge: a body past the limit is a 413 problem saying how large it is, the
// limit and to send less (the backend's, for every operation); huma's own said only "request
// body is too large limit=...", leaving the client to guess whether a smaller batch would pass.
func TestTrackBodyTooLarge(t *testing.T) {
	t.Parallel()
	h, svc := apiSetup(t, databasetest.New(t, database.SQLite), Settings{IngestIPLimit: 1000})
	body := `{"events":[{"name":"big","properties":{"s":"` + strings.Repeat("x", maxEventsBody) + `"}}]}`
	rec := send(t, h, http.MethodPost, EventsPath, body, nil)
	want := "The request body is " + strconv.Itoa(len(body)) + " bytes, more than 768 KiB, this endpoint's limit; send less, for example in smaller parts."
	var p huma.ErrorModel
	if rec.Code != http.StatusRequestEntityTooLarge || rec.Header().Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Detail != want {
		t.Errorf("a body of %d bytes: %d %v %s, want a 413 problem saying %q", len(body), rec.Code, rec.Header(), rec.Body, want)
	}
	if st := svc.Stats(); st.Tracked != 0 {
		t.Errorf("stats %+v, want nothing tracked", st)
	}
}

// TestSeriesTooManyPoints: a series of more than MaxPoints buckets is a 422 whose advice
// fits its bucket: day buckets for hours, a shorter range for days (never "use day buckets"
// to a series of days).
func TestSeriesTooManyPoints(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, _ := apiSetup(t, db, Settings{ReadToken: readToken})
		auth := map[string]string{"Authorization": "Bearer " + readToken}
		for _, tt := range []struct {
			bucket, says, not string
		}{
			{bucket: "hour", says: "use a shorter range or day buckets"},
			{bucket: "day", says: "use a range of at most 10000 days", not: "day buckets"},
		} {
			p := getProblem(t, h, "/series?from=1900-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket="+tt.bucket, auth, http.StatusUnprocessableEntity)
			if p == nil {
				continue
			}
			if !strings.Contains(p.Detail, tt.says) || tt.not != "" && strings.Contains(p.Detail, tt.not) {
				t.Errorf("%s buckets: detail %q, want it to say %q", tt.bucket, p.Detail, tt.says)
			}
		}
	})
}
