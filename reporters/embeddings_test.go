package reporters

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// An embeddings step has a latency but no streamed token and no output:
// the reports show "-" for ttft, tpot, itl and output tok/s, never 0, and
// results.csv has the input figures.
func TestEmbeddingsStepShowsNoZeros(t *testing.T) {
	var reqs []results.Request
	for i := range 30 {
		at := time.Duration(i) * 100 * time.Millisecond
		reqs = append(reqs, results.Request{Index: i, API: "embeddings", Inputs: 8, Intended: at, Ready: at, Sent: at,
			End: at + 42*time.Millisecond, PromptTokens: 2048, UsageReported: true})
	}
	st := &results.Step{Index: 0, Load: "constant", TargetRatePerSec: 10, StopReason: "max_requests",
		Metrics: results.ComputeWith(reqs, results.Window{Stop: 3 * time.Second, Paced: true}), Assertions: []results.Outcome{}}
	run := &results.Run{SchemaVersion: results.SchemaVersion, Plan: "emb", Verdict: results.Pass,
		Scenarios: []*results.Scenario{{Name: "embed", Server: "sim", API: "embeddings", Load: "constant", Steps: []*results.Step{st}}}}

	md := render(t, Markdown, run)
	var row string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| constant 10.00/s |") && row == "" {
			row = l // the step table, before the distributions'
		}
	}
	// Sent, done, ttft p50, ttft p95, tpot p50, itl p95, latency p95, out tok/s, errors.
	cells := strings.Split(strings.Trim(row, "| "), " | ")
	assert.Equal(t, len(cells), 10, row)
	assert.DeepEqual(t, cells[3:7], []string{"-", "-", "-", "-"})
	assert.Equal(t, cells[7], "42.0ms")
	assert.Equal(t, cells[8], "-")

	console := render(t, Console, run)
	assert.Assert(t, is.Contains(console, "42.0ms"))
	assert.Assert(t, !regexp.MustCompile(`│\s+0\.00 │`).MatchString(console), "a zero rate in:\n%s", console)
	assert.Assert(t, regexp.MustCompile(`│\s+- │\s+0 │`).MatchString(console), "no \"-\" for out tok/s in:\n%s", console)

	csv := render(t, CSV, run)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	head, vals := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
	col := func(name string) string {
		for i, h := range head {
			if h == name {
				return vals[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	assert.Equal(t, col("inputs_total"), "240")
	assert.Equal(t, col("inputs_mean"), "8")
	assert.Equal(t, col("ttft_p95_ms"), "")
	assert.Assert(t, col("tokens_prompt_rate_per_sec") != "0")
}
