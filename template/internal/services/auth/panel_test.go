package auth

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
)

// TestPanel lists and searches accounts in the dashboard panel and
// deactivates, then activates, one the way a browser without JavaScript does.
func TestPanel(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, users, _ := dashboardApp(t, db, nil) // the panels registered from init(): this one
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		ada, err := users.Create(t.Context(), CreateUserParams{Email: "ada-" + tag + "@example.com", Username: "ada" + fmt.Sprint(len(tag)) + "x", Password: "correct horse battery staple", FullName: "Ada <Lovelace>"})
		if err != nil {
			t.Fatal(err)
		}
		// Grace confirmed her address; the panel says so (an unconfirmed one blocks her logins
		// when the app requires confirmed addresses).
		if _, err := users.Create(t.Context(), CreateUserParams{Email: "grace-" + tag + "@example.com", Username: "grace" + fmt.Sprint(len(tag)) + "x", Password: "correct horse battery staple", FullName: "Grace Hopper", EmailVerified: true}); err != nil {
			t.Fatal(err)
		}

		b := frontendtest.NewBrowser(t, h)
		body := b.Get("/dashboard/panels/users")
		for _, want := range []string{`role="search"`, ada.Email, "Ada &lt;Lovelace&gt;", "Grace Hopper", `hx-post="/dashboard/panels/users/actions/deactivate"`} {
			if !strings.Contains(body, want) {
				t.Errorf("panel lacks %q", want)
			}
		}
		if strings.Count(body, "email confirmed</span>") != 1 {
			t.Errorf("the panel marks %d addresses confirmed, want Grace's alone", strings.Count(body, "email confirmed</span>"))
		}
		if found := b.Get("/dashboard/panels/users?q=lovelace"); !strings.Contains(found, ada.Email) || strings.Contains(found, "Grace Hopper") {
			t.Error("search for lovelace does not show exactly Ada")
		}
		post := func(action string) string {
			return b.Submit("/dashboard/panels/users/actions/"+action, url.Values{"id": {fmt.Sprint(ada.ID)}})
		}
		// Deactivating asks first (TestPanelDeactivateConfirms): the confirmation's form posts.
		b.Get("/dashboard/panels/users?confirm=" + fmt.Sprint(ada.ID))
		if after := post("deactivate"); !strings.Contains(after, "is deactivated") {
			t.Errorf("no notice after deactivate:\n%s", after)
		}
		if u, _ := users.Get(t.Context(), ada.ID); u.Active {
			t.Error("Ada is still active")
		}
		if after := post("activate"); !strings.Contains(after, "is active again") {
			t.Errorf("no notice after activate:\n%s", after)
		}
		if u, _ := users.Get(t.Context(), ada.ID); !u.Active {
			t.Error("Ada is not active again")
		}

		// htmx swaps the panel with the action's answer: the search stays applied.
		rec := b.Post("/dashboard/panels/users/actions/deactivate", url.Values{"id": {fmt.Sprint(ada.ID)}, "q": {"lovelace"}}, true)
		if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, ada.Email) || strings.Contains(body, "Grace Hopper") ||
			!strings.Contains(body, `name="q" value="lovelace"`) {
			t.Errorf("htmx deactivate with a search: %d, want the panel still filtered by it:\n%s", rec.Code, body)
		}
	})
}

// TestPanelDeactivateConfirms: deactivating (which signs the account out at once) takes a
// confirmation, with JavaScript (hx-confirm before the post) and without (the button
// shows the row's "Yes, deactivate" form instead of posting). Before, one click posted.
func TestPanelDeactivateConfirms(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, users, _ := dashboardApp(t, db, nil)
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		ada, err := users.Create(t.Context(), CreateUserParams{Email: "ada-" + tag + "@example.com", Username: "adac" + fmt.Sprint(len(tag)), Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(ada.ID)
		b := frontendtest.NewBrowser(t, h)
		confirm := "/dashboard/panels/users?" + url.Values{"confirm": {id}, "q": {"ada-"}}.Encode()
		steps := []struct {
			name    string
			path    string // GET
			want    []string
			notWant []string
		}{
			{"list", "/dashboard/panels/users?q=ada-", []string{
				`<form method="get" action="/dashboard/panels/users" hx-post="/dashboard/panels/users/actions/deactivate" hx-confirm="Deactivate ` + ada.Email + `? Their sessions end at once."`,
				`name="confirm" value="` + id + `"`,
				`hx-vals='{"id": "` + id + `"}'`, // the htmx post's account, kept out of the step's address
			}, []string{`<form method="post" action="/dashboard/panels/users/actions/deactivate"`, "Yes, deactivate"}},
			// What the Deactivate button does without JavaScript: ask, on the panel's page.
			{"without JavaScript", confirm, []string{
				`<form method="post" action="/dashboard/panels/users/actions/deactivate"`,
				`Deactivate ` + ada.Email + `? Their sessions end at once.`, "Yes, deactivate",
				`<a href="/dashboard/panels/users?q=ada-">Cancel</a>`,
			}, nil},
			{"a bad confirm asks nothing", "/dashboard/panels/users?confirm=x", nil, []string{"Yes, deactivate"}},
		}
		for _, s := range steps {
			body := b.Get(s.path)
			for _, w := range s.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: the panel lacks %q:\n%s", s.name, w, body)
				}
			}
			for _, w := range s.notWant {
				if strings.Contains(body, w) {
					t.Errorf("%s: the panel has %q", s.name, w)
				}
			}
			if u, _ := users.Get(t.Context(), ada.ID); !u.Active {
				t.Fatalf("%s: Ada was deactivated before the confirmation", s.name)
			}
		}
		// The confirmation's form posts; the answer asks nothing more.
		if after := b.Submit("/dashboard/panels/users/actions/deactivate", url.Values{"id": {id}, "q": {"ada-"}}); !strings.Contains(after, "is deactivated") || strings.Contains(after, "Yes, deactivate") {
			t.Errorf("after the confirmation:\n%s", after)
		}
		if u, _ := users.Get(t.Context(), ada.ID); u.Active {
			t.Error("Ada is still active after the confirmation")
		}
	})
}

// TestPanelEmpty: with no account yet, the panel says how the first one is made rather than
// only "0 accounts."; a search that matches nothing says just that.
func TestPanelEmpty(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, _, _ := dashboardApp(t, db, nil)
		b := frontendtest.NewBrowser(t, h)
		for _, tc := range []struct {
			path       string
			want, lack string
		}{
			{"/dashboard/panels/users", "users create-admin", "0 accounts."},
			{"/dashboard/panels/users?q=nobody", "0 accounts matching", "users create-admin"},
		} {
			body := b.Get(tc.path)
			if !strings.Contains(body, tc.want) || strings.Contains(body, tc.lack) {
				t.Errorf("%s: want %q and not %q in:\n%s", tc.path, tc.want, tc.lack, body)
			}
		}
	})
}

// TestPanelRedirectDropsConfirm: without JavaScript, a post redirects back to the page it was
// sent from (its Referer), and that page is the confirmation step's address when the post is
// its "Yes, deactivate" or an Activate on the same page. The redirect keeps the search and
// drops the step: before, the address kept confirm= (and id=), so activating the account
// brought its "Deactivate …?" prompt back, and so did any reload.
func TestPanelRedirectDropsConfirm(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, users, _ := dashboardApp(t, db, nil)
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		ada, err := users.Create(t.Context(), CreateUserParams{Email: "ada-" + tag + "@example.com", Username: "adar" + fmt.Sprint(len(tag)), Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(ada.ID)
		b := frontendtest.NewBrowser(t, withReferer(h))
		// The address the Deactivate button leads to without JavaScript: its GET form's fields.
		list := b.Get("/dashboard/panels/users?q=ada-")
		form := regexp.MustCompile(`<form method="get"[^>]*hx-post="[^"]*/deactivate"[^>]*>(.*?)</form>`).FindStringSubmatch(list)
		if form == nil {
			t.Fatalf("no Deactivate button on:\n%s", list)
		}
		fields := url.Values{}
		for _, in := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(form[1], -1) {
			fields.Add(in[1], html.UnescapeString(in[2]))
		}
		if fields.Get("confirm") != id {
			t.Fatalf("the Deactivate button asks for %v, want confirm=%s", fields, id)
		}
		for _, step := range []struct{ name, action string }{
			{"yes, deactivate", "deactivate"},
			{"activate", "activate"},
		} {
			b.Get("/dashboard/panels/users?" + fields.Encode()) // the confirmation step
			rec := b.Post("/dashboard/panels/users/actions/"+step.action, url.Values{"id": {id}, "q": {"ada-"}}, false)
			loc := rec.Header().Get("Location")
			if rec.Code != http.StatusSeeOther || loc != "/dashboard/panels/users?q=ada-" {
				t.Errorf("%s: %d to %q, want 303 to the search without the confirmation step", step.name, rec.Code, loc)
			}
			if rec.Code != http.StatusSeeOther {
				continue
			}
			if page := b.Get(loc); strings.Contains(page, "Yes, deactivate") || !strings.Contains(page, `name="q" value="ada-"`) {
				t.Errorf("%s: the page after the redirect asks again or lost the search:\n%s", step.name, page)
			}
		}
		if u, _ := users.Get(t.Context(), ada.ID); !u.Active {
			t.Error("Ada is not active after deactivate, then activate")
		}
	})
}

// withReferer sends each post with the Referer of the page loaded last, as a browser does
// (frontendtest.Browser sends none). Not safe for concurrent use: one Browser's requests.
func withReferer(h http.Handler) http.Handler {
	var page string
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet {
			page = req.URL.RequestURI()
		} else if page != "" {
			req.Header.Set("Referer", "http://"+req.Host+page)
		}
		h.ServeHTTP(w, req)
	})
}
