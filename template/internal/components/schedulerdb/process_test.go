package schedulerdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/scheduler"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// TestSchedulerProcessesRunEachTickOnce runs schedulers in child processes: TestMain runs this
// test binary as a scheduler process when SCHEDULERDB_TEST_CHILD is set (the re-exec trick of
// the worker's reliability tests).

// envChild is the database URL a child scheduler process works on.
const envChild = "SCHEDULERDB_TEST_CHILD"

// heartbeatEvery is how often a child records that it is alive and ticking.
const heartbeatEvery = 250 * time.Millisecond

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

// childDB is a child process's database, for test_db_every's runs; nil in the test process.
var childDB atomic.Pointer[database.DB]

// recordChildRun is test_db_every's work in a child process: a row in
// schedulerdb_test_runs saying which process ran it and when, so the parent sees every
// execution of the job (the scheduler_runs primary key cannot show a duplicate).
func recordChildRun(ctx context.Context) error {
	at := time.Now()
	db := childDB.Load()
	if db == nil {
		return nil
	}
	_, err := db.Bun().NewRaw(`INSERT INTO schedulerdb_test_runs (pid, at_ms) VALUES (?, ?)`, os.Getpid(), at.UnixMilli()).Exec(ctx)
	return err
}

// runChild is a scheduler process: its own connection pool, a scheduler on a Store, a
// heartbeat row every heartbeatEvery while it ticks, and a clean stop on SIGTERM.
func runChild(url string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := database.Open(ctx, database.Settings{URL: url, MaxConns: databasetest.MaxConns})
	if err != nil {
		return err
	}
	childDB.Store(db)
	s, err := scheduler.New(scheduler.Settings{}, &scheduler.Opts{Tick: true, Store: NewStore(db)})
	if err != nil {
		return errors.Join(err, db.Close())
	}
	if err := s.Start(ctx); err != nil {
		return errors.Join(err, db.Close())
	}
	fmt.Fprintf(os.Stderr, "child %d: ticking as %s\n", os.Getpid(), s.Instance())
	beat := func() error {
		if !s.Ticking() {
			return errors.New("the scheduler stopped ticking")
		}
		// Not cancelled by SIGTERM: a beat in flight then completes.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, err := db.Bun().NewRaw(`INSERT INTO schedulerdb_test_alive (pid, at_ms) VALUES (?, ?)`, os.Getpid(), time.Now().UnixMilli()).Exec(bctx)
		return err
	}
	err = beat()
	tk := time.NewTicker(heartbeatEvery)
	for err == nil && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tk.C:
			err = beat()
		}
	}
	tk.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = errors.Join(err, s.Stop(sctx))
	childDB.Store(nil)
	fmt.Fprintf(os.Stderr, "child %d: stopped\n", os.Getpid())
	return errors.Join(err, db.Close())
}

// schedulerProc is a child scheduler process.
type schedulerProc struct {
	cmd    *exec.Cmd
	out    *logtest.Buffer
	exited chan struct{} // closed once the process ended; err is then its exit
	err    error
}

func startScheduler(t *testing.T, url string) *schedulerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+url)
	p := &schedulerProc{cmd: cmd, out: &logtest.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("scheduler process %d output:\n%s", cmd.Process.Pid, p.out.String())
		}
	})
	return p
}

func (p *schedulerProc) pid() int { return p.cmd.Process.Pid }

// alive reports whether the process is still running.
func (p *schedulerProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// wait waits for the process to end after SIGTERM and reports how it ended.
func (p *schedulerProc) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("scheduler process %d did not exit cleanly on SIGTERM: %v", p.pid(), p.err)
		}
	case <-time.After(within):
		t.Errorf("scheduler process %d did not stop within %s of SIGTERM", p.pid(), within)
	}
}

// Scheduler processes (two on PostgreSQL, the case, for 30 s; one on SQLite, which
// runs a single instance, for 10 s), each with its own connection pool on one fresh
// database, run the every-second job test_db_every: every tick in the window runs exactly
// once, both processes live and tick the whole time, and both exit cleanly on SIGTERM.
func TestSchedulerProcessesRunEachTickOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scheduler processes for 30s")
	}
	t.Parallel()
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Parallel()
		procs, window := 2, 30*time.Second
		if engine == database.SQLite {
			procs, window = 1, 10*time.Second
		}
		ctx := t.Context()
		db := databasetest.New(t, engine)
		for _, stmt := range []string{
			`CREATE TABLE schedulerdb_test_runs (pid bigint NOT NULL, at_ms bigint NOT NULL)`,
			`CREATE TABLE schedulerdb_test_alive (pid bigint NOT NULL, at_ms bigint NOT NULL)`,
		} {
			if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		var ps []*schedulerProc
		for range procs {
			ps = append(ps, startScheduler(t, db.Settings().URL))
		}

		// Ready: every process has recorded a heartbeat, so it is ticking.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var ready int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(DISTINCT pid) FROM schedulerdb_test_alive`).Scan(&ready); err != nil {
				t.Fatal(err)
			}
			if ready == procs {
				break
			}
			for _, p := range ps {
				if !p.alive() {
					t.Fatalf("scheduler process %d exited while starting: %v", p.pid(), p.err)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d scheduler processes ticking after 30s", ready, procs)
			}
			time.Sleep(50 * time.Millisecond)
		}
		from := time.Now()
		timer := time.NewTimer(window)
		for waiting := true; waiting; {
			select {
			case <-timer.C:
				waiting = false
			case <-time.After(100 * time.Millisecond):
				for _, p := range ps {
					if !p.alive() {
						t.Fatalf("scheduler process %d died after %s: %v", p.pid(), time.Since(from).Round(time.Millisecond), p.err)
					}
				}
			}
		}
		to := time.Now()
		for _, p := range ps {
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatalf("SIGTERM to %d: %v", p.pid(), err)
			}
		}
		stopping := time.Now()
		for _, p := range ps {
			p.wait(t, 30*time.Second)
		}
		t.Logf("%d process(es) ticked for %s and stopped %s after SIGTERM", procs, to.Sub(from).Round(time.Millisecond), time.Since(stopping).Round(time.Millisecond))
		if t.Failed() {
			return
		}
		pids := map[int64]bool{}
		for _, p := range ps {
			pids[int64(p.pid())] = true
		}

		// The history: each tick claimed once (its primary key), by which process, when.
		type claim struct {
			tick, started, durationUS int64
			instance                  string
		}
		history := map[int64]string{}
		claims := map[int64][]claim{} // pid -> its claims, by start
		hrows, err := db.SQL().QueryContext(ctx, `SELECT tick_ms, instance, outcome, started_ms, duration_us FROM scheduler_runs WHERE job = 'test_db_every' ORDER BY started_ms`)
		if err != nil {
			t.Fatal(err)
		}
		for hrows.Next() {
			var c claim
			var outcome string
			if err := hrows.Scan(&c.tick, &c.instance, &outcome, &c.started, &c.durationUS); err != nil {
				t.Fatal(err)
			}
			history[c.tick] = c.instance
			if outcome != string(scheduler.OutcomeOK) {
				t.Errorf("the history says tick %s by %s: %s", time.UnixMilli(c.tick).UTC().Format(time.TimeOnly), c.instance, outcome)
			}
			for pid := range pids {
				if strings.Contains(c.instance, fmt.Sprintf("-%d-", pid)) {
					claims[pid] = append(claims[pid], c)
				}
			}
		}
		if err := hrows.Err(); err != nil {
			t.Fatal(err)
		}
		hrows.Close()

		// Every execution of the job, named after the tick it ran for: its process's latest
		// claim before it (a process runs the job's ticks one at a time, each after claiming
		// it). Not the second nearest its start: on a loaded machine a run can start over half
		// a second after its tick, which then read as the next tick run twice. An execution
		// without a claim of its own (a tick run by a process that lost it, or run twice) falls
		// on its process's previous claim, which then has two.
		byTick := map[int64][]int64{} // tick ms -> pids that ran it
		var latest time.Duration
		rows, err := db.SQL().QueryContext(ctx, `SELECT pid, at_ms FROM schedulerdb_test_runs`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var pid, at int64
			if err := rows.Scan(&pid, &at); err != nil {
				t.Fatal(err)
			}
			if !pids[pid] {
				t.Errorf("a run at %s in process %d, not one of the schedulers", time.UnixMilli(at).UTC().Format("15:04:05.000"), pid)
				continue
			}
			cs := claims[pid]
			i := sort.Search(len(cs), func(i int) bool { return cs[i].started > at }) - 1
			if i < 0 {
				t.Errorf("a run at %s in process %d before any claim of it", time.UnixMilli(at).UTC().Format("15:04:05.000"), pid)
				continue
			}
			tick := cs[i].tick
			byTick[tick] = append(byTick[tick], pid)
			latest = max(latest, time.Duration(at-tick)*time.Millisecond)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		ticks := slices.Sorted(maps.Keys(byTick))
		if len(ticks) == 0 {
			t.Fatal("test_db_every never ran")
		}
		won := map[int64]int{}
		for _, tick := range ticks {
			if ran := byTick[tick]; len(ran) != 1 {
				t.Errorf("tick %s ran %d times (by processes %v), want once", time.UnixMilli(tick).UTC().Format(time.TimeOnly), len(ran), ran)
			}
			won[byTick[tick][0]]++
		}
		beats := heartbeats(t, db)
		// No gaps: every second from the first tick to the last, which cover the window but for
		// its first and last second. A second is excused only when every process demonstrably
		// could not fire it: its heartbeats stalled then (a loaded machine starving it), or its
		// previous run still ran (the scheduler does not overlap a job's runs).
		busy := func(pid, m int64) bool {
			for _, c := range claims[pid] {
				if c.started <= m && m <= c.started+c.durationUS/1000+500 {
					return true
				}
			}
			b := beats[pid]
			for i := 1; i < len(b); i++ {
				if b[i]-b[i-1] >= 3*heartbeatEvery.Milliseconds() && b[i-1] <= m+500 && b[i] >= m-500 {
					return true
				}
			}
			return false
		}
		var excused []string
		for i := 1; i < len(ticks); i++ {
			for m := ticks[i-1] + 1000; m < ticks[i]; m += 1000 {
				stalled := true
				for pid := range pids {
					stalled = stalled && busy(pid, m)
				}
				if !stalled {
					t.Errorf("no run for %s, while a process was ticking", time.UnixMilli(m).UTC().Format(time.TimeOnly))
				} else {
					excused = append(excused, time.UnixMilli(m).UTC().Format(time.TimeOnly))
				}
			}
		}
		if len(excused) > 0 {
			t.Logf("no run for %v, while every process was held up (a loaded machine)", excused)
		}
		first, last := ticks[0], ticks[len(ticks)-1]
		if first > from.UnixMilli()+1000 || last < to.UnixMilli()-1000 {
			t.Errorf("runs from %s to %s do not cover the window %s to %s but for its first and last second",
				time.UnixMilli(first).UTC().Format(time.TimeOnly), time.UnixMilli(last).UTC().Format(time.TimeOnly),
				from.UTC().Format("15:04:05.000"), to.UTC().Format("15:04:05.000"))
		}

		// The history agrees: each run claimed by the process that ran it, finished ok.
		if len(history) != len(ticks) {
			t.Errorf("the history has %d runs, the job ran for %d ticks", len(history), len(ticks))
		}
		for _, tick := range ticks {
			if instance, ok := history[tick]; !ok || !strings.Contains(instance, fmt.Sprintf("-%d-", byTick[tick][0])) {
				t.Errorf("tick %s ran in process %d but the history says %q", time.UnixMilli(tick).UTC().Format(time.TimeOnly), byTick[tick][0], instance)
			}
		}

		// Alive and ticking the whole time: heartbeats from ready to SIGTERM, none missing
		// for long.
		var worstGap time.Duration
		for pid := range pids {
			b := beats[pid]
			if len(b) == 0 || b[0] > from.UnixMilli() || b[len(b)-1] < to.UnixMilli()-time.Second.Milliseconds() {
				t.Errorf("process %d: %d heartbeats do not span the window", pid, len(b))
				continue
			}
			for i := 1; i < len(b); i++ {
				worstGap = max(worstGap, time.Duration(b[i]-b[i-1])*time.Millisecond)
			}
		}
		// The bound catches a hung process (one that stopped ticking exits, and the parent
		// watches for that), not a slow one: a loaded machine can starve a process for seconds.
		if worstGap > 10*time.Second {
			t.Errorf("a scheduler process went %s without a heartbeat (every %s)", worstGap, heartbeatEvery)
		}
		t.Logf("%d ticks (%s to %s), each run once; runs per process %v; latest start %s after its tick; longest heartbeat gap %s",
			len(ticks), time.UnixMilli(first).UTC().Format(time.TimeOnly), time.UnixMilli(last).UTC().Format(time.TimeOnly), won, latest, worstGap)
	})
}

// heartbeats returns the heartbeat times of each child process, ascending.
func heartbeats(t *testing.T, db *database.DB) map[int64][]int64 {
	t.Helper()
	beats := map[int64][]int64{}
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT pid, at_ms FROM schedulerdb_test_alive ORDER BY pid, at_ms`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid, at int64
		if err := rows.Scan(&pid, &at); err != nil {
			t.Fatal(err)
		}
		beats[pid] = append(beats[pid], at)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return beats
}
