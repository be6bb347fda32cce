package analytics

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in SVG user units; the SVG scales to its container's width.
const (
	chartW, chartH = 720, 200
	padL, padR     = 48, 8
	padT, padB     = 8, 24
)

// chartSVG draws points as a bar chart, rendered on the server: no script, no build step. The
// bars carry a <title> each (a tooltip, and text for screen readers), and the whole chart an
// aria label with the total.
func chartSVG(points []Point, bucket Bucket) template.HTML {
	var peak, total int64
	for _, p := range points {
		peak = max(peak, p.Count)
		total += p.Count
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="analytics-chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(fmt.Sprintf("Events per %s: %d in all, at most %d in one %s", bucket, total, peak, bucket)))
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	// Axis and the peak's gridline with its label.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="currentColor" stroke-opacity="0.4"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	if peak > 0 { // an empty range has one label, 0: a peak of 0 above it reads as a broken scale
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="currentColor">%s</text>`, padL-4, padT+10, strconv.FormatInt(peak, 10))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="currentColor">0</text>`, padL-4, chartH-padB)
	if len(points) > 0 {
		slot := plotW / float64(len(points))
		gap := min(slot*0.2, 2)
		layout := "15:04"
		if bucket == Day {
			layout = "Jan 2"
		}
		for i, p := range points {
			h := 0.0
			if peak > 0 {
				h = plotH * float64(p.Count) / float64(peak)
			}
			x := float64(padL) + float64(i)*slot
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="currentColor" fill-opacity="0.7"><title>%s: %d</title></rect>`,
				x+gap/2, float64(chartH-padB)-h, max(slot-gap, 0.5), h, template.HTMLEscapeString(p.Time.UTC().Format("2006-01-02 15:04 UTC")), p.Count)
		}
		// Labels at the first, middle and last bucket; with one or two buckets the middle is
		// an end, and each is labelled once.
		last := len(points) - 1
		for _, i := range slices.Compact([]int{0, len(points) / 2, last}) {
			anchor := "middle"
			switch i {
			case 0:
				anchor = "start"
			case last:
				anchor = "end"
			}
			x := float64(padL) + (float64(i)+0.5)*slot
			if anchor == "start" {
				x = float64(padL)
			} else if anchor == "end" {
				x = float64(chartW - padR)
			}
			label := points[i].Time.UTC().Format(layout)
			if i == last {
				label += " UTC" // the operator's clock may be in another zone
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="%s" fill="currentColor">%s</text>`,
				x, chartH-6, anchor, label)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is a number, a time or escaped
}

// sinceLabel says how long ago t was, for the panel.
func sinceLabel(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
