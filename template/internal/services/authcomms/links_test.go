package authcomms

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// With BASE_URL empty, a development app's links follow PORT (they used to name port 8000
// whatever the app listened on); BASE_URL wins when set, and production keeps its fallback
// and says once, at start, that BASE_URL is missing. Built as the container builds the
// service (newService), from the settings it loads.
func TestLinksFollowPort(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	as := authSettings()
	users, err := auth.NewUserServiceWith(db, as)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		production bool
		bs         backend.Settings
		s          Settings
		wantVerify string
		wantReset  string
		wantWarn   bool
	}{
		{name: "development, PORT 8123", bs: backend.Settings{Port: 8123},
			wantVerify: "http://localhost:8123/verify-email", wantReset: "http://localhost:8123/reset-password"},
		{name: "development, default PORT", bs: backend.Settings{Port: backend.DefaultPort},
			wantVerify: "http://localhost:8000/verify-email", wantReset: "http://localhost:8000/reset-password"},
		{name: "development, PORT 0 (a free port)", bs: backend.Settings{Port: 0},
			wantVerify: DefaultFallbackLinkOrigin + "/verify-email", wantReset: DefaultFallbackLinkOrigin + "/reset-password"},
		{name: "development, BASE_URL", bs: backend.Settings{Port: 8123, BaseURL: "https://app.example.com/"},
			wantVerify: "https://app.example.com/verify-email", wantReset: "https://app.example.com/reset-password"},
		{name: "development, page URLs", bs: backend.Settings{Port: 8123},
			s:          Settings{VerifyURL: "https://front.example.com/v", ResetURL: "https://front.example.com/r"},
			wantVerify: "https://front.example.com/v", wantReset: "https://front.example.com/r"},
		{name: "production, no BASE_URL", production: true, bs: backend.Settings{Port: 8123},
			wantVerify: DefaultFallbackLinkOrigin + "/verify-email", wantReset: DefaultFallbackLinkOrigin + "/reset-password", wantWarn: true},
		{name: "production, one page URL", production: true, bs: backend.Settings{Port: 8123},
			s:          Settings{VerifyURL: "https://front.example.com/v"},
			wantVerify: "https://front.example.com/v", wantReset: DefaultFallbackLinkOrigin + "/reset-password", wantWarn: true},
		{name: "production, page URLs", production: true, bs: backend.Settings{Port: 8123},
			s:          Settings{VerifyURL: "https://front.example.com/v", ResetURL: "https://front.example.com/r"},
			wantVerify: "https://front.example.com/v", wantReset: "https://front.example.com/r"},
		{name: "production, BASE_URL", production: true, bs: backend.Settings{Port: 8123, BaseURL: "https://app.example.com"},
			wantVerify: "https://app.example.com/verify-email", wantReset: "https://app.example.com/reset-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := comms.New(comms.Settings{}, &comms.Opts{Production: tt.production})
			if err != nil {
				t.Fatal(err)
			}
			logs := &logtest.Buffer{}
			svc, err := build(db, users, c, tt.s, deps{auth: as, backend: tt.bs}, slog.New(slog.NewJSONHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(logs.String(), `"level":"WARN"`) && strings.Contains(logs.String(), "set BASE_URL")
			if warned != tt.wantWarn {
				t.Errorf("warned about BASE_URL = %v, want %v; logs: %s", warned, tt.wantWarn, logs)
			}
			if svc.verifyURL != tt.wantVerify || svc.resetURL != tt.wantReset {
				t.Errorf("links %q and %q, want %q and %q", svc.verifyURL, svc.resetURL, tt.wantVerify, tt.wantReset)
			}
		})
	}
}
