package executor

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

func loadPlan(t *testing.T, text string) *plan.Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(text), 0o644))
	p, err := plan.Read(path, plan.Options{})
	assert.NilError(t, err)
	return p
}

const verdictPlan = `version: 1
name: verdict
servers:
  sim: { sim: { ttft: 5ms, itl: 1ms } }
defaults:
  server: sim
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
  limits: { max_requests: 10 }
scenarios:
  - name: s
    load: { type: constant, rate: 200 }
`

// An undecided step runs again, pooled with what ran, until its gates
// decide or the extensions run out; each look is made at the corrected
// confidence.
func TestExtendRunsAnUndecidedStepAgain(t *testing.T) {
	t.Parallel()
	p := loadPlan(t, verdictPlan+"    verdict: { inconclusive: extend, extensions: 3 }\n")
	asked := 0
	undecided := func(scenario string, st *results.Step) bool {
		asked++
		assert.Equal(t, st.Metrics.Requests.Completed, 10*asked, "each look sees every run so far")
		return asked < 3 // decided at the third look
	}
	run, err := Run(context.Background(), p, Options{KeepRequests: true, Undecided: undecided})
	assert.NilError(t, err)
	st := scenario(t, run, "s").Steps[0]
	assert.Equal(t, asked, 3)
	assert.Equal(t, st.Extensions, 2)
	assert.Equal(t, st.Metrics.Requests.Completed, 30)
	assert.Equal(t, st.Metrics.Confidence, 1-0.05/4, "four looks at most: Bonferroni over them")
	// The pooled records keep one timeline: indexes and send times rise.
	for i := 1; i < len(st.Requests); i++ {
		assert.Equal(t, st.Requests[i].Index, i)
		assert.Assert(t, st.Requests[i].Intended >= st.Requests[i-1].Intended, "request %d", i)
	}
}

// Without extend the executor never asks, and a step never grows.
func TestNoExtensionWithoutExtend(t *testing.T) {
	t.Parallel()
	p := loadPlan(t, verdictPlan)
	run, err := Run(context.Background(), p, Options{Undecided: func(string, *results.Step) bool {
		t.Error("asked without extend")
		return true
	}})
	assert.NilError(t, err)
	st := scenario(t, run, "s").Steps[0]
	assert.Equal(t, st.Extensions, 0)
	assert.Equal(t, st.Metrics.Requests.Completed, 10)
	assert.Equal(t, st.Metrics.Confidence, 0.95)
}

// repeat: N runs a step N times and combines the runs.
func TestRepeatCombinesRuns(t *testing.T) {
	t.Parallel()
	p := loadPlan(t, verdictPlan+"    repeat: 3\n")
	run, err := Run(context.Background(), p, Options{})
	assert.NilError(t, err)
	st := scenario(t, run, "s").Steps[0]
	assert.Equal(t, st.Repeats, 3)
	assert.Equal(t, st.Metrics.Requests.Completed, 30)
	iv := st.Metrics.TTFT.P50CI
	assert.Assert(t, !iv.LoOpen && !iv.HiOpen && iv.Lo <= float64(st.Metrics.TTFT.P50) && float64(st.Metrics.TTFT.P50) <= iv.Hi,
		"the interval across the runs holds their mean: %+v", st.Metrics.TTFT)
	assert.Assert(t, st.Metrics.TTFT.P50 > 5*time.Millisecond)
}
