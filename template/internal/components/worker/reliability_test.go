package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The reliability tests run workers in child processes so they can be killed: TestMain runs
// this test binary as a worker when WORKER_TEST_CHILD is set (the re-exec trick).

const (
	envChild = "WORKER_TEST_CHILD" // the database URL the child works on
	envDir   = "WORKER_TEST_DIR"   // where the child's tasks leave their marks
)

func TestMain(m *testing.M) {
	if url := os.Getenv(envChild); url != "" {
		if err := runChild(url); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childDB is the child's database, for its tasks.
var childDB *database.DB

func runChild(url string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := database.Open(ctx, database.Settings{URL: url, MaxConns: 20})
	if err != nil {
		return err
	}
	defer db.Close()
	childDB = db
	s := testSettings()
	s.RescueAfter = time.Second
	s.JobTimeout = time.Second
	s.Queues = "default=10"
	c, err := NewClient(db, s, &ClientOpts{Work: true})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return c.Stop(context.Background())
}

// killArgs: the first attempt marks "started" and hangs until the process is killed; the next
// one marks "done".
type killArgs struct{}

func (killArgs) Kind() string { return "test_kill" }

// countArgs: each attempt records itself in worker_test_runs. Its timeout is generous: an
// insert that commits just as a short deadline passes on a loaded machine fails the attempt,
// and its retry is a second run that says nothing about double claiming.
type countArgs struct {
	N int `json:"n"`
}

func (countArgs) Kind() string { return "test_count" }

func init() {
	registry.Contribute(registry.Default, killArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[killArgs]) error {
		dir := os.Getenv(envDir)
		if _, err := os.Stat(filepath.Join(dir, "started")); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(filepath.Join(dir, "started"), nil, 0o600); err != nil {
				return err
			}
			time.Sleep(time.Hour) // until kill -9, whatever the timeout says
			return nil
		}
		return os.WriteFile(filepath.Join(dir, "done"), []byte(fmt.Sprint(job.Attempt)), 0o600)
	}, &TaskOpts{Timeout: 2 * time.Second})) // River rescues a job only once its timeout has passed
	registry.Contribute(registry.Default, countArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[countArgs]) error {
		if childDB == nil {
			return errors.New("test_count runs only in a child process")
		}
		_, err := childDB.Bun().NewRaw(`INSERT INTO worker_test_runs (job_id, attempt, pid) VALUES (?, ?, ?)`, job.ID, job.Attempt, os.Getpid()).Exec(ctx)
		return err
	}, &TaskOpts{Timeout: 30 * time.Second}))
}

// child is a worker process.
type child struct {
	cmd *exec.Cmd
	out *logtest.Buffer
}

func startChild(t *testing.T, url, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+url, envDir+"="+dir)
	out := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, out: out}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("child %d output:\n%s", cmd.Process.Pid, out.String())
		}
	})
	return c
}

func (c *child) terminate(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child %d: %v\n%s", c.cmd.Process.Pid, err, c.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("child %d did not stop within 30s", c.cmd.Process.Pid)
	}
}

// kill -9 a worker in the middle of a job: after a restart the job runs again and completes.
func TestKilledWorkerJobRunsAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("kills worker processes; takes about 20s")
	}
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		ctx := t.Context()
		dir := t.TempDir()
		c, err := NewClient(db, testSettings(), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Enqueue(ctx, killArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		first := startChild(t, db.Settings().URL, dir)
		waitFile(t, filepath.Join(dir, "started"), 30*time.Second)
		waitState(t, c, res.Job.ID, rivertype.JobStateRunning, 5*time.Second)
		if err := first.cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = first.cmd.Wait()

		second := startChild(t, db.Settings().URL, dir)
		// The restarted worker becomes leader once the dead one's lease expires (River: about
		// 15s), rescues the job (running for longer than WORKER_RESCUE_AFTER, 1s here, and
		// than its timeout, 2s) and retries it after its backoff.
		j := waitState(t, c, res.Job.ID, rivertype.JobStateCompleted, 60*time.Second)
		if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
			t.Errorf("the job completed without running again: %v", err)
		}
		if j.Attempt != 2 {
			t.Errorf("completed at attempt %d, want 2", j.Attempt)
		}
		second.terminate(t)
	})
}

// Two worker processes on one PostgreSQL database: 1,000 jobs each run exactly once.
func TestTwoWorkersRunEachJobOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two worker processes")
	}
	databasetest.SkipWithoutPostgres(t)
	t.Parallel()
	const jobs = 1000
	ctx := t.Context()
	db := databasetest.New(t, database.Postgres)
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE worker_test_runs (job_id bigint NOT NULL, attempt int NOT NULL, pid int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(db, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := startChild(t, db.Settings().URL, t.TempDir())
	b := startChild(t, db.Settings().URL, t.TempDir())
	params := make([]river.InsertManyParams, jobs)
	for i := range params {
		params[i] = river.InsertManyParams{Args: countArgs{N: i}}
	}
	if _, err := c.EnqueueMany(ctx, params); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var done int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'test_count' AND state = 'completed'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done == jobs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs completed after 90s", done, jobs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.terminate(t)
	b.terminate(t)
	// A claimed attempt runs in one process only; an attempt that failed (a retry) is the
	// one legitimate second run, and it must show in the job's attempt count.
	var runs, attempts, distinct, pids, retried int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT (job_id, attempt)), count(DISTINCT job_id), count(DISTINCT pid), count(*) FILTER (WHERE attempt > 1) FROM worker_test_runs`).Scan(&runs, &attempts, &distinct, &pids, &retried); err != nil {
		t.Fatal(err)
	}
	if runs != attempts || distinct != jobs {
		t.Errorf("%d runs of %d distinct attempts of %d distinct jobs, want each attempt of each of %d jobs run once", runs, attempts, distinct, jobs)
	}
	t.Logf("%d jobs ran once each (%d retried), spread over %d processes", distinct, retried, pids)
}

func waitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %s", path, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
