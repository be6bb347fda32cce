package analytics

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChartSVGAxis checks the y axis's labels: an empty range shows one "0", not a peak of 0
// above a 0 (which reads as a broken scale), and a peak is labelled. The time axis says its
// times are UTC, which the operator's own clock may not be.
func TestChartSVGAxis(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	points := func(step time.Duration, counts ...int64) []Point {
		out := make([]Point, len(counts))
		for i, c := range counts {
			out[i] = Point{Time: at.Add(time.Duration(i) * step), Count: c}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		points []Point
		bucket Bucket
		labels []string // the y axis's labels, top first
		last   string   // the time axis's last label
	}{
		{"empty", points(time.Hour, 0, 0, 0), Hour, []string{"0"}, "06:00 UTC"},
		{"peak", points(time.Hour, 0, 7, 3), Hour, []string{"7", "0"}, "06:00 UTC"},
		// Two buckets: the middle one is the last, labelled once.
		{"days", points(24*time.Hour, 2, 0), Day, []string{"2", "0"}, "Dec 7 UTC"},
		{"one bucket", points(time.Hour, 1), Hour, []string{"1", "0"}, "04:00 UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(chartSVG(tc.points, tc.bucket))
			var labels []string // the y axis's: right-aligned left of the plot
			for _, m := range regexp.MustCompile(`<text x="(\d+)" [^>]*>([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
				if m[1] == strconv.Itoa(padL-4) {
					labels = append(labels, m[2])
				}
			}
			if strings.Join(labels, ",") != strings.Join(tc.labels, ",") {
				t.Errorf("y axis labels %q, want %q", labels, tc.labels)
			}
			if n := strings.Count(svg, ">"+tc.last+"</text>"); n != 1 {
				t.Errorf("the time axis's last label %q is there %d times, want once:\n%s", tc.last, n, svg)
			}
			if n := strings.Count(svg, "<text"); n != len(tc.labels)+min(len(tc.points), 3) {
				t.Errorf("%d labels in all, want %d (no bucket labelled twice):\n%s", n, len(tc.labels)+min(len(tc.points), 3), svg)
			}
		})
	}
}
