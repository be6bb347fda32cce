package catalog

import (
	"fmt"
	"strings"
)

// Suggest returns the entry whose name is nearest to name, a name the catalog does not have,
// when it is near enough to be a typo (see Nearest). Ties go to the entry first in catalog
// order.
func (c Catalog) Suggest(name string) (Entry, bool) {
	names := make([]string, len(c.Entries))
	for i, e := range c.Entries {
		names[i] = e.Name
	}
	i, ok := Nearest(name, names)
	if !ok {
		return Entry{}, false
	}
	return c.Entries[i], true
}

// Nearest returns the index of the name in names nearest to name when it is near enough to be
// a typo: at most two edits (a swap of neighbouring letters counts as one, so "cahce" finds
// "cache") and no more than half the name's length, so a short unrelated word suggests
// nothing. Ties go to the first. The prompts use it too, for a name typed as an answer.
func Nearest(name string, names []string) (int, bool) {
	best, bestDist := -1, 3
	for i, n := range names {
		d := editDistance(name, n)
		if d < bestDist && 2*d <= len(name) {
			best, bestDist = i, d
		}
	}
	return best, best >= 0
}

// editDistance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and swaps of adjacent bytes (catalog names are ASCII).
func editDistance(a, b string) int {
	// Three rows of the dynamic programme: two back for the swap.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// DidYouMean is the hint for misspelt names: "did you mean 'cache'?" for one, and
// "did you mean 'cache' (for 'cahce'), 'worker' (for 'wroker')?" for several, or "" when
// none is near a name of the catalog. An entry is suggested only when ok(entry) holds; the
// words before the name (such as "component ") come from what(entry).
func (c Catalog) DidYouMean(names []string, ok func(Entry) bool, what func(Entry) string) string {
	var parts []string
	for _, n := range names {
		if e, found := c.Suggest(n); found && ok(e) {
			parts = append(parts, fmt.Sprintf("%s'%s'", what(e), e.Name))
			if len(names) > 1 {
				parts[len(parts)-1] += fmt.Sprintf(" (for '%s')", n)
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "did you mean " + strings.Join(parts, ", ") + "?"
}
