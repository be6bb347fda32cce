package auth

import (
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

// TestLoginSpans: with a tracer provider installed, a login is a span with its outcome and,
// once signed in, the user's ID (never what was typed). Sets a global: not parallel.
func TestLoginSpans(t *testing.T) {
	rec := tracingtest.Install(t)
	db := databasetest.New(t, database.SQLite)
	users, a := newServices(t, db, Settings{}, AuthOpts{})
	u := createUser(t, users, CreateUserParams{Email: "span@example.com", Username: "span", Password: goodPassword})
	if _, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: "not the password at all"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	spans := rec.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2: %+v", len(spans), spans)
	}
	ok, bad := spans[0], spans[1]
	if ok.Name != "auth login" || ok.Attrs["auth.outcome"].AsString() != "ok" || ok.Attrs["enduser.id"].AsInt64() != u.ID || !ok.Ended {
		t.Errorf("the login's span: %+v", ok)
	}
	if bad.Attrs["auth.outcome"].AsString() != "invalid_credentials" || bad.Status != codes.Error || bad.Attrs["enduser.id"].Type() != 0 {
		t.Errorf("the failed login's span: %+v", bad)
	}
}
