package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func workerCmd(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Work background jobs (the worker role)",
		Long: `Work background jobs until interrupted.

Works the queues WORKER_QUEUES lists (name=concurrency), whatever
WORKER_IN_PROCESS says. Run as many worker processes as you like against one
PostgreSQL database: each job runs in one of them. On SIGINT or SIGTERM running
jobs get WORKER_SHUTDOWN_TIMEOUT to finish, then they are cancelled and retried
later; a worker killed outright has its jobs retried after WORKER_RESCUE_AFTER.`,
		Example: fmt.Sprintf(`  %[1]s worker

  # Production: serve without in-process workers, and a worker process beside it
  WORKER_IN_PROCESS=false %[1]s serve
  WORKER_QUEUES=default=20,system=4 %[1]s worker`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return env.Run(cmd.Context(), Role, func(ctx context.Context, c *registry.Container, logger *slog.Logger) error {
				client, err := registry.Get[*Client](c)
				if err != nil {
					return err
				}
				logger.Info("worker: working", "queues", client.settings.Queues)
				<-ctx.Done()
				logger.Info("worker: stopping, waiting for running jobs", "timeout", client.settings.ShutdownTimeout)
				return nil
			})
		},
	}
}

// jobStates are the states 'jobs list --state' accepts.
var jobStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted,
	rivertype.JobStateDiscarded, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

func jobsCmd(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Enqueue, list, retry and cancel background jobs",
		Long: fmt.Sprintf(`Enqueue, inspect, retry and cancel the background jobs kept in the database.
These commands only store and change jobs: a worker ('%[1]s worker', or serve
with WORKER_IN_PROCESS=true) runs them. A job that failed its last attempt is
kept for WORKER_DISCARDED_RETENTION: 'jobs list --state discarded' finds it and
'jobs retry ID' runs it again.`, env.Name),
		Example: fmt.Sprintf(`  %[1]s jobs enqueue send_welcome --args '{"email":"ada@example.com"}'
  %[1]s jobs enqueue send_welcome --args '{"email":"ada@example.com"}' --in 1h --unique
  %[1]s jobs list --state discarded
  %[1]s jobs show 42
  %[1]s jobs retry 42
  %[1]s jobs cancel 42`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}

	var states, queues []string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Example: fmt.Sprintf(`  %[1]s jobs list
  %[1]s jobs list --state discarded
  %[1]s jobs list --state retryable,running --queue default --limit 200`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc)
			if err := command.IntRange(cmd, "--limit", limit, 1, 10_000); err != nil {
				return err
			}
			params = params.First(limit)
			if len(states) > 0 {
				var ss []rivertype.JobState
				for _, s := range states {
					st := rivertype.JobState(strings.ToLower(s))
					if !isJobState(st) {
						return command.UsageError(cmd, "--state %q is not a job state; use one of %s", s, stateNames())
					}
					ss = append(ss, st)
				}
				params = params.States(ss...)
			}
			if len(queues) > 0 {
				params = params.Queues(queues...)
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, c *Client) error {
				res, err := c.Jobs(ctx, params)
				if err != nil {
					return err
				}
				printJobs(env, res.Jobs)
				return nil
			})
		},
	}
	list.Flags().StringSliceVar(&states, "state", nil, "only jobs in these states: "+stateNames())
	list.Flags().StringSliceVar(&queues, "queue", nil, "only jobs in these queues")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many jobs, from 1 to 10000")

	action := func(use, short, done string, do func(*Client, context.Context, int64) (*rivertype.JobRow, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  command.ExactArgs("ID"),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id < 1 {
					return command.UsageError(cmd, "%q is not a job ID; 'jobs list' shows them", args[0])
				}
				return command.WithService(cmd.Context(), env, func(ctx context.Context, c *Client) error {
					j, err := do(c, ctx, id)
					if errors.Is(err, river.ErrNotFound) {
						return fmt.Errorf("worker: no job %d; 'jobs list' shows them", id)
					}
					if err != nil {
						return err
					}
					// The state is worth saying when it is not what was asked: a running job
					// stays running until its work sees the cancellation.
					switch {
					case string(j.State) == done:
						fmt.Fprintf(env.Stdout, "job %d (%s) %s\n", j.ID, j.Kind, done)
					case done == "cancelled" && j.State == rivertype.JobStateRunning:
						fmt.Fprintf(env.Stdout, "job %d (%s) is running: cancel requested, it stops when its work sees the cancellation (a second or so)\n", j.ID, j.Kind)
					default:
						fmt.Fprintf(env.Stdout, "job %d (%s) %s: now %s\n", j.ID, j.Kind, done, j.State)
					}
					return nil
				})
			},
		}
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job: its arguments and every failed attempt's error (and panic stack)",
		Args:  command.ExactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return command.UsageError(cmd, "%q is not a job ID; 'jobs list' shows them", args[0])
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, c *Client) error {
				j, err := c.Job(ctx, id)
				if errors.Is(err, river.ErrNotFound) {
					return fmt.Errorf("worker: no job %d; 'jobs list' shows them", id)
				}
				if err != nil {
					return err
				}
				printJob(env, j)
				return nil
			})
		},
	}
	var force bool
	retry := action("retry", "Run a failed, cancelled or waiting job now (a completed one with --force)", "queued to run again",
		func(c *Client, ctx context.Context, id int64) (*rivertype.JobRow, error) {
			if force {
				return c.Retry(ctx, id)
			}
			j, err := c.Job(ctx, id)
			if err != nil {
				return nil, err
			}
			if err := retryRefusal(j, "pass --force to run it again anyway"); err != nil {
				return nil, err
			}
			return c.Retry(ctx, id)
		})
	retry.Long = `Make a job available to run at once: one that failed (retryable, discarded), was
cancelled, or waits (scheduled, pending). Its attempts go on counting.

A completed job is refused, since its work would run a second time (another email
sent): --force runs it again anyway. A running job is refused too: wait for it, or
cancel it first.`
	retry.Example = fmt.Sprintf("  %[1]s jobs retry 42\n  %[1]s jobs retry 42 --force   # a completed job, run again", env.Name)
	retry.Flags().BoolVar(&force, "force", false, "retry a job in any state: a completed job runs its work again")
	show.Example = fmt.Sprintf("  %[1]s jobs list --state retryable,discarded   # the IDs\n  %[1]s jobs show 42", env.Name)
	cancel := action("cancel", "Cancel a job: it will not run (again)", "cancelled", cancelJob)
	cancel.Example = fmt.Sprintf("  %[1]s jobs cancel 42", env.Name)
	cmd.AddCommand(enqueueCmd(env), list, show, retry, cancel)
	return cmd
}

// queueName is River's rule for queue names (checked inside its Insert, unexported), applied
// before connecting so a bad --queue is a usage error like every other flag.
var queueName = regexp.MustCompile(`^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$`)

func enqueueCmd(env *command.Env) *cobra.Command {
	var (
		argsJSON, queue string
		priority        int
		in              time.Duration
		unique          bool
	)
	cmd := &cobra.Command{
		Use:   "enqueue KIND",
		Short: "Enqueue a job of a registered task, its arguments as JSON",
		Long: `Enqueue one job of the task KIND, as a service would with Enqueue. It only
stores the job: a worker process (or serve with WORKER_IN_PROCESS=true) runs it.

--args is decoded strictly into the task's arguments type: an unknown field or a
value of the wrong type is refused. Queue, priority and uniqueness default to the
task's own (its InsertOpts), else queue default, priority 1, not unique. With
--unique, an existing job of the same kind, arguments and queue (waiting,
running, or completed and still kept: WORKER_COMPLETED_RETENTION) makes this
one skipped, and the command names that job. A task unique by its own
InsertOpts is skipped the same way without --unique.

Kinds registered in this binary, with their arguments:
`,
		Example: fmt.Sprintf(`  %[1]s jobs enqueue send_welcome --args '{"email":"ada@example.com"}'
  %[1]s jobs enqueue send_welcome --args '{"email":"ada@example.com"}' --queue system --priority 2
  %[1]s jobs enqueue send_welcome --args '{"email":"ada@example.com"}' --in 30m --unique`, env.Name),
		Args: command.ExactArgs("KIND"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tasks := registeredTasks(env.Registry)
			kind := args[0]
			task, ok := tasks[kind]
			if !ok {
				return command.UsageError(cmd, "unknown job kind %q: %s", kind, kindNames(tasks))
			}
			if err := task.ValidateContribution(kind); err != nil {
				return err // a programming error in the binary, not on the command line
			}
			jobArgs, err := task.DecodeArgs([]byte(argsJSON))
			if err != nil {
				return command.UsageError(cmd, "--args: %s", oneLine(err.Error()))
			}
			opts := &river.InsertOpts{}
			if cmd.Flags().Changed("queue") {
				if len(queue) > 64 || !queueName.MatchString(queue) {
					return command.UsageError(cmd, "--queue %q is not a queue name: use at most 64 lowercase letters and digits, separated by single _ or -", queue)
				}
				opts.Queue = queue
			}
			if cmd.Flags().Changed("priority") {
				if priority < 1 || priority > 4 {
					return command.UsageError(cmd, "--priority %d is out of range: use 1 (first) to 4 (last)", priority)
				}
				opts.Priority = priority
			}
			if in < 0 {
				return command.UsageError(cmd, "--in %s is negative: use a duration from now, such as 10m or 2h", in)
			}
			if in > 0 {
				opts.ScheduledAt = time.Now().Add(in)
			}
			if unique {
				// ByState left empty: River's default, every state but cancelled and
				// discarded, so a job that failed for good does not block a new one.
				opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByQueue: true}
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, c *Client) error {
				res, err := c.Enqueue(ctx, jobArgs, opts)
				if err != nil {
					return err
				}
				j := res.Job
				if res.UniqueSkippedAsDuplicate {
					fmt.Fprintf(env.Stdout, "skipped: an identical %s job already exists (job %d, %s)\n", j.Kind, j.ID, j.State)
					return nil
				}
				fmt.Fprintf(env.Stdout, "enqueued job %d (%s) on queue %s, runs at %s\n", j.ID, j.Kind, j.Queue, j.ScheduledAt.UTC().Format(time.RFC3339))
				if _, worked := c.queues[j.Queue]; !worked {
					fmt.Fprintf(env.Stderr, "note: WORKER_QUEUES (%s) does not list queue %s: only a worker that lists it will run the job\n", c.settings.Queues, j.Queue)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&argsJSON, "args", "{}", "the job's arguments, a JSON object")
	f.StringVar(&queue, "queue", "", "queue to put the job on (default: the task's, else default)")
	f.IntVar(&priority, "priority", 0, "1 (runs first) to 4 (default: the task's, else 1)")
	f.DurationVar(&in, "in", 0, "run the job this long from now, such as 90s or 2h (default: at once)")
	f.BoolVar(&unique, "unique", false, "skip it if a job of the same kind, arguments and queue already exists")
	// The kinds and their sample arguments are listed when the help is shown, not each time
	// the binary assembles its commands (serve included).
	long := cmd.Long
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		c.Long = long + kindList(registeredTasks(env.Registry))
		help(c, args)
	})
	return cmd
}

// registeredTasks are the tasks contributed to r by kind, read without building the
// container so that a wrong KIND or --args is reported before anything connects.
func registeredTasks(r *registry.Registry) map[string]Task {
	out := map[string]Task{}
	for _, t := range registry.Contributions[Task](r) {
		out[t.Name] = t.Value
	}
	return out
}

func kindNames(tasks map[string]Task) string {
	if len(tasks) == 0 {
		return "this binary registers no task"
	}
	return "registered kinds are " + strings.Join(slices.Sorted(maps.Keys(tasks)), ", ")
}

func kindList(tasks map[string]Task) string {
	if len(tasks) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, kind := range slices.Sorted(maps.Keys(tasks)) {
		fmt.Fprintf(tw, "  %s\t%s\n", kind, tasks[kind].ArgsSample())
	}
	_ = tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// oneLine joins the lines of a message (errors.Join, a Validate listing problems) with "; ".
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func printJobs(env *command.Env, jobs []*rivertype.JobRow) {
	if len(jobs) == 0 {
		fmt.Fprintln(env.Stdout, "no jobs")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tQUEUE\tSTATE\tATTEMPT\tPRIORITY\tSCHEDULED\tLAST ERROR")
	for _, j := range jobs {
		lastErr := ""
		if n := len(j.Errors); n > 0 {
			lastErr = firstLine(j.Errors[n-1].Error, 80)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", j.ID, j.Kind, j.Queue, j.State,
			j.Attempt, j.MaxAttempts, j.Priority, j.ScheduledAt.Local().Format(time.DateTime), lastErr)
	}
	_ = tw.Flush()
}

func printJob(env *command.Env, j *rivertype.JobRow) {
	w := env.Stdout
	fmt.Fprintf(w, "job %d\nkind:      %s\nqueue:     %s\nstate:     %s\npriority:  %d\nattempt:   %d of %d\n",
		j.ID, j.Kind, j.Queue, j.State, j.Priority, j.Attempt, j.MaxAttempts)
	fmt.Fprintf(w, "created:   %s\nscheduled: %s\n", j.CreatedAt.Local().Format(time.DateTime), j.ScheduledAt.Local().Format(time.DateTime))
	if j.FinalizedAt != nil {
		fmt.Fprintf(w, "finalized: %s\n", j.FinalizedAt.Local().Format(time.DateTime))
	}
	// Which process worked it, when several work one database: River's client ID of each
	// attempt (the host name and the client's start time), oldest first.
	if len(j.AttemptedBy) > 0 {
		fmt.Fprintf(w, "worked by: %s\n", strings.Join(j.AttemptedBy, ", "))
	}
	fmt.Fprintf(w, "args:      %s\n", j.EncodedArgs)
	for _, e := range j.Errors {
		fmt.Fprintf(w, "\nattempt %d failed at %s: %s\n", e.Attempt, e.At.Local().Format(time.DateTime), e.Error)
		if e.Trace != "" {
			fmt.Fprintf(w, "%s\n", strings.TrimRight(e.Trace, "\n"))
		}
	}
}

func firstLine(s string, max int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max-1] + "…"
	}
	return s
}

func isJobState(s rivertype.JobState) bool {
	for _, st := range jobStates {
		if st == s {
			return true
		}
	}
	return false
}

func stateNames() string {
	names := make([]string, len(jobStates))
	for i, s := range jobStates {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
