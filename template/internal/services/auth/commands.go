package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aegisgo/aegis/template/internal/runtime/command"
)

// usersCommand is `<app> users`: create-admin and list.
func usersCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage user accounts",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(createAdminCommand(env), listUsersCommand(env))
	return cmd
}

func createAdminCommand(env *command.Env) *cobra.Command {
	var email, username, password, fullName string
	cmd := &cobra.Command{
		Use:   "create-admin",
		Short: "Create an account with the admin role",
		Long: `Create an account with the admin role. Without --password the password is
asked for on the terminal, or read from the first line of standard input when
that is not a terminal (so scripts can pipe it in without it showing in ps).`,
		Example: fmt.Sprintf(`  %[1]s users create-admin --email admin@example.com --username admin
  printf '%%s\n' "$ADMIN_PASSWORD" | %[1]s users create-admin --email admin@example.com --username admin`, env.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" || username == "" {
				return command.UsageError(cmd, "--email and --username are required")
			}
			if !cmd.Flags().Changed("password") {
				p, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				password = p
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, users *UserService) error {
				u, err := users.Create(cmd.Context(), CreateUserParams{Email: email, Username: username, Password: password, FullName: fullName, Role: RoleAdmin})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created admin %s <%s> (id %d)\n", u.Username, u.Email, u.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "email address (required)")
	f.StringVar(&username, "username", "", "username (required)")
	f.StringVar(&password, "password", "", "password; omit to be prompted (flags show up in shell history and ps)")
	f.StringVar(&fullName, "full-name", "", "display name")
	return cmd
}

// readPassword prompts twice on a terminal, or reads one line otherwise.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("auth: read password: %w", err)
		}
		fmt.Fprint(prompt, "Repeat password: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("auth: read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("auth: the passwords do not match; run the command again")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("auth: read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("auth: no password given; pass --password, type it at the prompt or pipe it on standard input")
	}
	return line, nil
}

func listUsersCommand(env *command.Env) *cobra.Command {
	var (
		p      ListUsersParams
		active string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List user accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch active {
			case "":
			case "true", "false":
				a := active == "true"
				p.Active = &a
			default:
				return command.UsageError(cmd, "--active must be true or false")
			}
			if p.Role != "" && p.Role != RoleUser && p.Role != RoleAdmin {
				return command.UsageError(cmd, "--role must be user or admin")
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, users *UserService) error {
				res, err := users.List(cmd.Context(), p)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tUSERNAME\tEMAIL\tFULL NAME\tROLE\tACTIVE\tCREATED")
				for _, u := range res.Users {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Email, u.FullName, u.Role,
						strconv.FormatBool(u.Active), u.CreatedAt.Format("2006-01-02 15:04"))
				}
				if err := w.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d of %d users (page %d)\n", len(res.Users), res.Total, res.Page)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&p.Query, "query", "q", "", "search email, username and full name")
	f.StringVar(&p.Role, "role", "", "only this role: user or admin")
	f.StringVar(&active, "active", "", "only active (true) or deactivated (false) users")
	f.IntVar(&p.Page, "page", 1, "page number")
	f.IntVar(&p.PerPage, "per-page", 50, "users per page (at most 100)")
	return cmd
}
