#!/usr/bin/env bash
# Builds the release archives reproducibly (same sources, same bytes) and writes plugin.yaml,
# the krew manifest, with each archive's sha256.
#   hack/dist.sh VERSION [BASE_URL]
# DIST_PLATFORMS (space-separated os/arch), DIST_DIR and DIST_MANIFEST narrow it down, e.g. for
# a test that installs this machine's archive with krew.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:?version}
base=${2:-https://github.com/globalquery/kubectl-globalquery/releases/download/$version}
out=${DIST_DIR:-$root/dist}
manifest=${DIST_MANIFEST:-$root/plugin.yaml}
rm -rf "$out" && mkdir -p "$out"
read -r -a platforms <<<"${DIST_PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"
entries=""
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  bin=kubectl-globalquery
  [[ $os == windows ]] && bin=kubectl-globalquery.exe
  stage=$out/stage-$os-$arch
  mkdir -p "$stage"
  (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X github.com/globalquery/kubectl-globalquery/pkg/cmd.Version=$version" \
    -o "$stage/$bin" ./cmd/kubectl-globalquery)
  cp "$root/README.md" "$stage/"
  archive=kubectl-globalquery_${version}_${os}_${arch}.tar.gz
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$bin" README.md |
    gzip -n -9 >"$out/$archive"
  rm -rf "$stage"
  sum=$(sha256sum "$out/$archive" | cut -d' ' -f1)
  entries+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $base/$archive
    sha256: $sum
    bin: $bin
"
done
awk -v v="$version" -v p="$entries" '{ gsub("@VERSION@", v); if ($0 == "@PLATFORMS@") printf "%s", p; else print }' \
  "$root/krew/plugin.yaml.tmpl" >"$manifest"
echo "dist: archives in $out, manifest $manifest" >&2
