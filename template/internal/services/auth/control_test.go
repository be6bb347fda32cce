package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
)

// TestControlCharactersInLookups: a NUL or another control character (or
// invalid UTF-8) in a login, a registration or update identifier or the
// users search is a 422 naming the field, on both engines; before, a NUL
// reached the query and gave a 500 with the SQL in an ERROR log.
func TestControlCharactersInLookups(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		_, admin := f.newAdmin(t)
		user := f.newAccount(t)
		userTok := f.login(t, user).AccessToken
		tests := []struct {
			name     string
			r        req
			location string
		}{
			{"login email with NUL", req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"email": "a\x00b@example.com", "password": goodPassword}}, "body.login"},
			{"login username with NUL", req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"username": "ab\x00c", "password": goodPassword}}, "body.login"},
			{"login with another control character", req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"login": "ab\x1bc", "password": goodPassword}}, "body.login"},
			{"login with invalid UTF-8", req{method: "POST", path: "/api/v1/auth/login",
				body: `{"login":"ab\xffc","password":"` + goodPassword + `"}`}, ""},
			{"register email with NUL", req{method: "POST", path: "/api/v1/auth/register",
				body: map[string]string{"email": "n\x00ul@example.com", "username": "nuluser", "password": goodPassword}}, "body.email"},
			{"register username with NUL", req{method: "POST", path: "/api/v1/auth/register",
				body: map[string]string{"email": "nul@example.com", "username": "nul\x00user", "password": goodPassword}}, "body.username"},
			{"update my username with NUL", req{method: "PATCH", path: "/api/v1/auth/me", token: userTok,
				body: map[string]string{"username": "x\x00y"}}, "body.username"},
			{"search with NUL", req{method: "GET", path: "/api/v1/users?q=abc%00def", token: admin.AccessToken}, "query.q"},
			{"short search with NUL", req{method: "GET", path: "/api/v1/users?q=%00", token: admin.AccessToken}, "query.q"},
			{"search with a tab", req{method: "GET", path: "/api/v1/users?q=abc%09def", token: admin.AccessToken}, "query.q"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := f.do(t, tt.r)
				// Invalid UTF-8 in JSON is huma's to refuse (400 or 422); what matters is no 500.
				if tt.location == "" {
					if rec.Code != http.StatusBadRequest && rec.Code != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 400 or 422; %s", rec.Code, rec.Body)
					}
					return
				}
				p := problem(t, rec, http.StatusUnprocessableEntity)
				if len(p.Errors) != 1 || p.Errors[0].Location != tt.location {
					t.Fatalf("problem %+v, want one error at %s", p, tt.location)
				}
				if body := strings.ToLower(rec.Body.String()); strings.Contains(body, "select") || strings.Contains(body, "where") {
					t.Errorf("the answer quotes SQL: %s", rec.Body)
				}
			})
		}
		if logs := f.logs.String(); strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(strings.ToLower(logs), "select") {
			t.Errorf("an error or SQL was logged:\n%s", logs)
		}
		// The service refuses them too, for callers other than the API (the
		// users commands, the dashboard).
		ctx := t.Context()
		var ve *ValidationError
		if _, err := f.users.GetByEmail(ctx, "a\x00b@example.com"); !errors.As(err, &ve) || ve.Field != "email" {
			t.Errorf("GetByEmail: %v, want a validation error on email", err)
		}
		if _, err := f.users.GetByUsername(ctx, "a\x00b"); !errors.As(err, &ve) || ve.Field != "username" {
			t.Errorf("GetByUsername: %v, want a validation error on username", err)
		}
		if _, err := f.users.List(ctx, ListUsersParams{Query: "a\x00"}); !errors.As(err, &ve) || ve.Field != "q" {
			t.Errorf("List: %v, want a validation error on q", err)
		}
		if _, err := f.users.VerifyPassword(ctx, "a\x00b", goodPassword); !errors.As(err, &ve) {
			t.Errorf("VerifyPassword: %v, want a validation error", err)
		}
		// The dashboard's users panel says what is wrong with the search.
		h, _, _ := dashboardApp(t, db, nil)
		if body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/users?q=a%00b"); !strings.Contains(body, "The search must not contain control characters") {
			t.Errorf("the users panel does not refuse the search:\n%s", body)
		}
		if _, err := f.users.MarkEmailVerified(ctx, user.id, "a\x00b@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkEmailVerified: %v, want ErrNotFound", err)
		}
	})
}
