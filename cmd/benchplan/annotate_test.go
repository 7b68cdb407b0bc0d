package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// TestAnnotationsOnThePlansLines runs a failing plan as GitHub Actions
// does (GITHUB_ACTIONS=true): a workflow annotation for each assertion
// that did not hold, at its line and column in the plan file, named
// relative to GITHUB_WORKSPACE. The figures vary run to run: the golden
// holds the lines with each message's figures replaced by N.
func TestAnnotationsOnThePlansLines(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(ws, "plans"), 0o755))
	plan := filepath.Join(ws, "plans", "strict.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(`version: 1
name: strict
servers:
  sim: { sim: { ttft: 20ms, itl: 1ms } }
scenarios:
  - name: chat
    load: { type: constant, rate: [20, 40] }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 5 }
    assert:
      - ttft.p95 < 1ms
      - errors.rate == 0
      - { expr: "tpot.p50 < 1us", severity: warn, name: "tpot, tight" }
`), 0o644))
	run := func(env ...string) (int, string) {
		r := cli{env: env, timeout: time.Minute}.run(t, "run", plan, "--out", t.TempDir(), "--quiet")
		return r.code, r.stdout
	}
	code, out := run("GITHUB_ACTIONS=true", "GITHUB_WORKSPACE="+ws, "GITHUB_STEP_SUMMARY=")
	assert.Equal(t, code, 1, out)
	var lines []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, "::") {
			lines = append(lines, l)
		}
	}
	figures := regexp.MustCompile(`\d+(\.\d+)?(ns|µs|us|ms|s)\b`)
	got := figures.ReplaceAllString(strings.Join(lines, "\n")+"\n", "N")
	golden.Assert(t, got, "annotations.golden")

	// Outside GitHub Actions, none.
	code, out = run("GITHUB_ACTIONS=", "GITHUB_STEP_SUMMARY=")
	assert.Equal(t, code, 1, out)
	assert.Assert(t, !strings.Contains(out, "::error"), out)
}
