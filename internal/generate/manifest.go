package generate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ManifestPath is where every project records what it was generated from.
const ManifestPath = ".aegis/manifest.json"

// Manifest is the record `aegis add`, `remove` and `update` read: the generator version, the
// selection and, for each generated file, its owner and content hash, so a file the user changed
// is never overwritten silently. It holds no timestamps, so the same selection always yields the
// same bytes.
type Manifest struct {
	Generator  string                  `json:"generator"`
	Version    string                  `json:"version"`
	Name       string                  `json:"name"`
	Module     string                  `json:"module"`
	Components []string                `json:"components"`
	Services   []string                `json:"services"`
	Files      map[string]ManifestFile `json:"files"`
}

// ManifestFile is one generated file's record.
type ManifestFile struct {
	Owner  string `json:"owner"`
	SHA256 string `json:"sha256"`
}

// renderManifest records files; it returns the manifest and the file that holds it.
func renderManifest(p Params, files []File) (Manifest, File, error) {
	m := Manifest{
		Generator: "aegis", Version: Version, Name: p.Name, Module: p.Module,
		Components: p.Selection.Components, Services: p.Selection.Services,
		Files: make(map[string]ManifestFile, len(files)),
	}
	if m.Services == nil {
		m.Services = []string{}
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		m.Files[f.Path] = ManifestFile{Owner: f.Owner, SHA256: hex.EncodeToString(sum[:])}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, File{}, fmt.Errorf("generate: manifest: %w", err)
	}
	return m, File{Path: ManifestPath, Data: append(data, '\n'), Mode: 0o644, Owner: OwnerShared}, nil
}
