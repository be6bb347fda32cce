package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

type ttlSettings struct {
	AccessTTL time.Duration `env:"TEST_ACCESS_TTL" envDefault:"15m"`
	Retries   int           `env:"TEST_RETRIES" envDefault:"3"`
}

func (s ttlSettings) Validate() error {
	return errors.Join(
		Positive("TEST_ACCESS_TTL", s.AccessTTL, "use a duration such as 15m or 720h"),
		InRange("TEST_RETRIES", s.Retries, 1, 10, "use a number from 1 to 10"),
	)
}

// A bad setting reaches whoever starts the app as its own lines: quoted as typed, without the
// registry's "construct X (registered at ...)", and still an *Error to errors.As.
func TestSettingErrorsSurfaceAlone(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"the value as typed", map[string]string{"TEST_ACCESS_TTL": "-1m"},
			`config: TEST_ACCESS_TTL="-1m" must be positive; use a duration such as 15m or 720h`},
		{"several problems one a line", map[string]string{"TEST_ACCESS_TTL": "0s", "TEST_RETRIES": "42"},
			`config: TEST_ACCESS_TTL="0s" must be positive; use a duration such as 15m or 720h` + "\n" +
				`config: TEST_RETRIES="42" is out of range; use a number from 1 to 10`},
		{"a parse error", map[string]string{"TEST_RETRIES": "many"},
			`config: TEST_RETRIES="many" is not a valid whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_ACCESS_TTL", "")
			t.Setenv("TEST_RETRIES", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := registry.New()
			if err := Provide[ttlSettings](r, "test"); err != nil {
				t.Fatal(err)
			}
			c, err := r.Build()
			if err != nil {
				t.Fatal(err)
			}
			err = c.Start(t.Context())
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("Start:\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(err.Error(), "registry") {
				t.Errorf("Start: %q names the registry", err)
			}
			var ce *Error
			var se *registry.ServiceError
			if !errors.As(err, &ce) || !errors.As(err, &se) {
				t.Errorf("Start: %v: want both an *Error and the registry's *ServiceError", err)
			}
		})
	}
}
