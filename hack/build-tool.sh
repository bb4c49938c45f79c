#!/usr/bin/env bash
# Builds one pinned tool from the Go module proxy (or, for histogram-target, from this
# repository) into bin/.
# A stamp file (bin/.NAME.version) records what was built, so a second run builds nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
source "$root/hack/versions.env"
bin="$root/bin"
work="${TOOLS_WORK_DIR:-$root/.cache/tools}"
mkdir -p "$bin" "$work"

tool=$1
stamp_ok() { [[ -x $bin/$1 && -f $bin/.$1.version && "$(cat "$bin/.$1.version")" == "$2" ]]; }
stamp() { echo "$2" >"$bin/.$1.version"; }
log() { echo "build-tool: $*" >&2; }

case $tool in
prometheus | promtool)
  v=$PROMETHEUS_VERSION
  stamp_ok prometheus "$v" && stamp_ok promtool "$v" && exit 0
  log "prometheus+promtool $v"
  GOBIN=$bin go install -trimpath \
    -ldflags "-X github.com/prometheus/common/version.Version=${v#v0.} -X github.com/prometheus/common/version.Branch=HEAD" \
    "github.com/prometheus/prometheus/cmd/prometheus@$v" "github.com/prometheus/prometheus/cmd/promtool@$v"
  stamp prometheus "$v"; stamp promtool "$v"
  ;;
thanos)
  v=$THANOS_VERSION
  stamp_ok thanos "$v" && exit 0
  log "thanos $v"
  # Thanos's go.mod carries replace directives, which `go install mod@v` refuses: build in a copy
  # of the module source. The slicelabels tag is required (without it the sidecar's gRPC codec
  # panics on the first Info call).
  dir=$(go mod download -json "github.com/thanos-io/thanos@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$work/thanos" && cp -r "$dir" "$work/thanos" && chmod -R u+w "$work/thanos"
  (cd "$work/thanos" && go build -trimpath -tags netgo,slicelabels \
    -ldflags "-X github.com/prometheus/common/version.Version=${v#v}" -o "$bin/thanos" ./cmd/thanos)
  stamp thanos "$v"
  ;;
etcd)
  v=$ETCD_VERSION
  stamp_ok etcd "$v" && exit 0
  log "etcd $v"
  d=$work/etcd && rm -rf "$d" && mkdir -p "$d"
  (cd "$d" && go mod init tools/etcd >/dev/null 2>&1 && go get "go.etcd.io/etcd/server/v3@$v" &&
    go build -trimpath -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  stamp etcd "$v"
  ;;
kube-apiserver | kube-controller-manager | kubectl)
  v=$KUBERNETES_VERSION
  stamp_ok kube-apiserver "$v" && stamp_ok kube-controller-manager "$v" && stamp_ok kubectl "$v" && exit 0
  log "kubernetes $v"
  # k8s.io/kubernetes points its staging modules at ./staging, which the proxy does not serve:
  # a wrapper module replaces each one with its published v0.X.Y.
  d=$work/kubernetes && rm -rf "$d" && mkdir -p "$d"
  gomod=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  staging_v="v0.${v#v1.}"
  {
    echo "module tools/kubernetes"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    grep -oE '^[[:space:]]*k8s.io/[a-z0-9./-]+ => \./staging/src/k8s.io/[a-z0-9./-]+' "$gomod" |
      awk -v sv="$staging_v" '{print "replace " $1 " => " $1 " " sv}'
  } >"$d/go.mod"
  cat >"$d/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  ldflags="-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1"
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$v"
  (cd "$d" && go mod tidy -e >/dev/null 2>&1 || go mod tidy)
  for c in kube-apiserver kube-controller-manager kubectl; do
    (cd "$d" && go build -trimpath -ldflags "$ldflags" -o "$bin/$c" "k8s.io/kubernetes/cmd/$c")
  done
  for c in kube-apiserver kube-controller-manager kubectl; do stamp "$c" "$v"; done
  ;;
kwok)
  v=$KWOK_VERSION
  stamp_ok kwok "$v" && exit 0
  log "kwok $v"
  GOBIN=$bin go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$v"
  stamp kwok "$v"
  ;;
histogram-target)
  # Built from this repository's source: the stamp is a hash of that source and the module
  # files, so an edit rebuilds it.
  v=$(cat "$root"/hack/histogram-target/*.go "$root/go.mod" "$root/go.sum" | sha256sum | cut -c1-16)
  stamp_ok histogram-target "$v" && exit 0
  log "histogram-target $v"
  (cd "$root" && go build -trimpath -o "$bin/histogram-target" ./hack/histogram-target)
  stamp histogram-target "$v"
  ;;
krew)
  v=$KREW_VERSION
  stamp_ok krew "$v" && exit 0
  log "krew $v"
  GOBIN=$bin go install -trimpath "sigs.k8s.io/krew/cmd/krew@$v"
  stamp krew "$v"
  ;;
validate-krew-manifest)
  # krew's manifest check: structure, platforms, and installs that must extract a LICENSE.
  v=$KREW_VERSION
  stamp_ok validate-krew-manifest "$v" && exit 0
  log "validate-krew-manifest $v"
  GOBIN=$bin go install -trimpath "sigs.k8s.io/krew/cmd/validate-krew-manifest@$v"
  stamp validate-krew-manifest "$v"
  ;;
toxiproxy)
  # Shopify's TCP proxy with injectable faults, for the fault suite: the server and its CLI.
  v=$TOXIPROXY_VERSION
  stamp_ok toxiproxy-server "$v" && exit 0
  log "toxiproxy $v"
  GOBIN=$bin go install -trimpath "github.com/Shopify/toxiproxy/v2/cmd/server@$v"
  mv "$bin/server" "$bin/toxiproxy-server"
  stamp toxiproxy-server "$v"
  ;;
*)
  echo "build-tool: unknown tool $tool" >&2
  exit 2
  ;;
esac
