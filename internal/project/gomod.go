package project

import (
	"cmp"
	"fmt"
	"go/version"
	"maps"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// mergeModule merges the project's go.mod or go.sum by meaning rather than by lines: after a
// user's `go get` and `go mod tidy` touch the same requirement blocks and go.sum lines aegis
// rewrites, a line merge overlaps although the two sets of requirements combine cleanly. It
// reports false for any other file, and when one of the three versions cannot be parsed (the
// caller then falls back to the line merge). settled reports that the user's changes and aegis's
// touched different requirements (or go.sum lines of different modules), so the result is what
// `go mod tidy` would write when both inputs were tidy: only otherwise does the user need to run
// it. A user's `go get` of a module of their own, beside a part that brings others, needs no
// tidy; both moving one module, or aegis keeping what the user's tidy removed, may.
func mergeModule(rel string, ours, base, theirs []byte) (merged []byte, settled, ok bool) {
	switch rel {
	case "go.mod":
		return mergeGoMod(ours, base, theirs)
	case "go.sum":
		return mergeGoSum(ours, base, theirs)
	}
	return nil, false, false
}

// req is one requirement's meaning: its version and whether it is marked // indirect.
type req struct {
	version  string
	indirect bool
}

// requires maps each required module path to its requirement; a path required twice (which the
// go command tolerates) counts at its higher version.
func requires(f *modfile.File) map[string]req {
	m := map[string]req{}
	for _, r := range f.Require {
		if prev, ok := m[r.Mod.Path]; ok && semver.Compare(prev.version, r.Mod.Version) >= 0 {
			continue
		}
		m[r.Mod.Path] = req{r.Mod.Version, r.Indirect}
	}
	return m
}

// mergeGoMod starts from theirs (aegis's new go.mod) and applies what the user changed relative
// to base:
//
//   - a requirement the user added or changed stays; when aegis requires the module too and
//     changed it as well, the higher version wins (what the go command's MVS would select). The
//     user's // indirect marking stands for a module aegis does not require, or one whose
//     marking the user changed; a module both added is direct when either side imports it;
//   - a requirement the user removed stays removed only when aegis's new go.mod does not require
//     it: aegis's code may import it, and a missing requirement breaks the build where an extra
//     one costs nothing until `go mod tidy`;
//   - a requirement the user left as it was follows aegis (updated, or dropped with a part);
//   - the go directive is the higher of the user's and aegis's; the user's toolchain, godebug,
//     replace, exclude, retract, tool and ignore changes are applied. The module path is aegis's:
//     every import aegis generates uses it.
//
// The result is formatted as `go mod edit -fmt` writes it, direct and indirect requirements in
// separate blocks as `go mod tidy` keeps them. Comments the user wrote in go.mod are not kept:
// keepModComments then prefers a line merge that means the same, or names them.
//
// settled is false when both sides changed one requirement differently, when aegis dropped one
// the user changed, or when aegis keeps one the user removed: the result builds but may hold
// a requirement nothing needs or a marking that is out of date.
func mergeGoMod(ours, base, theirs []byte) (merged []byte, settled, ok bool) {
	o, err := modfile.Parse("go.mod", ours, nil)
	if err != nil {
		return nil, false, false
	}
	b, err := modfile.Parse("go.mod", base, nil)
	if err != nil {
		return nil, false, false
	}
	t, err := modfile.Parse("go.mod", theirs, nil)
	if err != nil {
		return nil, false, false
	}

	ore, bre, tre := requires(o), requires(b), requires(t)
	settled = true
	for path := range bre {
		if _, kept := ore[path]; !kept {
			if _, inTheirs := tre[path]; inTheirs {
				settled = false // the user's tidy dropped it; aegis's go.mod brings it back
			}
		}
	}
	out := maps.Clone(tre)
	for path, mine := range ore {
		old, inBase := bre[path]
		aegis, inTheirs := tre[path]
		switch {
		case inBase && mine == old:
			// untouched by the user: aegis's new go.mod decides, even to drop it
		case !inTheirs:
			out[path] = mine
			if inBase {
				settled = false // aegis dropped what the user changed: it may be needed no more
			}
		default:
			if (!inBase || aegis.version != old.version) && mine.version != aegis.version {
				// Both moved it, to different versions (a marking follows the side that
				// imports it, as tidy's does).
				settled = false
			}
			r := aegis
			userMoved := !inBase || mine.version != old.version
			aegisMoved := !inBase || aegis.version != old.version
			switch {
			case userMoved && aegisMoved:
				if semver.Compare(mine.version, aegis.version) > 0 {
					r.version = mine.version
				}
			case userMoved:
				r.version = mine.version
			}
			switch {
			case !inBase:
				r.indirect = mine.indirect && aegis.indirect
			case mine.indirect != old.indirect:
				r.indirect = mine.indirect
			}
			out[path] = r
		}
	}
	paths := slices.Sorted(maps.Keys(out))
	reqs := make([]*modfile.Require, 0, len(paths))
	for _, p := range paths {
		reqs = append(reqs, &modfile.Require{Mod: module.Version{Path: p, Version: out[p].version}, Indirect: out[p].indirect})
	}
	t.SetRequireSeparateIndirect(reqs)

	if err := mergeDirectives(o, b, t); err != nil {
		return nil, false, false
	}
	t.Cleanup()
	data, err := t.Format()
	if err != nil {
		return nil, false, false
	}
	return data, settled, true
}

// mergeDirectives applies to t the user's changes (o against b) to every directive but module and
// require.
func mergeDirectives(o, b, t *modfile.File) error {
	goOf := func(f *modfile.File) string {
		if f.Go == nil {
			return ""
		}
		return f.Go.Version
	}
	if g := goOf(o); g != "" && (goOf(t) == "" || version.Compare("go"+g, "go"+goOf(t)) > 0) {
		if err := t.AddGoStmt(g); err != nil {
			return err
		}
	}

	toolchainOf := func(f *modfile.File) string {
		if f.Toolchain == nil {
			return ""
		}
		return f.Toolchain.Name
	}
	if tc := toolchainOf(o); tc != toolchainOf(b) {
		if tc == "" {
			t.DropToolchainStmt()
		} else if err := t.AddToolchainStmt(tc); err != nil {
			return err
		}
	}
	// The go command leaves out a toolchain line the go line implies; a higher go line can make
	// the user's toolchain line one.
	if tc := toolchainOf(t); tc != "" && version.IsValid(tc) && goOf(t) != "" && version.Compare(tc, "go"+goOf(t)) <= 0 {
		t.DropToolchainStmt()
	}

	godebug := func(f *modfile.File) map[string]string {
		m := map[string]string{}
		for _, g := range f.Godebug {
			m[g.Key] = g.Value
		}
		return m
	}
	og, bg := godebug(o), godebug(b)
	for _, k := range slices.Sorted(maps.Keys(og)) {
		if v, ok := bg[k]; !ok || v != og[k] {
			if err := t.AddGodebug(k, og[k]); err != nil {
				return err
			}
		}
	}
	for k := range bg {
		if _, ok := og[k]; !ok {
			if err := t.DropGodebug(k); err != nil {
				return err
			}
		}
	}

	replaces := func(f *modfile.File) map[module.Version]module.Version {
		m := map[module.Version]module.Version{}
		for _, r := range f.Replace {
			m[r.Old] = r.New
		}
		return m
	}
	or, br := replaces(o), replaces(b)
	for _, r := range o.Replace {
		if n, ok := br[r.Old]; !ok || n != r.New {
			if err := t.AddReplace(r.Old.Path, r.Old.Version, r.New.Path, r.New.Version); err != nil {
				return err
			}
		}
	}
	for old := range br {
		if _, ok := or[old]; !ok {
			if err := t.DropReplace(old.Path, old.Version); err != nil {
				return err
			}
		}
	}

	if err := applySet(o.Exclude, b.Exclude, func(e *modfile.Exclude) module.Version { return e.Mod },
		func(e *modfile.Exclude) error { return t.AddExclude(e.Mod.Path, e.Mod.Version) },
		func(e *modfile.Exclude) error { return t.DropExclude(e.Mod.Path, e.Mod.Version) }); err != nil {
		return err
	}
	if err := applySet(o.Retract, b.Retract, func(r *modfile.Retract) modfile.VersionInterval { return r.VersionInterval },
		func(r *modfile.Retract) error { return t.AddRetract(r.VersionInterval, r.Rationale) },
		func(r *modfile.Retract) error { return t.DropRetract(r.VersionInterval) }); err != nil {
		return err
	}
	if err := applySet(o.Tool, b.Tool, func(x *modfile.Tool) string { return x.Path },
		func(x *modfile.Tool) error { return t.AddTool(x.Path) },
		func(x *modfile.Tool) error { return t.DropTool(x.Path) }); err != nil {
		return err
	}
	return applySet(o.Ignore, b.Ignore, func(x *modfile.Ignore) string { return x.Path },
		func(x *modfile.Ignore) error { return t.AddIgnore(x.Path) },
		func(x *modfile.Ignore) error { return t.DropIgnore(x.Path) })
}

// applySet adds the directives the user added (in ours, not in base) and drops those the user
// removed (in base, not in ours), each known by key.
func applySet[D any, K comparable](ours, base []D, key func(D) K, add, drop func(D) error) error {
	inOurs, inBase := map[K]bool{}, map[K]bool{}
	for _, d := range ours {
		inOurs[key(d)] = true
	}
	for _, d := range base {
		inBase[key(d)] = true
	}
	for _, d := range ours {
		if !inBase[key(d)] {
			if err := add(d); err != nil {
				return err
			}
		}
	}
	for _, d := range base {
		if !inOurs[key(d)] {
			if err := drop(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeGoSum returns theirs plus the lines the user added (in ours, not in base). A line the
// user removed is kept when aegis's go.sum has it: an extra checksum is harmless, a missing one
// stops the build. Lines are sorted as the go command writes go.sum.
//
// settled is false when aegis keeps a line the user removed, or when both sides changed the
// lines of one module: the result may then hold checksums `go mod tidy` drops.
func mergeGoSum(ours, base, theirs []byte) (merged []byte, settled, ok bool) {
	o, okO := sumLines(ours)
	b, okB := sumLines(base)
	t, okT := sumLines(theirs)
	if !okO || !okB || !okT {
		return nil, false, false
	}
	mod := func(line string) string { return line[:strings.IndexByte(line, ' ')] }
	userMoved, aegisMoved := map[string]bool{}, map[string]bool{}
	for l := range o {
		if !b[l] {
			userMoved[mod(l)] = true
		}
	}
	settled = true
	for l := range b {
		if !o[l] {
			userMoved[mod(l)] = true
			if t[l] {
				settled = false // removed by the user, kept by aegis
			}
		}
		if !t[l] {
			aegisMoved[mod(l)] = true
		}
	}
	for l := range t {
		if !b[l] {
			aegisMoved[mod(l)] = true
		}
	}
	for m := range userMoved {
		if aegisMoved[m] {
			settled = false
		}
	}
	for l := range o {
		if !b[l] {
			t[l] = true
		}
	}
	lines := slices.SortedFunc(maps.Keys(t), compareSumLines)
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return []byte(sb.String()), settled, true
}

// sumLines returns the set of go.sum's lines, each as its three fields separated by one space;
// false when a line does not have three fields (the go command rejects such a file too). Blank
// lines are skipped, as the go command skips them.
func sumLines(data []byte) (map[string]bool, bool) {
	set := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
		case 3:
			set[strings.Join(f, " ")] = true
		default:
			return nil, false
		}
	}
	return set, true
}

// compareSumLines orders go.sum lines the way cmd/go's WriteGoSum does: module.Sort over (path,
// version), where a version may carry a "/go.mod" suffix that sorts after the bare version,
// then the hashes of one key in string order. Versions that compare equal by semver fall back
// to string order so the result is deterministic.
func compareSumLines(a, b string) int {
	af, bf := strings.Fields(a), strings.Fields(b)
	if c := strings.Compare(af[0], bf[0]); c != 0 {
		return c
	}
	av, afile, _ := strings.Cut(af[1], "/")
	bv, bfile, _ := strings.Cut(bf[1], "/")
	if av != bv {
		if c := semver.Compare(av, bv); c != 0 {
			return c
		}
		return strings.Compare(av, bv)
	}
	return cmp.Or(strings.Compare(afile, bfile), strings.Compare(af[2], bf[2]))
}

// keepModComments returns the line merge of the user's go.mod (ours) with aegis's new one
// (theirs) when mergeGoMod's result (merged) drops comments the user wrote, that line merge is
// clean, and it means exactly what merged means: the comments (why a replace points at a fork)
// then stay where the user put them. Otherwise it returns merged, and lost lists the user's
// comments that merged lacks, for the caller to name.
func keepModComments(ours, base, theirs, merged []byte) (data []byte, lost []string) {
	mine := modComments(ours)
	for c := range modComments(base) {
		delete(mine, c)
	}
	for c := range modComments(merged) {
		delete(mine, c)
	}
	if len(mine) == 0 {
		return merged, nil
	}
	if lines, conflicts, err := merge3(ours, base, theirs); err == nil && !conflicts && sameModule(lines, merged) {
		return lines, nil
	}
	return merged, slices.Sorted(maps.Keys(mine))
}

// modComments is the set of comments in a go.mod, but the // indirect markings the go command
// writes itself; nil when it cannot be parsed.
func modComments(data []byte) map[string]bool {
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	addAll := func(c *modfile.Comments) {
		for _, group := range [][]modfile.Comment{c.Before, c.Suffix, c.After} {
			for _, com := range group {
				if t := strings.TrimSpace(com.Token); t != "// indirect" && t != "//" {
					out[t] = true
				}
			}
		}
	}
	addAll(&f.Syntax.Comments)
	for _, stmt := range f.Syntax.Stmt {
		addAll(stmt.Comment())
		if block, ok := stmt.(*modfile.LineBlock); ok {
			for _, l := range block.Line {
				addAll(&l.Comments)
			}
			addAll(&block.RParen.Comments)
		}
	}
	return out
}

// sameModule reports whether two go.mod files say the same thing, whatever their layout and
// comments: the same module, go and toolchain versions, requirements (with their // indirect
// markings) and other directives.
func sameModule(a, b []byte) bool {
	meaning := func(data []byte) (string, bool) {
		f, err := modfile.Parse("go.mod", data, nil)
		if err != nil {
			return "", false
		}
		var lines []string
		add := func(parts ...any) { lines = append(lines, fmt.Sprint(parts...)) }
		if f.Module != nil {
			add("module ", f.Module.Mod.Path)
		}
		if f.Go != nil {
			add("go ", f.Go.Version)
		}
		if f.Toolchain != nil {
			add("toolchain ", f.Toolchain.Name)
		}
		for _, r := range f.Require {
			add("require ", r.Mod, " ", r.Indirect)
		}
		for _, r := range f.Replace {
			add("replace ", r.Old, " => ", r.New)
		}
		for _, e := range f.Exclude {
			add("exclude ", e.Mod)
		}
		for _, r := range f.Retract {
			add("retract ", r.Low, " ", r.High)
		}
		for _, t := range f.Tool {
			add("tool ", t.Path)
		}
		for _, g := range f.Godebug {
			add("godebug ", g.Key, "=", g.Value)
		}
		for _, i := range f.Ignore {
			add("ignore ", i.Path)
		}
		slices.Sort(lines)
		return strings.Join(lines, "\n"), true
	}
	ma, okA := meaning(a)
	mb, okB := meaning(b)
	return okA && okB && ma == mb
}
