package ai

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Provider kinds.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
	// ProviderLocal is any OpenAI-compatible server reached by AI_LOCAL_BASE_URL: Ollama,
	// llama.cpp's server, vLLM, LM Studio.
	ProviderLocal = "local"
)

// DefaultProfile is the name of the profile AI_PROVIDER and AI_MODEL describe.
const DefaultProfile = "default"

// Defaults of Settings; the env tags below repeat them as text.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultLocalBaseURL     = "http://localhost:11434/v1"
	DefaultTimeout          = 5 * time.Minute
	DefaultMaxPromptBytes   = 32 << 10
	DefaultMaxOutputTokens  = 1024
	DefaultDailyTokenQuota  = 200_000
	DefaultHistoryMessages  = 50
)

// Settings configure the ai service. The container loads them from the environment (and
// .env); a literal needs WithDefaults. The zero value has no provider: the app starts, the
// health check says "not configured" and the endpoints answer 503 with how to fix it.
type Settings struct {
	Provider         string        `env:"AI_PROVIDER" envDefault:"" doc:"Provider of the default profile: openai, anthropic or local (an OpenAI-compatible server such as Ollama, llama.cpp or vLLM); empty leaves the ai service unconfigured (its endpoints answer 503)."`
	Model            string        `env:"AI_MODEL" envDefault:"" doc:"Model of the default profile, such as gpt-4o-mini, claude-sonnet-4-5 or llama3.2; required with AI_PROVIDER."`
	Profiles         string        `env:"AI_PROFILES" envDefault:"" doc:"More named profiles, comma-separated name=provider/model (summary=openai/gpt-4.1-nano,offline=local/llama3.2); a request picks one by name."`
	OpenAIKey        string        `env:"AI_OPENAI_API_KEY" doc:"OpenAI API key, required when a profile uses openai; keep it in your secret store."`
	OpenAIBaseURL    string        `env:"AI_OPENAI_BASE_URL" envDefault:"https://api.openai.com/v1" doc:"Root of the OpenAI API (change it for a proxy or Azure-style gateway speaking the same API)."`
	AnthropicKey     string        `env:"AI_ANTHROPIC_API_KEY" doc:"Anthropic API key, required when a profile uses anthropic; keep it in your secret store."`
	AnthropicBaseURL string        `env:"AI_ANTHROPIC_BASE_URL" envDefault:"https://api.anthropic.com" doc:"Root of the Anthropic API."`
	LocalBaseURL     string        `env:"AI_LOCAL_BASE_URL" envDefault:"http://localhost:11434/v1" doc:"Root of the OpenAI-compatible server of the local provider (Ollama: http://localhost:11434/v1; llama.cpp and vLLM: http://localhost:8080/v1)."`
	LocalKey         string        `env:"AI_LOCAL_API_KEY" doc:"Bearer token of the local server, if it wants one."`
	Timeout          time.Duration `env:"AI_TIMEOUT" envDefault:"5m" doc:"Longest one provider call may take, a whole streamed answer included."`
	MaxPromptBytes   int           `env:"AI_MAX_PROMPT_BYTES" envDefault:"32768" doc:"Largest prompt (and system prompt) a request may send; larger ones get 422 (the whole body is also bounded by MAX_BODY_BYTES)."`
	MaxOutputTokens  int64         `env:"AI_MAX_OUTPUT_TOKENS" envDefault:"1024" doc:"Most tokens of one answer, when the request does not ask for fewer."`
	DailyTokenQuota  int64         `env:"AI_DAILY_TOKEN_QUOTA" envDefault:"200000" doc:"Tokens (input and output) one user may spend per UTC day through the API, with the auth service; past it requests get 429. 0 means no quota."`
	HistoryMessages  int           `env:"AI_HISTORY_MESSAGES" envDefault:"50" doc:"Most earlier messages of a conversation sent with a new prompt (the latest ones)."`
	AccessToken      string        `env:"AI_ACCESS_TOKEN" doc:"Without the auth service, the bearer token the /api/v1/ai endpoints require; empty leaves them open outside production and refuses them in production (with auth they need a user's access token instead)."`
	Prices           string        `env:"AI_PRICES" envDefault:"" doc:"Prices overriding or adding to the shipped table, in USD per million tokens: model=input/output, optionally /cache_read/cache_write for prompt-cache tokens (else priced as input), comma-separated (my-model=0.5/1.5, my-claude=3/15/0.3/3.75)."`
}

// WithDefaults returns a copy of s with every zero field set to its default.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.OpenAIBaseURL, DefaultOpenAIBaseURL)
	config.Default(&s.AnthropicBaseURL, DefaultAnthropicBaseURL)
	config.Default(&s.LocalBaseURL, DefaultLocalBaseURL)
	config.Default(&s.Timeout, DefaultTimeout)
	config.Default(&s.MaxPromptBytes, DefaultMaxPromptBytes)
	config.Default(&s.MaxOutputTokens, DefaultMaxOutputTokens)
	config.Default(&s.HistoryMessages, DefaultHistoryMessages)
	return s
}

// Profile is one named configuration: a provider and a model.
type Profile struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

var profileName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ProfileList returns the profiles the settings describe, the default one first.
func (s Settings) ProfileList() ([]Profile, error) {
	var out []Profile
	var errs []error
	if s.Provider != "" || s.Model != "" {
		out = append(out, Profile{Name: DefaultProfile, Provider: strings.TrimSpace(s.Provider), Model: strings.TrimSpace(s.Model)})
	}
	for item := range strings.SplitSeq(s.Profiles, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, spec, ok := strings.Cut(item, "=")
		provider, model, ok2 := strings.Cut(spec, "/")
		name, provider, model = strings.TrimSpace(name), strings.TrimSpace(provider), strings.TrimSpace(model)
		if !ok || !ok2 || !profileName.MatchString(name) {
			errs = append(errs, config.Invalid("AI_PROFILES", item, "is not name=provider/model with a lowercase name", "use entries such as summary=openai/gpt-4.1-nano"))
			continue
		}
		if slices.ContainsFunc(out, func(p Profile) bool { return p.Name == name }) {
			errs = append(errs, config.Invalid("AI_PROFILES", item, "names profile "+name+" twice (default is AI_PROVIDER's)", "give each profile its own name"))
			continue
		}
		out = append(out, Profile{Name: name, Provider: provider, Model: model})
	}
	return out, errors.Join(errs...)
}

// Validate reports every invalid field, naming its variable.
func (s Settings) Validate() error {
	profiles, err := s.ProfileList()
	errs := []error{err}
	keyless := map[string][]string{} // provider kind: the profiles that need its missing key
	for _, p := range profiles {
		where := "AI_PROFILES"
		if p.Name == DefaultProfile {
			where = "AI_PROVIDER"
		}
		if p.Name == DefaultProfile && p.Provider == "" {
			// AI_MODEL without AI_PROVIDER: name the missing half, not an "invalid" empty value.
			errs = append(errs, config.Invalid("AI_MODEL", p.Model, "needs AI_PROVIDER", "set AI_PROVIDER to openai, anthropic or local"))
			continue
		}
		if err := config.OneOf(where, p.Provider, ProviderOpenAI, ProviderAnthropic, ProviderLocal); err != nil {
			errs = append(errs, err)
			continue
		}
		if p.Model == "" {
			errs = append(errs, config.Invalid(map[bool]string{true: "AI_MODEL", false: "AI_PROFILES"}[p.Name == DefaultProfile], "",
				"is empty for profile "+p.Name, "name a model such as gpt-4o-mini, claude-sonnet-4-5 or llama3.2"))
		}
		if (p.Provider == ProviderOpenAI || p.Provider == ProviderAnthropic) && s.key(p.Provider) == "" {
			keyless[p.Provider] = append(keyless[p.Provider], p.Name)
		}
	}
	// One line per missing key, naming every profile that needs it: the same fix repeated
	// for each profile of a provider hid the other errors.
	for _, k := range []struct{ provider, setting, fix string }{
		{ProviderOpenAI, "AI_OPENAI_API_KEY", "set it to a key from platform.openai.com/api-keys"},
		{ProviderAnthropic, "AI_ANTHROPIC_API_KEY", "set it to a key from console.anthropic.com"},
	} {
		switch names := keyless[k.provider]; len(names) {
		case 0:
		case 1:
			errs = append(errs, config.InvalidSecret(k.setting, "is empty and profile "+names[0]+" uses "+k.provider, k.fix))
		default:
			errs = append(errs, config.InvalidSecret(k.setting, "is empty and profiles "+strings.Join(names, ", ")+" use "+k.provider, k.fix))
		}
	}
	// Each example is that provider's own root: Ollama's local URL is no model for Anthropic's.
	for _, u := range []struct{ kind, example string }{
		{ProviderOpenAI, DefaultOpenAIBaseURL}, {ProviderAnthropic, DefaultAnthropicBaseURL}, {ProviderLocal, DefaultLocalBaseURL},
	} {
		// The key goes in the provider's key setting: in the URL it would show in logs.
		rules := config.HTTPURL{Fix: "use a URL such as " + u.example, AllowQuery: true}
		errs = append(errs, rules.Check(baseURLSetting(u.kind), s.baseURL(u.kind)))
	}
	if _, err := parsePrices(s.Prices); err != nil {
		errs = append(errs, config.Invalid("AI_PRICES", s.Prices, err.Error(), "use model=input/output[/cache_read/cache_write] in USD per million tokens, such as my-model=0.5/1.5"))
	}
	errs = append(errs,
		config.Positive("AI_TIMEOUT", s.Timeout, "use a duration such as 5m"),
		config.InRange("AI_MAX_PROMPT_BYTES", s.MaxPromptBytes, 1, 1<<20, "use a size in bytes up to 1048576, such as 32768"),
		config.InRange("AI_MAX_OUTPUT_TOKENS", s.MaxOutputTokens, 1, 1<<20, "use a count such as 1024"),
		config.NotNegative("AI_DAILY_TOKEN_QUOTA", s.DailyTokenQuota, "use a count such as 200000, or 0 for no quota"),
		config.InRange("AI_HISTORY_MESSAGES", s.HistoryMessages, 1, 1000, "use a count such as 50"),
	)
	return errors.Join(errs...)
}

// baseURL returns the root of a provider kind's API.
func (s Settings) baseURL(kind string) string {
	switch kind {
	case ProviderOpenAI:
		return s.OpenAIBaseURL
	case ProviderAnthropic:
		return s.AnthropicBaseURL
	}
	return s.LocalBaseURL
}

// key returns a provider kind's API key.
func (s Settings) key(kind string) string {
	switch kind {
	case ProviderOpenAI:
		return s.OpenAIKey
	case ProviderAnthropic:
		return s.AnthropicKey
	}
	return s.LocalKey
}

// String describes the settings without their keys, for logs and panics that never happen.
func (s Settings) String() string {
	return fmt.Sprintf("ai.Settings{Provider:%q Model:%q Profiles:%q keys redacted}", s.Provider, s.Model, s.Profiles)
}
