package main

import (
	"os"
	"testing"
)

func TestMedianCI(t *testing.T) {
	seq := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(n - i) // reversed: medianCI sorts
		}
		return x
	}
	tests := []struct {
		n      int
		lo, hi float64
	}{
		{5, 1, 5},     // P(all five on one side) = 3.1% > 2.5%: no narrower interval
		{6, 1, 6},     // 1.6% each side: the extremes
		{20, 6, 15},   // P(B <= 5) = 2.07%, P(B <= 6) = 5.77%
		{100, 40, 61}, // the textbook interval for n = 100
	}
	for _, tt := range tests {
		lo, hi := medianCI(seq(tt.n))
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("n=%d: [%v, %v], want [%v, %v]", tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
}

func TestProcStat(t *testing.T) {
	minflt, _, cpu, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if minflt <= 0 || cpu < 0 {
		t.Errorf("minflt %v, cpu %v: this process has faulted pages in", minflt, cpu)
	}
}
