package observability

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// userHZ is the kernel's clock ticks per second in /proc/self/stat: 100 on every Linux
// architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo to ask).
const userHZ = 100

// processFamilies reads the process's CPU time, memory, descriptors and start time from
// /proc; what cannot be read is left out rather than reported as zero.
func processFamilies() []*promFamily {
	var out []*promFamily
	if stat, err := os.ReadFile("/proc/self/stat"); err == nil {
		// The fields after the command name, which is in parentheses and may hold spaces.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			f := bytes.Fields(stat[i+1:])
			// f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
			field := func(n int) (float64, bool) {
				if n-3 >= len(f) {
					return 0, false
				}
				v, err := strconv.ParseFloat(string(f[n-3]), 64)
				return v, err == nil
			}
			if u, ok := field(14); ok {
				if s, ok := field(15); ok {
					out = append(out, counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", (u+s)/userHZ))
				}
			}
			if v, ok := field(23); ok {
				out = append(out, gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", v))
			}
			if v, ok := field(24); ok {
				out = append(out, gauge("process_resident_memory_bytes", "Resident memory size in bytes.", v*float64(os.Getpagesize())))
			}
			if start, ok := field(22); ok {
				if boot, ok := bootTime(); ok {
					out = append(out, gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", boot+start/userHZ))
				}
			}
		}
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		out = append(out, gauge("process_open_fds", "Number of open file descriptors.", float64(len(fds))))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		out = append(out, gauge("process_max_fds", "Maximum number of open file descriptors.", float64(lim.Cur)))
	}
	return out
}

// bootTime is the system's boot time, in seconds since the epoch (btime in /proc/stat).
func bootTime() (float64, bool) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(stat) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			t, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			return t, err == nil
		}
	}
	return 0, false
}
