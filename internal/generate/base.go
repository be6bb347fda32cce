package generate

import (
	"slices"
	"strings"
)

// BaseDir holds a pristine copy of every generated file, as aegis wrote it: the common ancestor
// `aegis update` merges the user's version and the new rendering against, and what `aegis add`
// and `remove` merge against when the user changed a file they must change too. It is part of
// the project and belongs in git.
const BaseDir = ".aegis/base"

// WithBase returns files plus, under BaseDir, a copy of each file the manifest records (every
// file Render returns but the manifest itself), sorted by path.
func WithBase(files []File) []File {
	out := slices.Clone(files)
	for _, f := range files {
		if f.Path == ManifestPath || strings.HasPrefix(f.Path, ".aegis/") || f.KeepExisting {
			continue
		}
		out = append(out, File{Path: BaseDir + "/" + f.Path, Data: f.Data, Mode: 0o644, Owner: OwnerShared})
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out
}
