package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
)

// analyticsCommand is `<app> analytics`: stats, events, funnel and prune.
func analyticsCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   Name,
		Short: "Read the analytics events and prune old ones",
		Long: `Read the events the app tracked, as the dashboard's Analytics panel does: totals
and unique users (stats), counts by name or per hour or day (events), how many
users did steps in order (funnel); and delete the raw events older than
ANALYTICS_RETENTION (prune), keeping their hourly counts.`,
		Example: fmt.Sprintf(`  %[1]s analytics stats --since 168h
  %[1]s analytics funnel signup purchase --since 720h`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(statsCommand(env), eventsCommand(env), funnelCommand(env), pruneCommand(env))
	return cmd
}

// sinceFlag adds --since (a duration back from now) to cmd.
func sinceFlag(cmd *cobra.Command, def time.Duration) *time.Duration {
	d := new(time.Duration)
	cmd.Flags().DurationVar(d, "since", def, "how far back to look (a duration such as 24h or 720h)")
	return d
}

func checkSince(cmd *cobra.Command, d time.Duration) error {
	if d <= 0 {
		return command.UsageError(cmd, "--since must be a positive duration such as 24h")
	}
	return nil
}

func statsCommand(env *command.Env) *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Event totals, unique users and, with the auth service, account statistics",
		Example: fmt.Sprintf(`  %[1]s analytics stats
  %[1]s analytics stats --since 168h
  %[1]s analytics stats --since 720h --days 7`, env.Name),
		Args: command.NoArgs,
	}
	since := sinceFlag(cmd, 24*time.Hour)
	cmd.Flags().IntVar(&days, "days", 30, "days of tracked users in the account statistics, from 1 to 366")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkSince(cmd, *since); err != nil {
			return err
		}
		// UserStats would count 0 or fewer days as 1 without saying so; 366 is the API's limit too.
		if err := command.IntRange(cmd, "--days", days, 1, 366); err != nil {
			return err
		}
		return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
			r := Last(svc.now(), *since)
			counts, err := svc.Counts(ctx, r)
			if err != nil {
				return err
			}
			kept, cut := svc.Kept(r)
			unique, err := svc.UniqueUsers(ctx, kept, "")
			if err != nil {
				return err
			}
			var total int64
			for _, c := range counts {
				total += c.Count
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "range:          %s\nevents:         %d (%d names)\nunique users:   %d", describe(r), total, len(counts), unique)
			if cut {
				// Unique users come from the raw events, which the retention deletes.
				fmt.Fprintf(out, " (only over the last %s, ANALYTICS_RETENTION: older raw events are deleted)", svc.settings.Retention)
			}
			fmt.Fprintln(out)
			st, err := svc.UserStats(ctx, days)
			switch {
			case errors.Is(err, ErrNoIdentity):
			case err != nil:
				return err
			default:
				fmt.Fprintf(out, "accounts:       %d (%d active, %d inactive, activity rate %.1f%%)\ntracked users:  %d in the last %d days",
					st.TotalUsers, st.ActiveUsers, st.InactiveUsers, st.ActivityRate*100, st.TrackedUsers, st.Days)
				if st.TrackedSince.After(st.GeneratedAt.Add(-time.Duration(st.Days) * 24 * time.Hour)) {
					fmt.Fprintf(out, " (only since %s, ANALYTICS_RETENTION)", st.TrackedSince.Format(time.RFC3339))
				}
				fmt.Fprintln(out)
			}
			return nil
		})
	}
	return cmd
}

func eventsCommand(env *command.Env) *cobra.Command {
	var (
		bucket, name string
		recent       int
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Event counts by name, per hour or day with --bucket, or the latest events with --recent",
		Example: fmt.Sprintf(`  %[1]s analytics events --since 168h
  %[1]s analytics events --since 168h --bucket day --name signup
  %[1]s analytics events --recent 20`, env.Name),
		Args: command.NoArgs,
	}
	since := sinceFlag(cmd, 24*time.Hour)
	f := cmd.Flags()
	f.StringVar(&bucket, "bucket", "", `"hour" or "day": counts per bucket instead of per name`)
	f.StringVar(&name, "name", "", "only this event (its count, or its counts per --bucket)")
	f.IntVar(&recent, "recent", 0, "list the latest N events instead")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkSince(cmd, *since); err != nil {
			return err
		}
		if bucket != "" && bucket != string(Hour) && bucket != string(Day) {
			return command.UsageError(cmd, `--bucket is "hour" or "day"`)
		}
		if recent < 0 || recent > 10_000 {
			return command.UsageError(cmd, "--recent takes 1 to 10000")
		}
		if name != "" && !ValidName(name) {
			return command.UsageError(cmd, "--name %q is not an event name (%s)", name, NamePattern)
		}
		if name != "" && recent > 0 {
			return command.UsageError(cmd, "--name does not go with --recent: --recent lists every event; leave one of them out")
		}
		if bucket != "" && recent > 0 {
			// Said rather than ignored: the list of events has no buckets to count per.
			return command.UsageError(cmd, "--bucket does not go with --recent: --recent lists events, not counts; leave one of them out")
		}
		return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
			out := cmd.OutOrStdout()
			r := Last(svc.now(), *since)
			var v any
			switch {
			case recent > 0:
				evs, err := svc.Recent(ctx, recent)
				if err != nil {
					return err
				}
				if !asJSON {
					tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "TIME\tNAME\tUSER\tPROPERTIES")
					for _, e := range evs {
						props, _ := json.Marshal(e.Props)
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Name, e.UserID, props)
					}
					return tw.Flush()
				}
				v = nonNil(evs)
			case bucket != "":
				points, err := svc.Series(ctx, r, Bucket(bucket), name)
				if err != nil {
					return err
				}
				if !asJSON {
					tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "FROM\tCOUNT")
					for _, p := range points {
						fmt.Fprintf(tw, "%s\t%d\n", p.Time.Format(time.RFC3339), p.Count)
					}
					return tw.Flush()
				}
				v = nonNil(points)
			default:
				counts, err := svc.Counts(ctx, r)
				if err != nil {
					return err
				}
				if name != "" {
					// Only that event's count, 0 when it did not happen in the range.
					one := NameCount{Name: name}
					for _, c := range counts {
						if c.Name == name {
							one = c
						}
					}
					counts = []NameCount{one}
				}
				if !asJSON {
					tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tCOUNT")
					for _, c := range counts {
						fmt.Fprintf(tw, "%s\t%d\n", c.Name, c.Count)
					}
					return tw.Flush()
				}
				// An empty range is [], which a script reading the JSON can range over, not null.
				v = nonNil(counts)
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		})
	}
	return cmd
}

func funnelCommand(env *command.Env) *cobra.Command {
	var window time.Duration
	cmd := &cobra.Command{
		Use:     "funnel STEP STEP...",
		Short:   "How many users did the steps in order (2 to 10 event names)",
		Example: fmt.Sprintf("  %s analytics funnel signup activate purchase --since 720h --window 168h", env.Name),
		// cobra.RangeArgs would say "accepts between 2 and 10 arg(s), received 0", naming
		// neither the command nor what the arguments are.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > MaxFunnelSteps {
				return command.UsageError(cmd, "analytics funnel needs 2 to %d STEP event names, in order, such as: analytics funnel signup purchase (got %d)", MaxFunnelSteps, len(args))
			}
			return nil
		},
	}
	since := sinceFlag(cmd, 7*24*time.Hour)
	cmd.Flags().DurationVar(&window, "window", 0, "how long after the first step the others count; 0 means the whole range")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkSince(cmd, *since); err != nil {
			return err
		}
		if msg := stepsProblem(args); msg != "" {
			return command.UsageError(cmd, "%s", msg)
		}
		// Funnel reads a window of 0 or less as the whole range: a negative one (a typo)
		// would answer for a different question without a word, as the API refuses it.
		if window < 0 {
			return command.UsageError(cmd, "--window must be a positive duration such as 24h, or 0 for the whole range (got %s)", window)
		}
		return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
			if *since > svc.settings.Retention && !cmd.Flags().Changed("since") {
				*since = svc.settings.Retention // the default week, shortened to what is kept
			}
			if *since > svc.settings.Retention {
				// Funnels count from the raw events, which the retention deletes: the older
				// part of the range would be left out without a word.
				// A flag's value the command refuses: a usage error (exit 2), as --window's is.
				return command.UsageError(cmd, "--since %s reaches past ANALYTICS_RETENTION (%s), whose raw events are deleted, so users there are no longer known: use --since %s or less",
					*since, svc.settings.Retention, svc.settings.Retention)
			}
			steps, err := svc.Funnel(ctx, FunnelParams{Steps: args, Range: Last(svc.now(), *since), Window: window})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STEP\tUSERS\tOF FIRST")
			for _, s := range steps {
				fmt.Fprintf(tw, "%s\t%d\t%.1f%%\n", s.Name, s.Users, s.Rate*100)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func pruneCommand(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Delete raw events older than ANALYTICS_RETENTION (the hourly counts stay)",
		Example: fmt.Sprintf(`  %[1]s analytics prune
  ANALYTICS_RETENTION=720h %[1]s analytics prune`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
				n, err := svc.Prune(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %d events older than %s\n", n, svc.settings.Retention)
				return nil
			})
		},
	}
}
