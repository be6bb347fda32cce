package ai

import (
	"strings"
	"testing"
)

// TestSettingsProviderMissing: AI_MODEL (with or without a key) and no AI_PROVIDER is one
// line naming the fix (it read 'AI_PROVIDER="" is not valid'); a wrong provider still says
// it is not valid.
func TestSettingsProviderMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want string
	}{
		{"model only", Settings{Model: "gpt-4o-mini"},
			`config: AI_MODEL="gpt-4o-mini" needs AI_PROVIDER; set AI_PROVIDER to openai, anthropic or local`},
		{"model and key", Settings{Model: "gpt-4o-mini", OpenAIKey: "sk-x"},
			`config: AI_MODEL="gpt-4o-mini" needs AI_PROVIDER; set AI_PROVIDER to openai, anthropic or local`},
		{"wrong provider", Settings{Provider: "gemini", Model: "m"},
			`config: AI_PROVIDER="gemini" is not valid; use one of openai, anthropic, local`},
		{"key only", Settings{OpenAIKey: "sk-x"}, ""}, // not configured: the health check says how
	} {
		err := tc.s.WithDefaults().Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if strings.Contains(got, "sk-x") {
			t.Errorf("%s: the key is in %q", tc.name, got)
		}
	}
}
