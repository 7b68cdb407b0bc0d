package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A fake nvidia-smi as the real one prints benchplan's query: one A100
// whose power draw reads [N/A].
const fakeSMIScript = `#!/bin/sh
case "$*" in *--query-gpu=index,name,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu*--format=csv,noheader,nounits*) ;; *) echo "unexpected arguments: $*" >&2; exit 2;; esac
echo "0, NVIDIA A100-SXM4-40GB, 87, 37120, 40960, [N/A], 61"
`

// A run against the simulator samples its real /metrics and a fake
// nvidia-smi beside every step: requests wait behind a batch of two, the
// gates on server.* and gpu.* read the samples, results.json carries the
// series, and a scenario with GPU sampling off cannot pass a gpu.* gate.
//
// Not parallel: the fake nvidia-smi is found on the process's PATH.
func TestRunSamplesServerMetricsAndGPUs(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(fakeSMIScript), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	plan := writePlan(t, `version: 1
name: telemetry
servers:
  sim:
    sim: { max_num_seqs: 2, prefill_overhead: 20ms, decode_base: 10ms }
telemetry: { interval: 100ms }
defaults:
  data: { emulated: { prompt_tokens: 16, output_tokens: 12 } }
  limits: { max_requests: 24 }
scenarios:
  - name: queued
    load: { type: concurrent, streams: 6 }
    assert:
      - server.requests_running.max == 2
      - server.requests_waiting.max >= 1
      - server.generation_tokens == 288
      - gpu.count == 1
      - gpu.memory_used.max == 37120 * MiB
      - gpu.utilization.mean > 0.8
  - name: no-gpu
    load: { type: synchronous }
    limits: { max_requests: 2 }
    telemetry: { gpu: off }
    assert: [ "gpu.memory_used.max < 40 * GiB" ]
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, exitRunFailed, "a gpu.* gate without GPU samples is an error:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	run := readRun(t, out)
	q := run.Scenarios[0]
	for _, o := range q.Steps[0].Assertions {
		assert.Equal(t, o.Verdict, results.Pass, "%s: %s", o.Expr, o.Message)
	}
	st := q.Steps[0]
	names := map[string]bool{}
	for _, tm := range st.Telemetry {
		names[tm.Name] = true
	}
	for _, n := range []string{"server.requests_running", "server.requests_waiting", "gpu.memory_used", "gpu.utilization"} {
		assert.Assert(t, names[n], "results.json has the %s series: %v", n, names)
	}
	assert.Assert(t, !names["gpu.power"], "[N/A] power is missing, not zero")
	assert.DeepEqual(t, run.Environment.GPUs, []string{"NVIDIA A100-SXM4-40GB"})

	ng := run.Scenarios[1].Steps[0]
	assert.Equal(t, len(ng.Assertions), 1)
	assert.Equal(t, ng.Assertions[0].Verdict, results.Error)
	assert.Assert(t, is.Contains(ng.Assertions[0].Message, "GPU sampling is off"))
	assert.Assert(t, is.Contains(r.stdout, "running max"), "the console shows the telemetry table")
	b, err := os.ReadFile(filepath.Join(out, "summary.md"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(b), "37,120") || strings.Contains(string(b), "36.2 GiB"), "summary.md has GPU memory:\n%s", b)
}
