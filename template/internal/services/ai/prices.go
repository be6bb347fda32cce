package ai

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// Price is what a model costs, in USD per million tokens.
type Price struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// Cost is what usage costs at p, in USD.
func (p Price) Cost(u Usage) float64 {
	return (float64(u.InputTokens)*p.Input + float64(u.OutputTokens)*p.Output) / 1e6
}

// DefaultPrices are the list prices the app ships, in USD per million tokens, keyed by model
// name or prefix (a dated snapshot such as gpt-4o-mini-2024-07-18 takes its family's price).
// They go stale: AI_PRICES overrides and extends them. Models of the local provider cost
// nothing; a model in no table is recorded with a cost of 0 and priced=false.
var DefaultPrices = map[string]Price{
	"gpt-4o":            {2.50, 10},
	"gpt-4o-mini":       {0.15, 0.60},
	"gpt-4.1":           {2, 8},
	"gpt-4.1-mini":      {0.40, 1.60},
	"gpt-4.1-nano":      {0.10, 0.40},
	"gpt-5":             {1.25, 10},
	"gpt-5-mini":        {0.25, 2},
	"gpt-5-nano":        {0.05, 0.40},
	"o3":                {2, 8},
	"o4-mini":           {1.10, 4.40},
	"claude-opus-4":     {15, 75},
	"claude-opus-4-1":   {15, 75},
	"claude-sonnet-4":   {3, 15},
	"claude-sonnet-4-5": {3, 15},
	"claude-haiku-4-5":  {1, 5},
	"claude-3-5-haiku":  {0.80, 4},
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

// parsePrices reads "model=input/output,..." in USD per million tokens.
func parsePrices(s string) (Prices, error) {
	out := Prices{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		model, spec, ok := strings.Cut(item, "=")
		in, outp, ok2 := strings.Cut(spec, "/")
		if !ok || !ok2 || strings.TrimSpace(model) == "" {
			return nil, fmt.Errorf("entry %q is not model=input/output", item)
		}
		pi, err1 := strconv.ParseFloat(strings.TrimSpace(in), 64)
		po, err2 := strconv.ParseFloat(strings.TrimSpace(outp), 64)
		if err := errors.Join(err1, err2); err != nil || pi < 0 || po < 0 {
			return nil, fmt.Errorf("entry %q has a price that is not a non-negative number", item)
		}
		out[strings.TrimSpace(model)] = Price{Input: pi, Output: po}
	}
	return out, nil
}
