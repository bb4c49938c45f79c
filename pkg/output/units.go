package output

import (
	"math"
	"strconv"
	"strings"
)

// siPrefixes by power of 1000, from 1000^-4 (pico) to 1000^6 (exa).
var siPrefixes = map[int]string{-4: "p", -3: "n", -2: "µ", -1: "m", 1: "k", 2: "M", 3: "G", 4: "T", 5: "P", 6: "E"}

// formatCompact prints v in at most sig significant digits with an SI prefix where that is shorter:
// 1234567 is 1.23M, 0.0005 is 500µ; values from 0.001 to 999 keep their plain form.
func formatCompact(v float64, sig int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return FormatFloat(v)
	}
	// Rounding first puts 999.96 under k, as it will print as 1k.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', sig, 64), 64)
	if r == 0 {
		return "0"
	}
	a := math.Abs(r)
	exp := 0
	switch {
	case a >= 1000:
		exp = min(int(math.Floor(math.Log10(a)/3)), 6)
	case a < 0.001:
		exp = max(int(math.Floor(math.Log10(a)/3)), -4)
	}
	scaled := r / math.Pow(1000, float64(exp))
	decimals := max(sig-1-int(math.Floor(math.Log10(math.Abs(scaled)))), 0)
	s := strconv.FormatFloat(scaled, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + siPrefixes[exp]
}

// distinctCompact formats vals with the fewest significant digits (3 to 6) that keeps apart the
// values that differ, so an axis from 1000.1 to 1000.3 is not labelled 1k to 1k.
func distinctCompact(vals ...float64) []string {
	out := make([]string, len(vals))
	for sig := 3; sig <= 6; sig++ {
		seen := map[string]float64{}
		clash := false
		for i, v := range vals {
			out[i] = formatCompact(v, sig)
			if prev, ok := seen[out[i]]; ok && prev != v {
				clash = true
			}
			seen[out[i]] = v
		}
		if !clash {
			break
		}
	}
	return out
}

// formatValue prints a sample value for a table cell: every digit before the decimal point but
// at most six significant digits in all, so rates like 1343.6341262474593 read 1343.63. The
// machine formats (json, yaml, csv) keep every digit.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0) || v == 0:
		return FormatFloat(v)
	case a < 1e-4 || a >= 1e15:
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	decimals := max(5-int(math.Floor(math.Log10(a))), 0)
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
