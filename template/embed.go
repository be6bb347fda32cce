// Package template holds the reference app: a real application with every component and service
// enabled, built and tested in place. The generator copies the files a selection owns from FS.
//
// This file is the only one never generated into a project.
package template

import "embed"

// FS is the reference app's source tree.
//
//go:embed all:cmd all:internal all:docs .env.example
var FS embed.FS

// ImportPrefix is the module path prefix of the reference app's packages, rewritten to the user's
// module path in generated projects.
const ImportPrefix = "github.com/aegisgo/aegis/template"
