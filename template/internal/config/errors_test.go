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
