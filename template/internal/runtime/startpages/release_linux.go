//go:build linux

package startpages

import (
	"fmt"
	"os"
	"syscall"
)

// madvPageout is MADV_PAGEOUT (Linux 5.4), which the syscall package does not name: the
// kernel reclaims the pages at once (clean file pages are dropped; pages another process
// maps are left), so what runs again is read back, and only the pages it touches.
const madvPageout = 21

func release() (Result, error) {
	var r Result
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return r, fmt.Errorf("find the executable: %w", err)
	}
	status, _ := os.ReadFile("/proc/self/status")
	r.Before = rssFile(status)
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return r, fmt.Errorf("read the mappings: %w", err)
	}
	ms, err := parseSmaps(smaps)
	if err != nil {
		return r, err
	}
	for _, m := range releasable(ms, exe) {
		// Older kernels refuse MADV_PAGEOUT (EINVAL): MADV_DONTNEED then only unmaps, the pages
		// staying in the page cache. Either is safe on a read-only private file mapping with
		// no private copies.
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), madvPageout)
		if errno == syscall.EINVAL {
			_, _, errno = syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED)
		}
		if errno != 0 {
			return r, fmt.Errorf("release %x-%x: %w", m.start, m.end, errno)
		}
		r.Mappings++
	}
	status, _ = os.ReadFile("/proc/self/status")
	r.After = rssFile(status)
	return r, nil
}
