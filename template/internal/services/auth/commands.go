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

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
)

// usersCommand is `<app> users`: create-admin, list, activate, deactivate
// and set-role.
func usersCommand(env *command.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage user accounts",
		Long: `Manage user accounts from the command line, on the database DATABASE_URL names:
create an admin (the first one, say), list and search the accounts, activate or
deactivate one, and make it a user or an admin. No login is needed, so this is
the way back in when nobody can sign in; the last active admin still stays one.`,
		Example: fmt.Sprintf(`  %[1]s users create-admin --email admin@example.com --username admin
  %[1]s users list -q ada`, env.Name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(createAdminCommand(env), listUsersCommand(env), setActiveCommand(env, true), setActiveCommand(env, false), setRoleCommand(env))
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
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" || username == "" {
				return command.UsageError(cmd, "--email and --username are required")
			}
			if !cmd.Flags().Changed("password") {
				p, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
				if errors.Is(err, errNoPassword) {
					return command.UsageError(cmd, "%v", err)
				}
				if err != nil {
					return err
				}
				password = p
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, users *UserService) error {
				u, err := users.Create(cmd.Context(), CreateUserParams{Email: email, Username: username, Password: password, FullName: fullName, Role: RoleAdmin,
					EmailVerified: true})
				if errors.Is(err, ErrEmailTaken) {
					// The usual case: the operator registered through the app first.
					return &operatorError{fmt.Sprintf("email is already registered: to make that account an admin, run: %s users set-role %s admin", env.Name, email), err}
				}
				var bad *ValidationError
				if errors.As(err, &bad) {
					// Bad flag values (an email that is not one, a short or common password) are
					// the command line's mistake: exit 2 like every other usage error.
					return command.UsageError(cmd, "%s", strings.TrimPrefix(err.Error(), "auth: "))
				}
				if err != nil {
					return forOperator(err)
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

// errNoPassword is readPassword's answer to an empty standard input: a usage error.
var errNoPassword = errors.New("no password given; pass --password, type it at the prompt or pipe it on standard input")

// readPassword prompts twice on a terminal, or reads one line otherwise.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "Repeat password: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords do not match; run the command again")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errNoPassword
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
		Example: fmt.Sprintf(`  %[1]s users list
  %[1]s users list -q ada
  %[1]s users list --role admin --active true
  %[1]s users list --page 2 --per-page 20`, env.Name),
		Args: command.NoArgs,
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
			// Refused here: List would quietly show page 1, or its default page size, instead.
			if err := command.IntRange(cmd, "--page", p.Page, 1, backend.MaxPage); err != nil {
				return err
			}
			if err := command.IntRange(cmd, "--per-page", p.PerPage, 1, MaxPageSize); err != nil {
				return err
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, users *UserService) error {
				res, err := users.List(cmd.Context(), p)
				if err != nil {
					return forOperator(err)
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
				more := ""
				if res.TotalCapped {
					more = "+"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d of %d%s users (page %d)\n", len(res.Users), res.Total, more, res.Page)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&p.Query, "query", "q", "", "search email, username and full name (1-2 characters: the start of email or username)")
	f.StringVar(&p.Role, "role", "", "only this role: user or admin")
	f.StringVar(&active, "active", "", "only active (true) or deactivated (false) users")
	f.IntVar(&p.Page, "page", 1, "page number, from 1")
	f.IntVar(&p.PerPage, "per-page", 50, fmt.Sprintf("users per page, from 1 to %d", MaxPageSize))
	return cmd
}

// setActiveCommand is `users activate EMAIL` or `users deactivate EMAIL`.
// Activation from the command line is the way back for an account nobody
// in the app can reactivate; UserService still refuses to deactivate the
// last active admin.
func setActiveCommand(env *command.Env, active bool) *cobra.Command {
	use, short := "deactivate", "Deactivate an account and revoke its sessions"
	if active {
		use, short = "activate", "Activate an account again"
	}
	return &cobra.Command{
		Use:     use + " EMAIL",
		Short:   short,
		Example: fmt.Sprintf("  %s users %s ada@example.com", env.Name, use),
		// Without Args the binary takes none and refuses EMAIL ("takes no arguments").
		Args: command.ExactArgs("EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return command.WithService(cmd.Context(), env, func(ctx context.Context, users *UserService) error {
				u, err := updateByEmail(ctx, users, args[0], UpdateUserParams{Active: &active})
				if err != nil {
					return err
				}
				state := "deactivated; their sessions are revoked"
				if active {
					state = "active"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s <%s> is %s\n", u.Username, u.Email, state)
				return nil
			})
		},
	}
}

// setRoleCommand is `users set-role EMAIL ROLE`.
func setRoleCommand(env *command.Env) *cobra.Command {
	return &cobra.Command{
		Use:     "set-role EMAIL ROLE",
		Short:   "Make an account a user or an admin",
		Example: fmt.Sprintf("  %s users set-role ada@example.com admin", env.Name),
		Args:    command.ExactArgs("EMAIL", "ROLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			role := args[1]
			if role != RoleUser && role != RoleAdmin {
				return command.UsageError(cmd, "ROLE must be user or admin")
			}
			return command.WithService(cmd.Context(), env, func(ctx context.Context, users *UserService) error {
				u, err := updateByEmail(ctx, users, args[0], UpdateUserParams{Role: &role})
				if err != nil {
					return err
				}
				article := "a"
				if role == RoleAdmin {
					article = "an"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s <%s> is now %s %s\n", u.Username, u.Email, article, role)
				return nil
			})
		},
	}
}

// updateByEmail applies p to the account with email, as an operator outside
// the app (no actor: only the last-admin rule applies).
func updateByEmail(ctx context.Context, users *UserService, email string, p UpdateUserParams) (*User, error) {
	u, err := users.GetByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound) && !strings.Contains(email, "@"):
		// A username or an id, as 'users list' shows them beside the email.
		return nil, &operatorError{fmt.Sprintf("%s is not an email address: give the account's email, as 'users list' shows it", email), err}
	case errors.Is(err, ErrNotFound):
		return nil, &operatorError{fmt.Sprintf("no account has the email %s: 'users list' shows them", email), err}
	case err != nil:
		return nil, forOperator(err)
	}
	u, err = users.Update(ctx, u.ID, p)
	if errors.Is(err, ErrLastAdmin) {
		return nil, &operatorError{fmt.Sprintf("%s is the last active admin, who cannot be deactivated or demoted: make another account an admin first (users set-role EMAIL admin)", email), err}
	}
	return u, forOperator(err)
}

// operatorError is an error of the users commands as the operator reads it:
// one line without the package prefix of the service's errors (which the
// binary's own "<app>: " prefix would stack on), err kept for errors.Is.
type operatorError struct {
	msg string
	err error
}

func (e *operatorError) Error() string { return e.msg }
func (e *operatorError) Unwrap() error { return e.err }

// forOperator drops the "auth: " prefix of the service's err (nil stays nil).
func forOperator(err error) error {
	var oe *operatorError
	if err == nil || errors.As(err, &oe) {
		return err
	}
	return &operatorError{strings.TrimPrefix(err.Error(), "auth: "), err}
}
