package ai

import (
	"math"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestPriceCost: cached prompt tokens are part of the input and priced at the cache's rates,
// which default to the input price.
func TestPriceCost(t *testing.T) {
	claude := anthropicPrice(3, 15)
	tests := []struct {
		name  string
		price Price
		usage Usage
		want  float64 // USD
	}{
		{"plain", Price{Input: 2, Output: 8}, Usage{InputTokens: 1_000_000, OutputTokens: 500_000}, 2 + 4},
		{"anthropic cache read is a tenth", claude, Usage{InputTokens: 1_000_000, CacheReadTokens: 1_000_000}, 0.30},
		{"anthropic cache write is a quarter more", claude, Usage{InputTokens: 1_000_000, CacheWriteTokens: 1_000_000}, 3.75},
		{"anthropic mixed", claude, Usage{InputTokens: 3_000_000, CacheReadTokens: 1_000_000, CacheWriteTokens: 1_000_000, OutputTokens: 1_000_000}, 3 + 0.30 + 3.75 + 15},
		{"openai cached input", openAIPrice(2.50, 10, 1.25), Usage{InputTokens: 2_000_000, CacheReadTokens: 1_000_000}, 2.50 + 1.25},
		{"no cache prices: input rate", Price{Input: 1, Output: 1}, Usage{InputTokens: 1_000_000, CacheReadTokens: 400_000, CacheWriteTokens: 100_000}, 1},
		{"cache counts above the input are bounded by it", claude, Usage{InputTokens: 1_000_000, CacheReadTokens: 900_000, CacheWriteTokens: 900_000}, 0.9*0.30 + 0.1*3.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.price.Cost(tt.usage); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Cost = %.6f, want %.6f", got, tt.want)
			}
		})
	}
}

func TestParsePrices(t *testing.T) {
	tests := []struct {
		in      string
		want    Prices
		wantErr string
	}{
		{in: "", want: Prices{}},
		{in: "a=1/2", want: Prices{"a": {Input: 1, Output: 2}}},
		{in: " a = 1 / 2 , b=0.5/1.5/0.05", want: Prices{"a": {Input: 1, Output: 2}, "b": {Input: 0.5, Output: 1.5, CacheRead: 0.05}}},
		{in: "c=3/15/0.3/3.75", want: Prices{"c": {Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}}},
		{in: "a=1", wantErr: "is not model=input/output"},
		{in: "a=1/2/3/4/5", wantErr: "is not model=input/output"},
		{in: "=1/2", wantErr: "is not model=input/output"},
		{in: "a=1/-2", wantErr: "not a non-negative number"},
		{in: "a=1/NaN", wantErr: "not a non-negative number"},
		{in: "a=1/2/x", wantErr: "not a non-negative number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePrices(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("prices = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %+v, want %+v", k, got[k], v)
				}
			}
		})
	}
}

// TestLedgerPricesCache: the ledger's cost of a call whose prompt came partly from the
// provider's cache uses the cache's rates (priced as plain input, a cached Claude prompt
// cost up to ten times what was billed).
func TestLedgerPricesCache(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	f := newFakeAnthropic(t, fakeOK)
	f.cacheUsage = `"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,`
	svc, _ := setup(t, db, f, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}, nil)
	for _, stream := range []bool{false, true} {
		p := ChatParams{Prompt: "hi"}
		if stream {
			p.OnDelta = func(string) error { return nil }
		}
		if _, err := svc.Chat(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	want := (12*3 + 2000*0.30 + 100*3.75 + 3*15) / 1e6
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT cost_usd FROM ai_usage ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var cost float64
		if err := rows.Scan(&cost); err != nil {
			t.Fatal(err)
		}
		if math.Abs(cost-want) > 1e-12 {
			t.Errorf("call %d cost %.8f, want %.8f", n, cost, want)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d ledger rows, want 2", n)
	}
}
