package app

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X <module>/internal/app.version=1.2.0 -X <module>/internal/app.commit=$(git rev-parse --short HEAD)" ./cmd/<name>
//
// Without -ldflags, commit falls back to the VCS stamp the go command adds
// when it builds inside a repository.
var (
	version = "dev"
	commit  = ""
)

// revision is the commit set at build time, else the go command's VCS stamp, else "".
func revision() string {
	if commit != "" {
		return commit
	}
	return vcsRevision()
}

// versionLine returns "dev (commit abc1234, go1.26.8)".
func versionLine() string {
	c := revision()
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, %s)", version, c, runtime.Version())
}

func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

func (a *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit this binary was built from",
		Long: `Print the version and commit this binary was built from.

The version is "dev" unless the build sets it with -ldflags.`,
		Example: fmt.Sprintf(`  %[1]s version
  %[1]s --version

  # Stamp a release build
  go build -ldflags "-X <module>/internal/app.version=1.2.0" ./cmd/%[1]s`, a.name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", a.name, versionLine())
			return err
		},
	}
}
