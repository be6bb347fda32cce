package config

import (
	"testing"
	"time"
)

func TestRangeChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string // "" for nil
	}{
		{"positive duration", Positive("T", time.Second, "fix"), ""},
		{"zero duration", Positive("T", time.Duration(0), "use 5s"), `config: T="0s" must be positive; use 5s`},
		{"negative size", Positive("N", int64(-1), "use 1"), `config: N="-1" must be positive; use 1`},
		{"at least, equal", AtLeast("N", 1, 1, "fix"), ""},
		{"at least, below", AtLeast("N", uint8(0), 1, "use 1"), `config: N="0" must be at least 1; use 1`},
		{"at least, duration", AtLeast("D", time.Microsecond, time.Millisecond, "use 1s"), `config: D="1µs" must be at least 1ms; use 1s`},
		{"not negative, zero", NotNegative("D", time.Duration(0), "fix"), ""},
		{"not negative, below", NotNegative("D", -time.Second, "use 2s"), `config: D="-1s" must not be negative; use 2s`},
		{"in range", InRange("P", 65535, 0, 65535, "fix"), ""},
		{"out of range", InRange("P", 70000, 0, 65535, "use a port"), `config: P="70000" is out of range; use a port`},
	}
	for _, tt := range tests {
		got := ""
		if tt.err != nil {
			got = tt.err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A value quoted in a message never shows a URL's password, whether the URL parses or not.
func TestInvalidHidesPassword(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ value, want string }{
		{"x://u:hunter2@h:1/", `"x://u:xxxxx@h:1/"`},
		{"https://ops:hunter2@app.example.com/%zz", `"https://ops:xxxxx@app.example.com/%zz"`},
		{"ops:hunter2@db:5432", `"ops:xxxxx@db:5432"`},
		{"https://app.example.com/a:b@c", `"https://app.example.com/a:b@c"`},
		{"https://app.example.com/login", `"https://app.example.com/login"`},
		{"verbose", `"verbose"`},
	} {
		got := Invalid("BASE_URL", tt.value, "is not valid", "fix it").Error()
		if want := "config: BASE_URL=" + tt.want + " is not valid; fix it"; got != want {
			t.Errorf("%q: got %q, want %q", tt.value, got, want)
		}
	}
}
