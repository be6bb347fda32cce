package generate

import (
	"slices"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
)

// TestComposeObservability renders the real catalog's docker-compose.yml with and without the
// observability component: with it, the app sends traces to a Jaeger service and a Prometheus
// service scrapes /metrics with the app's token from an inline config; without it, none of
// that. No container engine: the pieces are checked as text, in order, at their indentation.
func TestComposeObservability(t *testing.T) {
	obsPieces := []string{
		"services:\n  app:\n",
		"    environment:\n",
		"      OTEL_EXPORTER_OTLP_ENDPOINT: http://jaeger:4318\n",
		"      OTEL_METRICS_EXPORTER: none\n",
		"      METRICS_TOKEN: ${METRICS_TOKEN:?set METRICS_TOKEN in .env, e.g. to the output of openssl rand -hex 32}\n",
		"    depends_on:\n",
		"      jaeger:\n        condition: service_started\n",
		"\n  jaeger:\n    image: jaegertracing/all-in-one:1.75.0\n",
		"      COLLECTOR_OTLP_ENABLED: \"true\"\n",
		"      - \"16686:16686\"\n      - \"4318:4318\"\n",
		"\n  prometheus:\n    image: prom/prometheus:",
		"      - source: prometheus\n        target: /etc/prometheus/prometheus.yml\n",
		"\nconfigs:\n",
		"  prometheus:\n    content: |\n",
		"          metrics_path: /metrics\n",
		"            credentials: ${METRICS_TOKEN:?set METRICS_TOKEN in .env, e.g. to the output of openssl rand -hex 32}\n",
		"            - targets: [\"app:8000\"]\n",
	}
	tests := []struct {
		name    string
		sel     catalog.Selection
		want    []string // in this order
		wantNot []string
	}{
		{
			name: "observability selected",
			sel:  catalog.Selection{Components: []string{"observability"}},
			want: obsPieces,
		},
		{
			name:    "observability with the database",
			sel:     catalog.Selection{Components: []string{"database", "observability"}},
			want:    []string{"      DATABASE_URL: ", "      OTEL_EXPORTER_OTLP_ENDPOINT: ", "      postgres:\n", "      jaeger:\n", "\n  postgres:\n", "\n  jaeger:\n", "\n  prometheus:\n", "\nvolumes:\n", "\nconfigs:\n"},
			wantNot: nil,
		},
		{
			name:    "observability not selected",
			sel:     catalog.Selection{},
			want:    []string{"services:\n  app:\n", "    restart: unless-stopped\n"},
			wantNot: []string{"OTEL_", "METRICS_TOKEN", "jaeger", "prometheus", "configs:", "depends_on:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compose := renderedFile(t, "shop", tt.sel, "docker-compose.yml")
			// YAML forbids tabs in indentation; a fragment indented with one breaks the file.
			if strings.Contains(compose, "\t") {
				t.Errorf("docker-compose.yml holds a tab:\n%s", compose)
			}
			rest := compose
			for _, p := range tt.want {
				i := strings.Index(rest, p)
				if i < 0 {
					t.Errorf("docker-compose.yml lacks, in this order, %q:\n%s", p, compose)
					break
				}
				rest = rest[i+len(p):]
			}
			for _, p := range tt.wantNot {
				if strings.Contains(compose, p) {
					t.Errorf("docker-compose.yml has %q:\n%s", p, compose)
				}
			}
		})
	}
}

// TestDotEnvMetricsToken: Compose reads METRICS_TOKEN from .env for the app and Prometheus
// (production needs 32 characters or more), so a project with observability gets a random
// one there from init, and one without gets none.
func TestDotEnvMetricsToken(t *testing.T) {
	for _, tt := range []struct {
		sel  catalog.Selection
		want bool
	}{
		{catalog.Selection{Components: []string{"observability"}}, true},
		{catalog.Selection{}, false},
	} {
		proj, err := Render(Params{Name: "shop", Module: "example.com/shop", Selection: tt.sel, SkipModules: true})
		if err != nil {
			t.Fatal(err)
		}
		data, added, err := proj.DotEnv(nil, false)
		if err != nil {
			t.Fatal(err)
		}
		value := ""
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "METRICS_TOKEN="); ok {
				value = v
			}
		}
		if got := slices.Contains(added, "METRICS_TOKEN"); got != tt.want || tt.want && (len(value) < 32 || strings.HasPrefix(value, "change-me")) {
			t.Errorf("%v: .env added %v, METRICS_TOKEN=%q", tt.sel.Components, added, value)
		}
	}
}

// renderedFile renders a project named name with sel from the shipped templates and returns
// its file at path; the test fails when there is none.
func renderedFile(t *testing.T, name string, sel catalog.Selection, path string) string {
	t.Helper()
	proj, err := Render(Params{Name: name, Module: "example.com/shop", Selection: sel, SkipModules: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range proj.Files {
		if f.Path == path {
			return string(f.Data)
		}
	}
	t.Fatalf("no %s rendered", path)
	return ""
}

// TestReadmeDeploy: what the README's Deploy section says of running the image alone.
//   - compose runs a database project on PostgreSQL, but the image on its own writes SQLite to
//     /app/data, lost with the container unless a volume is mounted there: the section says
//     how, with the image's name, only when there is a database;
//   - the worker and scheduler commands run from the image open no HTTP port, so its
//     HEALTHCHECK (health probe, which asks serve's) reports such a container unhealthy
//     forever: the section says to run them without it.
func TestReadmeDeploy(t *testing.T) {
	const volume = "`docker run -p 8000:8000 -v my_shop-data:/app/data my_shop`"
	for _, tt := range []struct {
		components    []string
		want, wantNot []string
	}{
		{[]string{"database", "worker", "scheduler"}, []string{
			volume,
			"`docker run --no-healthcheck my_shop worker`", "`WORKER_IN_PROCESS=false`",
			"`docker run --no-healthcheck my_shop scheduler`", "`SCHEDULER_IN_PROCESS=false`",
		}, nil},
		{[]string{"database", "worker"}, []string{volume, "`docker run --no-healthcheck my_shop worker`"}, []string{"my_shop scheduler`"}},
		{[]string{"database"}, []string{volume}, []string{"--no-healthcheck"}},
		{nil, nil, []string{volume, "--no-healthcheck"}},
	} {
		readme := renderedFile(t, "My_Shop", catalog.Selection{Components: tt.components}, "README.md")
		_, deploy, _ := strings.Cut(readme, "\n## Deploy\n")
		deploy, _, _ = strings.Cut(deploy, "\n## ")
		for _, w := range tt.want {
			if !strings.Contains(deploy, w) {
				t.Errorf("%v: Deploy section lacks %s:\n%s", tt.components, w, deploy)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(deploy, w) {
				t.Errorf("%v: Deploy section has %s:\n%s", tt.components, w, deploy)
			}
		}
	}
}
