// Package startpages unmaps the pages of the app's executable that only its start touched.
//
// A Go binary runs every linked package's init function, and the kernel maps file pages 64 KiB
// around each fault, so a started app keeps tens of MiB of its executable mapped though it
// never runs most of that code again: the SDKs' init-time type registration, the handler's
// route building, the migrations. Release asks the kernel to reclaim the pages of the
// executable's read-only mappings; code that runs again is read back on first use, only the
// pages it touches, so what stays resident is what the app keeps running.
package startpages

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// ErrUnsupported is Release's error where the kernel offers no such call (anything but Linux).
var ErrUnsupported = errors.New("releasing start-up pages needs Linux")

// Result is what Release did.
type Result struct {
	// Mappings is how many of the executable's mappings were released.
	Mappings int
	// Before and After are the process's resident file-backed bytes (RssFile) around the call.
	Before, After int64
}

// Release unmaps the pages of the executable's read-only mappings and returns what it
// released. Mappings that hold private copies of pages (relocated data in a position
// independent binary) are left alone: unmapping them would throw the copies away.
func Release() (Result, error) { return release() }

// mapping is one entry of /proc/self/smaps.
type mapping struct {
	start, end uint64
	perms      string
	path       string
	anonymous  int64 // bytes of private copies in the mapping
}

// parseSmaps reads /proc/PID/smaps: a header line per mapping ("start-end perms offset dev
// inode [path]") followed by "Key: value kB" lines.
func parseSmaps(b []byte) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		key, rest, isField := strings.Cut(line, ":")
		if isField && !strings.Contains(key, " ") && !strings.Contains(key, "-") {
			if key == "Anonymous" && len(out) > 0 {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err != nil {
					return nil, errors.New("smaps: unreadable Anonymous line: " + line)
				}
				out[len(out)-1].anonymous = kb << 10
			}
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 5 {
			return nil, errors.New("smaps: unreadable line: " + line)
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end < start {
			return nil, errors.New("smaps: unreadable address range: " + line)
		}
		m := mapping{start: start, end: end, perms: fields[1]}
		if len(fields) > 5 {
			// The path is the rest of the line: it may hold spaces, and " (deleted)".
			m.path = strings.TrimSpace(line[strings.Index(line, fields[5]):])
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// releasable returns the mappings of exe that Release may unmap: not writable, with no
// private copies.
func releasable(ms []mapping, exe string) []mapping {
	var out []mapping
	for _, m := range ms {
		if m.path == exe && len(m.perms) >= 2 && m.perms[1] == '-' && m.anonymous == 0 {
			out = append(out, m)
		}
	}
	return out
}

// rssFile reads RssFile from /proc/self/status, in bytes.
func rssFile(status []byte) int64 {
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
