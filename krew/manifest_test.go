package krew

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"slices"
	"testing"
)

// plugin.yaml is what krew-release-bot makes of .krew.yaml for that release: the same bytes,
// once the bot's sha256s are those of plugin.yaml.
func TestPluginYAMLIsTheRenderedTemplate(t *testing.T) {
	text, err := os.ReadFile("../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../plugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(want)
	if err != nil {
		t.Fatalf("plugin.yaml: %v", err)
	}
	sums := map[string]string{}
	for _, p := range m.Spec.Platforms {
		sums[p.URI] = p.Sha256
	}
	got, err := Render(string(text), m.Spec.Version, func(uri string) (string, error) {
		if s, ok := sums[uri]; ok {
			return s, nil
		}
		return "", fmt.Errorf("%s is not in plugin.yaml", uri)
	})
	if err != nil {
		t.Fatalf(".krew.yaml: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf(".krew.yaml rendered for %s differs from plugin.yaml (make dist writes it from .krew.yaml):\n%s", m.Spec.Version, got)
	}
}

// krew-index wants the license installed with the plugin, and krew wants the binary.
func TestEveryPlatformInstallsItsBinaryAndLicense(t *testing.T) {
	b, err := os.ReadFile("../plugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata.Name != "globalquery" || len(m.Spec.Platforms) != 6 {
		t.Fatalf("plugin %q with %d platforms", m.Metadata.Name, len(m.Spec.Platforms))
	}
	for _, p := range m.Spec.Platforms {
		goos, goarch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		bin := "kubectl-globalquery"
		if goos == "windows" {
			bin += ".exe"
		}
		if p.Bin != bin {
			t.Errorf("%s/%s: bin %q, want %q", goos, goarch, p.Bin, bin)
		}
		if archive := fmt.Sprintf("kubectl-globalquery_%s_%s_%s.tar.gz", m.Spec.Version, goos, goarch); path.Base(p.URI) != archive {
			t.Errorf("%s/%s: uri %s, want an archive named %s", goos, goarch, p.URI, archive)
		}
		for _, from := range []string{bin, "LICENSE"} {
			if !slices.Contains(p.Files, File{From: from, To: "."}) {
				t.Errorf("%s/%s: files %v do not install %s", goos, goarch, p.Files, from)
			}
		}
	}
}
