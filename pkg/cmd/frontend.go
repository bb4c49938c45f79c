package cmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
)

// FrontendOptions are what a Thanos Query Frontend would add in front of the Querier:
// splitting of range queries, retries, and a slow-query log.
type FrontendOptions struct {
	SplitInterval time.Duration
	MaxRetries    int
	SlowQueries   time.Duration
	LogFile       string
}

func newFrontendOptions() FrontendOptions {
	return FrontendOptions{SplitInterval: frontend.DefaultSplitInterval, MaxRetries: frontend.DefaultMaxRetries}
}

func (o *FrontendOptions) addFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.SplitInterval, "split-interval", o.SplitInterval, "Split range queries at multiples of this interval and evaluate the parts in parallel, as the Query Frontend does (0: no splitting)")
	fs.IntVar(&o.MaxRetries, "max-retries", o.MaxRetries, "Retry a query this many times when a store or tunnel fails transiently (connection reset, Unavailable, API server errors)")
	fs.DurationVar(&o.SlowQueries, "log-slow-queries", 0, "Log queries that take at least this long, one logfmt line each with the stores touched, series and samples read (0: off)")
	fs.StringVar(&o.LogFile, "log-file", "", "Append the slow-query log to this file instead of stderr")
}

func (o *FrontendOptions) validate() error {
	if o.SplitInterval < 0 {
		return usageError("--split-interval must not be negative")
	}
	if o.SplitInterval > 0 && o.SplitInterval < time.Minute {
		return usageError("--split-interval %s is too small: at least 1m, or 0 to turn splitting off", o.SplitInterval)
	}
	if o.MaxRetries < 0 {
		return usageError("--max-retries must not be negative")
	}
	if o.SlowQueries < 0 {
		return usageError("--log-slow-queries must not be negative")
	}
	if o.LogFile != "" && o.SlowQueries == 0 {
		return usageError("--log-file holds the slow-query log: add --log-slow-queries DURATION")
	}
	return nil
}

// build returns a frontend over eng, and a function that closes the log file if one was opened.
func (o *FrontendOptions) build(eng *engine.Engine, errOut io.Writer, cache *frontend.ResultsCache) (*frontend.Frontend, func(), error) {
	w, closeLog := errOut, func() {}
	if o.LogFile != "" && o.SlowQueries > 0 {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w, closeLog = f, func() { f.Close() }
	}
	fe := frontend.New(eng, frontend.Options{
		SplitInterval: o.SplitInterval,
		MaxRetries:    o.MaxRetries,
		Cache:         cache,
		SlowLog:       frontend.NewSlowLog(w, o.SlowQueries),
	})
	return fe, closeLog, nil
}
