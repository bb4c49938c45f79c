// Package timeparse reads times and durations as the Prometheus HTTP API does, for the command
// line and the served API alike.
package timeparse

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
)

// MaxPoints is Prometheus's cap on the points of one series in a range query.
const MaxPoints = 11000

// CheckPoints refuses a step that would give a series of the range more than MaxPoints points,
// as Prometheus does. The error names no parameter: the caller knows whether it was --step or
// step.
func CheckPoints(start, end time.Time, step time.Duration) error {
	if end.Sub(start)/step > MaxPoints {
		return fmt.Errorf("%s is too small for this range: at most 11,000 points per series", step)
	}
	return nil
}

// MinTime and MaxTime are the Prometheus API's bounds of an open time range. They stop short of
// the int64 extremes so that millisecond arithmetic on them cannot overflow.
var (
	MinTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	MaxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	// Clients such as client_golang send the bounds formatted, with years time.Parse rejects.
	minTimeText = MinTime.Format(time.RFC3339Nano)
	maxTimeText = MaxTime.Format(time.RFC3339Nano)
)

// Time accepts what the Prometheus HTTP API accepts: RFC 3339 or Unix seconds with an
// optional fraction, rounded to the millisecond as the TSDB stores it. "now" is accepted too, for
// the command line.
func Time(s string, now time.Time) (time.Time, error) {
	switch s {
	case "now":
		return now, nil
	case minTimeText:
		return MinTime, nil
	case maxTimeText:
		return MaxTime, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		// ParseFloat also reads NaN and Inf, which name no time; nor does a number of seconds
		// whose milliseconds overflow.
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, fmt.Errorf("cannot parse %q: not a time; want RFC 3339 (2024-05-01T12:00:00Z) or Unix seconds", s)
		}
		if f < float64(MinTime.Unix()) || f > float64(MaxTime.Unix()) {
			return time.Time{}, fmt.Errorf("%q is out of range: want Unix seconds between %d and %d", s, MinTime.Unix(), MaxTime.Unix())
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q: want RFC 3339 (2024-05-01T12:00:00Z) or Unix seconds", s)
}

// Duration accepts a Prometheus duration (30s, 1h30m, 1d) or seconds (15, 0.5).
func Duration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d := f * float64(time.Second)
		// float64(MaxInt64) rounds up to 2^63, which does not fit; NaN fails every comparison.
		if math.IsNaN(d) || d >= math.MaxInt64 || d < math.MinInt64 {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		return time.Duration(d), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q: want a duration (30s, 5m, 1h) or seconds", s)
}
