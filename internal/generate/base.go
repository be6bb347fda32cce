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

// BaseArchive returns the base archive of files: every file but the manifest and the archive
// itself (everything under .aegis/), in path order, with fixed metadata so the same files always
// give the same bytes. Render adds it to every project; tests use it to fake an older one.
func BaseArchive(files []File) ([]byte, error) {
	var kept []File
	for _, f := range files {
		if !strings.HasPrefix(f.Path, ".aegis/") {
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
	// archive/tar reads an archive cut at a block boundary as a shorter whole one; BaseArchive
	// always ends in the two zero blocks of tar's end marker, so one without them was cut.
	if end := len(archive) - 2*512; end < 0 || !bytes.Equal(archive[end:], make([]byte, 2*512)) {
		return nil, fmt.Errorf("generate: read %s: %w", BasePath, io.ErrUnexpectedEOF)
	}
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
