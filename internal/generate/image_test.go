package generate

import (
	"regexp"
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
)

// dockerPath is the grammar of one path component of a Docker image reference.
var dockerPath = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

func TestImageName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"app", "app"},
		{"my-api", "my-api"},
		{"my_api", "my_api"},
		{"MyApi", "myapi"},
		{"a_", "a"},
		{"a-", "a"},
		{"a___b", "a_b"},
		{"a-_-b", "a-b"},
		{"My__Api_", "my_api"},
		{"x1--2", "x1-2"},
	}
	for _, tt := range tests {
		got := ImageName(tt.name)
		if got != tt.want {
			t.Errorf("ImageName(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if !dockerPath.MatchString(got) {
			t.Errorf("ImageName(%q) = %q, not a valid Docker reference", tt.name, got)
		}
	}
}

// Every template that names the image uses the derived name, and the README's columns line
// up whatever the length of the name.
func TestImageAndLayoutInTemplates(t *testing.T) {
	for _, name := range []string{"q1", "My__Api_", "a-very-long-project-name-indeed"} {
		proj, err := Render(Params{Name: name, Module: "example.com/x", SkipModules: true,
			Selection: catalog.Selection{Components: []string{"backend", "frontend"}, Services: []string{"httpclient"}}})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range proj.Files {
			files[f.Path] = string(f.Data)
		}
		img := ImageName(name)
		for path, want := range map[string]string{
			"docker-compose.yml": "    image: " + img + ":dev\n",
			"Makefile":           "IMAGE   := " + img + "\n",
			"README.md":          "docker build -t " + img + " .",
		} {
			if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(files[path]) {
				t.Errorf("%s: %s lacks %q", name, path, want)
			}
		}
		readme := files["README.md"]
		col := regexp.MustCompile(`(?m)^internal/app/ +`).FindString(readme)
		bin := regexp.MustCompile(`(?m)^cmd/` + regexp.QuoteMeta(name) + `/ +`).FindString(readme)
		if len(name) < 18 && len(bin) != len(col) {
			t.Errorf("%s: layout line %q is not aligned with %q", name, bin, col)
		}
		if bin == "" {
			t.Errorf("%s: README has no layout line for cmd/%s/", name, name)
		}
		deploy := regexp.MustCompile(`(?m)^make build +`).FindString(readme)
		docker := regexp.MustCompile(`(?m)^docker build -t \S+ \. +`).FindString(readme)
		if len(name) < 10 && len(docker) != len(deploy) {
			t.Errorf("%s: deploy line %q is not aligned with %q", name, docker, deploy)
		}
	}
}
