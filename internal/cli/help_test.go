package cli

import (
	"strings"
	"testing"
)

// TestEveryCommandTeaches: each command's --help says what it does in full sentences and shows
// examples to copy, as a user reading only --help needs both.
func TestEveryCommandTeaches(t *testing.T) {
	var verbose bool
	root := newRoot(&Env{}, &verbose)
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Name() == "help" {
			continue
		}
		t.Run(cmd.Name(), func(t *testing.T) {
			r := run(t, Env{}, "", cmd.Name(), "--help")
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "Examples:\n  aegis "+cmd.Name()) {
				t.Errorf("help has no examples:\n%s", r.stdout)
			}
			if cmd.Long == "" {
				t.Errorf("help has no description beyond %q", cmd.Short)
			}
		})
	}
}
