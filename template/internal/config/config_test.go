package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

type sample struct {
	Port    int           `env:"TEST_PORT" envDefault:"8000" doc:"Port."`
	Timeout time.Duration `env:"TEST_TIMEOUT" envDefault:"5s" doc:"Timeout."`
	Debug   bool          `env:"TEST_DEBUG"`
	Name    string        `env:"TEST_NAME,required"`
	Nested  struct {
		Size int `env:"SIZE" envDefault:"3" doc:"Nested size."`
	} `envPrefix:"TEST_NESTED_"`
	//lint:ignore U1000 the field exists to prove Settings and Load skip unexported fields
	hidden string
}

// freshDotEnv makes the next Load read .env again and restores the state after.
func freshDotEnv(t *testing.T) {
	t.Helper()
	old := dotEnv
	dotEnv = &dotEnvLoader{}
	t.Cleanup(func() { dotEnv = old })
}

func TestLoadCoreDefaults(t *testing.T) {
	freshDotEnv(t)
	t.Chdir(t.TempDir())
	for _, k := range []string{"APP_ENV", "LOG_LEVEL", "LOG_FORMAT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	c, err := Load[Core]()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Env != EnvDevelopment || c.LogLevel != "info" || c.Format() != FormatText {
		t.Errorf("defaults = %+v (format %s), want development/info/text", c, c.Format())
	}
}

func TestCoreFormatAndLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		core       Core
		wantFormat string
		wantLevel  string
	}{
		{Core{Env: EnvDevelopment, LogLevel: "debug"}, FormatText, "DEBUG"},
		{Core{Env: EnvProduction, LogLevel: "warn"}, FormatJSON, "WARN"},
		{Core{Env: EnvProduction, LogLevel: "error", LogFormat: FormatText}, FormatText, "ERROR"},
		{Core{Env: EnvDevelopment, LogLevel: "info", LogFormat: FormatJSON}, FormatJSON, "INFO"},
	}
	for _, tt := range tests {
		if got := tt.core.Format(); got != tt.wantFormat {
			t.Errorf("%+v.Format() = %s, want %s", tt.core, got, tt.wantFormat)
		}
		if got := tt.core.Level().String(); got != tt.wantLevel {
			t.Errorf("%+v.Level() = %s, want %s", tt.core, got, tt.wantLevel)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		load func() error
		want []string // substrings of the error, in any order
	}{
		{
			name: "bad app env",
			env:  map[string]string{"APP_ENV": "staging"},
			load: func() error { _, err := Load[Core](); return err },
			want: []string{`config: APP_ENV="staging" is not valid; use one of development, production`},
		},
		{
			name: "bad level and format together",
			env:  map[string]string{"LOG_LEVEL": "verbose", "LOG_FORMAT": "xml"},
			load: func() error { _, err := Load[Core](); return err },
			want: []string{`LOG_LEVEL="verbose" is not valid; use one of debug, info, warn, error`, `LOG_FORMAT="xml"`},
		},
		{
			name: "not a number",
			env:  map[string]string{"TEST_PORT": "eighty", "TEST_NAME": "x"},
			load: func() error { _, err := Load[sample](); return err },
			want: []string{`config: TEST_PORT="eighty" is not a valid whole number; set TEST_PORT to a whole number such as 42, or unset it to use the default "8000"`},
		},
		{
			name: "bad duration",
			env:  map[string]string{"TEST_TIMEOUT": "5 seconds", "TEST_NAME": "x"},
			load: func() error { _, err := Load[sample](); return err },
			want: []string{`TEST_TIMEOUT="5 seconds" is not a valid duration; set TEST_TIMEOUT to a duration such as 500ms, 5s or 1m30s`},
		},
		{
			name: "bad bool",
			env:  map[string]string{"TEST_DEBUG": "yes please", "TEST_NAME": "x"},
			load: func() error { _, err := Load[sample](); return err },
			want: []string{`TEST_DEBUG="yes please" is not a valid boolean; set TEST_DEBUG to true or false`},
		},
		{
			name: "required missing",
			env:  map[string]string{},
			load: func() error { _, err := Load[sample](); return err },
			want: []string{`config: TEST_NAME="" is required but not set; set it in the environment or in .env`},
		},
		{
			name: "nested prefix",
			env:  map[string]string{"TEST_NESTED_SIZE": "big", "TEST_NAME": "x"},
			load: func() error { _, err := Load[sample](); return err },
			want: []string{`TEST_NESTED_SIZE="big" is not a valid whole number`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			freshDotEnv(t)
			t.Chdir(t.TempDir())
			for _, k := range []string{"APP_ENV", "LOG_LEVEL", "LOG_FORMAT", "TEST_PORT", "TEST_TIMEOUT", "TEST_DEBUG", "TEST_NAME", "TEST_NESTED_SIZE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := tt.load()
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Errorf("error %v is not a *config.Error", err)
			}
		})
	}
}

func TestLoadDotEnv(t *testing.T) {
	freshDotEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("TEST_NAME=from-file\nTEST_PORT=9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_NAME", "from-env") // a real variable must win over .env
	t.Setenv("TEST_PORT", "")
	os.Unsetenv("TEST_PORT")
	t.Cleanup(func() { os.Unsetenv("TEST_PORT") })

	s, err := Load[sample]()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Name != "from-env" {
		t.Errorf("Name = %q, want the real env var to win over .env", s.Name)
	}
	if s.Port != 9000 {
		t.Errorf("Port = %d, want 9000 from .env", s.Port)
	}
	if s.Timeout != 5*time.Second || s.Nested.Size != 3 {
		t.Errorf("defaults not applied: %+v", s)
	}
}

func TestLoadBadDotEnv(t *testing.T) {
	freshDotEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("A='unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load[Core]()
	if err == nil || !strings.Contains(err.Error(), "config: .env line 1:") {
		t.Fatalf("Load error = %v, want it to name .env and the line", err)
	}
}

// TestLoadBadDotEnvLine: a .env that does not parse is reported in one line that names the
// file and the line, and never shows a value: godotenv's own errors quote the value of an
// unclosed quote, or the whole rest of the file, secrets included.
func TestLoadBadDotEnvLine(t *testing.T) {
	tests := []struct {
		name, file string
		want       string
	}{
		{"unclosed quote", "A=1\n# comment\nJWT_SECRET='hunter2\nB=2\n",
			"config: .env line 3: the value of JWT_SECRET opens a quote that is never closed; fix the line or delete the file"},
		{"dash in name", "A=1\nFOO-BAR=1\nSECRET=hunter2\n",
			`config: .env line 2: "-" is not allowed in a variable name (use letters, digits, _ and .); fix the line or delete the file`},
		{"no equals sign", "export A=1\r\n\r\nhunter2\r\nSECRET=hunter2\r\n",
			`config: .env line 3: no "=" after the variable name; fix the line or delete the file`},
		{"multi-line value before the bad line", "A=\"x\ny\"\nB='open\n",
			"config: .env line 3: the value of B opens a quote that is never closed; fix the line or delete the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			freshDotEnv(t)
			dir := t.TempDir()
			t.Chdir(dir)
			if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load[Core]()
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if err.Error() != tt.want {
				t.Errorf("Load error =\n  %s\nwant\n  %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Load error shows a value from the file: %s", err)
			}
		})
	}
}

func TestLoadNotStruct(t *testing.T) {
	freshDotEnv(t)
	t.Chdir(t.TempDir())
	if _, err := Load[int](); err == nil {
		t.Fatal("Load[int] succeeded, want an error")
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	r := registry.New()
	registry.Contribute(r, "zeta", Declare[sample]())
	registry.Contribute(r, CoreOwner, Declare[Core]())
	registry.Contribute(r, "alpha", Declare[struct {
		A string `env:"ALPHA_A" envDefault:"a" doc:"A."`
		B string `env:"-"`
	}]())

	var names []string
	for _, s := range Settings(r) {
		names = append(names, s.Owner+"/"+s.Name)
	}
	want := "core/APP_ENV core/LOG_LEVEL core/LOG_FORMAT core/APP_RELEASE_START_PAGES alpha/ALPHA_A zeta/TEST_PORT zeta/TEST_TIMEOUT zeta/TEST_DEBUG zeta/TEST_NAME zeta/TEST_NESTED_SIZE"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Settings =\n %s\nwant\n %s", got, want)
	}
	settings := Settings(r)
	if settings[0].Default != "development" || !strings.Contains(settings[0].Doc, "production") {
		t.Errorf("APP_ENV setting = %+v, want default and doc from tags", settings[0])
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestDeclarationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		add  func(r *registry.Registry)
		want string
	}{
		{"owner twice", func(r *registry.Registry) {
			registry.Contribute(r, "zeta", Declare[sample]())
			registry.Contribute(r, "zeta", Declare[sample]())
		}, "duplicate name"},
		{"not a struct", func(r *registry.Registry) {
			registry.Contribute(r, "broken", Declare[int]())
		}, "settings must be a struct type, got int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			tt.add(r)
			if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "config_test.go:") {
				t.Errorf("Validate() = %v, want %q with the file:line", err, tt.want)
			}
		})
	}
}

func TestLoader(t *testing.T) {
	freshDotEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("LOG_LEVEL", "debug")
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error { return registry.Provide(r, Loader[Core]) })
	if got := registry.MustGet[Core](c); got.LogLevel != "debug" || got.Env != EnvDevelopment {
		t.Errorf("Core = %+v, want LOG_LEVEL from the environment and defaults", got)
	}
}

func TestDefaultHasCore(t *testing.T) {
	t.Parallel()
	found := map[string]bool{}
	for _, s := range Settings(registry.Default) {
		found[s.Name] = true
	}
	for _, n := range []string{"APP_ENV", "LOG_LEVEL", "LOG_FORMAT"} {
		if !found[n] {
			t.Errorf("Settings() lacks %s", n)
		}
	}
}
