package database_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
)

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*database.Settings)
		want   string
	}{
		{"defaults", func(*database.Settings) {}, ""},
		{"absolute sqlite path", func(s *database.Settings) { s.URL = "sqlite:///var/lib/app/app.db" }, ""},
		{"postgres", func(s *database.Settings) { s.URL = "postgres://app:pw@db:5432/app" }, ""},
		{"postgresql scheme", func(s *database.Settings) { s.URL = "postgresql://app@db/app" }, ""},
		{"unsupported scheme", func(s *database.Settings) { s.URL = "mysql://app:pw@db/app" },
			`config: DATABASE_URL (value not shown) has an unsupported scheme "mysql"; use sqlite://data/app.db (embedded) or postgres://user:password@host:5432/dbname`},
		{"no scheme", func(s *database.Settings) { s.URL = "data/app.db" }, `config: DATABASE_URL (value not shown) has no scheme`},
		{"sqlite without a path", func(s *database.Settings) { s.URL = "sqlite://" }, `config: DATABASE_URL (value not shown) has no file path`},
		{"bad postgres url", func(s *database.Settings) { s.URL = "postgres://app:pw@db:notaport/app" }, `config: DATABASE_URL (value not shown) is not a valid PostgreSQL URL`},
		{"no connections", func(s *database.Settings) { s.MaxConns = -1 }, `config: DATABASE_MAX_CONNS="-1" must be at least 1`},
		{"min above max", func(s *database.Settings) { s.MinConns = 20 }, `config: DATABASE_MIN_CONNS="20" is out of range`},
		{"negative timeout", func(s *database.Settings) { s.ConnectTimeout = -time.Second }, `config: DATABASE_CONNECT_TIMEOUT="-1s" must be positive`},
	}
	for _, tt := range tests {
		s := database.Settings{}.WithDefaults()
		tt.modify(&s)
		err := s.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		case err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), ":pw@")):
			t.Errorf("%s: %q must be one line without the password", tt.name, err)
		}
		// Open refuses what Validate refuses (valid settings are not opened: that would
		// create the default SQLite file in the package's folder).
		if tt.want != "" {
			if db, err := database.Open(t.Context(), s); err == nil {
				db.Close()
				t.Errorf("%s: Open accepted %+v", tt.name, s)
			}
		}
	}
}

func TestSettingsDefaultsMatchTags(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "AUTO_MIGRATE", "DATABASE_MAX_CONNS", "DATABASE_MIN_CONNS", "DATABASE_MAX_CONN_LIFETIME",
		"DATABASE_MAX_CONN_IDLE_TIME", "DATABASE_CONNECT_TIMEOUT", "DATABASE_BUSY_TIMEOUT"} {
		t.Setenv(k, "")
	}
	loaded, err := config.Load[database.Settings]()
	if err != nil {
		t.Fatal(err)
	}
	want := database.Settings{AutoMigrate: true}.WithDefaults()
	if loaded != want {
		t.Errorf("env defaults = %+v\nconstants    = %+v", loaded, want)
	}
}

func TestSettingsFromEnv(t *testing.T) {
	t.Setenv("DATABASE_URL", "oracle://scott:tiger@db/orcl")
	_, err := config.Load[database.Settings]()
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "tiger") {
		t.Errorf("Load = %v, want an error naming DATABASE_URL without the password", err)
	}
}

// TestURLShownWithoutPassword: the DATABASE_URL that migrate prints and errors name hides a
// password given as a parameter, which pgx takes as well as the user part's (it was printed
// as given), and keeps the other parameters as they are.
func TestURLShownWithoutPassword(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"postgres://app:s3cret@db:5432/app?sslmode=disable", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"postgres://app@db:5432/app?sslmode=disable&password=s3cret", "postgres://app@db:5432/app?sslmode=disable&password=xxxxx"},
		{"postgres://app@db/app?sslpassword=s3cret&application_name=shop", "postgres://app@db/app?sslpassword=xxxxx&application_name=shop"},
		{"postgres://app@db/app?pass%77ord=s3cret", "postgres://app@db/app?password=xxxxx"},
	}
	for _, tt := range tests {
		db, err := database.Open(t.Context(), database.Settings{URL: tt.url})
		if err != nil {
			t.Errorf("open %s: %v", tt.want, err)
			continue
		}
		if got := db.String(); got != tt.want || strings.Contains(got, "s3cret") {
			t.Errorf("%s shown as %q, want %q", tt.want, got, tt.want)
		}
		db.Close()
	}
}
