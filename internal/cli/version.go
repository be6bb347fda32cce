package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/internal/generate"
)

// commit is set with -ldflags "-X github.com/aegisgo/aegis/internal/cli.commit=..."; otherwise it
// comes from the build's VCS stamp when there is one.
var commit = ""

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the aegis version",
		Long: `Print the aegis version, the commit it was built from when known, the Go toolchain and
platform it runs on, and the Go version of the projects it generates (their go.mod's go line).
'aegis --version' prints the same line. Quote it in bug reports.`,
		Example: "  aegis version\n  aegis --version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return nil
		},
	}
}

// versionLine is what 'aegis version' and 'aegis --version' print.
func versionLine() string {
	c := commit
	if info, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				c = s.Value[:12]
			}
		}
	}
	line := "aegis " + generate.Version
	if c != "" {
		line += " (" + c + ")"
	}
	return fmt.Sprintf("%s %s %s/%s; generates Go %s projects", line, runtime.Version(), runtime.GOOS, runtime.GOARCH, generate.GoVersion)
}
