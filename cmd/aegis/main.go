// Command aegis scaffolds production-ready Go web applications from components and services.
// Run `aegis --help` to start.
package main

import (
	"os"

	"github.com/aegisgo/aegis/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{}))
}
