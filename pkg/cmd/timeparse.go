package cmd

import (
	"time"

	"github.com/globalquery/kubectl-globalquery/pkg/serve"
)

// The command line and the served API accept the same times and durations.
func parseTime(s string, now time.Time) (time.Time, error) { return serve.ParseTime(s, now) }

func parseDuration(s string) (time.Duration, error) { return serve.ParseDuration(s) }
