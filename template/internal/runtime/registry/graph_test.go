package registry_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

func TestGraph(t *testing.T) {
	t.Parallel()
	r := registry.New()
	at := here()
	must(t, registry.Provide(r, newDB, registry.Kind(registry.KindComponent), registry.Describe(`SQL "pool"`)))
	must(t, registry.Provide1(r, newRepo, registry.WithLifetime(registry.Scoped)))
	must(t, registry.Provide(r, newEnglish))
	must(t, registry.Bind[Greeter, *English](r))
	must(t, registry.Provide(r, newBlob, registry.Optional()))
	g := registrytest.Start(t, r).Graph()

	var names []string
	for _, n := range g.Nodes {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "registry_test.Blob,registry_test.DB,registry_test.English,registry_test.Greeter,registry_test.Repo" {
		t.Fatalf("nodes %s", got)
	}
	byName := map[string]registry.Node{}
	for _, n := range g.Nodes {
		byName[n.Name] = n
	}
	db := byName["registry_test.DB"]
	file, line := splitLoc(at)
	if db.Kind != "component" || db.Lifetime != "singleton" || db.State != "started" || db.Type != "*registry_test.DB" ||
		db.Registered != file+":"+itoa(line+1) || db.Description != `SQL "pool"` {
		t.Errorf("db node %+v", db)
	}
	if repo := byName["registry_test.Repo"]; repo.Lifetime != "scoped" || repo.State != "registered" || strings.Join(repo.Deps, ",") != "registry_test.DB" {
		t.Errorf("repo node %+v", repo)
	}
	if gr := byName["registry_test.Greeter"]; gr.State != "started" || strings.Join(gr.Deps, ",") != "registry_test.English" || gr.AliasOf != "registry_test.English" {
		t.Errorf("binding node %+v", gr)
	}
	if en := byName["registry_test.English"]; en.AliasOf != "" {
		t.Errorf("a provided service is not an alias: %+v", en)
	}
	if cache := byName["registry_test.Blob"]; !cache.Optional {
		t.Errorf("cache node %+v", cache)
	}

	b, err := json.Marshal(g)
	must(t, err)
	for _, key := range []string{`"nodes":[`, `"name":"registry_test.DB"`, `"type":"*registry_test.DB"`, `"lifetime":"singleton"`, `"state":"started"`, `"description":"SQL \"pool\""`, `"registered":"`, `"deps":[]`, `"deps":["registry_test.DB"]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}

	mermaid := g.Mermaid()
	for _, want := range []string{
		"flowchart LR\n",
		`n1["registry_test.DB<br/>singleton · started"]`,
		"n4 --> n1",
		"n3 --> n2",
	} {
		if !strings.Contains(mermaid, want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, mermaid)
		}
	}
	dot := g.DOT()
	for _, want := range []string{
		"digraph services {",
		`"registry_test.DB" [label="registry_test.DB\nsingleton, started"];`,
		`"registry_test.Repo" -> "registry_test.DB";`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}

	if strings.Contains(mermaid, "failed") || strings.Contains(dot, "color=red") {
		t.Error("nothing failed, yet something is marked failed")
	}
	var nilC *registry.Container
	if n := nilC.Graph().Nodes; n == nil || len(n) != 0 {
		t.Error("nil container graph")
	}
}

func TestGraphMarksFailures(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*Blob, error) { return nil, errBoom }))
	c, err := r.Build()
	must(t, err)
	_ = c.Start(t.Context())
	g := c.Graph()
	if n := g.Nodes[0]; n.State != "failed" || !strings.Contains(n.Error, "boom") {
		t.Errorf("node %+v", n)
	}
	if m := g.Mermaid(); !strings.Contains(m, "class n0 failed") {
		t.Errorf("Mermaid:\n%s", m)
	}
	if d := g.DOT(); !strings.Contains(d, `"registry_test.Blob" [label="registry_test.Blob\nsingleton, failed", color=red];`) {
		t.Errorf("DOT:\n%s", d)
	}
}
