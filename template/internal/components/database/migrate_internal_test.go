package database

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

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
