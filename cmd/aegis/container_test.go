package main

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

// TestContainerRecipe runs the generated Dockerfile's recipe without a Docker engine (none on
// the machines we test on): the build stage's RUN command as written, the final stage's
// layout (/app holding the binary and a writable data/), its ENV and nothing of the host's
// environment, ENTRYPOINT + CMD, and the HEALTHCHECK command until it passes. The settings a
// deployment adds (.env through compose's env_file, a database and Redis) come on top, as they
// would. What this cannot check: the base images and Docker's own behaviour.
func TestContainerRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("the container recipe test builds a whole project; run without -short")
	}
	dir, _ := buildEverything(t)
	df, err := parseDockerfile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}

	// Build stage: the RUN that builds, with /out moved into a temp folder.
	root := t.TempDir()
	out := filepath.Join(root, "out")
	var build string
	for _, r := range df.run {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	if build == "" || !strings.Contains(build, "CGO_ENABLED=0") {
		t.Fatalf("the Dockerfile has no static go build step: %q", df.run)
	}
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(build, "/out", out))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VERSION=1.2.3", "COMMIT=abc1234", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("RUN %s: %v\n%s", build, err, b)
	}

	// Final stage: /app with the binary and data/, as the COPY lines put them.
	if len(df.entrypoint) != 1 || !strings.HasPrefix(df.entrypoint[0], "/app/") {
		t.Fatalf("ENTRYPOINT %q, want the binary under /app", df.entrypoint)
	}
	name := strings.TrimPrefix(df.entrypoint[0], "/app/")
	for _, want := range []string{"COPY --from=build /out/" + name + " /app/" + name, "COPY --from=build --chown=nonroot:nonroot /out/data /app/data", "USER nonroot:nonroot"} {
		if !strings.Contains(df.text, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	app := filepath.Join(root, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(app, name)
	if err := os.Rename(filepath.Join(out, name), bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(out, "data"), filepath.Join(app, "data")); err != nil {
		t.Fatalf("the build stage made no data folder: %v", err)
	}
	if f, err := elf.Open(bin); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary is dynamically linked; distroless/static has no libc")
			}
		}
		f.Close()
	}
	container := func(args []string) []string { // /app/x -> the temp app folder
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.Replace(a, "/app/", app+"/", 1)
		}
		return out
	}

	// Settings: the image's ENV, then .env (compose's env_file), then the deployment's own.
	values, err := godotenv.Read(filepath.Join(dir, ".env"))
	if err != nil {
		t.Fatal(err)
	}
	var dotenv []string
	for k, v := range values {
		dotenv = append(dotenv, k+"="+v)
	}
	port := freePort(t)
	envFor := func(extra ...string) []string {
		env := []string{"PATH=/usr/bin:/bin"} // nothing else of the host's
		env = append(env, df.env...)
		env = append(env, dotenv...)
		return append(env, append([]string{"PORT=" + strconv.Itoa(port)}, extra...)...)
	}
	// .dockerignore keeps .git out of the build, so the commit comes from COMMIT too.
	if v := runIn(t, app, envFor(), append(container(df.entrypoint), "version")...); !strings.Contains(v, "1.2.3 (commit abc1234,") {
		t.Errorf("version = %q, want the VERSION and COMMIT build arguments 1.2.3 and abc1234", v)
	}

	deployments := map[string][]string{"embedded SQLite in data": nil}
	if url := os.Getenv("TEST_DATABASE_URL"); url != "" {
		deployments["PostgreSQL and Redis"] = []string{"DATABASE_URL=" + freshPostgres(t, url), "CACHE_URL=" + os.Getenv("TEST_REDIS_URL")}
	}
	for what, extra := range deployments {
		t.Run(what, func(t *testing.T) {
			env := envFor(extra...)
			entry := container(df.entrypoint)
			serve := exec.Command(entry[0], append(entry[1:], df.cmd...)...)
			serve.Dir, serve.Env = app, env
			// HEALTHCHECK, retried the way Docker retries it during the start period.
			check := container(df.healthcheck)
			stop := startProcess(t, serve, func() error {
				c := exec.Command(check[0], check[1:]...)
				c.Dir, c.Env = app, env
				if b, err := c.CombinedOutput(); err != nil {
					return fmt.Errorf("HEALTHCHECK %q: %v: %s", df.healthcheck, err, b)
				}
				return nil
			})
			if extra == nil {
				if _, err := os.Stat(filepath.Join(app, "data", "app.db")); err != nil {
					t.Errorf("the SQLite file is not in /app/data: %v", err)
				}
			}
			if out, err := stop(); err != nil {
				t.Errorf("serve exited with %v after SIGTERM\n%s", err, out)
			}
		})
	}
}

// dockerfile is what TestContainerRecipe reads of a Dockerfile.
type dockerfile struct {
	text            string
	run             []string // RUN commands, continuation lines joined
	env             []string // KEY=VALUE from ENV
	entrypoint, cmd []string // exec form
	healthcheck     []string // HEALTHCHECK ... CMD, exec form
}

func parseDockerfile(path string) (*dockerfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	df := &dockerfile{text: string(b)}
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(l, " "), "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		if line := strings.TrimSpace(cur.String()); line != "" {
			lines = append(lines, line)
		}
		cur.Reset()
	}
	execForm := func(s string) ([]string, error) {
		var v []string
		if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &v); err != nil {
			return nil, fmt.Errorf("%q is not in exec form: %w", s, err)
		}
		return v, nil
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		switch instr {
		case "RUN":
			df.run = append(df.run, rest)
		case "ENV":
			df.env = append(df.env, strings.Fields(rest)...)
		case "ENTRYPOINT":
			if df.entrypoint, err = execForm(rest); err != nil {
				return nil, err
			}
		case "CMD":
			if df.cmd, err = execForm(rest); err != nil {
				return nil, err
			}
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, " CMD ")
			if !ok {
				return nil, fmt.Errorf("HEALTHCHECK without CMD: %q", rest)
			}
			if df.healthcheck, err = execForm(c); err != nil {
				return nil, err
			}
		}
	}
	if df.entrypoint == nil || df.healthcheck == nil {
		return nil, fmt.Errorf("%s: no ENTRYPOINT or HEALTHCHECK", path)
	}
	return df, nil
}
