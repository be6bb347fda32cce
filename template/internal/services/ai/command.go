package ai

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
)

// aiCommand is `<app> ai`: chat, models and usage.
func aiCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   Name,
		Short: "Chat with the configured models, list them, and read the usage ledger",
		Long: `Try the models the AI_ settings configure (AI_PROVIDER and AI_MODEL, more with
AI_PROFILES) without the server: chat with one, list the profiles and what each
provider offers, and read the usage ledger, the tokens and cost of every
provider call the app made, per day and model.`,
		Example: fmt.Sprintf(`  %[1]s ai chat
  %[1]s ai usage --days 7`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(chatCommand(env), modelsCommand(env), usageCommand(env))
	return cmd
}

func chatCommand(env *command.Env) *cobra.Command {
	var model, system string
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "A streaming chat that keeps the conversation (/model NAME, /new, /exit)",
		Long: `Chat with a configured model in the terminal, the answer streamed as it comes.
Each turn is stored as a conversation and recorded in the usage ledger, as a chat
through the API is. Ctrl-C while an answer streams stops that answer (kept as
partial) and the chat goes on.

Commands: /model NAME switches the profile or model (the conversation goes on),
/new starts a new conversation, /help lists these, /exit (or end of input) leaves.
A prompt that begins with / is sent with // in front.`,
		Example: fmt.Sprintf(`  %[1]s ai chat
  %[1]s ai chat --model big --system "Answer in one sentence."
  echo "Summarise RFC 9457 in one line" | %[1]s ai chat`, env.Name),
		Args: command.NoArgs,
	}
	cmd.Flags().StringVar(&model, "model", "", "profile or model to start with (default: the default profile)")
	cmd.Flags().StringVar(&system, "system", "", "system prompt")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
			err := repl(ctx, svc, cmd.InOrStdin(), cmd.OutOrStdout(), model, system)
			if errors.Is(err, ErrUnknownModel) {
				// --model names no profile or model: the flag's value is wrong (exit 2).
				return command.UsageError(cmd, "--model: %s", strings.TrimPrefix(err.Error(), "ai: "))
			}
			return err
		})
	}
	return cmd
}

// replHelp lists the REPL's commands; it answers /help and a command it does not know.
const replHelp = "/model NAME switches the profile or model, /new starts a new conversation, /exit leaves; start a prompt with // to send one that begins with /"

// repl reads prompts line by line and streams the answers; the conversation goes on until
// /new or /exit (or the end of the input).
func repl(ctx context.Context, svc *Service, in io.Reader, out io.Writer, model, system string) error {
	if !svc.Configured() {
		return ErrNotConfigured
	}
	profile, _, err := svc.Provider(model)
	if err != nil {
		return err
	}
	// The REPL says why each turn failed; the service's warning of the same failure went to
	// the same terminal, in the middle of a streamed answer. Errors (the ledger not written)
	// still show.
	svc.logger = slog.New(logbuf.MinLevel(svc.logger.Handler(), slog.LevelError))
	fmt.Fprintf(out, "Chatting with %s (%s/%s). /model NAME switches, /new starts over, /exit leaves.\n", profile.Name, profile.Provider, profile.Model)
	var conversation int64
	rd := bufio.NewReader(in)
	for {
		fmt.Fprint(out, "> ")
		line, tooLong, err := readLine(rd, svc.settings.MaxPromptBytes)
		if err != nil {
			fmt.Fprintln(out)
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		line = strings.TrimSpace(line)
		switch {
		case tooLong:
			fmt.Fprintf(out, "error: the prompt is larger than AI_MAX_PROMPT_BYTES (%d bytes)\n", svc.settings.MaxPromptBytes)
			continue
		case line == "":
			continue
		case strings.HasPrefix(line, "//"):
			line = line[1:] // a prompt that starts with a slash
		case strings.HasPrefix(line, "/"):
			// A mistyped command (/exti) is not sent to the model as a prompt: that would
			// spend tokens on a typo.
			verb, arg, _ := strings.Cut(line, " ")
			arg = strings.TrimSpace(arg)
			switch verb {
			case "/exit", "/quit":
				return nil
			case "/new":
				conversation = 0
				fmt.Fprintln(out, "(new conversation)")
			case "/model":
				p, _, err := svc.Provider(arg)
				if err != nil || arg == "" {
					if arg != "" {
						fmt.Fprintf(out, "unknown profile or model %q; ", arg)
					}
					fmt.Fprintf(out, "profiles: %s\n", strings.Join(svc.profileNames(), ", "))
					continue
				}
				model = arg
				fmt.Fprintf(out, "(now %s: %s/%s)\n", p.Name, p.Provider, p.Model)
			case "/help":
				fmt.Fprintln(out, replHelp)
			default:
				fmt.Fprintf(out, "unknown command %s; %s\n", verb, replHelp)
			}
			continue
		}
		// Ctrl-C (SIGINT) while an answer streams cancels that answer, not the program: the
		// provider call is cancelled, the answer so far stored as partial and its tokens
		// recorded, and the REPL goes on. At the prompt Ctrl-C ends the program as usual.
		turn, stop := signal.NotifyContext(ctx, os.Interrupt)
		res, err := svc.Chat(turn, ChatParams{Prompt: line, System: system, Model: model, ConversationID: conversation,
			OnDelta: func(text string) error { _, err := io.WriteString(out, text); return err }})
		interrupted := turn.Err() != nil
		stop()
		fmt.Fprintln(out)
		if res != nil && res.ConversationID != 0 {
			conversation = res.ConversationID
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if interrupted {
				if res != nil && res.Partial {
					fmt.Fprintln(out, "(interrupted: the answer so far is kept as partial)")
				} else {
					fmt.Fprintln(out, "(interrupted)")
				}
				continue
			}
			if errors.Is(err, ErrConversationBusy) {
				// Answering a prompt of it elsewhere: the app's server, or another ai chat on
				// the same database, which the error's text would not tell.
				fmt.Fprintf(out, "error: this conversation is answering another prompt elsewhere (the server or another ai chat); send yours again once it is done (in about %s), or /new to start another\n", BusyRetryAfter)
				continue
			}
			fmt.Fprintf(out, "error: %s\n", strings.TrimPrefix(err.Error(), "ai: "))
			continue
		}
		fmt.Fprintf(out, "[%d in, %d out tokens, $%.6f]\n", res.Usage.InputTokens, res.Usage.OutputTokens, res.CostUSD)
	}
}

// readLine reads a line of at most limit bytes; a longer one (a large paste) is read to its
// end and dropped, tooLong set, so the REPL can say so and go on (a bufio.Scanner stopped
// the session with "token too long"). err is io.EOF at the end of the input.
func readLine(rd *bufio.Reader, limit int) (line string, tooLong bool, err error) {
	var b []byte
	for {
		chunk, err := rd.ReadSlice('\n')
		if len(b)+len(chunk) > limit+1 { // +1: the newline
			tooLong, b = true, b[:0]
		} else if !tooLong {
			b = append(b, chunk...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(b) > 0 || tooLong):
			return string(b), tooLong, nil
		case err != nil:
			return "", false, err
		}
		return string(b), tooLong, nil
	}
}

func modelsCommand(env *command.Env) *cobra.Command {
	var remote bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "The configured profiles, and with --remote the models each provider offers",
		Long: `List the profiles the AI_ settings configure (AI_PROVIDER and AI_MODEL are the
default profile, AI_PROFILES adds named ones) with their provider and model.
--remote also asks each configured provider which models it offers (its
models endpoint), so a typo in AI_MODEL shows before the first chat.`,
		Example: fmt.Sprintf(`  %[1]s ai models
  %[1]s ai models --remote`, env.Name),
		Args: command.NoArgs,
	}
	cmd.Flags().BoolVar(&remote, "remote", false, "also ask each provider for its models")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
			out := cmd.OutOrStdout()
			if !svc.Configured() {
				return ErrNotConfigured
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tPROVIDER\tMODEL")
			for _, p := range svc.Profiles() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Provider, p.Model)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if !remote {
				return nil
			}
			seen := map[string]bool{}
			var errs []error
			for _, p := range svc.Profiles() {
				if seen[p.Provider] {
					continue
				}
				seen[p.Provider] = true
				_, prov, _ := svc.Provider(p.Name)
				models, err := prov.Models(ctx)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(out, "\n%s offers:\n  %s\n", p.Provider, strings.Join(models, "\n  "))
			}
			return errors.Join(errs...)
		})
	}
	return cmd
}

func usageCommand(env *command.Env) *cobra.Command {
	var days int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Tokens and cost per day and model, from the usage ledger",
		Long: `Sum the usage ledger, one line per day and model: calls, failed calls, input
and output tokens and their cost from the price table (AI_PRICES overrides it),
then a total. Every provider call the app made is in the ledger: API chats,
jobs, tool loops and this command's chats.`,
		Example: fmt.Sprintf(`  %[1]s ai usage
  %[1]s ai usage --days 7
  %[1]s ai usage --json`, env.Name),
		Args: command.NoArgs,
	}
	cmd.Flags().IntVar(&days, "days", 30, "days to show, today included: from 1 to 366")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: GET /api/v1/ai/usage's summary (from, to, rows, totals)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := command.IntRange(cmd, "--days", days, 1, 366); err != nil {
			return err
		}
		return command.WithService(cmd.Context(), env, func(ctx context.Context, svc *Service) error {
			now := svc.now().UTC()
			from := now.AddDate(0, 0, -(days - 1))
			rows, err := svc.Usage(ctx, UsageParams{From: from, To: now, All: true})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				// GET /usage's summary, with the totals the table prints (the rows alone had none).
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(summarize(from, now, rows))
			}
			if len(rows) == 0 {
				fmt.Fprintf(out, "No AI calls in the last %d days.\n", days)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DAY\tMODEL\tCALLS\tERRORS\tINPUT\tOUTPUT\tCOST (USD)")
			var total UsageRow
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.6f\n", r.Day, r.Model, r.Calls, r.Errors, r.InputTokens, r.OutputTokens, r.CostUSD)
				total.Calls += r.Calls
				total.InputTokens += r.InputTokens
				total.OutputTokens += r.OutputTokens
				total.CostUSD += r.CostUSD
				total.Errors += r.Errors
			}
			fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%d\t%.6f\n", total.Calls, total.Errors, total.InputTokens, total.OutputTokens, total.CostUSD)
			return tw.Flush()
		})
	}
	return cmd
}
