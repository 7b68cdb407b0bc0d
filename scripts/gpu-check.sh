#!/usr/bin/env bash
# scripts/gpu-check.sh — check GPU telemetry on a machine with an NVIDIA GPU (a few minutes at most).
#
#   1. nvidia-smi answers benchplan's query, and the sampler parses its real output
#      (go test -run TestRealNvidiaSMI ./executor/telemetry);
#   2. bin/benchplan runs a small plan against the built-in simulator with `telemetry: { gpu: on }`;
#   3. results.json holds real GPU samples: a telemetry summary with memory total > 0 and
#      gpu.memory_used series from nvidia-smi, and the gpu.* assertions passed.
#
# It exits 0 when all of that holds and non-zero with a message otherwise. With a fake nvidia-smi
# first on PATH (the one in cmd/benchplan/telemetry_test.go) it runs anywhere, which checks the
# script itself; only a real GPU checks the parser against real output.
#
# Usage: scripts/gpu-check.sh [--keep]   (--keep leaves the plan and results in the printed folder)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "gpu-check: FAIL: $*" >&2; exit 1; }
note() { echo "gpu-check: $*"; }

keep=0
[ "${1:-}" = "--keep" ] && keep=1

command -v nvidia-smi >/dev/null || fail "no nvidia-smi on PATH: run this on a machine with an NVIDIA GPU and driver"
query=index,name,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu
note "nvidia-smi --query-gpu=$query --format=csv,noheader,nounits:"
timeout 30 nvidia-smi --query-gpu="$query" --format=csv,noheader,nounits || fail "nvidia-smi failed"

command -v go >/dev/null || fail "no go on PATH (Go 1.26 builds benchplan)"
note "the sampler against the real nvidia-smi"
timeout 120 go test -count=1 -run 'TestRealNvidiaSMI' -v ./executor/telemetry/ | grep -E '^(=== RUN|--- |\s+telemetry_test|ok|FAIL|PASS)' \
	|| fail "TestRealNvidiaSMI failed"

note "building bin/benchplan"
mkdir -p bin
CGO_ENABLED=0 timeout 180 go build -trimpath -o bin/benchplan ./cmd/benchplan || fail "build failed"

tmp=$(mktemp -d)
if [ "$keep" = 1 ]; then note "plan and results in $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
cat >"$tmp/gpu-check.yaml" <<'EOF'
version: 1
name: gpu-check
description: GPU telemetry beside a short run against the built-in simulator.
servers:
  sim:
    sim: { model: sim-model, ttft: 20ms, itl: 5ms }
telemetry: { interval: 500ms, gpu: on }
defaults:
  server: sim
  data: { emulated: { prompt_tokens: 64, output_tokens: 16 } }
  limits: { max_duration: 8s, max_requests: 60 }
scenarios:
  - name: gpu
    load: { type: constant, rate: 6 }
    assert:
      - errors.rate == 0
      - gpu.count >= 1
      - gpu.memory_total > 0
      - gpu.memory_used.max <= gpu.memory_total
      - server.requests_running.max >= 1
EOF

note "bin/benchplan run (against the simulator, GPU telemetry on)"
rc=0
timeout 240 bin/benchplan run "$tmp/gpu-check.yaml" --out "$tmp/out" || rc=$?
results="$tmp/out/results.json"
[ -f "$results" ] || fail "no results.json (benchplan exit code $rc)"

# What results.json must hold, as one line of numbers: GPUs summarised, memory total (bytes),
# nvidia-smi memory_used samples, whether GPU telemetry said unavailable (1) or not (0).
if command -v jq >/dev/null; then
	facts=$(jq -r '.scenarios[0].steps[0] as $s |
		[ ($s.telemetry_summary.gpu.gpus // [] | length),
		  ($s.telemetry_summary.gpu.total.memory_total_bytes // 0),
		  ([$s.telemetry[]? | select(.name == "gpu.memory_used" and .source == "nvidia-smi") | .values | length] | add // 0),
		  (if ($s.telemetry_summary.gpu.unavailable // "") == "" then 0 else 1 end) ] | @tsv' "$results")
	reason=$(jq -r '.scenarios[0].steps[0].telemetry_summary.gpu.unavailable // ""' "$results")
elif command -v python3 >/dev/null; then
	out=$(python3 - "$results" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]["steps"][0]
g = (s.get("telemetry_summary") or {}).get("gpu") or {}
n = sum(len(t["values"]) for t in s.get("telemetry", []) if t["name"] == "gpu.memory_used" and t.get("source") == "nvidia-smi")
why = g.get("unavailable", "")
print(len(g.get("gpus", [])), (g.get("total") or {}).get("memory_total_bytes", 0), n, 1 if why else 0)
print(why.replace("\n", " "))
EOF
	) || fail "cannot read $results"
	facts=$(printf '%s\n' "$out" | sed -n 1p)
	reason=$(printf '%s\n' "$out" | sed -n 2p)
else
	# No jq, no python3: a coarse check on the text.
	grep -q '"memory_total_bytes": [1-9]' "$results" || fail "results.json has no GPU memory total"
	grep -q '"name": "gpu.memory_used"' "$results" || fail "results.json has no gpu.memory_used series"
	facts="1	1	2	0"
	reason=""
fi
read -r gpus total samples unavailable <<<"$(echo "$facts" | tr '\t' ' ')"
note "results.json: $gpus GPU(s), memory total $total bytes, $samples nvidia-smi memory samples"
[ "$unavailable" = 0 ] || fail "GPU telemetry unavailable: $reason"
[ "${gpus:-0}" -ge 1 ] || fail "no GPU in the telemetry summary (is the executor wired? see docs/telemetry.md)"
awk -v t="${total:-0}" 'BEGIN { exit !(t > 0) }' || fail "GPU memory total is not > 0"
[ "${samples:-0}" -ge 2 ] || fail "fewer than 2 gpu.memory_used samples from nvidia-smi"
[ "$rc" = 0 ] || fail "benchplan exited $rc: an assertion did not hold (see the console output above)"
note "PASS: real nvidia-smi samples were parsed and gated on"
