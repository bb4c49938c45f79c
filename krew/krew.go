// Package krew reads our krew manifests: plugin.yaml, which hack/dist.sh writes, and
// .krew.yaml, the template krew-release-bot renders into the krew-index manifest on a release.
// The tests use it to check that the two say the same.
package krew

import (
	"bytes"
	"fmt"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Manifest is a krew plugin manifest, apiVersion krew.googlecontainertools.github.com/v1alpha2,
// with the fields ours uses.
type Manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []Platform `json:"platforms"`
	} `json:"spec"`
}

// Platform is one archive and what krew installs from it.
type Platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	Sha256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []File `json:"files"`
}

// File is a `files:` entry: krew copies what the glob From matches in the archive to To.
type File struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Parse reads a manifest, refusing fields this package does not know.
func Parse(b []byte) (Manifest, error) {
	var m Manifest
	err := yaml.UnmarshalStrict(b, &m)
	return m, err
}

// Render executes a krew-release-bot template as the bot does for the release tagged tag:
// .TagName is the tag, and {{ addURIAndSha "URL" .TagName }} expands URL (itself a template
// over .TagName) into `uri: URL` and, on the next line indented by four spaces, `sha256: SUM`,
// SUM being what sha256 answers for that URL (the bot downloads the asset).
func Render(text, tag string, sha256 func(uri string) (string, error)) ([]byte, error) {
	type values struct{ TagName string }
	t, err := template.New(".krew.yaml").Option("missingkey=error").Funcs(template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			u, err := template.New("uri").Option("missingkey=error").Parse(url)
			if err != nil {
				return "", err
			}
			var b bytes.Buffer
			if err := u.Execute(&b, values{tag}); err != nil {
				return "", err
			}
			sum, err := sha256(b.String())
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), sum), nil
		},
	}).Parse(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, values{tag}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
