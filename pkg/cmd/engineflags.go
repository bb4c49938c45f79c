package cmd

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
)

// EngineFlags are the PromQL engine's limits, the same for a query and for serve.
type EngineFlags struct {
	LookbackDelta, EvalTimeout time.Duration
	MaxSamples                 int
}

func newEngineFlags() EngineFlags { return EngineFlags{EvalTimeout: 2 * time.Minute} }

// addFlags registers them; timeoutHelp says what --timeout bounds for this command.
func (e *EngineFlags) addFlags(fs *pflag.FlagSet, timeoutHelp string) {
	fs.DurationVar(&e.LookbackDelta, "lookback-delta", 0, "How far back to look for a sample (default 5m, as in Prometheus)")
	fs.DurationVar(&e.EvalTimeout, "timeout", e.EvalTimeout, timeoutHelp)
	fs.IntVar(&e.MaxSamples, "max-samples", 50_000_000, "Maximum number of samples a query may load into memory")
}

func (e *EngineFlags) validate() error {
	if e.EvalTimeout <= 0 {
		return usageError("--timeout %s: want a positive duration, e.g. --timeout 5m", e.EvalTimeout)
	}
	if e.LookbackDelta < 0 {
		return usageError("--lookback-delta %s: want a positive duration, or leave it out for 5m", e.LookbackDelta)
	}
	if e.MaxSamples < 0 {
		return usageError("--max-samples %d: want a positive number, or leave it out for 50,000,000", e.MaxSamples)
	}
	return nil
}

func (e *EngineFlags) engineOptions() engine.Options {
	return engine.Options{LookbackDelta: e.LookbackDelta, Timeout: e.EvalTimeout, MaxSamples: e.MaxSamples}
}
