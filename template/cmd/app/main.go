// Command app is the single binary of this app: run it with no arguments for help.
package main

import (
	"os"

	"github.com/aegisgo/aegis/template/internal/app"
	_ "github.com/aegisgo/aegis/template/internal/components"
	_ "github.com/aegisgo/aegis/template/internal/services"
)

func main() { os.Exit(app.Main("app")) }
