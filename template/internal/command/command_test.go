package command_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// engine records its lifecycle and the role and core settings it was built with.
type engine struct {
	role             command.Role
	env              string
	started, stopped atomic.Bool
	failStart        bool
}

func (e *engine) Start(context.Context) error {
	if e.failStart {
		return errors.New("cannot connect")
	}
	e.started.Store(true)
	return nil
}

func (e *engine) Stop(context.Context) error { e.stopped.Store(true); return nil }

func newEnv(t *testing.T, failStart bool) (*command.Env, *engine, *bytes.Buffer) {
	t.Helper()
	t.Chdir(t.TempDir()) // no stray .env
	e := &engine{failStart: failStart}
	r := registry.New()
	err := registry.Provide2(r, func(_ context.Context, role command.Role, core config.Core) (*engine, error) {
		e.role, e.env = role, core.Env
		return e, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &command.Env{Name: "app", Stdout: &logs, Stderr: &logs, Registry: r}, e, &logs
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		failStart bool
		end       func(cancel context.CancelFunc) // ends the run from outside
		runErr    error                           // what run returns
		wantErr   string
		wantRun   bool
	}{
		{name: "parent context ends", end: func(cancel context.CancelFunc) { cancel() }, wantRun: true},
		{name: "SIGTERM", end: func(context.CancelFunc) { _ = syscall.Kill(syscall.Getpid(), syscall.SIGTERM) }, wantRun: true},
		{name: "run fails", runErr: errors.New("listen: address in use"), wantErr: "listen: address in use", wantRun: true},
		{name: "start fails", failStart: true, wantErr: "cannot connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, e, logs := newEnv(t, tt.failStart)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ran := false
			err := env.Run(ctx, command.RoleServe, func(ctx context.Context, c *registry.Container, _ *slog.Logger) error {
				ran = true
				if !e.started.Load() || e.stopped.Load() {
					t.Error("run called before the services started or after they stopped")
				}
				if tt.runErr != nil {
					return tt.runErr
				}
				go tt.end(cancel)
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
					t.Error("the run's context did not end")
				}
				return nil
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Run = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Run = %v, want %q", err, tt.wantErr)
			}
			if ran != tt.wantRun {
				t.Errorf("run called: %v, want %v", ran, tt.wantRun)
			}
			if tt.wantRun && !e.stopped.Load() {
				t.Error("services not stopped after the run")
			}
			if e.role != command.RoleServe || e.env != config.EnvDevelopment {
				t.Errorf("built with role %q and APP_ENV %q, want serve and the default", e.role, e.env)
			}
			if tt.wantErr == "" && !strings.Contains(logs.String(), "msg=stopped") {
				t.Errorf("logs lack the stopped line:\n%s", logs)
			}
		})
	}
}

func TestWithService(t *testing.T) {
	env, e, _ := newEnv(t, false)
	err := command.WithService(t.Context(), env, func(_ context.Context, got *engine) error {
		if got != e || !got.started.Load() {
			t.Error("WithService did not pass the started service")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !e.stopped.Load() || e.role != command.RoleNone {
		t.Errorf("stopped %v, role %q; want stopped and no role", e.stopped.Load(), e.role)
	}
}

func TestBuildRejectsBadCoreSettings(t *testing.T) {
	env, _, _ := newEnv(t, false)
	t.Setenv("APP_ENV", "staging")
	if _, _, err := env.Build(command.RoleNone); err == nil || !strings.Contains(err.Error(), "APP_ENV") {
		t.Errorf("Build = %v, want the APP_ENV error", err)
	}
}

func TestAssemble(t *testing.T) {
	t.Parallel()
	named := func(name string) command.Builder {
		return func(*command.Env) *cobra.Command { return &cobra.Command{Use: name + " [flags]"} }
	}
	tests := []struct {
		name    string
		add     func(r *registry.Registry)
		want    []string // command names
		wantErr []string
	}{
		{"in registration order", func(r *registry.Registry) {
			registry.Contribute(r, "users", named("users"))
			registry.Contribute(r, "jobs", named("jobs"))
			registry.Contribute(r, "none", command.Builder(func(*command.Env) *cobra.Command { return nil }))
		}, []string{"users", "jobs"}, nil},
		{"twice", func(r *registry.Registry) {
			registry.Contribute(r, "jobs", named("jobs"))
			registry.Contribute(r, "jobs", named("jobs"))
		}, []string{"jobs"}, []string{`command "jobs" contributed twice`, "command_test.go:"}},
		{"misnamed", func(r *registry.Registry) {
			registry.Contribute(r, "job", named("jobs"))
		}, nil, []string{`command "job"`, `named "jobs"`}},
	}
	for _, tt := range tests {
		r := registry.New()
		tt.add(r)
		cmds, err := command.Assemble(&command.Env{Registry: r})
		var names []string
		for _, c := range cmds {
			names = append(names, c.Name())
		}
		if strings.Join(names, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: commands %v, want %v", tt.name, names, tt.want)
		}
		for _, w := range tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want %q", tt.name, err, w)
			}
		}
		if tt.wantErr == nil && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestUsageError(t *testing.T) {
	t.Parallel()
	root := &cobra.Command{Use: "app"}
	sub := &cobra.Command{Use: "jobs"}
	root.AddCommand(sub)
	err := command.UsageError(sub, "--limit must be from %d to %d", 1, 10)
	var u *command.Usage
	if !errors.As(err, &u) || err.Error() != "--limit must be from 1 to 10 (see 'app jobs --help')" {
		t.Errorf("UsageError = %v", err)
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args             []string
		wantOut, wantErr string
	}{
		{nil, "Usage:\n  app jobs", ""},
		{[]string{"nope"}, "", `unknown command "nope" for "app jobs" (see 'app jobs --help')`},
		{[]string{"list"}, "listed", ""},
		// A typo is answered with the subcommand meant, as the root command does.
		{[]string{"lsit"}, "", `unknown command "lsit" for "app jobs"; did you mean "list"? (see 'app jobs --help')`},
	}
	for _, tt := range tests {
		out, _, err := commandtest.Run(t.Context(), registry.New(), func(*command.Env) *cobra.Command {
			jobs := &cobra.Command{Use: "jobs", Short: "Jobs", Args: cobra.ArbitraryArgs, RunE: command.Group}
			jobs.AddCommand(&cobra.Command{Use: "list", Run: func(cmd *cobra.Command, _ []string) { cmd.Print("listed") }})
			return jobs
		}, tt.args...)
		var u *command.Usage
		if !strings.Contains(out, tt.wantOut) || (tt.wantErr == "") != (err == nil) || (err != nil && (err.Error() != tt.wantErr || !errors.As(err, &u))) {
			t.Errorf("%v: out %q, err %v; want out with %q, err %q", tt.args, out, err, tt.wantOut, tt.wantErr)
		}
	}
}

// A command without Args takes none (UsageArgs gives it NoArgs): a stray argument to a leaf
// is a usage error that says the command takes no arguments and shows what was given, not
// "unknown command", which sends the reader looking for a subcommand; a command with
// subcommands still answers an unknown one with the one most likely meant.
func TestNoArgsByDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"list"}, ""},
		{[]string{"list", "extra"}, `users list takes no arguments, got "extra" (see 'app users list --help')`},
		{[]string{"list", "a", "b c"}, `users list takes no arguments, got "a" "b c" (see 'app users list --help')`},
		{[]string{"roles", "show", "admin"}, `users roles show takes no arguments, got "admin" (see 'app users roles show --help')`},
		{[]string{"purge", "--dry-run", "now"}, `users purge takes no arguments, got "now" (see 'app users purge --help')`},
		// A leaf that says it takes none with cobra's NoArgs is answered the same way.
		{[]string{"count", "extra"}, `users count takes no arguments, got "extra" (see 'app users count --help')`},
		// A group still answers with "unknown command" and the subcommand meant.
		{[]string{"lsit"}, `unknown command "lsit" for "app users"; did you mean "list"? (see 'app users --help')`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := commandtest.Run(t.Context(), registry.New(), func(*command.Env) *cobra.Command {
				users := &cobra.Command{Use: "users", Args: cobra.ArbitraryArgs, RunE: command.Group}
				roles := &cobra.Command{Use: "roles"}
				roles.AddCommand(&cobra.Command{Use: "show", RunE: func(*cobra.Command, []string) error { return nil }})
				purge := &cobra.Command{Use: "purge", RunE: func(*cobra.Command, []string) error { return nil }}
				purge.Flags().Bool("dry-run", false, "")
				count := &cobra.Command{Use: "count", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
				users.AddCommand(&cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error { return nil }}, roles, purge, count)
				return users
			}, tt.args...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			commandtest.WantUsage(t, err, tt.wantErr)
		})
	}
}

// ExactArgs names what is missing or extra, as a usage error through UsageArgs (commandtest
// applies it as the binary does), and lets the right arguments through.
func TestExactArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		use     string
		names   []string
		args    []string
		wantErr string
	}{
		{"one, given", "activate EMAIL", []string{"EMAIL"}, []string{"ada@example.com"}, ""},
		{"two, given", "set-role EMAIL ROLE", []string{"EMAIL", "ROLE"}, []string{"ada@example.com", "admin"}, ""},
		{"one, missing", "activate EMAIL", []string{"EMAIL"}, nil,
			"users activate needs EMAIL (see 'app users activate --help')"},
		{"two, one missing", "set-role EMAIL ROLE", []string{"EMAIL", "ROLE"}, []string{"ada@example.com"},
			"users set-role needs EMAIL and ROLE (see 'app users set-role --help')"},
		{"one, two given", "activate EMAIL", []string{"EMAIL"}, []string{"ada@example.com", "bob@example.com"},
			"users activate takes only EMAIL; got 2 arguments (see 'app users activate --help')"},
		{"one, empty", "activate EMAIL", []string{"EMAIL"}, []string{""},
			"users activate needs EMAIL; EMAIL is empty (see 'app users activate --help')"},
		{"two, second blank", "set-role EMAIL ROLE", []string{"EMAIL", "ROLE"}, []string{"ada@example.com", " "},
			"users set-role needs EMAIL and ROLE; ROLE is empty (see 'app users set-role --help')"},
		{"none, one given", "list", nil, []string{"x"}, `users list takes no arguments, got "x" (see 'app users list --help')`},
		{"none, none given", "list", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			build := func(*command.Env) *cobra.Command {
				users := &cobra.Command{Use: "users", Args: cobra.ArbitraryArgs, RunE: command.Group}
				users.AddCommand(&cobra.Command{Use: tt.use, Args: command.ExactArgs(tt.names...),
					RunE: func(_ *cobra.Command, args []string) error { got = args; return nil }})
				return users
			}
			name, _, _ := strings.Cut(tt.use, " ")
			_, _, err := commandtest.Run(t.Context(), registry.New(), build, append([]string{name}, tt.args...)...)
			if tt.wantErr == "" {
				if err != nil || len(got) != len(tt.args) {
					t.Fatalf("error %v, arguments %q; want none, %q", err, got, tt.args)
				}
				return
			}
			commandtest.WantUsage(t, err, tt.wantErr)
		})
	}
}

// IntRange lets the values from lo to hi through and names the flag and its range otherwise,
// as a usage error (exit 2) pointing to the command's help.
func TestIntRange(t *testing.T) {
	t.Parallel()
	root := &cobra.Command{Use: "app"}
	sub := &cobra.Command{Use: "list"}
	root.AddCommand(sub)
	tests := []struct {
		name    string
		v       int
		lo, hi  int
		wantErr string
	}{
		{"low end", 1, 1, 366, ""},
		{"high end", 366, 1, 366, ""},
		{"zero", 0, 1, 366, "--days must be from 1 to 366 (got 0) (see 'app list --help')"},
		{"negative", -3, 1, 366, "--days must be from 1 to 366 (got -3) (see 'app list --help')"},
		{"above", 367, 1, 366, "--days must be from 1 to 366 (got 367) (see 'app list --help')"},
		{"no upper bound", math.MaxInt, 1, math.MaxInt, ""},
		{"no upper bound, zero", 0, 1, math.MaxInt, "--days must be 1 or more (got 0) (see 'app list --help')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := command.IntRange(sub, "--days", tt.v, tt.lo, tt.hi)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			commandtest.WantUsage(t, err, tt.wantErr)
		})
	}
}

type (
	mailSettings struct {
		Port int `env:"TEST_MAIL_PORT" envDefault:"25"`
	}
	cacheSettings struct {
		TTL time.Duration `env:"TEST_CACHE_TTL" envDefault:"1m"`
	}
)

func (s mailSettings) Validate() error {
	return config.InRange("TEST_MAIL_PORT", s.Port, 1, 65535, "use a port such as 587")
}

func (s cacheSettings) Validate() error {
	return config.Positive("TEST_CACHE_TTL", s.TTL, "use a duration such as 1m")
}

// TestStartChecksEverySetting: Start and Run report every bad setting of every part at once,
// before constructing anything, instead of the first constructor's and after the services
// registered before it were made (a SQLite file created by an app that then refused to start).
// Build alone does not judge them: listings must work while a setting is wrong.
func TestStartChecksEverySetting(t *testing.T) {
	env, e, _ := newEnv(t, false)
	if err := errors.Join(config.Provide[mailSettings](env.Registry, "mail"), config.Provide[cacheSettings](env.Registry, "cache")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_MAIL_PORT", "0")
	t.Setenv("TEST_CACHE_TTL", "-1s")
	want := []string{`config: TEST_MAIL_PORT="0" is out of range; use a port such as 587`, `config: TEST_CACHE_TTL="-1s" must be positive; use a duration such as 1m`}
	for name, start := range map[string]func() error{
		"Start": func() error { _, _, err := env.Start(t.Context(), command.RoleNone); return err },
		"Run": func() error {
			return env.Run(t.Context(), command.RoleServe, func(context.Context, *registry.Container, *slog.Logger) error { return nil })
		},
	} {
		err := start()
		if err == nil || strings.Join(strings.Split(err.Error(), "\n"), " | ") != strings.Join(want, " | ") {
			t.Errorf("%s = %v, want both settings' errors: %q", name, err, want)
		}
		if e.role != "" || e.started.Load() {
			t.Errorf("%s constructed or started a service before reporting the settings", name)
		}
	}
	if _, _, err := env.Build(command.RoleNone); err != nil {
		t.Errorf("Build = %v, want no judgement of the parts' settings", err)
	}
}

// TestFlagError: a flag value its type cannot parse is a usage error (exit 2) that says what
// the flag takes, without pflag's "strconv.ParseInt: parsing ..." naming Go functions.
func TestFlagError(t *testing.T) {
	t.Parallel()
	build := func(*command.Env) *cobra.Command {
		cmd := &cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error { return nil }}
		cmd.Flags().Int("page", 1, "")
		cmd.Flags().Uint("count", 1, "")
		cmd.Flags().Float64("ratio", 1, "")
		cmd.Flags().Duration("since", time.Hour, "")
		cmd.Flags().Bool("json", false, "")
		cmd.Flags().StringSlice("state", nil, "")
		return cmd
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--page", "abc"}, `--page "abc" is not a whole number (see 'app list --help')`},
		{[]string{"--page=1.5"}, `--page "1.5" is not a whole number (see 'app list --help')`},
		{[]string{"--page", "99999999999999999999"}, `--page "99999999999999999999" is out of range (see 'app list --help')`},
		{[]string{"--count", "-1"}, `--count "-1" is not a whole number, 0 or more (see 'app list --help')`},
		{[]string{"--ratio", "half"}, `--ratio "half" is not a number (see 'app list --help')`},
		{[]string{"--since", "3 days"}, `--since "3 days" is not a duration such as 90s, 15m or 24h (see 'app list --help')`},
		{[]string{"--json=maybe"}, `--json "maybe" is not true or false (see 'app list --help')`},
		{[]string{"--page"}, `flag needs an argument: --page (see 'app list --help')`},
		{[]string{"--pages", "2"}, `unknown flag: --pages (see 'app list --help')`},
	}
	for _, tt := range tests {
		_, _, err := commandtest.Run(t.Context(), registry.New(), build, tt.args...)
		commandtest.WantUsage(t, err, tt.want)
		if err != nil && strings.Contains(err.Error(), "strconv") {
			t.Errorf("%v: %v names a Go function", tt.args, err)
		}
	}
}
