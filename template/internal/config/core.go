package config

import (
	"errors"
	"log/slog"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// CoreOwner is the owner name of the settings every app has.
const CoreOwner = "core"

// Environments and log formats accepted by Core.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"

	FormatText = "text"
	FormatJSON = "json"
)

// Core holds the settings every app reads, whatever its components. The zero
// value (after Load fills defaults) is a development app logging text at info.
type Core struct {
	Env       string `env:"APP_ENV" envDefault:"development" doc:"Where the app runs: development or production."`
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info" doc:"Lowest log level written: debug, info, warn or error."`
	LogFormat string `env:"LOG_FORMAT" doc:"Log line format: text or json; empty means text in development, json in production."`
	// ReleaseStartPages: see package startpages and bench/RESULTS.md (issue 18, idle memory).
	ReleaseStartPages bool `env:"APP_RELEASE_START_PAGES" envDefault:"true" doc:"Once started, unmap the parts of the binary only start-up used (Linux): idle memory (RSS) drops by about half, and code that runs again is mapped back from the page cache on first use. false keeps them mapped."`
}

// Core is declared here and provided by the container that the app's commands build (it is
// parsed once, before the container, to set up logging).
func init() { registry.Contribute(registry.Default, CoreOwner, Declare[Core]()) }

// Validate reports every bad value at once.
func (c Core) Validate() error {
	errs := []error{
		OneOf("APP_ENV", c.Env, EnvDevelopment, EnvProduction),
		OneOf("LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error"),
	}
	if c.LogFormat != "" {
		errs = append(errs, OneOf("LOG_FORMAT", c.LogFormat, FormatText, FormatJSON))
	}
	return errors.Join(errs...)
}

// Production reports whether APP_ENV is production.
func (c Core) Production() bool { return c.Env == EnvProduction }

// Format returns the log format to use: LOG_FORMAT when set, otherwise json in
// production (log collectors parse it) and text in development (people read it).
func (c Core) Format() string {
	switch {
	case c.LogFormat != "":
		return c.LogFormat
	case c.Production():
		return FormatJSON
	default:
		return FormatText
	}
}

// Level returns LOG_LEVEL as a slog.Level; unknown values (which Validate
// rejects) fall back to info.
func (c Core) Level() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
