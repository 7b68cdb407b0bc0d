#!/usr/bin/env bash
# cancel-check: `timeout 3 benchplan run` on a 30-second plan with a
# container server, 20 times, with a CPU burner beside it. Every trial must
# leave a valid partial results.json and no container. Needs Docker (the
# simulator's FROM scratch image is built here). `make cancel-check`.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTCONTAINERS_RYUK_DISABLED=true
trials="${TRIALS:-20}"
if ! docker info >/dev/null 2>&1; then
  echo "SKIP: cancel-check needs a Docker engine"
  exit 0
fi
make -s build
img=benchplan-sim:cancel-check
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"; kill $burner 2>/dev/null || true; docker rmi -f $img >/dev/null 2>&1 || true' EXIT
cp Dockerfile "$ctx/" && mkdir -p "$ctx/bin" && cp bin/benchplan "$ctx/bin/"
docker build -q -t $img "$ctx" >/dev/null 2>&1
cat >"$ctx/plan.yaml" <<PLAN
version: 1
name: cancel-check
servers:
  ctr:
    image: $img
    port: 8000
    pull: never
    args: ["--ttft", "20ms", "--itl", "2ms"]
    startup_timeout: 1m
scenarios:
  - name: long
    load: { type: constant, rate: 20 }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
    limits: { max_duration: 30s }
PLAN
yes >/dev/null &
burner=$!
fail=0
for i in $(seq 1 "$trials"); do
  out="$ctx/out/$i"
  set +e
  timeout 3 bin/benchplan run "$ctx/plan.yaml" --out "$out" --quiet >"$ctx/stdout" 2>"$ctx/stderr"
  code=$?
  set -e
  left=$(docker ps -aq --filter label=benchplan.run | wc -l)
  if ! python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["error"]=="interrupted", r.get("error")' "$out/results.json" 2>"$ctx/why"; then
    echo "trial $i: exit $code, no valid partial results.json: $(tail -1 "$ctx/why")"; cat "$ctx/stderr"; fail=1
  elif [ "$left" -ne 0 ]; then
    echo "trial $i: exit $code, $left container(s) left"; cat "$ctx/stderr"; fail=1
    docker ps -aq --filter label=benchplan.run | xargs -r docker rm -f >/dev/null
  else
    steps=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(len(s.get("steps") or []) for s in r["scenarios"]))' "$out/results.json")
    echo "trial $i: exit $code, partial results.json ($steps step(s) measured), no container left"
  fi
done
[ $fail -eq 0 ] && echo "cancel-check: $trials of $trials trials left partial results and no container"
exit $fail
