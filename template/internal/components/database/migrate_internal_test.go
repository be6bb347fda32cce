package database

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func TestRegisterMigrationsErrors(t *testing.T) {
	t.Parallel()
	valid := fstest.MapFS{"sqlite/00001_a.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
	tests := []struct {
		name  string
		owner string
		fsys  fs.FS
		want  string
	}{
		{"another owner", "worker", valid, ""},
		{"duplicate", "auth", valid, `database: register migrations of "auth" at second: already registered at first`},
		{"upper case", "Auth", valid, `at second: database: owner "Auth" must be lowercase letters`},
		{"dash", "my-owner", valid, `owner "my-owner" must be lowercase letters`},
		{"empty", "", valid, `owner "" must be lowercase letters`},
		{"nil fs", "worker", nil, `at second: database: migrations of "worker": FS is nil`},
	}
	for _, tt := range tests {
		set := newMigrationSet(registry.All[Migrations]{
			{Name: "auth", Value: Migrations{FS: valid}, Registered: "first"},
			{Name: tt.owner, Value: Migrations{FS: tt.fsys}, Registered: "second"},
		})
		_, err := set.list()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestPrintStatus checks the status listing: applied and pending migrations in aligned
// columns, and no line padded with trailing blanks (a pending migration has no time, and its
// empty last column was padded to the width of the applied ones' times).
func TestPrintStatus(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		st   []OwnerStatus
		want string
	}{
		{"none registered", nil, "no migrations registered\n"},
		{"applied and pending", []OwnerStatus{{Owner: "auth", Migrations: []Migration{
			{File: "00001_auth_users.sql", Applied: true, AppliedAt: at},
			{File: "00002_auth_sessions_long_name.sql"},
		}}}, "auth: 1 applied, 1 pending\n" +
			"  applied  00001_auth_users.sql               2026-01-02 03:04:05 UTC\n" +
			"  pending  00002_auth_sessions_long_name.sql\n"},
		{"all pending", []OwnerStatus{{Owner: "ai", Migrations: []Migration{
			{File: "00001_ai.sql"}, {File: "00002_ai_jobs.sql"},
		}}}, "ai: 0 applied, 2 pending\n  pending  00001_ai.sql\n  pending  00002_ai_jobs.sql\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		printStatus(&b, tt.st)
		if b.String() != tt.want {
			t.Errorf("%s: printed\n%q\nwant\n%q", tt.name, b.String(), tt.want)
		}
	}
}
