// Command startup measures how long a generated app's binary takes from exec to its first
// successful GET /health/ready, over several runs, and prints min/median/max.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "path to the generated app's binary")
	runs := flag.Int("runs", 20, "number of starts")
	port := flag.Int("port", 8199, "port to serve on")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "startup: -bin is required")
		os.Exit(2)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/health/ready", *port)
	client := &http.Client{Timeout: time.Second}
	var times []time.Duration
	for i := 0; i < *runs; i++ {
		cmd := exec.Command(*bin, "serve")
		cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", *port), "LOG_LEVEL=warn")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		for {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Since(start) > 10*time.Second {
				fmt.Fprintln(os.Stderr, "startup: not ready after 10s")
				cmd.Process.Kill()
				os.Exit(1)
			}
			time.Sleep(500 * time.Microsecond)
		}
		times = append(times, time.Since(start))
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	slices.Sort(times)
	fmt.Printf("runs=%d min=%v median=%v max=%v\n", len(times), times[0].Round(100*time.Microsecond),
		times[len(times)/2].Round(100*time.Microsecond), times[len(times)-1].Round(100*time.Microsecond))
}
