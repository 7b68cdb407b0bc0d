#!/usr/bin/env bash
# Builds benchplan's release assets into DIST (default dist/): one static
# binary per target (CGO_ENABLED=0, -trimpath, version and commit stamped),
# the JSON Schemas of plan and servers files, and SHA256SUMS over all of
# them. `make release` and the release workflow (.github/workflows/release.yml)
# both run this script, so what CI checks is what a tag publishes.
#
#   scripts/release.sh VERSION COMMIT
#
# Environment:
#   DIST     output directory (default dist); emptied first
#   TARGETS  space-separated GOOS/GOARCH pairs (default: the four released)
#   GO       the go command (default go)
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:?usage: scripts/release.sh VERSION COMMIT}"
commit="${2:?usage: scripts/release.sh VERSION COMMIT}"
dist="${DIST:-dist}"
targets="${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
go="${GO:-go}"

case "$version" in
  *[!A-Za-z0-9._+-]*|"") echo "release.sh: version $version: letters, digits and ._+- only" >&2; exit 2 ;;
esac
case "$commit" in
  *[!A-Za-z0-9-]*|"") echo "release.sh: commit $commit: letters, digits and - only" >&2; exit 2 ;;
esac

pkg=github.com/benchplan/benchplan/executor
ldflags="-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit"

rm -rf "$dist"
mkdir -p "$dist"
for t in $targets; do
  goos="${t%/*}"
  goarch="${t#*/}"
  out="$dist/benchplan-$goos-$goarch"
  start=$SECONDS
  CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" "$go" build -trimpath -buildvcs=false \
    -ldflags "$ldflags" -o "$out" ./cmd/benchplan
  echo "built $out ($((SECONDS - start))s)"
done
# The schemas editors read (their $id is the stable latest-release URL;
# docs/plan-reference.md#editor-support).
cp schema/plan.schema.json schema/servers.schema.json "$dist/"
(cd "$dist" && sha256sum -- * > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "wrote $dist/SHA256SUMS"
