package config

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

func TestDefault(t *testing.T) {
	type opts struct {
		Name    string
		Count   int
		Timeout time.Duration
	}
	tests := []struct {
		name string
		in   opts
		want opts
	}{
		{"zero fields take the default", opts{}, opts{"d", 3, time.Second}},
		{"set fields stay", opts{"mine", 7, time.Minute}, opts{"mine", 7, time.Minute}},
		{"negative is not zero", opts{Count: -1}, opts{"d", -1, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			Default(&got.Name, "d")
			Default(&got.Count, 3)
			Default(&got.Timeout, time.Second)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

type provided struct {
	Greeting string `env:"TEST_PROVIDE_GREETING" envDefault:"hello" doc:"Greeting."`
}

func TestProvide(t *testing.T) {
	t.Run("settings reach constructors and the listing", func(t *testing.T) {
		r := registry.New()
		if err := Provide[provided](r, "greeter"); err != nil {
			t.Fatal(err)
		}
		var got provided
		c := registrytest.Start(t, r, func(r *registry.Registry) error {
			return registry.Provide1(r, func(_ context.Context, s provided) (*strings.Builder, error) {
				got = s
				return &strings.Builder{}, nil
			}, registry.Name("greeter"))
		})
		if _, err := registry.Get[*strings.Builder](c); err != nil {
			t.Fatal(err)
		}
		if got.Greeting != "hello" {
			t.Errorf("constructor got %+v, want the default greeting", got)
		}
		var names []string
		for _, s := range Settings(r) {
			names = append(names, s.Name)
		}
		if !strings.Contains(strings.Join(names, ","), "TEST_PROVIDE_GREETING") {
			t.Errorf("Settings lists %v, want TEST_PROVIDE_GREETING", names)
		}
	})
	t.Run("a second declaration names the caller's lines", func(t *testing.T) {
		r := registry.New()
		_, file, line, _ := runtime.Caller(0)
		_ = Provide[provided](r, "greeter")
		_ = Provide[sample](r, "greeter")
		_, err := r.Build()
		if !errors.Is(err, registry.ErrDuplicateContribution) {
			t.Fatalf("err = %v, want a duplicate contribution", err)
		}
		for _, l := range []int{line + 1, line + 2} {
			if want := file + ":" + strconv.Itoa(l); !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %s: %v", want, err)
			}
		}
	})
}
