package aiauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/ai"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/auth/authtest"
)

// perRequest is a scoped service: a tool resolves it from the scope of the call's request.
type perRequest struct{}

// whoami answers with the user the call runs as and whether the call's request scope is
// open.
func whoami(ctx context.Context, _ struct{}) (string, error) {
	u, ok := auth.UserFromContext(ctx)
	if !ok {
		return "", errors.New("no user")
	}
	res, ok := registry.FromContext(ctx)
	if !ok {
		return "", errors.New("no scope")
	}
	if _, err := registry.Get[*perRequest](res); err != nil {
		return "", err
	}
	return strconv.FormatInt(u.ID, 10), nil
}

// tokenTransport sends the token it holds at the time of each request.
type tokenTransport struct {
	token atomic.Pointer[string]
	next  http.RoundTripper
}

func (tt *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if tok := tt.token.Load(); tok != nil {
		r.Header.Set("Authorization", "Bearer "+*tok)
	}
	return tt.next.RoundTrip(r)
}

// TestMCPIdentity: /mcp is behind the auth service; each tool call runs as the user of its
// own request's token, in that request's registry scope, and is recorded as that user's; a
// session's calls stop once its user is deactivated, and another user's token on the same
// session is that other user, never the first.
func TestMCPIdentity(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		env := authtest.New(t, db)
		env.Accounts(ctx, t,
			auth.CreateUserParams{Email: "alice@example.com", Username: "alice"},
			auth.CreateUserParams{Email: "bob@example.com", Username: "bob"},
		)
		svc := echoAI(t, db, env, ai.Settings{}, ai.Opts{Tools: []ai.Tool{ai.NewTool("whoami", "The caller's user ID", whoami, nil)}})
		h := serve(t, svc, env, func(r *registry.Registry) error {
			return registry.Provide(r, func(context.Context) (*perRequest, error) { return &perRequest{}, nil }, registry.WithLifetime(registry.Scoped))
		})
		srv := httptest.NewServer(h)
		defer srv.Close()
		userID := func(login string) string {
			u, err := env.Users.GetByLogin(ctx, login)
			if err != nil {
				t.Fatal(err)
			}
			return strconv.FormatInt(u.ID, 10)
		}
		alice, bob := userID("alice"), userID("bob")

		tt := &tokenTransport{next: srv.Client().Transport}
		client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		connect := func() (*mcp.ClientSession, error) {
			return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + ai.MCPPath, HTTPClient: &http.Client{Transport: tt}}, nil)
		}
		if _, err := connect(); err == nil {
			t.Fatal("connected without a token")
		}
		bad := "not-a-token"
		tt.token.Store(&bad)
		if _, err := connect(); err == nil {
			t.Fatal("connected with a bad token")
		}
		aliceToken, bobToken := env.Token(ctx, t, "alice"), env.Token(ctx, t, "bob")
		tt.token.Store(&aliceToken)
		session, err := connect()
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		call := func() (string, error) {
			res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
			if err != nil {
				return "", err
			}
			text := res.Content[0].(*mcp.TextContent).Text
			if res.IsError {
				return "", errors.New(text)
			}
			return text, nil
		}
		if got, err := call(); err != nil || got != strconv.Quote(alice) {
			t.Fatalf("alice's call ran as %s, %v; want %s", got, err, alice)
		}
		// The same session with bob's token: the call is bob's, not alice's.
		tt.token.Store(&bobToken)
		if got, err := call(); err != nil || got != strconv.Quote(bob) {
			t.Fatalf("bob's call on alice's session ran as %s, %v; want %s", got, err, bob)
		}
		var rows []string
		q, err := db.SQL().QueryContext(ctx, "SELECT user_id FROM ai_usage WHERE kind = 'mcp' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for q.Next() {
			var u string
			if err := q.Scan(&u); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, u)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0] != alice || rows[1] != bob {
			t.Fatalf("MCP calls recorded as users %v, want [%s %s]", rows, alice, bob)
		}
		// Deactivated: bob's token no longer calls a tool.
		inactive := false
		n, _ := strconv.ParseInt(bob, 10, 64)
		if _, err := env.Users.Update(ctx, n, auth.UpdateUserParams{Active: &inactive}); err != nil {
			t.Fatal(err)
		}
		if got, err := call(); err == nil {
			t.Fatalf("a deactivated user's call ran: %s", got)
		}
	})
}
