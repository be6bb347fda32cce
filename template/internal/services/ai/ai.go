// Package ai is the ai service: chat with OpenAI, Anthropic and local models (any
// OpenAI-compatible server: Ollama, llama.cpp's server, vLLM, LM Studio) behind one Provider
// interface, through their official SDKs and the app's outbound HTTP client (one retry
// policy, circuit breakers, redacted logs).
//
// Named profiles (AI_PROVIDER/AI_MODEL, AI_PROFILES) pick a provider and a model; requests
// name one or take the default. POST /api/v1/ai/chat answers as JSON or, with stream: true,
// as Server-Sent Events; conversations and their messages are stored in the app's database,
// and every provider call is recorded in the usage ledger (ai_usage: tokens, latency, cost
// from a price table AI_PRICES can override), read by GET /api/v1/ai/usage and `<app> ai
// usage`. With no provider configured the app still starts: the health check says "not
// configured" and the endpoints answer 503 with how to fix it.
//
// The service works with the auth service through glue, so it names none of it: ai+auth
// (internal/services/aiauth) provides an Identity, so conversations and usage belong to
// users, the endpoints need an access token and AI_DAILY_TOKEN_QUOTA applies per user.
package ai

import (
	"embed"
	"errors"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the service's name in the catalog, in config and for migrations.
const Name = "ai"

//go:embed migrations
var migrationFiles embed.FS

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds the Service to r with its settings, migrations, routes, job task, panel and command. init() does it
// for registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, database.MigrationsFrom(migrationFiles))
	registry.Contribute(r, Name, backend.Routes(mount))
	registry.Contribute(r, Name, command.Builder(aiCommand))
	registry.Contribute(r, PanelName, frontend.Panel{Title: "AI", Render: renderPanel, PanelOpts: frontend.PanelOpts{Order: 55}})
	// One attempt may take AI_TIMEOUT (5m by default) and its bookkeeping.
	registry.Contribute(r, GenerateArgs{}.Kind(), worker.NewTask(runGenerate, &worker.TaskOpts{Timeout: 10 * time.Minute}))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide6(r, NewService, registry.Describe("chat with OpenAI, Anthropic and local models: conversations, streaming, usage ledger")),
		registry.Provide2(r, NewJobs, registry.Describe("AI generations as durable River jobs")),
	)
}
