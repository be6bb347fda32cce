// Command startup measures how long a generated app's binary takes from exec to its first
// successful GET /health/ready, over several runs, and prints min/median/max.
//
// With -against it compares two binaries in pairs: each pair starts both, in an order that
// alternates, so whatever the machine does during a pair weighs on both; it prints the median
// of the per-pair differences with a distribution-free 95% confidence interval, and what each
// start cost by count at ready (minor and major page faults, CPU time), which a noisy machine
// does not move. -warm reads each binary whole before its start, so its file pages are all in
// the page cache: a binary the kernel evicted while the other ran would otherwise start with
// disk reads (major faults) and decide the comparison by chance.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// start is one start's cost at its first 200 on /health/ready.
type start struct {
	wall           time.Duration
	minflt, majflt float64
	cpu            time.Duration // utime + stime
}

func main() {
	bin := flag.String("bin", "", "path to the generated app's binary")
	against := flag.String("against", "", "a second binary: start both in alternating pairs and report the differences (bin minus against)")
	runs := flag.Int("runs", 20, "number of starts (with -against: of pairs)")
	port := flag.Int("port", 8199, "port to serve on")
	warm := flag.Bool("warm", false, "read each binary whole before its start (its file pages then all in the page cache)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "startup: -bin is required")
		os.Exit(2)
	}
	m := measurer{url: fmt.Sprintf("http://127.0.0.1:%d/health/ready", *port), port: *port, warm: *warm,
		client: &http.Client{Timeout: time.Second}}
	if *against == "" {
		var times []time.Duration
		for range *runs {
			s, err := m.start(*bin)
			if err != nil {
				fmt.Fprintln(os.Stderr, "startup:", err)
				os.Exit(1)
			}
			times = append(times, s.wall)
		}
		slices.Sort(times)
		fmt.Printf("runs=%d min=%v median=%v max=%v\n", len(times), times[0].Round(100*time.Microsecond),
			times[len(times)/2].Round(100*time.Microsecond), times[len(times)-1].Round(100*time.Microsecond))
		return
	}
	var a, b []start
	for i := range *runs {
		// Indexed by position, not path: -bin and -against may name the same file (a null
		// comparison, which shows how far apart two identical starts come out).
		paths := [2]string{*bin, *against}
		order := [2]int{0, 1}
		if i%2 == 1 {
			order = [2]int{1, 0}
		}
		var got [2]start
		for _, k := range order {
			s, err := m.start(paths[k])
			if err != nil {
				fmt.Fprintln(os.Stderr, "startup:", err)
				os.Exit(1)
			}
			got[k] = s
		}
		a, b = append(a, got[0]), append(b, got[1])
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	report := func(name string, f func(start) float64) {
		var x, y, d []float64
		for i := range a {
			x, y, d = append(x, f(a[i])), append(y, f(b[i])), append(d, f(a[i])-f(b[i]))
		}
		lo, hi := medianCI(d)
		fmt.Printf("%-14s bin %10.2f  against %10.2f  added (median of %d pairs) %+9.2f  95%% CI [%+.2f, %+.2f]\n",
			name, median(x), median(y), len(d), median(d), lo, hi)
	}
	fmt.Printf("pairs=%d warm=%v bin=%s against=%s (medians)\n", len(a), *warm, *bin, *against)
	report("wall ms", func(s start) float64 { return ms(s.wall) })
	report("cpu ms", func(s start) float64 { return ms(s.cpu) })
	report("minor faults", func(s start) float64 { return s.minflt })
	report("major faults", func(s start) float64 { return s.majflt })
}

type measurer struct {
	url    string
	port   int
	warm   bool
	client *http.Client
}

// start runs path serve until its first 200 on /health/ready, reads what it cost from
// /proc, and stops it.
func (m measurer) start(path string) (start, error) {
	if m.warm {
		if err := readAll(path); err != nil {
			return start{}, err
		}
	}
	cmd := exec.Command(path, "serve")
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", m.port), "LOG_LEVEL=warn")
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return start{}, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	for {
		resp, err := m.client.Get(m.url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(t0) > 10*time.Second {
			_ = cmd.Process.Kill()
			return start{}, fmt.Errorf("%s not ready after 10s", path)
		}
		time.Sleep(500 * time.Microsecond)
	}
	s := start{wall: time.Since(t0)}
	var err error
	s.minflt, s.majflt, s.cpu, err = procStat(cmd.Process.Pid)
	return s, err
}

// procStat reads minflt, majflt, utime and stime of pid (proc(5): fields 10, 12, 14, 15).
func procStat(pid int) (minflt, majflt float64, cpu time.Duration, err error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name (field 2) may hold spaces: count from the parenthesis that ends it.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	num := func(field int) float64 { v, _ := strconv.ParseFloat(f[field-3], 64); return v }
	const ticks = 100 // USER_HZ on Linux
	cpu = time.Duration((num(14) + num(15)) / ticks * float64(time.Second))
	return num(10), num(12), cpu, nil
}

// readAll reads the file at path to its end, which leaves it in the page cache.
func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianCI is a distribution-free 95% confidence interval for the median of x: the order
// statistics k and n-k+1, with k the largest for which P(Binomial(n, 1/2) < k) <= 2.5%.
func medianCI(x []float64) (lo, hi float64) {
	s := slices.Sorted(slices.Values(x))
	n := len(s)
	// P(B = i) = C(n, i) / 2^n, through logarithms so n may be large.
	lg := func(v int) float64 { r, _ := math.Lgamma(float64(v) + 1); return r }
	k, cum := 0, 0.0
	for i := 0; i < n; i++ {
		p := math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
		if cum+p > 0.025 {
			break
		}
		cum += p
		k = i + 1
	}
	if k == 0 { // too few pairs for a 95% interval: the whole range
		return s[0], s[n-1]
	}
	return s[k-1], s[n-k]
}
