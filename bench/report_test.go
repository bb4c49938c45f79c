package main

import (
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	if got := median([]time.Duration{3, 1, 2}); got != 2 {
		t.Errorf("odd: %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("even: %v", got)
	}
	if got := median([]int64(nil)); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestGoal(t *testing.T) {
	for _, c := range []struct {
		ratio, limit float64
		below        bool
		want         string
	}{
		{0.8, 1, true, "PASS"}, {1.2, 1, true, "MISS"}, {0.95, 0.9, false, "PASS"}, {0.5, 0.9, false, "MISS"},
	} {
		if got := goal(c.ratio, c.limit, c.below); !strings.HasPrefix(got, c.want) {
			t.Errorf("goal(%v, %v, %v) = %q, want %s", c.ratio, c.limit, c.below, got, c.want)
		}
	}
}

func TestDropSum(t *testing.T) {
	got := dropSum("     0.06s  0.79%  5.12%      1.50s 19.69%  runtime.mallocgc")
	if strings.Contains(got, "5.12%") || !strings.HasSuffix(got, "runtime.mallocgc") {
		t.Errorf("dropSum: %q", got)
	}
}

func TestCountStoreLines(t *testing.T) {
	out := "STORE   LABELS\na  x\nb  y\n\n"
	if n := countStoreLines([]byte(out)); n != 2 {
		t.Errorf("got %d", n)
	}
}
