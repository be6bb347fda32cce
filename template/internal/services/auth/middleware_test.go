package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

type whoami struct {
	Body struct {
		Username string `json:"username"`
		Role     string `json:"role"`
	}
}

// Routes as another service would write them: a huma operation and a chi
// handler guarded by the exported middleware.
func init() {
	registry.Contribute(registry.Default, "authtest", backend.Routes(func(r *backend.Router) error {
		a, err := registry.Get[*AuthService](r.Container)
		if err != nil {
			return err
		}
		huma.Register(r.API, huma.Operation{OperationID: "authtest-huma", Method: http.MethodGet, Path: "/test/auth/huma-admin",
			Middlewares: huma.Middlewares{a.RequireRole(RoleAdmin)}}, func(ctx context.Context, _ *struct{}) (*whoami, error) {
			u, ok := UserFromContext(ctx)
			if !ok {
				return nil, huma.Error500InternalServerError("no user in context")
			}
			out := &whoami{}
			out.Body.Username, out.Body.Role = u.Username, u.Role
			return out, nil
		})
		r.Mux.With(a.RequireRoleHTTP(RoleAdmin)).Get("/test/auth/chi-admin", func(w http.ResponseWriter, req *http.Request) {
			u, ok := UserFromContext(req.Context())
			if !ok {
				http.Error(w, "no user", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"username":"` + u.Username + `","role":"` + u.Role + `"}`))
		})
		r.Mux.With(a.RequireRoleHTTP("")).Get("/test/auth/chi-user", func(w http.ResponseWriter, req *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
		return nil
	}))
}

func TestRequireRoleElsewhere(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		admin, at := f.newAdmin(t)
		ut := f.login(t, f.newAccount(t))
		for _, path := range []string{"/test/auth/huma-admin", "/test/auth/chi-admin"} {
			problem(t, f.do(t, req{method: "GET", path: path}), http.StatusUnauthorized)
			problem(t, f.do(t, req{method: "GET", path: path, token: "x.y.z"}), http.StatusUnauthorized)
			problem(t, f.do(t, req{method: "GET", path: path, token: ut.AccessToken}), http.StatusForbidden)
			got := expect[struct{ Username, Role string }](t, f.do(t, req{method: "GET", path: path, token: at.AccessToken}), http.StatusOK)
			if got.Username != admin.username || got.Role != RoleAdmin {
				t.Fatalf("%s: %+v", path, got)
			}
		}
		// Two Authorization headers: which counts is up to each reader, so neither does.
		for _, tc := range []struct {
			name, path string
			values     []string
		}{
			{"huma, valid first", "/test/auth/huma-admin", []string{"Bearer " + at.AccessToken, "Bearer x"}},
			{"huma, valid last", "/test/auth/huma-admin", []string{"Bearer x", "Bearer " + at.AccessToken}},
			{"chi, valid first", "/test/auth/chi-admin", []string{"Bearer " + at.AccessToken, "Bearer x"}},
			{"chi, both valid", "/test/auth/chi-user", []string{"Bearer " + ut.AccessToken, "Bearer " + ut.AccessToken}},
		} {
			rec := f.do(t, req{method: "GET", path: tc.path, header: http.Header{"Authorization": tc.values}})
			if p := problem(t, rec, http.StatusBadRequest); !strings.Contains(p.Detail, "2 Authorization headers; send one") {
				t.Errorf("%s: detail %q", tc.name, p.Detail)
			}
		}
		expect[struct{}](t, f.do(t, req{method: "GET", path: "/test/auth/chi-user", token: ut.AccessToken}), http.StatusNoContent)
		expect[struct{}](t, f.do(t, req{method: "GET", path: "/test/auth/chi-user", token: at.AccessToken}), http.StatusNoContent)
		problem(t, f.do(t, req{method: "GET", path: "/test/auth/chi-user"}), http.StatusUnauthorized)
	})
}

// TestMigrationsDownUp: the auth migrations roll back and apply again.
// TestSessionStartBackfill: refresh tokens stored before the session's start
// was recorded get their family's oldest creation time (its login), so a
// session that already ran past AUTH_SESSION_MAX_AGE ends at the next refresh
// instead of starting its count anew.
func TestSessionStartBackfill(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		f.login(t, a)
		if _, err := db.MigrateDown(t.Context(), Name); err != nil {
			t.Fatal(err)
		}
		login := now().Add(-40 * 24 * time.Hour)
		for i, created := range []time.Time{login, login.Add(20 * 24 * time.Hour)} {
			if _, err := db.Bun().NewInsert().Model(&map[string]any{
				"user_id": a.id, "family_id": "old-family", "token_hash": fmt.Sprintf("old-hash-%d", i),
				"created_at": created, "expires_at": created.Add(DefaultRefreshTTL),
			}).TableExpr("auth_refresh_tokens").Exec(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.MigrateUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		var tokens []refreshToken
		if err := db.Bun().NewSelect().Model(&tokens).Where("family_id = ?", "old-family").Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(tokens) != 2 {
			t.Fatalf("%d tokens of the old family, want 2", len(tokens))
		}
		for _, rt := range tokens {
			if !rt.SessionStartedAt.Equal(login) {
				t.Errorf("token created %v: session started %v, want the family's first token's %v", rt.CreatedAt, rt.SessionStartedAt, login)
			}
		}
	})
}

func TestMigrationsDownUp(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		if _, err := db.MigrateDown(t.Context(), Name); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MigrateUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		f := setup(t, db, nil)
		f.login(t, f.newAccount(t))
	})
}
