package generate

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// BasePath holds a pristine copy of every generated file, as aegis wrote it: the common ancestor
// `aegis update` merges the user's version and the new rendering against, and what `aegis add`
// and `remove` merge against when the user changed a file they must change too. It is part of
// the project and belongs in git. It is one uncompressed tar, not a folder of copies: creating
// files is most of what init costs, and a second tree would double it.
const BasePath = ".aegis/base.tar"

// WithBase returns files plus the base archive of the files the manifest records.
func WithBase(files []File) ([]File, error) {
	archive, err := BaseArchive(files)
	if err != nil {
		return nil, err
	}
	out := append(slices.Clone(files), File{Path: BasePath, Data: archive, Mode: 0o644, Owner: OwnerShared})
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// BaseArchive returns the base archive of files: every file but the manifest, the archive
// itself and local files (.env), in path order, with fixed metadata so the same files always
// give the same bytes.
func BaseArchive(files []File) ([]byte, error) {
	var kept []File
	for _, f := range files {
		if !strings.HasPrefix(f.Path, ".aegis/") && !f.KeepExisting {
			kept = append(kept, f)
		}
	}
	slices.SortFunc(kept, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, f := range kept {
		hdr := &tar.Header{Name: f.Path, Mode: 0o644, Size: int64(len(f.Data)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := w.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("generate: base archive: %w", err)
		}
		if _, err := w.Write(f.Data); err != nil {
			return nil, fmt.Errorf("generate: base archive: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("generate: base archive: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadBase returns the files of a base archive by path.
func ReadBase(archive []byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	r := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("generate: read %s: %w", BasePath, err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("generate: read %s: %w", BasePath, err)
		}
		files[hdr.Name] = data
	}
}
