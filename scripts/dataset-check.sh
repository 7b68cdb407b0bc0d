#!/usr/bin/env bash
# Replays a 1 GB ShareGPT JSON file and a 1 GB JSONL file, generated into a
# temporary directory (scripts/gen-dataset.py), against the simulator run as
# a process of its own, and checks that benchplan's peak RSS stays under
# 200 MB for each (GNU time -v measures it). About 4 minutes on 2 cores, and
# 2 GB of disk under $TMPDIR. `make dataset-check` runs it.
# Usage: scripts/dataset-check.sh [SIZE_MB] (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-bin/benchplan}"
SIZE="${1:-1024}"
LIMIT_KB=$((200 * 1024))
[ -x /usr/bin/time ] || { echo "dataset-check: needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }
dir=$(mktemp -d)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
python3 scripts/gen-dataset.py sharegpt "$dir/data.json" "$SIZE"
python3 scripts/gen-dataset.py jsonl "$dir/data.jsonl" "$SIZE" --answer-words=12 # lines state at most 16 output tokens
port=$((20000 + RANDOM % 20000))
"$BIN" sim --addr "127.0.0.1:$port" --profile phi-3.5-mini-a100 >"$dir/sim.log" 2>&1 &
sim_pid=$!
bad=0
for f in data.json data.jsonl; do
  format=sharegpt; [ "$f" = data.jsonl ] && format=jsonl
  cat >"$dir/plan-$format.yaml" <<PLAN
version: 1
name: dataset-check-$format
servers:
  target: { url: "http://127.0.0.1:$port" }
defaults:
  # output_tokens caps the sharegpt answers' estimated lengths; jsonl lines state their own.
  data: { file: { path: $f, format: $format, output_tokens: 16 } }
  limits: { max_requests: 3000, max_duration: 120s, timeout: 60s }
scenarios:
  - name: replay
    load: { type: throughput }
PLAN
  rc=0
  /usr/bin/time -v "$BIN" run "$dir/plan-$format.yaml" --out "$dir/out-$format" --quiet >"$dir/$format.log" 2>"$dir/$format.time" || rc=$?
  rss=$(sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' "$dir/$format.time")
  wall=$(sed -nE 's/.*Elapsed \(wall clock\) time.*: (.*)/\1/p' "$dir/$format.time")
  if [ "$rc" -gt 1 ] || [ -z "$rss" ]; then
    echo "FAIL  $format: benchplan exited $rc"; tail -5 "$dir/$format.log" "$dir/$format.time"; bad=1; continue
  fi
  if [ "$rss" -lt "$LIMIT_KB" ]; then verdict=ok; else verdict=FAIL; bad=1; fi
  printf '%-5s %-8s %s MB file: peak RSS %d MB (limit 200 MB), %s\n' "$verdict" "$format" "$SIZE" $((rss / 1024)) "$wall"
done
exit $bad
