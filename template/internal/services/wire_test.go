package services_test

import (
	"testing"

	"github.com/aegisgo/aegis/template/internal/wire"
)

// TestWireGen fails when a sub-package of this folder is missing from
// wire_gen.go (its init() would never run) or wire_gen.go imports one that is
// gone. The message names the package and the fix: go generate ./...
func TestWireGen(t *testing.T) {
	t.Parallel()
	if err := wire.Check("."); err != nil {
		t.Fatal(err)
	}
}
