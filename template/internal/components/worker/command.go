package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/runtime/command"
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
		Args: cobra.NoArgs,
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
		Short: "List, retry and cancel background jobs",
		Example: fmt.Sprintf(`  %[1]s jobs list --state discarded
  %[1]s jobs show 42
  %[1]s jobs retry 42
  %[1]s jobs cancel 42`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return command.UsageError(cmd, "unknown command %q for %q", args[0], cmd.CommandPath())
		},
	}

	var states, queues []string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc)
			if limit < 1 || limit > 10_000 {
				return command.UsageError(cmd, "--limit must be from 1 to 10000")
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
	list.Flags().IntVar(&limit, "limit", 50, "at most this many jobs")

	action := func(use, short, done string, do func(*Client, context.Context, int64) (*rivertype.JobRow, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
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
					fmt.Fprintf(env.Stdout, "job %d (%s) %s: now %s\n", j.ID, j.Kind, done, j.State)
					return nil
				})
			},
		}
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job: its arguments and every failed attempt's error (and panic stack)",
		Args:  cobra.ExactArgs(1),
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
	cmd.AddCommand(list, show,
		action("retry", "Run a job again as soon as possible (a discarded or cancelled one too)", "queued to run again", (*Client).Retry),
		action("cancel", "Cancel a job: it will not run (again)", "cancelled", (*Client).Cancel),
	)
	return cmd
}

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
