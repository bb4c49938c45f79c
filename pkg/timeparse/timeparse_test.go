package timeparse

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeAndDuration(t *testing.T) {
	now := time.Unix(1000, 0)
	for in, want := range map[string]int64{
		"1700000000":           1700000000000,
		"1700000000.123":       1700000000123,
		"2024-05-01T12:00:00Z": 1714564800000,
		"now":                  1000000,
	} {
		got, err := Time(in, now)
		if err != nil || got.UnixMilli() != want {
			t.Errorf("Time(%q) = %v, %v; want %d", in, got.UnixMilli(), err, want)
		}
	}
	if _, err := Time("yesterday", now); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("bad time: %v", err)
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "1h30m": 90 * time.Minute, "1d": 24 * time.Hour, "15": 15 * time.Second, "0.5": 500 * time.Millisecond} {
		got, err := Duration(in)
		if err != nil || got != want {
			t.Errorf("Duration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := Duration("fast"); err == nil {
		t.Error("bad duration accepted")
	}
}

// A step that gives more than 11,000 points is refused, one that gives exactly 11,000 is not.
func TestCheckPoints(t *testing.T) {
	start := time.Unix(0, 0)
	if err := CheckPoints(start, start.Add(11000*time.Second), time.Second); err != nil {
		t.Errorf("11,000 points refused: %v", err)
	}
	err := CheckPoints(start, start.Add(11001*time.Second), time.Second)
	if err == nil || !strings.Contains(err.Error(), "1s is too small for this range: at most 11,000 points") {
		t.Errorf("11,001 points: %v", err)
	}
}

// User text never panics: it parses or gets an error.
func FuzzTimeAndDuration(f *testing.F) {
	for _, s := range []string{"now", "1700000000.5", "2024-05-01T12:00:00Z", "1h30m", "1e300", "-1", "NaN", "+Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Time(s, time.Unix(0, 0))
		_, _ = Duration(s)
	})
}
