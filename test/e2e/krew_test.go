package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
)

// The plugin installs with the real krew from our manifest and archive, offline, and the
// installed copy answers through real kubectl.
func TestKrewInstall(t *testing.T) {
	bin := bed.DefaultBinDir()
	krew := filepath.Join(bin, "krew")
	if _, err := os.Stat(krew); err != nil {
		if os.Getenv("GLOBALQUERY_REQUIRE_BED") == "1" {
			t.Fatalf("krew missing from bin/ (make tools): %v", err)
		}
		t.Skip("krew missing from bin/ (make tools)")
	}
	root := filepath.Dir(bin)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "plugin.yaml")
	dist := exec.Command("bash", filepath.Join(root, "hack", "dist.sh"), "v0.0.0-test")
	dist.Dir = root
	dist.Env = append(os.Environ(), "DIST_PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH,
		"DIST_DIR="+filepath.Join(dir, "dist"), "DIST_MANIFEST="+manifest)
	if out, err := dist.CombinedOutput(); err != nil {
		t.Fatalf("dist: %v\n%s", err, out)
	}
	archives, _ := filepath.Glob(filepath.Join(dir, "dist", "*.tar.gz"))
	if len(archives) != 1 {
		t.Fatalf("archives: %v", archives)
	}
	krewRoot := filepath.Join(dir, "krew")
	env := append(os.Environ(), "KREW_ROOT="+krewRoot, "KUBECONFIG="+theBed.Kubeconfig,
		"PATH="+filepath.Join(krewRoot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	install := exec.Command(krew, "install", "--manifest="+manifest, "--archive="+archives[0])
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("krew install: %v\n%s", err, out)
	}
	kubectl := filepath.Join(bin, "kubectl")
	run := func(args ...string) string {
		c := exec.Command(kubectl, args...)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if v := run("globalquery", "version"); !strings.Contains(v, "kubectl-globalquery v0.0.0-test") {
		t.Fatalf("version through the installed copy: %q", v)
	}
	out := run("globalquery", `count by (cluster) (up{job="node-exporter"})`, "--time", secs(theBed.HistoryEnd-10*60_000))
	if !strings.Contains(out, "europe/prometheus-europe-eu-prometheus") || !strings.Contains(out, "united-states/") {
		t.Fatalf("query through the installed copy:\n%s", out)
	}
	// krew records what it installed in a receipt (`krew list` would want the online index).
	receipt, err := os.ReadFile(filepath.Join(krewRoot, "receipts", "globalquery.yaml"))
	if err != nil || !strings.Contains(string(receipt), "v0.0.0-test") {
		t.Fatalf("krew receipt: %v\n%s", err, receipt)
	}
}
