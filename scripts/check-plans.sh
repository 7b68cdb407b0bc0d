#!/usr/bin/env bash
# Runs every ready plan in plans/ at full length on its own simulator
# profile and checks that it ends with the verdict the README's table of
# ready plans states for it (its last column: pass, fail or inconclusive,
# then why). .ci/run calls it; about 10 minutes on 2 cores.
# Usage: scripts/check-plans.sh [PLAN.yaml ...]   (default: every row)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-bin/benchplan}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
# Rows look like: | `chat.yaml` | load | gate | pass ... |
rows=$(grep -E '^\| `[a-z0-9-]+\.yaml` \|.*\| (pass|fail|inconclusive)\b[^|]*\|$' README.md)
[ -n "$rows" ] || { echo "check-plans: no rows with a stated verdict in README.md" >&2; exit 2; }
want_of() { echo "$rows" | grep -F "| \`$1\` |" | sed -E 's/.*\| (pass|fail|inconclusive)\b[^|]*\|$/\1/'; }
plans=("$@")
if [ ${#plans[@]} -eq 0 ]; then
  mapfile -t plans < <(echo "$rows" | sed -E 's/^\| `([^`]+)`.*/\1/')
fi
bad=0
for p in "${plans[@]}"; do
  want=$(want_of "$p")
  [ -n "$want" ] || { echo "check-plans: README.md states no verdict for $p" >&2; bad=1; continue; }
  start=$(date +%s)
  rc=0
  "$BIN" run "plans/$p" --out "$OUT/${p%.yaml}" --overwrite --quiet >"$OUT/${p%.yaml}.log" 2>&1 || rc=$?
  case $rc in 0) got=pass ;; 1) got=fail ;; 4) got=inconclusive ;; *) got="exit $rc" ;; esac
  verdict_line=$(grep -E '^(PASS|FAIL|INCONCLUSIVE|ERROR|WARN)' "$OUT/${p%.yaml}.log" | tail -1 || true)
  if [ "$got" = "$want" ]; then
    printf 'ok    %-22s %-13s %4ss  %s\n' "$p" "$got" "$(($(date +%s) - start))" "$verdict_line"
  else
    printf 'WRONG %-22s %-13s %4ss  README says %s; see %s\n' "$p" "$got" "$(($(date +%s) - start))" "$want" "$OUT/${p%.yaml}.log"
    bad=1
  fi
done
exit $bad
