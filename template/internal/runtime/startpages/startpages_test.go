package startpages

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParseSmaps(t *testing.T) {
	const smaps = `00400000-02d0e000 r-xp 00000000 fe:01 1234                       /srv/app/bin/shop
Size:              42044 kB
Rss:               20480 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me dw sd
02d0e000-064ce000 r--p 0290e000 fe:01 1234                       /srv/my app/bin/shop (deleted)
Anonymous:             8 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Anonymous:          4096 kB
7ffd1000-7ffd2000 r-xp 00000000 00:00 0                          [vdso]
`
	got, err := parseSmaps([]byte(smaps))
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{
		{start: 0x400000, end: 0x2d0e000, perms: "r-xp", path: "/srv/app/bin/shop"},
		{start: 0x2d0e000, end: 0x64ce000, perms: "r--p", path: "/srv/my app/bin/shop (deleted)", anonymous: 8 << 10},
		{start: 0xc000000000, end: 0xc004000000, perms: "rw-p", anonymous: 4096 << 10},
		{start: 0x7ffd1000, end: 0x7ffd2000, perms: "r-xp", path: "[vdso]"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseSmaps:\n got %+v\nwant %+v", got, want)
	}

	for _, bad := range []string{
		"00400000 r-xp 00000000 fe:01 1234 /bin/x\n",
		"00400000-zz r-xp 00000000 fe:01 1234 /bin/x\n",
		"02000000-01000000 r-xp 00000000 fe:01 1234 /bin/x\n",
		"00400000-00500000 r-xp\n",
		"00400000-00500000 r-xp 0 fe:01 1 /bin/x\nAnonymous: many kB\n",
	} {
		if _, err := parseSmaps([]byte(bad)); err == nil {
			t.Errorf("parseSmaps(%q): no error", bad)
		}
	}
}

func TestReleasable(t *testing.T) {
	const exe = "/srv/app/shop"
	tests := []struct {
		name string
		m    mapping
		want bool
	}{
		{"code", mapping{perms: "r-xp", path: exe}, true},
		{"read-only data", mapping{perms: "r--p", path: exe}, true},
		{"writable data", mapping{perms: "rw-p", path: exe}, false},
		{"relocated read-only data holds private copies", mapping{perms: "r--p", path: exe, anonymous: 4096}, false},
		{"another file", mapping{perms: "r-xp", path: "/usr/lib/libc.so.6"}, false},
		{"anonymous memory", mapping{perms: "r--p"}, false},
		{"exe's name as a prefix", mapping{perms: "r-xp", path: exe + ".old"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(releasable([]mapping{tt.m}, exe)) == 1
			if got != tt.want {
				t.Errorf("releasable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRssFile(t *testing.T) {
	status := "Name:\tshop\nVmRSS:\t   55700 kB\nRssAnon:\t    8500 kB\nRssFile:\t   47100 kB\nRssShmem:\t       0 kB\n"
	if got, want := rssFile([]byte(status)), int64(47100<<10); got != want {
		t.Errorf("rssFile = %d, want %d", got, want)
	}
	if got := rssFile([]byte("Name:\tshop\n")); got != 0 {
		t.Errorf("rssFile without the line = %d, want 0", got)
	}
}

// TestRelease releases this test binary's pages: its resident file pages drop, and the code
// keeps running (what runs again is mapped back).
func TestRelease(t *testing.T) {
	r, err := Release()
	if runtime.GOOS != "linux" {
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Release on %s: %v, want ErrUnsupported", runtime.GOOS, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Mappings == 0 || r.After >= r.Before {
		t.Fatalf("Release = %+v: want mappings released and fewer resident file bytes after", r)
	}
	// Code and data the release unmapped work on: the smaps parser, string tables, a second
	// release.
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := parseSmaps(b)
	if err != nil || len(ms) == 0 {
		t.Fatalf("parseSmaps after release: %d mappings, %v", len(ms), err)
	}
	if !strings.Contains(t.Name(), "Release") {
		t.Fatal("test name lost")
	}
	if _, err := Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
}
