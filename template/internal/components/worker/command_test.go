package worker

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The jobs command lists, cancels and retries jobs of the app's database.
func TestJobsCommand(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "app.db")
	t.Setenv("DATABASE_URL", url)
	t.Setenv("AUTO_MIGRATE", "true")
	run := func(args ...string) (string, error) {
		t.Helper()
		r := registry.New()
		if err := database.Register(r); err != nil {
			t.Fatal(err)
		}
		if err := AddTo(r); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		cmd := jobsCmd(&command.Env{Name: "app", Stdout: &out, Stderr: &errOut, Registry: r})
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	if out, err := run("list"); err != nil || !strings.Contains(out, "no jobs") {
		t.Fatalf("list of an empty queue: %q, %v", out, err)
	}
	db, err := database.Open(t.Context(), database.Settings{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := NewClient(db, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(res.Job.ID, 10)
	out, err := run("list", "--state", "available")
	if err != nil || !strings.Contains(out, "test_ok") || !strings.Contains(out, "available") {
		t.Errorf("list: %q, %v", out, err)
	}
	if out, err := run("show", id); err != nil || !strings.Contains(out, "kind:      test_ok") {
		t.Errorf("show: %q, %v", out, err)
	}
	if out, err := run("cancel", id); err != nil || !strings.Contains(out, "cancelled") {
		t.Errorf("cancel: %q, %v", out, err)
	}
	if out, err := run("retry", id); err != nil || !strings.Contains(out, "now available") {
		t.Errorf("retry: %q, %v", out, err)
	}
	if _, err := run("retry", "99"); err == nil || !strings.Contains(err.Error(), "no job 99") {
		t.Errorf("retry of a missing job: %v", err)
	}
	if _, err := run("list", "--state", "bogus"); err == nil {
		t.Error("list --state bogus succeeded")
	}
}
