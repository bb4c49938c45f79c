// Package e2e runs the plugin against a bed of real components: etcd, kube-apiserver,
// kube-controller-manager, kwok, Prometheus, Thanos sidecars, and a Thanos Querier as the oracle.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/pkg/cmd"
	"github.com/globalquery/kubectl-globalquery/pkg/fanout"
	"github.com/globalquery/kubectl-globalquery/pkg/stores"
)

var theBed *bed.State

// TestMain brings a bed up for the package and always takes it down. GLOBALQUERY_BED_DIR points
// at a bed started with `make bed` to reuse it while iterating. Without the tool binaries the
// tests skip, unless GLOBALQUERY_REQUIRE_BED=1 (as `make test` sets) makes that a failure.
func TestMain(m *testing.M) {
	code := run(m)
	if pluginPath != "" {
		os.RemoveAll(filepath.Dir(pluginPath))
	}
	os.Exit(code)
}

func run(m *testing.M) int {
	if dir := os.Getenv("GLOBALQUERY_BED_DIR"); dir != "" {
		s, err := bed.Load(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "GLOBALQUERY_BED_DIR=%s: %v\n", dir, err)
			return 1
		}
		theBed = s
		return m.Run()
	}
	if missing := bed.Missing(""); len(missing) > 0 {
		if os.Getenv("GLOBALQUERY_REQUIRE_BED") == "1" {
			fmt.Fprintf(os.Stderr, "bed binaries missing from bin/: %v (run make tools)\n", missing)
			return 1
		}
		fmt.Fprintf(os.Stderr, "SKIP e2e: bed binaries missing from bin/: %v (run make tools)\n", missing)
		return 0
	}
	dir, err := os.MkdirTemp("", "globalquery-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := bed.Up(ctx, bed.Config{Dir: dir, Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bed up: %v (logs in %s/logs)\n", err, dir)
		return 1
	}
	fmt.Fprintf(os.Stderr, "bed up in %s\n", time.Since(start).Round(time.Millisecond))
	theBed = s
	code := m.Run()
	if err := s.Down(); err != nil {
		fmt.Fprintf(os.Stderr, "bed down: %v\n", err)
		code = 1
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "bed logs kept in %s/logs\n", dir)
	}
	return code
}

func restConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", theBed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// secondBed starts a bed of its own for a test that reconfigures or breaks one, with an hour of
// history (such tests need the kube side, not the history), and takes it down when the test ends.
func secondBed(t *testing.T, what string, cfg bed.Config) *bed.State {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a second bed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg.Dir, cfg.HistoryHours, cfg.Log = t.TempDir(), 1, os.Stderr
	b, err := bed.Up(ctx, cfg)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Cleanup(func() { b.Down() })
	return b
}

// connectStores opens the stores through the library with the command's defaults, changed by edit
// (a kubeconfig, endpoints…), and closes them when the test ends at the latest. It returns how
// the command would combine their answers, by the replica labels the set chose.
func connectStores(t testing.TB, edit func(*stores.Config)) (*stores.Set, fanout.Options) {
	t.Helper()
	o := cmd.NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard())
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := o.Config()
	edit(&cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	set, warns, err := stores.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v (warnings %v)", err, warns)
	}
	t.Cleanup(set.Close)
	opts := o.FanoutOptions()
	opts.ReplicaLabels = set.ReplicaLabels
	return set, opts
}

// withKubeconfig is the edit of connectStores that discovers the stores through kubeconfig.
func withKubeconfig(kubeconfig string) func(*stores.Config) {
	return func(c *stores.Config) { c.Kube.KubeConfig = &kubeconfig }
}

// withEndpoints is the edit of connectStores that names the stores' addresses.
func withEndpoints(addrs ...string) func(*stores.Config) {
	return func(c *stores.Config) { c.Endpoints = addrs }
}

// sidecarAddrs are the gRPC addresses of the bed's sidecars.
func sidecarAddrs() []string {
	var out []string
	for _, s := range theBed.Stores {
		out = append(out, s.SidecarGRPC)
	}
	return out
}
