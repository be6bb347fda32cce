package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func schedulerCmd(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "scheduler",
		Short: "Run scheduled jobs (the scheduler role)",
		Long: `Run the scheduled jobs on schedule until interrupted, whatever
SCHEDULER_IN_PROCESS says.

With the database component several instances may run: each tick runs once.
With the worker component each tick becomes a background job, run (and retried)
by the workers.`,
		Example: fmt.Sprintf(`  %[1]s scheduler

  # Production: serve without the in-process scheduler, and a scheduler beside it
  SCHEDULER_IN_PROCESS=false %[1]s serve
  %[1]s scheduler`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return env.Run(cmd.Context(), Role, func(ctx context.Context, _ *registry.Container, logger *slog.Logger) error {
				<-ctx.Done()
				logger.Info("scheduler: stopping")
				return nil
			})
		},
	}
}

func scheduleCmd(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "List scheduled jobs or run one now",
		Long: fmt.Sprintf(`List the jobs the app runs on a schedule, with their last run and next one, or
run one now in this process (to try it, or to catch up). The scheduler ('%[1]s
scheduler', or serve with SCHEDULER_IN_PROCESS=true) runs them on schedule.`, env.Name),
		Example: fmt.Sprintf(`  %[1]s schedule list
  %[1]s schedule run nightly_report`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List scheduled jobs: spec, last run, outcome, duration, next run",
		Long: `List scheduled jobs: spec, last run, outcome, duration and next run (UTC).

The run history is kept in the database when the app has one; without it the
scheduler keeps no history between processes and LAST RUN shows "-".`,
		Example: fmt.Sprintf(`  %[1]s schedule list`, env.Name),
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return command.WithService(cmd.Context(), env, func(ctx context.Context, s *Scheduler) error {
				st, err := s.Status(ctx)
				if err != nil {
					return err
				}
				if len(st) == 0 {
					fmt.Fprintln(env.Stdout, "no scheduled jobs")
					return nil
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSPEC\tMISSED\tLAST RUN\tOUTCOME\tDURATION\tNEXT RUN")
				for _, j := range st {
					last, outcome, dur := "-", "-", "-"
					if r := j.Last; r != nil {
						last = r.Tick.UTC().Format(time.DateTime)
						outcome = string(r.Outcome)
						if r.Error != "" {
							outcome += ": " + firstLine(r.Error, 60)
						}
						if r.Outcome != OutcomeRunning && r.Outcome != OutcomeCancelled {
							dur = r.Duration.Round(time.Millisecond).String()
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Job.Name, j.Job.Spec, j.Job.Missed, last, outcome, dur, j.Next.UTC().Format(time.DateTime))
				}
				return tw.Flush()
			})
		},
	}
	run := &cobra.Command{
		Use:   "run JOB",
		Short: "Run a scheduled job now, in this process, and record it",
		Example: fmt.Sprintf(`  %[1]s schedule list   # the names
  %[1]s schedule run nightly_report`, env.Name),
		Args: command.ExactArgs("JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return command.WithService(cmd.Context(), env, func(ctx context.Context, s *Scheduler) error {
				r, err := s.RunNow(ctx, args[0])
				var noJob *NoJobError
				if errors.As(err, &noJob) {
					return command.UsageError(cmd, "no scheduled job %q; 'schedule list' shows them", args[0])
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "%s: %s in %s\n", r.Job, r.Outcome, r.Duration.Round(time.Millisecond))
				return nil
			})
		},
	}
	cmd.AddCommand(list, run)
	return cmd
}

func firstLine(s string, max int) string {
	for i, r := range s {
		if r == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > max {
		s = s[:max-1] + "…"
	}
	return s
}
