package e2e

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/globalquery/kubectl-globalquery/internal/bed"
	"github.com/globalquery/kubectl-globalquery/krew"
)

// The plugin installs with the real krew from our manifest and archive, offline, and the
// installed copy answers through real kubectl. Before that, krew's own validate-krew-manifest
// installs the archive from its uri, checking its sha256 and that LICENSE is installed.
func TestKrewInstall(t *testing.T) {
	bin := bed.DefaultBinDir()
	krewBin := filepath.Join(bin, "krew")
	validate := filepath.Join(bin, "validate-krew-manifest")
	for _, tool := range []string{krewBin, validate} {
		if _, err := os.Stat(tool); err != nil {
			if os.Getenv("GLOBALQUERY_REQUIRE_BED") == "1" {
				t.Fatalf("%s missing from bin/ (make tools): %v", filepath.Base(tool), err)
			}
			t.Skipf("%s missing from bin/ (make tools)", filepath.Base(tool))
		}
	}
	root := filepath.Dir(bin)
	dir := t.TempDir()
	distDir := filepath.Join(dir, "dist")
	// The release's downloads, from here: validate-krew-manifest fetches the uri.
	srv := httptest.NewServer(http.FileServer(http.Dir(distDir)))
	defer srv.Close()
	// krew names a manifest after its plugin.
	manifest := filepath.Join(dir, "globalquery.yaml")
	dist := exec.Command("bash", filepath.Join(root, "hack", "dist.sh"), "v0.0.0-test", srv.URL)
	dist.Dir = root
	dist.Env = append(os.Environ(), "DIST_PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH,
		"DIST_DIR="+distDir, "DIST_MANIFEST="+manifest)
	if out, err := dist.CombinedOutput(); err != nil {
		t.Fatalf("dist: %v\n%s", err, out)
	}
	archives, _ := filepath.Glob(filepath.Join(distDir, "*.tar.gz"))
	if len(archives) != 1 {
		t.Fatalf("archives: %v", archives)
	}
	exe := "kubectl-globalquery"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if names := archiveNames(t, archives[0]); !reflect.DeepEqual(names, []string{"LICENSE", "README.md", exe}) {
		t.Fatalf("%s holds %v, want LICENSE, README.md and %s", filepath.Base(archives[0]), names, exe)
	}
	checkManifestIsTheTemplate(t, root, manifest, srv.URL)

	// validate-krew-manifest runs `kubectl krew install`, with nothing but PATH from here.
	pathDir := filepath.Join(dir, "path")
	if err := os.Mkdir(pathDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"kubectl": filepath.Join(bin, "kubectl"), "kubectl-krew": krewBin} {
		if err := os.Symlink(target, filepath.Join(pathDir, link)); err != nil {
			t.Fatal(err)
		}
	}
	v := exec.Command(validate, "-manifest", manifest)
	v.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := v.CombinedOutput(); err != nil || !strings.Contains(string(out), "all 1 spec.platforms installed fine") {
		t.Fatalf("validate-krew-manifest: %v\n%s", err, out)
	} else {
		t.Logf("validate-krew-manifest:\n%s", out)
	}

	krewRoot := filepath.Join(dir, "krew")
	env := append(os.Environ(), "KREW_ROOT="+krewRoot, "KUBECONFIG="+theBed.Kubeconfig,
		"PATH="+filepath.Join(krewRoot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	install := exec.Command(krewBin, "install", "--manifest="+manifest, "--archive="+archives[0])
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
	// The license is installed next to the binary.
	licenses, _ := filepath.Glob(filepath.Join(krewRoot, "store", "globalquery", "v0.0.0-test", "LICENSE"))
	if len(licenses) != 1 {
		t.Fatalf("LICENSE not installed: %v", licenses)
	}
}

// archiveNames lists a .tar.gz archive's files, sorted.
func archiveNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tr := tar.NewReader(gz); ; {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}

// checkManifestIsTheTemplate: what dist.sh wrote for this platform is this platform's entry of
// .krew.yaml as krew-release-bot renders it, the uri under base.
func checkManifestIsTheTemplate(t *testing.T, root, manifest, base string) {
	t.Helper()
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	got, err := krew.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", manifest, err)
	}
	if len(got.Spec.Platforms) != 1 {
		t.Fatalf("dist's manifest has %d platforms, want this one:\n%s", len(got.Spec.Platforms), b)
	}
	text, err := os.ReadFile(filepath.Join(root, ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := krew.Render(string(text), got.Spec.Version, func(uri string) (string, error) {
		if path.Base(uri) == path.Base(got.Spec.Platforms[0].URI) {
			return got.Spec.Platforms[0].Sha256, nil
		}
		return strings.Repeat("0", 64), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := krew.Parse(rendered)
	if err != nil {
		t.Fatalf(".krew.yaml rendered: %v\n%s", err, rendered)
	}
	var this []krew.Platform
	for _, p := range want.Spec.Platforms {
		if p.Selector.MatchLabels["os"] == runtime.GOOS && p.Selector.MatchLabels["arch"] == runtime.GOARCH {
			p.URI = base + "/" + path.Base(p.URI)
			this = append(this, p)
		}
	}
	want.Spec.Platforms = this
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("dist's manifest is not .krew.yaml's entry for %s/%s:\n got %+v\nwant %+v", runtime.GOOS, runtime.GOARCH, got, want)
	}
}
