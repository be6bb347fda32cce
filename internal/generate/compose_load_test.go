package generate

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/aegisgo/aegis/internal/catalog"
)

// TestComposeLoads loads each rendered docker-compose.yml with the Compose specification's own
// loader (compose-go, what docker compose itself runs: schema validation, interpolation and its
// consistency checks), in a folder holding the .env aegis init writes, and checks what the
// loader does not: every depends_on names a service, the app gets only settings some part
// registers (or OpenTelemetry variables .env.example documents), no two services publish the
// same host port, named volumes and configs are declared, and healthchecks run commands their
// image has (the app's distroless image has no shell, only the binary's health probe).
func TestComposeLoads(t *testing.T) {
	all := catalog.Request{}
	for _, e := range catalog.Default.Entries {
		switch {
		case !e.Available():
		case e.Kind == catalog.KindComponent:
			all.Components = append(all.Components, e.Name)
		default:
			all.Services = append(all.Services, e.Name)
		}
	}
	tests := []struct {
		name     string
		req      catalog.Request // resolved as aegis init does: always-on parts and requirements added
		services []string        // every service the file runs
		noDotEnv bool            // load without the .env aegis init writes
		wantErr  string          // the loader refuses, saying this
	}{
		{name: "base app", req: catalog.Request{}, services: []string{"app"}},
		// .env is optional for the app (env_file required: false): a fresh clone starts.
		{name: "base app without .env", req: catalog.Request{}, noDotEnv: true, services: []string{"app"}},
		{name: "database on PostgreSQL", req: catalog.Request{Components: []string{"database"}}, services: []string{"app", "postgres"}},
		{name: "cache", req: catalog.Request{Components: []string{"cache"}}, services: []string{"app", "redis"}},
		{name: "comms", req: catalog.Request{Services: []string{"comms"}}, services: []string{"app", "mailpit"}},
		{name: "observability", req: catalog.Request{Components: []string{"observability"}}, services: []string{"app", "jaeger", "prometheus"}},
		// Production refuses to start without AUTH_SECRET: compose says so up front instead of
		// restarting a failing app forever.
		{name: "auth", req: catalog.Request{Services: []string{"auth"}}, services: []string{"app", "postgres"}},
		{name: "auth without .env", req: catalog.Request{Services: []string{"auth"}}, noDotEnv: true, wantErr: "set AUTH_SECRET in .env"},
		{name: "observability without .env", req: catalog.Request{Components: []string{"observability"}}, noDotEnv: true, wantErr: "set METRICS_TOKEN in .env"},
		{name: "everything without .env", req: all, noDotEnv: true, wantErr: "set METRICS_TOKEN in .env"},
		{name: "everything", req: all, services: []string{"app", "jaeger", "mailpit", "postgres", "prometheus", "redis"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := catalog.Default.Resolve(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			proj, err := Render(Params{Name: "shop", Module: "example.com/shop", Selection: res.Selection, SkipModules: true})
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for _, f := range proj.Files {
				files[f.Path] = string(f.Data)
			}
			dir := t.TempDir()
			write := func(name, data string) {
				t.Helper()
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write("docker-compose.yml", files["docker-compose.yml"])
			dotEnv := map[string]bool{}
			var secrets []string
			if !tt.noDotEnv {
				data, added, err := proj.DotEnv(nil, false)
				if err != nil {
					t.Fatal(err)
				}
				secrets = added
				// Each secret aegis init writes is one production refuses to run without (or
				// with the placeholder): compose must refuse to start with it missing from .env,
				// naming it, rather than start an app that exits and restarts forever.
				for _, name := range secrets {
					var rest strings.Builder
					for line := range strings.Lines(string(data)) {
						if !strings.HasPrefix(line, name+"=") {
							rest.WriteString(line)
						}
					}
					write(".env", rest.String())
					want := "set " + name + " in .env"
					if _, err := loadCompose(t.Context(), dir); err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("without %s in .env, load: got %v, want an error saying %q", name, err, want)
					}
				}
				write(".env", string(data))
				for _, n := range envNames(data) {
					dotEnv[n] = true
				}
			}

			loaded, err := loadCompose(t.Context(), dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("load: got %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("docker-compose.yml does not load: %v\n%s", err, files["docker-compose.yml"])
			}
			if got := loaded.ServiceNames(); !slices.Equal(got, tt.services) {
				t.Errorf("services: got %v, want %v", got, tt.services)
			}

			settings := map[string]bool{}
			for _, s := range settingsOf([]byte(files[refEnvExample])) {
				settings[s.Name] = true
			}
			otelDocumented := regexp.MustCompile(`\bOTEL_[A-Z0-9_]+\b`).FindAllString(files[refEnvExample], -1)
			hostPorts := map[string]string{}
			for _, name := range loaded.ServiceNames() {
				svc := loaded.Services[name]
				for dep, cond := range svc.DependsOn {
					target, ok := loaded.Services[dep]
					if !ok {
						t.Errorf("%s depends on %q, which is no service", name, dep)
						continue
					}
					// docker compose up fails when it waits for the health of a container that
					// has no healthcheck; the loader does not see it. The app's image has one.
					hasCheck := target.HealthCheck != nil && !target.HealthCheck.Disable && len(target.HealthCheck.Test) > 0 ||
						target.HealthCheck == nil && target.Build != nil
					if cond.Condition == types.ServiceConditionHealthy && !hasCheck {
						t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
					}
				}
				for _, p := range svc.Ports {
					if p.Published == "" {
						continue
					}
					key := p.HostIP + ":" + p.Published + "/" + p.Protocol
					if other, ok := hostPorts[key]; ok {
						t.Errorf("%s and %s both publish host port %s", other, name, key)
					}
					hostPorts[key] = name
				}
				for _, v := range svc.Volumes {
					if v.Type == types.VolumeTypeVolume && v.Source != "" {
						if _, ok := loaded.Volumes[v.Source]; !ok {
							t.Errorf("%s mounts volume %q, which volumes: does not declare", name, v.Source)
						}
					}
				}
				for _, c := range svc.Configs {
					if _, ok := loaded.Configs[c.Source]; !ok {
						t.Errorf("%s uses config %q, which configs: does not declare", name, c.Source)
					}
				}
				if hc := svc.HealthCheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] == "CMD-SHELL" && !imageHasShell(svc.Image) {
					t.Errorf("%s's healthcheck %q needs a shell, which image %s has not", name, hc.Test, svc.Image)
				}
			}

			app := loaded.Services["app"]
			for k := range app.Environment {
				documentedOTel := strings.HasPrefix(k, "OTEL_") && slices.Contains(otelDocumented, k)
				if !settings[k] && !documentedOTel {
					t.Errorf("the app gets %s, which no part registers as a setting (.env.example)", k)
				}
			}
			for k := range dotEnv {
				if _, ok := app.Environment[k]; !ok {
					t.Errorf("the app does not get %s from .env", k)
				}
			}
			// The app's image is distroless: its healthcheck, the Dockerfile's or compose's,
			// can only run the binary itself, and the two must say the same.
			want := dockerfileHealthcheck(t, files["Dockerfile"])
			if probe := []string{"/app/shop", "health", "probe"}; !slices.Equal(want, probe) {
				t.Errorf("the Dockerfile's HEALTHCHECK runs %q, want %q", want, probe)
			}
			if hc := app.HealthCheck; hc != nil && !hc.Disable && !slices.Equal(hc.Test, append(types.HealthCheckTest{"CMD"}, want...)) {
				t.Errorf("compose's app healthcheck %q differs from the Dockerfile's CMD %q", hc.Test, want)
			}
		})
	}
}

// loadCompose loads dir/docker-compose.yml as docker compose up would from dir: .env there
// for interpolation, and no variable from this process's environment.
func loadCompose(ctx context.Context, dir string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions(nil,
		cli.WithWorkingDirectory(dir),
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithName("shop"),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// imageHasShell reports whether a service's image is known to have /bin/sh for a CMD-SHELL
// healthcheck: the official Debian-based postgres and redis images do, the app's distroless
// one does not, and any other image must be added here once checked.
func imageHasShell(image string) bool {
	name, _, _ := strings.Cut(image, ":")
	return slices.Contains([]string{"postgres", "redis"}, name)
}

// dockerfileHealthcheck returns the exec form of the Dockerfile's HEALTHCHECK CMD.
func dockerfileHealthcheck(t *testing.T, dockerfile string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^HEALTHCHECK [^\n]*\\\n\s+CMD \[(.*)\]$`).FindStringSubmatch(dockerfile)
	if m == nil {
		t.Fatalf("Dockerfile has no exec-form HEALTHCHECK:\n%s", dockerfile)
	}
	var cmd []string
	for _, f := range strings.Split(m[1], ",") {
		cmd = append(cmd, strings.Trim(strings.TrimSpace(f), `"`))
	}
	return cmd
}

// TestComposeLoaderValidates: loadCompose refuses what the compose specification's schema
// refuses, so TestComposeLoads's "it loads" means the file is valid Compose.
func TestComposeLoaderValidates(t *testing.T) {
	dir := t.TempDir()
	bad := "services:\n  app:\n    image: app\n    restart_policy: always\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCompose(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "restart_policy") {
		t.Errorf("a service with an unknown key loaded: %v", err)
	}
}
