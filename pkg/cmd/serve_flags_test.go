package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// `serve --cache-dir` is kubectl's flag, the discovery cache, as on every other command; serve's
// results cache on disk is --results-cache-dir.
func TestServeCacheDirIsKubectls(t *testing.T) {
	so := NewStoreOptions(genericiooptions.NewTestIOStreamsDiscard())
	root := &cobra.Command{Use: "kubectl-globalquery"}
	so.AddFlags(root.PersistentFlags())
	serve := NewServeCommand(so)
	root.AddCommand(serve)
	if err := serve.ParseFlags([]string{"--cache-dir", "/tmp/kube-cache", "--results-cache-dir", "/tmp/results"}); err != nil {
		t.Fatal(err)
	}
	if got := *so.Kube.CacheDir; got != "/tmp/kube-cache" {
		t.Errorf("kubectl's cache dir = %q, want /tmp/kube-cache", got)
	}
	if serve.LocalNonPersistentFlags().Lookup("cache-dir") != nil {
		t.Error("serve defines a --cache-dir of its own, hiding kubectl's")
	}
	if f := serve.Flags().Lookup("cache-dir"); f != root.PersistentFlags().Lookup("cache-dir") {
		t.Errorf("serve's --cache-dir is not kubectl's: %+v", f)
	}
	if f := serve.Flags().Lookup("results-cache-dir"); f == nil || f.Value.String() != "/tmp/results" {
		t.Errorf("--results-cache-dir: %+v", f)
	}
}

// The two flags stay apart on the real command line too: --no-cache contradicts only ours.
func TestServeNoCacheWithResultsCacheDir(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	root.SetArgs([]string{"serve", "--no-cache", "--results-cache-dir", t.TempDir()})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "--no-cache and --results-cache-dir cannot be used together") {
		t.Fatalf("got %v", err)
	}
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if f := serve.Flags().Lookup("cache-dir"); f == nil || !strings.Contains(f.Usage, "cache directory") {
		t.Errorf("serve --cache-dir is not kubectl's: %+v", f)
	}
}
