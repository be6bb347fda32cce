package generate

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aegisgo/aegis/template"
)

// TestModulesUpToDate recomputes every owner's module data and compares it with modules.json, so
// a change to go.mod or to the reference app's imports cannot ship with stale go.mod files.
func TestModulesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy per owner")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ComputeModules(context.Background(), root, template.FS)
	if err != nil {
		t.Fatal(err)
	}
	want, err := EmbeddedModules()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("internal/generate/modules.json is stale; run: go generate ./internal/generate\nfresh data:\n%s", g)
	}
}
