package generate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// secretPlaceholder starts the value of every secret in .env.example: the app refuses to run in
// production with it, and DotEnv replaces it with a random value in the project's .env.
const secretPlaceholder = "change-me"

// DotEnv returns the .env a new project starts with: one random value for each secret of its
// .env.example, and nothing else, so every other setting keeps its documented default. It returns
// nil when the selection has no secret. The file is local: it is never in the manifest or in git,
// and an existing one is never replaced.
func DotEnv(files []File) ([]byte, error) {
	var example []byte
	for _, f := range files {
		if f.Path == refEnvExample {
			example = f.Data
		}
	}
	var out bytes.Buffer
	for line := range strings.Lines(string(example)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(name, "#") || !strings.HasPrefix(value, secretPlaceholder) {
			continue
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("generate: random secret: %w", err)
		}
		if out.Len() == 0 {
			out.WriteString("# Local settings, written by aegis init: never commit this file (.gitignore lists it).\n# Every other setting keeps its default from .env.example.\n")
		}
		fmt.Fprintf(&out, "%s=%s\n", name, hex.EncodeToString(secret))
	}
	if out.Len() == 0 {
		return nil, nil
	}
	return out.Bytes(), nil
}
