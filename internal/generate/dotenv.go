package generate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// secretPlaceholder starts the value of every secret in .env.example: the app refuses to run in
// production with it, and DotEnv gives it a random value in the project's .env.
const secretPlaceholder = "change-me"

// dotEnvHeader starts a .env that aegis creates.
const dotEnvHeader = "# Local settings, written by aegis init or aegis add: never commit this file (.gitignore lists it).\n# Every other setting keeps its default from .env.example.\n"

// DotEnv returns the project's .env, given the folder's current one (exists reports whether
// there is one): a random value is appended for each secret of .env.example that .env does not
// set yet, and nothing else, so every other setting keeps its documented default. Values already
// in .env are never touched. added lists the secrets appended; when it is empty, data is nil and
// .env stays as it is. The file is local: it is never in the manifest, the base archive or git.
func (pr *Project) DotEnv(current []byte, exists bool) (data []byte, added []string, err error) {
	have := map[string]bool{}
	var out bytes.Buffer
	if exists {
		for _, n := range envNames(current) {
			have[n] = true
		}
		out.Write(current)
		if len(current) > 0 && current[len(current)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	for line := range strings.Lines(string(pr.envExample)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(name, "#") || !strings.HasPrefix(value, secretPlaceholder) || have[name] {
			continue
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, nil, fmt.Errorf("generate: random secret: %w", err)
		}
		if !exists && len(added) == 0 {
			out.WriteString(dotEnvHeader)
		}
		fmt.Fprintf(&out, "%s=%s\n", name, hex.EncodeToString(secret))
		added = append(added, name)
		have[name] = true
	}
	if len(added) == 0 {
		return nil, nil, nil
	}
	return out.Bytes(), added, nil
}

// Unread lists, in .env's order, the settings dotEnv sets that oldExample (the .env.example of
// the project before a change) declares and pr's .env.example does not: those of removed parts
// (or renamed ones), which the app no longer reads. The user's own settings are in neither.
func (pr *Project) Unread(dotEnv, oldExample []byte) []string {
	declared := func(data []byte) map[string]bool {
		m := map[string]bool{}
		for _, n := range envNames(data) {
			m[n] = true
		}
		return m
	}
	was, is := declared(oldExample), declared(pr.envExample)
	var out []string
	for _, n := range envNames(dotEnv) {
		if was[n] && !is[n] && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// envNames lists the settings a .env sets, "export NAME=" lines included.
func envNames(data []byte) []string {
	var names []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export "))
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(name, "#") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}
