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

// TestSettingsProfilesAndURLs: a missing key is one line naming every profile that needs it
// (it was one line per profile, the same fix repeated), and a bad base URL's example is that
// provider's own root (each suggested Ollama's http://localhost:11434/v1).
func TestSettingsProfilesAndURLs(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want string
	}{
		{"anthropic key for two profiles", Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5", Profiles: "cheap=anthropic/claude-haiku-4-5,oai=openai/gpt-4o-mini", OpenAIKey: "sk-x"},
			"config: AI_ANTHROPIC_API_KEY (value not shown) is empty and profiles default, cheap use anthropic; set it to a key from console.anthropic.com"},
		{"openai key for one profile", Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5", Profiles: "oai=openai/gpt-4o-mini", AnthropicKey: "sk-x"},
			"config: AI_OPENAI_API_KEY (value not shown) is empty and profile oai uses openai; set it to a key from platform.openai.com/api-keys"},
		{"anthropic base URL", Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5", AnthropicKey: "sk-x", AnthropicBaseURL: "127.0.0.1:8080"},
			`config: AI_ANTHROPIC_BASE_URL="127.0.0.1:8080" is not an absolute http(s) URL; use a URL such as https://api.anthropic.com`},
		{"openai base URL", Settings{Provider: ProviderOpenAI, Model: "gpt-4o-mini", OpenAIKey: "sk-x", OpenAIBaseURL: "api.openai.com"},
			`config: AI_OPENAI_BASE_URL="api.openai.com" is not an absolute http(s) URL; use a URL such as https://api.openai.com/v1`},
		{"credentials in a base URL", Settings{Provider: ProviderLocal, Model: "llama3.2", LocalBaseURL: "http://u:hunter2@localhost:11434/v1"},
			"config: AI_LOCAL_BASE_URL (value not shown) holds a user name or password; use a URL such as http://localhost:11434/v1"},
	} {
		err := tc.s.WithDefaults().Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
