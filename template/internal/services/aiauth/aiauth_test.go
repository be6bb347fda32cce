package aiauth

import (
	"context"
	"errors"
	"log/slog"
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
	"github.com/aegisgo/aegis/template/internal/services/ai"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/auth/authtest"
)

// echo is a provider that answers with the prompt and counts 5 tokens each way.
type echo struct{}

func (echo) Kind() string { return ai.ProviderLocal }

func (echo) Chat(_ context.Context, req ai.Request) (*ai.Response, error) {
	return &ai.Response{Model: req.Model, Content: req.Messages[len(req.Messages)-1].Content, Usage: ai.Usage{InputTokens: 5, OutputTokens: 5}, StopReason: "stop"}, nil
}

func (e echo) Stream(ctx context.Context, req ai.Request, onDelta func(string) error) (*ai.Response, error) {
	resp, _ := e.Chat(ctx, req)
	return resp, onDelta(resp.Content)
}

func (echo) Models(context.Context) ([]string, error) { return []string{"echo"}, nil }

// TestIdentity: with the glue the endpoints need a token, conversations are their user's,
// the daily quota counts per user, and only admins read everyone's usage.
func TestIdentity(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		env := authtest.New(t, db)
		users, a := env.Users, env.Auth
		env.Accounts(ctx, t,
			auth.CreateUserParams{Email: "admin@example.com", Username: "admin", Role: auth.RoleAdmin},
			auth.CreateUserParams{Email: "user@example.com", Username: "user"},
		)
		token := func(login string) string { return env.Token(ctx, t, login) }
		svc := echoAI(t, db, env, ai.Settings{DailyTokenQuota: 10}, ai.Opts{Now: middayClock()})
		h := serve(t, svc, env, nil)
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
		prompt := `{"prompt":"hello"}`
		if rec := do(http.MethodPost, ai.ChatPath, prompt, ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("chat without a token = %d", rec.Code)
		}
		if rec := do(http.MethodPost, ai.ChatPath, prompt, "not-a-token"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("chat with a bad token = %d", rec.Code)
		}
		if rec := do(http.MethodPost, ai.ChatPath, prompt, userToken); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"content":"hello"`) {
			t.Fatalf("chat = %d %s", rec.Code, rec.Body)
		}
		// 10 tokens spent: the user's quota is used up, the admin's is not.
		if rec := do(http.MethodPost, ai.ChatPath, prompt, userToken); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("over quota = %d %s", rec.Code, rec.Body)
		}
		if rec := do(http.MethodPost, ai.ChatPath, prompt, adminToken); rec.Code != http.StatusOK {
			t.Fatalf("admin's chat = %d", rec.Code)
		}
		if rec := do(http.MethodGet, ai.Prefix+"/conversations", "", userToken); strings.Count(rec.Body.String(), `"id":`) != 1 {
			t.Fatalf("the user's conversations: %s", rec.Body)
		}
		if rec := do(http.MethodGet, ai.Prefix+"/usage?all=true", "", userToken); rec.Code != http.StatusForbidden {
			t.Fatalf("user reads everyone's usage: %d", rec.Code)
		}
		if rec := do(http.MethodGet, ai.Prefix+"/usage?all=true", "", adminToken); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"calls":2`) {
			t.Fatalf("admin reads everyone's usage: %d %s", rec.Code, rec.Body)
		}

		// The dashboard names a conversation's user rather than showing an ID.
		body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/" + ai.PanelName)
		for _, want := range []string{">user@example.com</span>", ">admin@example.com</span>"} {
			if !strings.Contains(body, want) {
				t.Errorf("the ai panel lacks %q:\n%s", want, body)
			}
		}
		u, err := users.GetByLogin(ctx, "user")
		if err != nil {
			t.Fatal(err)
		}
		uid := strconv.FormatInt(u.ID, 10)
		id, err := New(a)
		if err != nil {
			t.Fatal(err)
		}
		names, err := id.UserNames(ctx, []string{uid, "999999", "not-an-id"})
		if err != nil || len(names) != 1 || names[uid] != "user@example.com" {
			t.Errorf("UserNames = %v, %v; want only %s named user@example.com", names, err, uid)
		}
	})
}

// middayClock is a clock that runs from noon UTC of today: calls counted against the daily
// quota would see it renewed between them if they straddled midnight.
func middayClock() func() time.Time {
	start := time.Now()
	noon := start.UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	return func() time.Time { return noon.Add(time.Since(start)) }
}

// echoAI is the ai service on db answering with echo, its callers env's users: s and o as given
// but for the provider, the model, the identity and a silent logger.
func echoAI(t *testing.T, db *database.DB, env *authtest.Env, s ai.Settings, o ai.Opts) *ai.Service {
	t.Helper()
	id, err := New(env.Auth)
	if err != nil {
		t.Fatal(err)
	}
	s.Provider, s.Model = ai.ProviderLocal, "echo"
	o.Identity, o.Providers, o.Logger = id, map[string]ai.Provider{ai.ProviderLocal: echo{}}, slog.New(slog.DiscardHandler)
	svc, err := ai.New(db, s, &o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// serve is the app's handler with svc and env's auth registered, and what more registers.
func serve(t *testing.T, svc *ai.Service, env *authtest.Env, more func(*registry.Registry) error) http.Handler {
	t.Helper()
	return frontendtest.Handler(t, nil, func(r *registry.Registry) error {
		err := errors.Join(registry.Value(r, svc), registry.Value(r, env.Auth), registry.Value(r, env.Users))
		if more != nil {
			err = errors.Join(err, more(r))
		}
		return err
	})
}
