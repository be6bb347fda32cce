package ai

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
)

// Price is what a model costs, in USD per million tokens.
type Price struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
	// CacheRead and CacheWrite price the input tokens read from and written to the
	// provider's prompt cache; 0 prices them as Input.
	CacheRead  float64 `json:"cache_read,omitempty"`
	CacheWrite float64 `json:"cache_write,omitempty"`
}

// Cost is what usage costs at p, in USD.
func (p Price) Cost(u Usage) float64 {
	read, write := min(u.CacheReadTokens, u.InputTokens), min(u.CacheWriteTokens, u.InputTokens)
	write = min(write, u.InputTokens-read)
	plain := u.InputTokens - read - write
	return (float64(plain)*p.Input + float64(read)*cmp.Or(p.CacheRead, p.Input) +
		float64(write)*cmp.Or(p.CacheWrite, p.Input) + float64(u.OutputTokens)*p.Output) / 1e6
}

// openAIPrice is an OpenAI model's price: cached input is read at its own price and writing
// the cache costs nothing more than input.
func openAIPrice(input, output, cachedInput float64) Price {
	return Price{Input: input, Output: output, CacheRead: cachedInput}
}

// anthropicPrice is a Claude model's price: cache reads cost a tenth of input, cache writes
// (the default five-minute cache) a quarter more.
func anthropicPrice(input, output float64) Price {
	return Price{Input: input, Output: output, CacheRead: input / 10, CacheWrite: input * 1.25}
}

// DefaultPrices are the list prices the app ships, in USD per million tokens, keyed by model
// name or prefix (a dated snapshot such as gpt-4o-mini-2024-07-18 takes its family's price).
// They go stale: AI_PRICES overrides and extends them. Models of the local provider cost
// nothing; a model in no table is recorded with a cost of 0 and priced=false.
var DefaultPrices = map[string]Price{
	"gpt-4o":            openAIPrice(2.50, 10, 1.25),
	"gpt-4o-mini":       openAIPrice(0.15, 0.60, 0.075),
	"gpt-4.1":           openAIPrice(2, 8, 0.50),
	"gpt-4.1-mini":      openAIPrice(0.40, 1.60, 0.10),
	"gpt-4.1-nano":      openAIPrice(0.10, 0.40, 0.025),
	"gpt-5":             openAIPrice(1.25, 10, 0.125),
	"gpt-5-mini":        openAIPrice(0.25, 2, 0.025),
	"gpt-5-nano":        openAIPrice(0.05, 0.40, 0.005),
	"o3":                openAIPrice(2, 8, 0.50),
	"o4-mini":           openAIPrice(1.10, 4.40, 0.275),
	"claude-opus-4":     anthropicPrice(15, 75),
	"claude-opus-4-1":   anthropicPrice(15, 75),
	"claude-sonnet-4":   anthropicPrice(3, 15),
	"claude-sonnet-4-5": anthropicPrice(3, 15),
	"claude-haiku-4-5":  anthropicPrice(1, 5),
	"claude-3-5-haiku":  anthropicPrice(0.80, 4),
}

// Prices looks up a model's price: an exact name first, then the longest known prefix.
type Prices map[string]Price

// Lookup returns the model's price and whether one is known.
func (p Prices) Lookup(model string) (Price, bool) {
	if pr, ok := p[model]; ok {
		return pr, true
	}
	best := ""
	for name := range p {
		if len(name) > len(best) && strings.HasPrefix(model, name+"-") {
			best = name
		}
	}
	if best == "" {
		return Price{}, false
	}
	return p[best], true
}

// newPrices is the shipped table with the overrides of AI_PRICES.
func newPrices(override string) (Prices, error) {
	extra, err := parsePrices(override)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(DefaultPrices)
	maps.Copy(out, extra)
	return out, nil
}

// parsePrices reads "model=input/output[/cache_read[/cache_write]],..." in USD per million
// tokens.
func parsePrices(s string) (Prices, error) {
	out := Prices{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		model, spec, ok := strings.Cut(item, "=")
		parts := strings.Split(spec, "/")
		if !ok || len(parts) < 2 || len(parts) > 4 || strings.TrimSpace(model) == "" {
			return nil, fmt.Errorf("entry %q is not model=input/output (optionally /cache_read/cache_write)", item)
		}
		var nums [4]float64
		for i, p := range parts {
			n, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || n < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, fmt.Errorf("entry %q has a price that is not a non-negative number", item)
			}
			nums[i] = n
		}
		out[strings.TrimSpace(model)] = Price{Input: nums[0], Output: nums[1], CacheRead: nums[2], CacheWrite: nums[3]}
	}
	return out, nil
}

// roundUSD rounds a sum of costs to a billionth of a dollar: summed as floats (by the
// database and here), 0.1 and 0.2 make 0.30000000000000004, which the usage API showed as
// such. A billionth is below the cost of one token at any listed price.
func roundUSD(x float64) float64 { return math.Round(x*1e9) / 1e9 }
