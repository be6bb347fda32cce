package project

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/aegisgo/aegis/internal/generate"
)

// gomod writes a go.mod as `go mod tidy` lays it out: reqs ("path version", with " // indirect"
// for an indirect one) split into a direct and an indirect block, in the order given, then tail.
func gomod(goVersion string, reqs []string, tail string) string {
	var direct, indirect []string
	for _, r := range reqs {
		if strings.HasSuffix(r, "// indirect") {
			indirect = append(indirect, "\t"+r+"\n")
		} else {
			direct = append(direct, "\t"+r+"\n")
		}
	}
	s := "module example.com/app\n\ngo " + goVersion + "\n"
	for _, block := range [][]string{direct, indirect} {
		switch len(block) {
		case 0:
		case 1: // as the go command writes a block of one
			s += "\nrequire " + strings.TrimPrefix(block[0], "\t")
		default:
			s += "\nrequire (\n" + strings.Join(block, "") + ")\n"
		}
	}
	if tail != "" {
		s += "\n" + tail
	}
	return s
}

const (
	chi    = "github.com/go-chi/chi/v5 v5.5.0"
	cobra  = "github.com/spf13/cobra v1.10.2"
	pflag  = "github.com/spf13/pflag v1.0.10 // indirect"
	xsys   = "golang.org/x/sys v0.49.0 // indirect"
	cron   = "github.com/robfig/cron/v3 v3.0.1"
	redis  = "github.com/redis/go-redis/v9 v9.23.0"
	atomic = "go.uber.org/atomic v1.12.0 // indirect"
)

// baseMod is what aegis generated before; each case's theirs is what it generates now.
var baseMod = gomod("1.26.0", []string{chi, cobra, pflag, xsys}, "")

func TestMergeGoMod(t *testing.T) {
	tests := []struct {
		name         string
		ours, theirs string
		want         string
		// settled: the two sides changed different requirements, so the result needs no
		// go mod tidy.
		settled bool
	}{
		{
			name:    "user added a dependency, aegis another",
			ours:    gomod("1.26.0", []string{chi, cron, cobra, pflag, xsys}, ""),
			theirs:  gomod("1.26.0", []string{chi, redis, cobra, pflag, atomic, xsys}, ""),
			want:    gomod("1.26.0", []string{chi, redis, cron, cobra, pflag, atomic, xsys}, ""),
			settled: true,
		},
		{
			name:    "user upgraded a dependency aegis pins",
			ours:    gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.6.0", cobra, pflag, xsys}, ""),
			theirs:  gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.6.0", redis, cobra, pflag, xsys}, ""),
			settled: true,
		},
		{
			name:    "user downgraded a dependency aegis left alone",
			ours:    gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.4.0", cobra, pflag, xsys}, ""),
			theirs:  gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.4.0", redis, cobra, pflag, xsys}, ""),
			settled: true,
		},
		{
			name:   "both upgraded, aegis higher",
			ours:   gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.6.0", cobra, pflag, xsys}, ""),
			theirs: gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.10.0", cobra, pflag, xsys}, ""),
			want:   gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.10.0", cobra, pflag, xsys}, ""),
		},
		{
			name:   "both upgraded, user higher",
			ours:   gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.11.0", cobra, pflag, xsys}, ""),
			theirs: gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.10.0", cobra, pflag, xsys}, ""),
			want:   gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.11.0", cobra, pflag, xsys}, ""),
		},
		{
			name:    "user added a replace",
			ours:    gomod("1.26.0", []string{chi, cobra, pflag, xsys}, "replace github.com/spf13/cobra => ../cobra\n"),
			theirs:  gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, "replace github.com/spf13/cobra => ../cobra\n"),
			settled: true,
		},
		{
			name:   "user removed an indirect dependency aegis still needs",
			ours:   gomod("1.26.0", []string{chi, cobra, pflag}, ""),
			theirs: gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:   gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
		},
		{
			name:    "user removed an indirect dependency aegis dropped too",
			ours:    gomod("1.26.0", []string{chi, cobra, pflag}, ""),
			theirs:  gomod("1.26.0", []string{chi, cobra, pflag}, ""),
			want:    gomod("1.26.0", []string{chi, cobra, pflag}, ""),
			settled: true,
		},
		{
			name:    "aegis dropped one the user left alone",
			ours:    gomod("1.26.0", []string{chi, cron, cobra, pflag, xsys}, ""),
			theirs:  gomod("1.26.0", []string{cobra, pflag, xsys}, ""),
			want:    gomod("1.26.0", []string{cron, cobra, pflag, xsys}, ""),
			settled: true,
		},
		{
			name:   "aegis dropped one the user upgraded",
			ours:   gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.6.0", cobra, pflag, xsys}, ""),
			theirs: gomod("1.26.0", []string{cobra, pflag, xsys}, ""),
			want:   gomod("1.26.0", []string{"github.com/go-chi/chi/v5 v5.6.0", cobra, pflag, xsys}, ""),
		},
		{
			name:    "user imports an indirect dependency directly",
			ours:    gomod("1.26.0", []string{chi, cobra, "github.com/spf13/pflag v1.0.10", xsys}, ""),
			theirs:  gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.0", []string{chi, redis, cobra, "github.com/spf13/pflag v1.0.10", xsys}, ""),
			settled: true,
		},
		{
			name:    "user added indirectly what aegis adds directly",
			ours:    gomod("1.26.0", []string{chi, cobra, pflag, xsys, "github.com/redis/go-redis/v9 v9.23.0 // indirect"}, ""),
			theirs:  gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			settled: true,
		},
		{
			name:    "higher go line and the user's directives",
			ours:    gomod("1.26.3", []string{chi, cobra, pflag, xsys}, "godebug default=go1.25\n\ntool golang.org/x/tools/cmd/stringer\n\nexclude github.com/spf13/cobra v1.9.0\n"),
			theirs:  gomod("1.26.1", []string{chi, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.3", []string{chi, cobra, pflag, xsys}, "godebug default=go1.25\n\nexclude github.com/spf13/cobra v1.9.0\n\ntool golang.org/x/tools/cmd/stringer\n"),
			settled: true,
		},
		{
			name:   "both added one module at different versions",
			ours:   gomod("1.26.0", []string{chi, "github.com/redis/go-redis/v9 v9.24.0", cobra, pflag, xsys}, ""),
			theirs: gomod("1.26.0", []string{chi, redis, cobra, pflag, xsys}, ""),
			want:   gomod("1.26.0", []string{chi, "github.com/redis/go-redis/v9 v9.24.0", cobra, pflag, xsys}, ""),
		},
		{
			name:    "aegis's higher go line drops the user's older toolchain",
			ours:    gomod("1.26.0", []string{chi, cobra, pflag, xsys}, "toolchain go1.26.1\n"),
			theirs:  gomod("1.26.2", []string{chi, cobra, pflag, xsys}, ""),
			want:    gomod("1.26.2", []string{chi, cobra, pflag, xsys}, ""),
			settled: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, settled, ok := mergeGoMod([]byte(tt.ours), []byte(baseMod), []byte(tt.theirs))
			if !ok {
				t.Fatal("merge refused valid go.mod files")
			}
			if settled != tt.settled {
				t.Errorf("settled = %v, want %v", settled, tt.settled)
			}
			want := fmtMod(t, tt.want)
			if string(got) != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			if again := fmtMod(t, string(got)); again != string(got) {
				t.Errorf("not as go mod edit -fmt writes it:\n%s", got)
			}
		})
	}

	// A go.mod modfile cannot parse is left to the line merge.
	if _, _, ok := mergeGoMod([]byte("module x\nnonsense here\n"), []byte(baseMod), []byte(baseMod)); ok {
		t.Error("an unparsable go.mod merged")
	}
}

// fmtMod is data as `go mod edit -fmt` writes it.
func fmtMod(t *testing.T, data string) string {
	t.Helper()
	f, err := modfile.Parse("go.mod", []byte(data), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	out, err := f.Format()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestMergeGoSum(t *testing.T) {
	const (
		chiZip   = "github.com/go-chi/chi/v5 v5.5.0 h1:chi="
		chiMod   = "github.com/go-chi/chi/v5 v5.5.0/go.mod h1:chimod="
		cronZip  = "github.com/robfig/cron/v3 v3.0.1 h1:cron="
		cronMod  = "github.com/robfig/cron/v3 v3.0.1/go.mod h1:cronmod="
		redisZip = "github.com/redis/go-redis/v9 v9.23.0 h1:redis="
		redisMod = "github.com/redis/go-redis/v9 v9.23.0/go.mod h1:redismod="
		sys9     = "golang.org/x/sys v0.9.0/go.mod h1:sys9="
		sys49    = "golang.org/x/sys v0.49.0 h1:sys49="
		sys49Mod = "golang.org/x/sys v0.49.0/go.mod h1:sys49mod="
	)
	lines := func(l ...string) string { return strings.Join(l, "\n") + "\n" }
	base := lines(chiZip, chiMod, sys9, sys49, sys49Mod)
	tests := []struct {
		name, ours, theirs, want string
		ok                       bool
		settled                  bool // see TestMergeGoMod
	}{
		{
			name:    "user added lines, aegis others",
			ours:    lines(chiZip, chiMod, cronZip, cronMod, sys9, sys49, sys49Mod),
			theirs:  lines(chiZip, chiMod, redisZip, redisMod, sys9, sys49, sys49Mod),
			want:    lines(chiZip, chiMod, redisZip, redisMod, cronZip, cronMod, sys9, sys49, sys49Mod),
			ok:      true,
			settled: true,
		},
		{
			// v0.9.0 before v0.49.0 (semver, not string order), the zip line before its go.mod line.
			name:    "sorted as the go command writes it",
			ours:    lines(sys49Mod, cronMod, sys49, cronZip, chiMod, chiZip, sys9),
			theirs:  base,
			want:    lines(chiZip, chiMod, cronZip, cronMod, sys9, sys49, sys49Mod),
			ok:      true,
			settled: true,
		},
		{
			name:   "a line the user removed stays while aegis has it",
			ours:   lines(chiZip, chiMod, sys49, sys49Mod),
			theirs: base,
			want:   base,
			ok:     true,
		},
		{
			name:    "lines aegis dropped go unless the user added them",
			ours:    lines(chiZip, chiMod, cronZip, cronMod, sys9, sys49, sys49Mod),
			theirs:  lines(sys9, sys49, sys49Mod),
			want:    lines(cronZip, cronMod, sys9, sys49, sys49Mod),
			ok:      true,
			settled: true,
		},
		{
			name:   "both changed the lines of one module",
			ours:   lines(chiZip, chiMod, sys9, sys49, sys49Mod, "golang.org/x/sys v0.50.0 h1:sys50=", "golang.org/x/sys v0.50.0/go.mod h1:sys50mod="),
			theirs: lines(chiZip, chiMod, sys9, sys49Mod, "golang.org/x/sys v0.51.0 h1:sys51=", "golang.org/x/sys v0.51.0/go.mod h1:sys51mod="),
			want:   lines(chiZip, chiMod, sys9, sys49Mod, "golang.org/x/sys v0.50.0 h1:sys50=", "golang.org/x/sys v0.50.0/go.mod h1:sys50mod=", "golang.org/x/sys v0.51.0 h1:sys51=", "golang.org/x/sys v0.51.0/go.mod h1:sys51mod="),
			ok:     true,
		},
		{
			name:   "a malformed line is left to the line merge",
			ours:   base + "github.com/robfig/cron/v3 v3.0.1\n",
			theirs: base,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, settled, ok := mergeGoSum([]byte(tt.ours), []byte(base), []byte(tt.theirs))
			if ok != tt.ok || string(got) != tt.want {
				t.Errorf("got %v:\n%s\nwant %v:\n%s", ok, got, tt.ok, tt.want)
			}
			if settled != tt.settled {
				t.Errorf("settled = %v, want %v", settled, tt.settled)
			}
		})
	}
}

// TestAddKeepsUserRequirements: after the user's `go get` and `go mod tidy` add a requirement,
// adding a part merges go.mod and go.sum by meaning where a line merge overlaps, and keeps both
// the user's requirement and the part's.
func TestAddKeepsUserRequirements(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t), nil)
	read := func(rel string) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	write := func(rel string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	baseMod, baseSum := read("go.mod"), read("go.sum")

	userMod := []byte(withCron(t, string(baseMod)))
	cronSum := []string{
		"github.com/robfig/cron/v3 v3.0.1 h1:WdRxkvbJztn8LMz/QEvLN5sBU+xKpSqwwUO1Pjr4qDs=",
		"github.com/robfig/cron/v3 v3.0.1/go.mod h1:eQICP3HwyT7UooqI/z+Ov+PtYAWygg1TEWWzGIFLtro=",
	}
	sum := slices.Concat(strings.Split(strings.TrimSuffix(string(baseSum), "\n"), "\n"), cronSum)
	slices.SortFunc(sum, compareSumLines)
	write("go.mod", userMod)
	write("go.sum", []byte(strings.Join(sum, "\n")+"\n"))

	p := load(t, dir, nil)
	if _, err := exec.LookPath("git"); err == nil {
		// The case this is about: a line merge of go.mod overlaps.
		next, err := p.render(resolve(t, "cache"))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(next.Files, func(f generate.File) bool { return f.Path == "go.mod" })
		if _, conflicts, err := merge3(userMod, baseMod, next.Files[i].Data); err != nil || !conflicts {
			t.Fatalf("a line merge of go.mod does not overlap (err %v): the test no longer covers the case", err)
		}
	}
	pl, err := p.PlanAdd([]string{"cache"})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Tidy {
		// The user's module and the part's are different ones: the merge is what go mod
		// tidy writes, and a hint after every add would teach users to ignore it.
		t.Error("the plan asks for go mod tidy although the two sides changed different modules")
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	gotMod := read("go.mod")
	got, err := modfile.Parse("go.mod", gotMod, nil)
	if err != nil {
		t.Fatalf("merged go.mod: %v\n%s", err, gotMod)
	}
	want := map[string]string{"github.com/robfig/cron/v3": "v3.0.1", "github.com/redis/go-redis/v9": ""}
	for _, r := range got.Require {
		if v, ok := want[r.Mod.Path]; ok && (v == "" || v == r.Mod.Version) && !r.Indirect {
			delete(want, r.Mod.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("merged go.mod lacks direct requirements of %v:\n%s", slices.Sorted(maps.Keys(want)), gotMod)
	}
	if fmtMod(t, string(gotMod)) != string(gotMod) {
		t.Errorf("merged go.mod is not formatted:\n%s", gotMod)
	}
	gotSum := string(read("go.sum"))
	for _, l := range append(cronSum, "github.com/redis/go-redis/v9 ") {
		if !strings.Contains(gotSum, l) {
			t.Errorf("merged go.sum lacks %q", l)
		}
	}
}

// TestAddKeepsGoModComments: the merge by meaning writes go.mod afresh; a comment the user wrote
// there stays when a line merge keeps it and means the same, and is otherwise listed in the plan
// (for add to show) rather than dropped without a word.
func TestAddKeepsGoModComments(t *testing.T) {
	needGit(t)
	const fork = "// chi fork until upstream merges our fix"
	const nightly = "// nightly jobs"
	tests := []struct {
		name     string
		edit     func(t *testing.T, mod string) string
		wantKept []string // comments go.mod holds afterwards
		wantLost []string // comments the plan lists as dropped
	}{
		{"appended replace", func(t *testing.T, mod string) string {
			return mod + "\n" + fork + "\nreplace github.com/go-chi/chi/v5 => ../chi\n"
		}, []string{fork}, nil},
		{"apart from aegis's lines", func(t *testing.T, mod string) string {
			return strings.Replace(mod, "require (\n", "require (\n\t"+nightly+"\n\tgithub.com/robfig/cron/v3 v3.0.1\n", 1)
		}, []string{nightly}, nil},
		{"beside a line aegis adds", func(t *testing.T, mod string) string {
			// With a comment: cron sorts right after the redis line cache adds, so a line merge
			// overlaps and only the merge by meaning applies.
			return strings.Replace(withCron(t, mod), "cron/v3 v3.0.1\n", "cron/v3 v3.0.1 "+nightly+"\n", 1)
		}, nil, []string{nightly}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), resolve(t), nil)
			path := filepath.Join(dir, "go.mod")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.edit(t, string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
			pl := addParts(t, dir, "cache")
			got, _ := os.ReadFile(path)
			for _, c := range tt.wantKept {
				if !strings.Contains(string(got), c) {
					t.Errorf("go.mod lost %q:\n%s", c, got)
				}
			}
			if !slices.Equal(pl.LostComments, tt.wantLost) {
				t.Errorf("LostComments = %q, want %q", pl.LostComments, tt.wantLost)
			}
			f, err := modfile.Parse("go.mod", got, nil)
			if err != nil {
				t.Fatalf("merged go.mod: %v\n%s", err, got)
			}
			if !slices.ContainsFunc(f.Require, func(r *modfile.Require) bool { return r.Mod.Path == "github.com/redis/go-redis/v9" }) {
				t.Errorf("merged go.mod lacks cache's requirement:\n%s", got)
			}
			if tt.name == "appended replace" && len(f.Replace) != 1 {
				t.Errorf("merged go.mod lost the replace:\n%s", got)
			}
		})
	}
}

// withCron is mod as go get github.com/robfig/cron/v3@v3.0.1 and go mod tidy write it: the
// requirement sorted into the direct block.
func withCron(t *testing.T, mod string) string {
	t.Helper()
	f, err := modfile.Parse("go.mod", []byte(mod), nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*modfile.Require{{Mod: module.Version{Path: "github.com/robfig/cron/v3", Version: "v3.0.1"}}}
	for _, r := range f.Require {
		reqs = append(reqs, &modfile.Require{Mod: r.Mod, Indirect: r.Indirect})
	}
	f.SetRequireSeparateIndirect(reqs)
	f.Cleanup()
	data, err := f.Format()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
