package analyticsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/auth/authtest"
)

// TestIdentity: with the glue, a batch posted with a token is the token's user's, an invalid
// token is refused, the read endpoints need an admin, and the user statistics count accounts.
func TestIdentity(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		env := authtest.New(t, db)
		users, a := env.Users, env.Auth
		env.Accounts(ctx, t,
			auth.CreateUserParams{Email: "admin@example.com", Username: "admin", Role: auth.RoleAdmin},
			auth.CreateUserParams{Email: "user@example.com", Username: "user"},
			auth.CreateUserParams{Email: "gone@example.com", Username: "gone", Inactive: true},
		)
		token := func(login string) string { return env.Token(ctx, t, login) }
		id, err := New(a, db)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := analytics.New(db, analytics.Settings{}, &analytics.Opts{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop(context.Background()) })
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return errors.Join(registry.Value(r, svc), registry.Value(r, a), registry.Value(r, users))
		})
		do := func(method, path, body, bearer string) *httptest.ResponseRecorder {
			header := map[string]string{}
			if bearer != "" {
				header["Authorization"] = "Bearer " + bearer
			}
			var b any
			if body != "" {
				b = body
			}
			return frontendtest.Send(t, h, method, path, b, header)
		}
		userToken, adminToken := token("user"), token("admin")
		one := `{"events":[{"name":"clicked"}]}`
		if rec := do(http.MethodPost, analytics.EventsPath, one, userToken); rec.Code != http.StatusAccepted {
			t.Fatalf("batch with a token: %d %s", rec.Code, rec.Body)
		}
		if rec := do(http.MethodPost, analytics.EventsPath, one, ""); rec.Code != http.StatusAccepted {
			t.Fatalf("anonymous batch: %d %s", rec.Code, rec.Body)
		}
		if rec := do(http.MethodPost, analytics.EventsPath, one, "not-a-token"); rec.Code != http.StatusUnauthorized {
			t.Errorf("batch with a bad token: %d, want 401", rec.Code)
		}
		if err := svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		u, err := users.GetByUsername(ctx, "user")
		if err != nil {
			t.Fatal(err)
		}
		evs, err := svc.Recent(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var mine, anonymous int
		for _, e := range evs {
			switch e.UserID {
			case "":
				anonymous++
			case strconv.FormatInt(u.ID, 10):
				mine++
			}
		}
		if len(evs) != 2 || mine != 1 || anonymous != 1 {
			t.Errorf("stored %+v, want one event of user %d and one anonymous", evs, u.ID)
		}

		for bearer, want := range map[string]int{"": http.StatusUnauthorized, userToken: http.StatusForbidden, adminToken: http.StatusOK} {
			if rec := do(http.MethodGet, analytics.Prefix+"/counts", "", bearer); rec.Code != want {
				t.Errorf("GET counts as %q: %d, want %d", bearer, rec.Code, want)
			}
		}
		rec := do(http.MethodGet, analytics.Prefix+"/user-stats?days=7", "", adminToken)
		for _, want := range []string{`"total_users":3`, `"active_users":2`, `"inactive_users":1`, `"tracked_users":1`, `"days":7`} {
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
				t.Errorf("user stats: %d %s, want %s", rec.Code, rec.Body, want)
			}
		}
		// days given twice is refused, as the range endpoints refuse a repeated parameter,
		// rather than answered for the first one alone.
		if rec := do(http.MethodGet, analytics.Prefix+"/user-stats?days=7&days=30", "", adminToken); rec.Code != http.StatusUnprocessableEntity ||
			!strings.Contains(rec.Body.String(), "query.days: is given 2 times") {
			t.Errorf("user stats with days twice: %d %s, want a 422 naming query.days", rec.Code, rec.Body)
		}
		// Track from a request context carrying the user, as handlers behind RequireRole do.
		svc.Track(auth.ContextWithUser(ctx, u), "from_handler", nil)
		if err := svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.UniqueUsers(ctx, analytics.Last(time.Now(), time.Hour), "from_handler"); err != nil || n != 1 {
			t.Errorf("unique users of from_handler: %d, %v; want 1", n, err)
		}
	})
}
