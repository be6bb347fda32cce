package onboarding

import (
	"testing"

	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// pending --limit below 1 is a usage error naming the flag and what it takes, refused before
// any service starts (an empty registry is enough).
func TestPendingLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit string
		want  string
	}{
		{"0", "--limit must be 1 or more (got 0) (see 'app onboarding pending --help')"},
		{"-5", "--limit must be 1 or more (got -5) (see 'app onboarding pending --help')"},
	}
	for _, tt := range tests {
		t.Run(tt.limit, func(t *testing.T) {
			t.Parallel()
			_, _, err := commandtest.Run(t.Context(), registry.New(), onboardingCommand, "pending", "--limit", tt.limit)
			commandtest.WantUsage(t, err, tt.want)
		})
	}
}
