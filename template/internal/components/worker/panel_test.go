package worker

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanel renders the worker's dashboard panel and cancels, then retries,
// a job from it the way a browser without JavaScript does.
func TestPanel(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		client, err := NewClient(db, testSettings(), nil) // enqueues, does not work
		if err != nil {
			t.Fatal(err)
		}
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return registry.Value(r, client, registry.Name(Name), registry.Kind(registry.KindComponent))
		})
		res, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Job.ID

		get := func(path string) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
			req.Host = "127.0.0.1:8000"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d\n%s", path, rec.Code, rec.Body)
			}
			return rec
		}
		page := get("/dashboard/panels/jobs")
		body := page.Body.String()
		for _, want := range []string{
			"<title>Jobs · app</title>", "<h2 id=\"queues-heading\">Queues</h2>", "<code>default</code>",
			fmt.Sprintf(`<th scope="row">%d</th><td><code>test_ok</code></td>`, id),
			`action="/dashboard/panels/jobs/actions/cancel"`, "No failed jobs.",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("panel lacks %q", want)
			}
		}
		token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)
		cookies := page.Result().Cookies()
		if token == nil || len(cookies) == 0 {
			t.Fatal("the panel has no CSRF token or cookie")
		}
		post := func(action string) string {
			form := url.Values{"id": {fmt.Sprint(id)}, frontend.CSRFField: {token[1]}}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/dashboard/panels/jobs/actions/"+action, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("POST %s = %d\n%s", action, rec.Code, rec.Body)
			}
			return get(rec.Header().Get("Location")).Body.String()
		}
		if after := post("cancel"); !strings.Contains(after, fmt.Sprintf("Job %d is cancelled.", id)) {
			t.Errorf("no notice after cancel:\n%s", after)
		}
		if j, _ := client.Job(t.Context(), id); j.State != rivertype.JobStateCancelled {
			t.Errorf("after cancel the job is %s", j.State)
		}
		if after := post("retry"); !strings.Contains(after, fmt.Sprintf("Job %d will run again", id)) {
			t.Errorf("no notice after retry:\n%s", after)
		}
		if j, _ := client.Job(t.Context(), id); j.State != rivertype.JobStateAvailable {
			t.Errorf("after retry the job is %s", j.State)
		}
	})
}
