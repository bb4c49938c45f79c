package cmd

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/globalquery/kubectl-globalquery/pkg/engine"
	"github.com/globalquery/kubectl-globalquery/pkg/frontend"
	"github.com/globalquery/kubectl-globalquery/pkg/serve"
)

// DefaultListen keeps clear of a Prometheus port-forwarded to its usual 9090.
const DefaultListen = "127.0.0.1:9091"

// shutdownGrace is how long requests in flight may finish after SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

// ServeOptions run a Prometheus-compatible HTTP API over the stores.
type ServeOptions struct {
	*StoreOptions
	FrontendOptions

	Listen string
	EngineFlags
	ResultsCacheDir string
	NoCache         bool

	flags map[string]string // as given, for /api/v1/status/flags
}

// memoryCacheBytes bounds the in-memory results cache: room for the range results of a few
// busy dashboards.
const memoryCacheBytes = 256 << 20

// NewServeCommand is `kubectl globalquery serve`.
func NewServeCommand(so *StoreOptions) *cobra.Command {
	o := &ServeOptions{StoreOptions: so, FrontendOptions: newFrontendOptions(), Listen: DefaultListen, EngineFlags: newEngineFlags()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Prometheus HTTP API over every store, for Grafana, promtool or a browser",
		Long: `Connects to the stores once, keeps the tunnels open, and answers the Prometheus HTTP API on
--listen: /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels,
/api/v1/label/<name>/values and /api/v1/status/buildinfo, plus /-/ready and /-/healthy.
Answers are merged and deduplicated as by the query command; like a Thanos Querier, a request
may override --dedup, --partial-response and --replica-label with the dedup, partial_response
and replicaLabels[] parameters.

There is no authentication: whoever can reach the address queries your clusters with your
kube credentials. Keep it on a loopback address unless that is what you want; on one, requests
naming any other host are refused, so that web pages cannot reach the API through DNS rebinding.

As a Thanos Query Frontend would, range queries are split at --split-interval boundaries and
evaluated in parallel, transient store or tunnel failures are retried (--max-retries), and the
split results are cached (in memory; on disk too with --results-cache-dir; --no-cache turns it
off), so that a dashboard refresh evaluates only the new tail. --log-slow-queries logs slow
queries.

Stores are discovered once, at start; restart to pick up Prometheus pods created since.
SIGINT or SIGTERM stops it, letting requests in flight finish for 10s.`,
		Example: `  # Serve every Prometheus the kubeconfig can see; add http://127.0.0.1:9091 to Grafana as a
  # Prometheus data source
  kubectl globalquery serve

  # Ask it with promtool or curl, as you would ask Prometheus
  promtool query instant http://127.0.0.1:9091 'count(up) by (cluster)'
  curl -s 'http://127.0.0.1:9091/api/v1/query?query=up&dedup=false'

  # Two clusters, tolerating stores that are down, on another port
  kubectl globalquery serve --context eu --context us --partial-response --listen 127.0.0.1:9999`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			o.flags = flagValues(c)
			return o.Run(c.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Listen, "listen", o.Listen, "Address to serve the API on, HOST:PORT; a non-loopback host makes it reachable from the network (port 0 picks a free one)")
	o.EngineFlags.addFlags(fs, "Maximum time to evaluate a query; a request's timeout parameter may only shorten it")
	o.FrontendOptions.addFlags(fs)
	// Not --cache-dir: that one is kubectl's (its discovery cache), as on every command.
	fs.StringVar(&o.ResultsCacheDir, "results-cache-dir", "", "Also keep cached range results on disk in this directory, across restarts (e.g. "+defaultResultsCacheDir()+")")
	fs.BoolVar(&o.NoCache, "no-cache", false, "Do not cache range query results (by default they are cached in memory, split by --split-interval)")
	return cmd
}

// Validate checks the flags before any connection is opened.
func (o *ServeOptions) Validate() error {
	if err := o.StoreOptions.Validate(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return usageError("--listen %q: want HOST:PORT, e.g. %s", o.Listen, DefaultListen)
	}
	if err := o.EngineFlags.validate(); err != nil {
		return err
	}
	if o.NoCache && o.ResultsCacheDir != "" {
		return usageError("--no-cache and --results-cache-dir cannot be used together")
	}
	return o.FrontendOptions.validate()
}

// Run listens first, so that a port in use fails at once rather than after connecting, then
// connects and serves until ctx ends.
func (o *ServeOptions) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	defer ln.Close()
	addr, _ := ln.Addr().(*net.TCPAddr)
	loopback := addr != nil && addr.IP.IsLoopback()
	if !loopback {
		fmt.Fprintf(o.ErrOut, "Warning: %s is not a loopback address: anyone who can reach it on the network can query your clusters with your kube credentials, without authentication\n", ln.Addr())
	}

	set, warns, err := o.Connect(ctx)
	for _, w := range warningsIn(warns, flagWords) {
		fmt.Fprintln(o.ErrOut, "Warning:", w)
	}
	if err != nil {
		return err
	}
	defer set.Close()

	var cache *frontend.ResultsCache
	if !o.NoCache {
		if cache, err = frontend.NewResultsCache(memoryCacheBytes, o.ResultsCacheDir); err != nil {
			return fmt.Errorf("--results-cache-dir: %w", err)
		}
	}
	eng := engine.New(o.engineOptions())
	fe, closeLog, err := o.FrontendOptions.build(eng, o.ErrOut, cache)
	if err != nil {
		return err
	}
	defer closeLog()
	h := serve.NewHandler(serve.Options{
		Stores:       set.FanoutStores(),
		Fanout:       o.FanoutOptions(),
		Engine:       eng,
		Frontend:     fe,
		Warnings:     warningsIn(warns, serve.Words),
		LoopbackOnly: loopback,
		BuildInfo:    buildInfo(),
		Status:       serve.Status{Flags: o.flags, Started: time.Now()},
	})
	stores := "stores"
	if len(set.Stores) == 1 {
		stores = "store"
	}
	fmt.Fprintf(o.ErrOut, "Serving the Prometheus API over %d %s on http://%s (Ctrl-C to stop)\n", len(set.Stores), stores, ln.Addr())
	return serve.Serve(ctx, ln, h, shutdownGrace)
}

// defaultResultsCacheDir is where a disk cache conventionally goes, for the flag's help.
func defaultResultsCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kubectl-globalquery")
	}
	return "~/.cache/kubectl-globalquery"
}

func buildInfo() serve.BuildInfo {
	bi := serve.BuildInfo{Version: Version, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Revision = s.Value
			case "vcs.time":
				bi.BuildDate = s.Value
			}
		}
	}
	return bi
}

// flagValues are the command's flags and their values, for /api/v1/status/flags, without the
// credentials kubectl's flags may carry.
func flagValues(c *cobra.Command) map[string]string {
	out := map[string]string{}
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if strings.Contains(f.Name, "token") || strings.Contains(f.Name, "password") || f.Name == "username" {
			return
		}
		out[f.Name] = f.Value.String()
	})
	return out
}
