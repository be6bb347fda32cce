package onboarding

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/auth/authtest"
	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// TestAPI: admins create onboarded accounts through the real handler; others are refused,
// and auth's errors keep their statuses.
func TestAPI(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := setup(t, db, true)
		env := authtest.With(t, db, b.users)
		a := env.Auth
		env.Accounts(ctx, t,
			auth.CreateUserParams{Email: "admin@example.com", Username: "admin", Password: password, Role: auth.RoleAdmin},
			auth.CreateUserParams{Email: "user@example.com", Username: "user", Password: password},
		)
		token := func(login string) string { return env.Token(ctx, t, login) }
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			// Every route contributed from init() is mounted: the other owners' too.
			return errors.Join(registry.Value(r, b.svc), registry.Value(r, a), registry.Value(r, b.users),
				registry.Value(r, b.events), registry.Value(r, b.comms))
		})
		post := func(body, bearer string) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, UsersPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		body := `{"email":"ada@example.com","username":"ada","password":"` + password + `","full_name":"Ada"}`
		admin := token("admin")
		for bearer, want := range map[string]int{"": http.StatusUnauthorized, token("user"): http.StatusForbidden} {
			if rec := post(body, bearer); rec.Code != want {
				t.Errorf("as %q: %d, want %d", bearer, rec.Code, want)
			}
		}
		rec := post(body, admin)
		if rec.Code != http.StatusCreated {
			t.Fatalf("as admin: %d %s", rec.Code, rec.Body)
		}
		var got CreatedBody
		if err := json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.User.Email != "ada@example.com" || got.Pending == nil || len(got.Pending) != 0 || got.WelcomeID == "" {
			t.Errorf("answer %s", rec.Body)
		}
		if m, err := b.comms.Message(ctx, got.WelcomeID); err != nil || m.Status != comms.StatusSent {
			t.Errorf("welcome %+v, %v", m, err)
		}
		if rec := post(body, admin); rec.Code != http.StatusConflict {
			t.Errorf("again: %d, want 409", rec.Code)
		}
		if rec := post(`{"email":"bob@example.com","username":"bob","password":"short"}`, admin); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("short password: %d, want 422", rec.Code)
		}
	})
}

// TestRegister builds the real graph of an app with the four owners, as registry.Default
// holds it.
func TestRegister(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	// What the commands provide: the core settings and the process's role.
	if err := errors.Join(registry.Value(r, config.Core{Env: config.EnvDevelopment}), registry.Value(r, command.RoleServe)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err != nil {
		t.Fatal(err)
	}
}

func newRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := registry.New()
	if err := errors.Join(database.Register(r), backend.Register(r), cache.Register(r), httpclient.Register(r),
		auth.Register(r), comms.Register(r), analytics.Register(r), Register(r)); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCommands runs `onboarding retry` and `onboarding pending` on a fresh database: the
// app starts (retrying at start), migrates, and each command reports.
func TestCommands(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Setenv("DATABASE_URL", databasetest.Settings(t, engine).URL)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("AUTH_SECRET", strings.Repeat("k", 40))
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"pending"}, "no onboarding steps pending"},
			{[]string{"retry"}, "completed 0, still pending 0, removed 0"},
		} {
			out, _, err := commandtest.Run(t.Context(), newRegistry(t), onboardingCommand, c.args...)
			if err != nil || !strings.Contains(out, c.want) {
				t.Errorf("%v: %q, %v; want %q", c.args, out, err, c.want)
			}
		}
	})
}

// TestPendingTable: `onboarding pending` prints one line per account, even when several steps
// failed (their errors are joined by newlines) or an error holds a tab.
func TestPendingTable(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		ctx := t.Context()
		s := databasetest.Settings(t, engine)
		t.Setenv("DATABASE_URL", s.URL)
		t.Setenv("AUTO_MIGRATE", "true")
		t.Setenv("AUTH_SECRET", strings.Repeat("k", 40))
		if _, _, err := commandtest.Run(ctx, newRegistry(t), onboardingCommand, "pending"); err != nil {
			t.Fatal(err) // migrates
		}
		db, err := database.Open(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := time.Now()
		rows := []*pending{
			{Email: "ada@example.com", UserID: 7, EventTracked: true, Attempts: 2, CreatedMS: ms(now), UpdatedMS: ms(now), NextMS: ms(now.Add(time.Hour)),
				LastError: "onboarding: cache profile: cache down\nonboarding: send the welcome email: smtp: 451\ttry later"},
			{Email: "bob@example.com", UserID: 8, ProfileCached: true, EventTracked: true, Attempts: 1, CreatedMS: ms(now), UpdatedMS: ms(now),
				NextMS: ms(now.Add(time.Hour)), LastError: "onboarding: send the welcome email: refused"},
		}
		if _, err := db.Bun().NewInsert().Model(&rows).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		out, _, err := commandtest.Run(ctx, newRegistry(t), onboardingCommand, "pending")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "USER") ||
			!strings.Contains(lines[1], "cache down; onboarding: send the welcome email: smtp: 451; try later") ||
			!strings.Contains(lines[2], "refused") {
			t.Fatalf("pending printed %d lines, want a header and one per account:\n%s", len(lines), out)
		}
		// The columns line up: LAST ERROR starts at the same offset on every line.
		col := strings.Index(lines[0], "LAST ERROR")
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l[col:], "onboarding: ") {
				t.Errorf("LAST ERROR column misaligned:\n%s", out)
			}
		}
	})
}
