package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// listenURL is the URL a local client uses to reach a server listening on
// addr (the listener's real address, so PORT=0 shows the port it got).
func listenURL(s backend.Settings, addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		if p, err := strconv.Atoi(port); err == nil {
			s.Port = p
		}
	}
	return s.ClientURL()
}

// healthFlags are shared by the health subcommands.
type healthFlags struct {
	url     string
	timeout time.Duration
}

func (a *cli) addHealthFlags(cmd *cobra.Command, f *healthFlags) {
	cmd.Flags().StringVar(&f.url, "url", "", "base URL of the server (default: http://HOST:PORT from the environment)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Second, "give up after this long")
}

// healthURL is what --url may hold: the rules of every http(s) URL setting (config.HTTPURL),
// so the flag refuses what a setting would, in the same words. A path is fine (an app served
// under a prefix). No user:password: the checks authenticate with HEALTH_DETAILS_TOKEN, and a
// password on the command line lands in the shell's history and in ps. No query or fragment:
// the commands append /health/ready or /health/detailed to the base URL, and after a query or
// a fragment that path would no longer be the request's path.
var healthURL = config.HTTPURL{Fix: "use the server's base URL such as http://10.0.0.5:8000"}

// baseURL checks the flags and returns --url, or the URL the server would listen on
// according to HOST and PORT. A --timeout of 0 or less, or a --url that healthURL refuses,
// is a usage error (exit 2): left to the request, the first reads as a server that
// "did not answer within 0s" and the second as Go's "unsupported protocol scheme", both
// runtime failures (exit 1) blaming the server.
func (f *healthFlags) baseURL(cmd *cobra.Command) (string, error) {
	if f.timeout <= 0 {
		return "", command.UsageError(cmd, "--timeout must be a positive duration such as 5s (got %s)", f.timeout)
	}
	if f.url != "" {
		if err := healthURL.CheckFlag("--url", f.url); err != nil {
			return "", command.UsageError(cmd, "%w", err)
		}
		return strings.TrimRight(f.url, "/"), nil
	}
	s, err := config.Load[backend.Settings]()
	if err != nil {
		return "", err
	}
	return s.ClientURL(), nil
}

func (a *cli) healthCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask a running server how it is",
		Long: `Ask a running server how it is, over HTTP.

The server must be running (` + a.name + ` serve). By default the commands find it at
http://HOST:PORT from the same environment variables serve reads; --url points
them anywhere else.`,
		Example: fmt.Sprintf(`  %[1]s health status
  %[1]s health status --json
  %[1]s health probe --url http://10.0.0.5:8000`, a.name),
		Args: cobra.ArbitraryArgs,
		RunE: command.Group,
	}
	cmd.AddCommand(a.healthStatusCmd(), a.healthProbeCmd())
	return cmd
}

func (a *cli) healthStatusCmd() *cobra.Command {
	var (
		f      healthFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the health of every component and service",
		Long: `Show the health of every component and service, from GET /health/detailed.

Each check runs on the server, bounded by its HEALTH_TIMEOUT. The command exits
0 when the app is healthy or degraded (an optional service is failing), and 1
when it is unhealthy or cannot be reached.`,
		Example: fmt.Sprintf(`  %[1]s health status
  %[1]s health status --json | jq '.checks[] | select(.status != "healthy")'
  %[1]s health status --url http://staging.internal:8000`, a.name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := f.baseURL(cmd)
			if err != nil {
				return err
			}
			body, _, err := fetch(cmd.Context(), base+backend.DetailedPath, f.timeout, detailsToken())
			if err != nil {
				return err
			}
			var rep registry.Report
			if err := json.Unmarshal(body, &rep); err != nil {
				return fmt.Errorf("health: %s%s did not return a health report: %w", base, backend.DetailedPath, err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				var buf bytes.Buffer
				if err := json.Indent(&buf, body, "", "  "); err != nil {
					return fmt.Errorf("health: %w", err)
				}
				buf.WriteByte('\n')
				if _, err := buf.WriteTo(out); err != nil {
					return err
				}
			} else if err := printReport(out, rep); err != nil {
				return err
			}
			if rep.Status == registry.StatusUnhealthy {
				return silentError{ExitFailure}
			}
			return nil
		},
	}
	a.addHealthFlags(cmd, &f)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the server's JSON report instead of a table")
	return cmd
}

func printReport(w io.Writer, rep registry.Report) error {
	if rep.Checks == nil && rep.CheckedAt.IsZero() {
		// A production server without HEALTH_DETAILS_TOKEN tells the status only.
		_, err := fmt.Fprintf(w, "Overall: %s (checks not shown: set HEALTH_DETAILS_TOKEN to the server's)\n", rep.Status)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Overall: %s (checked in %s)\n\n", rep.Status, rep.Duration.Round(time.Microsecond))
	fmt.Fprintln(tw, "NAME\tKIND\tSTATUS\tLATENCY\tMESSAGE")
	for _, c := range rep.Checks {
		msg := c.Message
		if c.TimedOut {
			msg = strings.TrimSpace("timed out " + msg)
		}
		latency := "-" // no check ran: the status comes from the service's state
		if c.Latency > 0 {
			latency = c.Latency.Round(time.Microsecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.Kind, c.Status, latency, msg)
	}
	return tw.Flush()
}

func (a *cli) healthProbeCmd() *cobra.Command {
	var f healthFlags
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Exit 0 if the server is ready, 1 if not (for HEALTHCHECK)",
		Long: `Exit 0 if the server is ready to take traffic, 1 if not, from GET /health/ready.

Ready means started, not shutting down, and no required service unhealthy.
Use it where a command decides health, such as a Dockerfile HEALTHCHECK.`,
		Example: fmt.Sprintf(`  %[1]s health probe && echo ready

  # Dockerfile
  HEALTHCHECK --interval=10s --timeout=3s CMD ["/app/%[1]s", "health", "probe"]`, a.name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := f.baseURL(cmd)
			if err != nil {
				return err
			}
			body, status, err := fetch(cmd.Context(), base+backend.ReadyPath, f.timeout, "")
			if err != nil {
				return err
			}
			if status == http.StatusOK {
				fmt.Fprintln(cmd.OutOrStdout(), "ready")
				return nil
			}
			var rb backend.ReadyBody
			reason := fmt.Sprintf("HTTP %d", status)
			if json.Unmarshal(body, &rb) == nil && rb.Reason != "" {
				reason = rb.Reason
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "not ready: %s\n", reason)
			return silentError{ExitFailure}
		},
	}
	a.addHealthFlags(cmd, &f)
	return cmd
}

// detailsToken is HEALTH_DETAILS_TOKEN from the environment serve reads, sent so
// that a production server shows its checks; "" when unset or unreadable.
func detailsToken() string {
	s, err := config.Load[backend.Settings]()
	if err != nil {
		return ""
	}
	return s.HealthDetailsToken
}

// fetch GETs url and returns the body and status. A status other than 200
// or 503 (which health endpoints use for "not well") is an error, as is a
// server that cannot be reached; the status is still returned when known.
func fetch(ctx context.Context, target string, timeout time.Duration, token string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("health: %w; check --url", err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		switch netfail.Classify(err) {
		case netfail.Timeout:
			return nil, 0, fmt.Errorf("health: %s did not answer within %s; raise --timeout or check the server", target, timeout)
		case netfail.NotTLS:
			return nil, 0, fmt.Errorf("health: %s did not answer in TLS; use http:// in --url for a plain-HTTP server", target)
		}
		return nil, 0, fmt.Errorf("health: cannot reach %s: %w; is the server running? Point --url at it, or set HOST and PORT", target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("health: read %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return body, resp.StatusCode, fmt.Errorf("health: %s answered %s; is --url the app's base URL?", target, resp.Status)
	}
	return body, resp.StatusCode, nil
}

// unwrapURLError drops what net/http and the dialer put before the cause
// ("Get <url>: dial tcp <addr>: connect:"), since our message already names the
// URL: what is left is what the user acts on, such as "connection refused".
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		err = oe.Err
		if se, ok := errors.AsType[*os.SyscallError](err); ok {
			err = se.Err
		}
	}
	return err
}
