#!/usr/bin/env bash
# make verdict-check: how often does `benchplan compare` call a change?
#
# PAIRS times (default 20): run the plan once as the base, once more on the
# same simulator (a null pair: any regression is a false alarm), and once on
# a simulator 10% slower in TTFT (compare should flag it). Runs of one plan send the same prompts at the same
# arrival times (its seeds), as two CI runs of a plan do; VARY_SEED=1 gives
# every run its own Poisson arrivals instead, a different workload each
# time. Prints each pair and the totals; the figures in docs/metrics.md
# come from this script. About 50 s a pair on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
PAIRS="${PAIRS:-20}"
BIN="${BIN:-bin/benchplan}"
PLAN=scripts/verdict-check/plan.yaml
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
# 10% slower in TTFT: every prefill step of the engine costs 1.8 ms more,
# a tenth of the 18 ms median TTFT this plan measures on phi-3.5-mini-h100
# (the engine's ttft knob: docs/simulator.md).
SLOWER=(--set servers.sim.sim.ttft=1.8ms)

run() { # name seed [extra args]
  local name=$1 seed=$2; shift 2
  local seed_args=()
  [ "${VARY_SEED:-0}" = 1 ] && seed_args=(--set "scenarios.poisson.load.seed=$seed")
  "$BIN" run "$PLAN" --out "$OUT/$name" --overwrite --quiet "${seed_args[@]}" "$@" >"$OUT/$name.log" 2>&1 || true
  [ -f "$OUT/$name/results.json" ] || { echo "run $name wrote no results.json (see $OUT/$name.log)" >&2; exit 3; }
}
compare() { # base head -> exit code of compare
  local rc=0
  "$BIN" compare "$OUT/$1/results.json" "$OUT/$2/results.json" >"$OUT/$1-vs-$2.txt" 2>&1 || rc=$?
  echo "$rc"
}

false_alarms=0; detected=0
printf '%-5s %-28s %-28s\n' pair "same simulator" "TTFT 10% slower"
for i in $(seq 1 "$PAIRS"); do
  run "base$i" $((3 * i))
  run "same$i" $((3 * i + 1))
  run "slow$i" $((3 * i + 2)) "${SLOWER[@]}"
  same=$(compare "base$i" "same$i")
  slow=$(compare "base$i" "slow$i")
  [ "$same" = 1 ] && false_alarms=$((false_alarms + 1))
  [ "$slow" = 1 ] && detected=$((detected + 1))
  word() { case $1 in 0) echo "no change";; 1) echo "REGRESSED ($(grep -c REGRESSION "$OUT/$2.txt") figures)";; *) echo "exit $1";; esac; }
  printf '%-5s %-28s %-28s\n' "$i" "$(word "$same" "base$i-vs-same$i")" "$(word "$slow" "base$i-vs-slow$i")"
done
echo
echo "null pairs without a regression: $((PAIRS - false_alarms)) of $PAIRS"
echo "10%-slower pairs flagged:         $detected of $PAIRS"
echo "runs and comparisons: $OUT"
