package reporters

import (
	"bytes"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"

	"github.com/benchplan/benchplan/results"
)

// annotatedRun is a failing run whose outcomes carry their plan positions,
// as assert.CompilePlan gives them: a failure at two steps, an
// inconclusive assertion, a warn-severity one, one that could not be
// evaluated, a scenario-wide one, and outcomes that make no annotation
// (passed; inconclusive but let pass; given with --set, no position).
func annotatedRun() *results.Run {
	return &results.Run{
		Plan: "chat", PlanFile: "plans/chat, v2: 100%.yaml", Verdict: results.Fail,
		Scenarios: []*results.Scenario{{
			Name: "chat",
			Steps: []*results.Step{
				{Index: 0, Load: "constant", TargetRatePerSec: 2, Assertions: []results.Outcome{
					{Expr: "ttft.p95 < 200ms", Verdict: results.Fail, Observed: "ttft.p95 = 231.4ms [220.1ms, 240.9ms], required < 200ms", Line: 14, Column: 15},
					{Expr: "errors.rate == 0", Verdict: results.Pass, Observed: "errors.rate = 0", Line: 14, Column: 35},
					{Expr: "itl.p99 < 40ms", Verdict: results.Inconclusive, Observed: "itl.p99 = 39.8ms [37.2ms, 41.5ms], required < 40ms", Line: 15, Column: 9},
					{Expr: "requests.rate > baseline.requests.rate * 0.95", Name: "throughput holds", Severity: "warn", Verdict: results.Warn,
						Observed: "requests.rate = 3.9/s, required > 4.1/s", Line: 16, Column: 17},
					{Expr: "tpot.p50 < 10ms", Verdict: results.Pass, Inconclusive: true, Observed: "tpot.p50 = 9.9ms [9.7ms, 10.2ms]", Line: 17, Column: 9},
					{Expr: "latency.p99 < 1s", Verdict: results.Fail, Observed: "latency.p99 = 1.2s", Message: "from --set"},
				}},
				{Index: 1, Load: "constant", TargetRatePerSec: 4, Assertions: []results.Outcome{
					{Expr: "ttft.p95 < 200ms", Verdict: results.Fail, Observed: "ttft.p95 = 412.0ms [380.5ms, 450.2ms], required < 200ms", Line: 14, Column: 15},
					{Expr: "gpu.memory_used.max < 40*GiB", Verdict: results.Error, Message: "no GPU telemetry:\r\nnvidia-smi was not found", Line: 18, Column: 9},
				}},
			},
			Assertions: []results.Outcome{
				{Expr: "capacity > 3", Verdict: results.Fail, Observed: "capacity = 2/s, required > 3", Line: 20, Column: 9},
			},
		}},
	}
}

func TestGitHubAnnotationsGolden(t *testing.T) {
	var b bytes.Buffer
	assert.NilError(t, GitHubAnnotations(&b, annotatedRun(), ""))
	golden.Assert(t, b.String(), "annotations.golden")
	for line := range strings.SplitSeq(strings.TrimSuffix(b.String(), "\n"), "\n") {
		// One workflow command per line: no raw line break, and the
		// properties hold no unescaped separator.
		assert.Assert(t, strings.HasPrefix(line, "::error ") || strings.HasPrefix(line, "::warning "), line)
		props, _, ok := strings.Cut(strings.SplitN(line, " ", 2)[1], "::")
		assert.Assert(t, ok, line)
		assert.Equal(t, strings.Count(props, ","), 3, line)
		assert.Assert(t, !strings.Contains(line, "\r"), line)
	}
}

func TestGitHubAnnotationsFileOverrideAndNothingToSay(t *testing.T) {
	run := annotatedRun()
	var b bytes.Buffer
	assert.NilError(t, GitHubAnnotations(&b, run, "sub/plan.yaml"))
	assert.Assert(t, strings.HasPrefix(b.String(), "::error file=sub/plan.yaml,line=14,col=15,"), b.String())

	run.Scenarios[0].Steps = nil
	run.Scenarios[0].Assertions = []results.Outcome{{Expr: "capacity > 3", Verdict: results.Pass, Line: 20, Column: 9}}
	b.Reset()
	assert.NilError(t, GitHubAnnotations(&b, run, ""))
	assert.Equal(t, b.String(), "")
}

func TestWorkflowCommandEscapes(t *testing.T) {
	assert.Equal(t, escapeData("50% of a\r\nb: c, d"), "50%25 of a%0D%0Ab: c, d")
	assert.Equal(t, escapeProperty("50% of a\r\nb: c, d"), "50%25 of a%0D%0Ab%3A c%2C d")
}
