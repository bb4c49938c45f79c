package cmd

import (
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/timeparse"
)

// The command line and the served API accept the same times and durations.
func parseTime(s string, now time.Time) (time.Time, error) { return timeparse.Time(s, now) }

func parseDuration(s string) (time.Duration, error) { return timeparse.Duration(s) }
