package auth

import (
	"fmt"
	"net/http"
	"net/url"
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
		confirm := "/dashboard/panels/users?" + url.Values{"confirm": {id}, "id": {id}, "q": {"ada-"}}.Encode()
		steps := []struct {
			name    string
			path    string // GET
			want    []string
			notWant []string
		}{
			{"list", "/dashboard/panels/users?q=ada-", []string{
				`<form method="get" action="/dashboard/panels/users" hx-post="/dashboard/panels/users/actions/deactivate" hx-confirm="Deactivate ` + ada.Email + `? Their sessions end at once."`,
				`name="confirm" value="` + id + `"`,
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
