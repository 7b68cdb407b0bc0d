#!/usr/bin/env bash
# Checks what scripts/release.sh built in DIST (default dist/): every file
# is in SHA256SUMS and matches it, the binary for this machine (when one
# was built) prints the stamped version, and every binary is static
# (CGO_ENABLED=0), built with -trimpath and holds the version.
#
#   scripts/release-check.sh VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/release-check.sh VERSION}"
dist="${DIST:-dist}"
go="${GO:-go}"

cd "$dist"
sha256sum -c --strict SHA256SUMS
# Every asset is listed (a file added after the sums were made is not).
for f in *; do
  [ "$f" = SHA256SUMS ] && continue
  grep -q "  $f\$" SHA256SUMS || { echo "release-check: $f is not in SHA256SUMS" >&2; exit 1; }
done
for s in plan.schema.json servers.schema.json; do
  [ -s "$s" ] || { echo "release-check: no $s" >&2; exit 1; }
done
n=0
for bin in benchplan-*-*; do
  n=$((n + 1))
  info="$("$go" version -m "$bin")"
  for want in "CGO_ENABLED=0" "-trimpath=true"; do
    grep -qF -- "$want" <<< "$info" || { echo "release-check: $bin was not built with $want" >&2; exit 1; }
  done
  # -trimpath leaves -ldflags out of the build info: the stamped version is
  # looked for in the binary's data (and run, below, where it can run).
  grep -qaF -- "$version" "$bin" || { echo "release-check: $bin does not hold the version $version" >&2; exit 1; }
done
[ "$n" -gt 0 ] || { echo "release-check: no binary in $dist" >&2; exit 1; }
here="benchplan-$("$go" env GOOS)-$("$go" env GOARCH)"
if [ -x "$here" ]; then
  got="$(./"$here" version)"
  [ "$got" = "benchplan $version" ] || { echo "release-check: $here version printed \"$got\", want \"benchplan $version\"" >&2; exit 1; }
  echo "release-check: $here version: $got"
fi
echo "release-check: $n binaries, SHA256SUMS verified"
