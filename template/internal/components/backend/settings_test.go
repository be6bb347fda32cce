package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	valid := Settings{Port: 8000}.WithDefaults()
	tests := []struct {
		name   string
		modify func(*Settings)
		want   string
	}{
		{"defaults", func(*Settings) {}, ""},
		{"port zero means any", func(s *Settings) { s.Port = 0 }, ""},
		{"port too big", func(s *Settings) { s.Port = 70000 }, `config: PORT="70000" is out of range; use a port from 1 to 65535, or 0 for any free port`},
		{"negative timeout", func(s *Settings) { s.WriteTimeout = -time.Second }, `config: HTTP_WRITE_TIMEOUT="-1s" must be positive`},
		{"zero body", func(s *Settings) { s.MaxBodyBytes = 0 }, `config: MAX_BODY_BYTES="0" must be positive`},
		{"hsts off", func(s *Settings) { s.HSTSMaxAge = -1 }, ""},
		{"hsts negative", func(s *Settings) { s.HSTSMaxAge = -2 }, `config: HSTS_MAX_AGE="-2" must be at least -1`},
		{"bad proxy", func(s *Settings) { s.TrustedProxies = "10.0.0.0/8,nope" }, `TRUSTED_PROXIES="10.0.0.0/8,nope" has an entry that is not an IP address or CIDR: "nope"`},
		{"short health token", func(s *Settings) { s.HealthDetailsToken = "SECRET-short" }, `config: HEALTH_DETAILS_TOKEN (value not shown) is shorter than 32 characters`},
		{"base URL", func(s *Settings) { s.BaseURL = "https://api.example.com/v1" }, ""},
		{"base URL relative", func(s *Settings) { s.BaseURL = "api.example.com" }, `config: BASE_URL="api.example.com" is not an absolute http(s) URL`},
		{"host every interface", func(s *Settings) { s.Host = "0.0.0.0" }, ""},
		{"host IPv6", func(s *Settings) { s.Host = "::" }, ""},
		{"host name", func(s *Settings) { s.Host = "app-1.internal" }, ""},
		{"host with a space", func(s *Settings) { s.Host = "bad host" }, `config: HOST="bad host" is not an IP address or host name; use the interface to listen on, such as 127.0.0.1`},
		{"host with a scheme", func(s *Settings) { s.Host = "http://0.0.0.0" }, `config: HOST="http://0.0.0.0" is not an IP address or host name`},
		{"host with a port", func(s *Settings) { s.Host = "0.0.0.0:8000" }, `config: HOST="0.0.0.0:8000" is not an IP address or host name`},
		{"host in brackets", func(s *Settings) { s.Host = "[::1]" }, `config: HOST="[::1]" is not an IP address or host name`},
		{"base URL with query", func(s *Settings) { s.BaseURL = "https://api.example.com/?a=b" }, `BASE_URL="https://api.example.com/?a=b" has a query`},
	}
	for _, tt := range tests {
		s := valid
		tt.modify(&s)
		err := s.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestSettingsDefaultsMatchTags(t *testing.T) {
	t.Setenv("HOST", "")
	for _, k := range []string{"PORT", "HTTP_READ_HEADER_TIMEOUT", "HTTP_READ_TIMEOUT", "HTTP_WRITE_TIMEOUT", "HTTP_IDLE_TIMEOUT", "HTTP_SHUTDOWN_TIMEOUT", "HEALTH_TIMEOUT", "MAX_BODY_BYTES", "BASE_URL", "TRUSTED_PROXIES", "HSTS_MAX_AGE", "HEALTH_DETAILS_TOKEN"} {
		t.Setenv(k, "")
	}
	s, err := config.Loader[Settings](t.Context())
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := newServer(t.Context(), s, config.Core{}, nil, nil, noTelemetry)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{Port: DefaultPort}.WithDefaults()
	if loaded.Settings() != want {
		t.Errorf("env defaults = %+v\nconstants    = %+v", loaded.Settings(), want)
	}
}

func TestClientURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want string
	}{
		{"127.0.0.1", "http://127.0.0.1:8000"},
		{"0.0.0.0", "http://127.0.0.1:8000"},
		{"", "http://127.0.0.1:8000"},
		{"::", "http://[::1]:8000"},
		{"example.internal", "http://example.internal:8000"},
	}
	for _, tt := range tests {
		if got := (Settings{Host: tt.host, Port: 8000}).ClientURL(); got != tt.want {
			t.Errorf("ClientURL(%q) = %s, want %s", tt.host, got, tt.want)
		}
	}
}
