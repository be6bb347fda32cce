package onboarding

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
)

// onboardingCommand is `<app> onboarding`: retry and pending.
func onboardingCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   Name,
		Short: "Retry and list the onboarding steps (cached profile, user_created event, welcome email) that failed",
		Long: `Onboarding creates an account, then caches its profile, tracks user_created and
sends the welcome email; a step that fails is retried when the server starts and
every ONBOARDING_RETRY_INTERVAL until it is done. List the accounts with steps
pending, or run those steps now instead of waiting.`,
		Example: fmt.Sprintf(`  %[1]s onboarding pending
  %[1]s onboarding retry`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(retryCommand(env), pendingCommand(env))
	return cmd
}

func retryCommand(env *command.Env) *cobra.Command {
	var due bool
	cmd := &cobra.Command{
		Use:   "retry",
		Short: "Run the pending steps now, without waiting for their backoff",
		Example: fmt.Sprintf(`  %[1]s onboarding retry
  %[1]s onboarding retry --due`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return command.WithService(cmd.Context(), env, func(ctx context.Context, s *Service) error {
				res, err := s.Retry(ctx, !due)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "completed %d, still pending %d, removed %d (accounts never created or deleted since)\n",
					res.Completed, res.Pending, res.Removed)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&due, "due", false, "only the accounts whose backoff has passed")
	return cmd
}

func pendingCommand(env *command.Env) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "pending",
		Short: "List the accounts with onboarding steps pending, oldest first",
		Example: fmt.Sprintf(`  %[1]s onboarding pending
  %[1]s onboarding pending --limit 500`, env.Name),
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := command.IntRange(cmd, "--limit", limit, 1, math.MaxInt); err != nil {
				return err
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, s *Service) error {
				list, err := s.Pending(ctx, limit)
				if err != nil {
					return err
				}
				if len(list) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no onboarding steps pending")
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "USER\tEMAIL\tSTEPS\tATTEMPTS\tNEXT RETRY\tLAST ERROR")
				for _, p := range list {
					fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", p.UserID, oneLine(p.Email), stepNames(p.Steps), p.Attempts,
						p.NextRetry.Format(time.RFC3339), oneLine(p.LastError))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "most accounts listed")
	return cmd
}

// oneLine is a cell of the pending table: the errors of several failed steps are joined by
// newlines (errors.Join), and a newline or tab in a cell breaks the table's rows and columns.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }), "; ")
}
