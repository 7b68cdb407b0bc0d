#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy for the Kubernetes
# launcher's integration test (executor/servers/kube) and prints the
# binary's path on stdout.
#
# The build happens in a throwaway module under the cache directory (never
# in this repository): it requires k8s.io/kubernetes at KUBE_VERSION with a
# replace of every k8s.io staging module (read from kubernetes' own go.mod)
# to the matching v0.x.y, then `go build k8s.io/kubernetes/cmd/kube-apiserver`.
# The binary is cached by version, so a second run prints the path at once.
# About 6 minutes on 2 cores with a cold build cache.
#
#   KUBE_VERSION  (default v1.37.2)
#   CACHE_DIR     (default ${XDG_CACHE_HOME:-$HOME/.cache}/benchplan)
set -euo pipefail
version="${KUBE_VERSION:-v1.37.2}"
cache="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/benchplan}"
bin="$cache/kube-apiserver-$version"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
GO="${GO:-go}"
staging="v0.${version#v1.}"
mod="$cache/kube-apiserver-build-$version"
rm -rf "$mod"
mkdir -p "$mod"
cd "$mod"
gomod="$(GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || { echo "kube-apiserver.sh: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
goline="$(grep -m1 '^go ' "$gomod")"
{
  echo "module benchplan.local/kube-apiserver-build"
  echo
  echo "$goline"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "replace ("
  grep -E '^[[:space:]]+k8s\.io/[^ ]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
start=$(date +%s)
echo "kube-apiserver.sh: resolving modules for k8s.io/kubernetes@$version (staging at $staging)" >&2
GOFLAGS=-mod=mod "$GO" mod tidy -e >&2 || true
GOFLAGS=-mod=mod "$GO" get "k8s.io/kubernetes/cmd/kube-apiserver@$version" >&2
echo "kube-apiserver.sh: building (several minutes on 2 cores)" >&2
CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" build -trimpath -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$bin.tmp" "$bin"
echo "kube-apiserver.sh: built $bin in $(( $(date +%s) - start ))s" >&2
cd /
rm -rf "$mod"
echo "$bin"
