#!/usr/bin/env bash
# Builds the release archives reproducibly (same sources, same bytes), each with the binary,
# LICENSE and README.md, and writes plugin.yaml, the krew manifest: .krew.yaml rendered as
# krew-release-bot renders it on a release, with each archive's sha256.
#   hack/dist.sh VERSION [BASE_URL]
# DIST_PLATFORMS (space-separated os/arch; default: every platform in .krew.yaml), DIST_DIR and
# DIST_MANIFEST narrow it down, e.g. for a test that installs this machine's archive with krew.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:?version}
base=${2:-https://github.com/globalquery/kubectl-globalquery/releases/download/$version}
out=${DIST_DIR:-$root/dist}
manifest=${DIST_MANIFEST:-$root/plugin.yaml}
template=$root/.krew.yaml
rm -rf "$out" && mkdir -p "$out"
default_platforms=$(awk '$1 == "os:" { os = $2 } $1 == "arch:" { printf "%s/%s ", os, $2 }' "$template")
read -r -a platforms <<<"${DIST_PLATFORMS:-$default_platforms}"
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  bin=kubectl-globalquery
  [[ $os == windows ]] && bin=kubectl-globalquery.exe
  stage=$out/stage-$os-$arch
  mkdir -p "$stage"
  (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X github.com/globalquery/kubectl-globalquery/pkg/cmd.Version=$version" \
    -o "$stage/$bin" ./cmd/kubectl-globalquery)
  cp "$root/LICENSE" "$root/README.md" "$stage/"
  archive=kubectl-globalquery_${version}_${os}_${arch}.tar.gz
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$bin" LICENSE README.md |
    gzip -n -9 >"$out/$archive"
  rm -rf "$stage"
done
(cd "$out" && sha256sum -- *.tar.gz >SHA256SUMS)

# The template's comment goes; {{ .TagName }} becomes the version; each platform's
# {{ addURIAndSha "URL" .TagName }} becomes its archive's uri under BASE_URL and sha256, and a
# platform whose archive was not built is left out.
awk -v version="$version" -v base="$base" '
  function replace(s, from, to,   i, r) {
    r = ""
    while ((i = index(s, from)) > 0) { r = r substr(s, 1, i - 1) to; s = substr(s, i + length(from)) }
    return r s
  }
  function flush() { if (keep) printf "%s", block; block = ""; keep = 1 }
  BEGIN { keep = 1 }
  FNR == NR { sum[$2] = $1; next }
  index($0, "{{- /*") == 1 { comment = 1 }
  comment { if (index($0, "*/ -}}")) comment = 0; next }
  { $0 = replace($0, "{{ .TagName }}", version) }
  $0 == "  - selector:" { flush() }
  index($0, "{{ addURIAndSha \"") {
    url = $0; sub(/^[^"]*"/, "", url); sub(/".*$/, "", url)
    archive = url; sub(/^.*\//, "", archive)
    indent = $0; sub(/[^ ].*$/, "", indent)
    if (!(archive in sum)) { keep = 0; next }
    $0 = indent "uri: " base "/" archive "\n" indent "sha256: " sum[archive]
    delete sum[archive]
  }
  { block = block $0 "\n" }
  END {
    flush()
    for (a in sum) { print "dist: " a " is not in .krew.yaml" >"/dev/stderr"; exit 1 }
  }' "$out/SHA256SUMS" "$template" >"$manifest.tmp" || { rm -f "$manifest.tmp"; exit 1; }
mv "$manifest.tmp" "$manifest"
echo "dist: archives in $out, manifest $manifest" >&2
