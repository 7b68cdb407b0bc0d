package assert

import (
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
)

// stepAt makes a step with n requests of the given ttft at a target rate.
func stepAt(index int, rate float64, ttft time.Duration, n int) *results.Step {
	reqs := make([]results.Request, n)
	for i := range reqs {
		sent := time.Duration(i) * time.Second / time.Duration(rate)
		reqs[i] = results.Request{Index: i, Intended: sent, Sent: sent, FirstToken: sent + ttft,
			LastToken: sent + ttft + 10*time.Millisecond, End: sent + ttft + 10*time.Millisecond,
			PromptTokens: 8, OutputTokens: 2, UsageReported: true}
	}
	st := &results.Step{Index: index, Load: "constant", TargetRatePerSec: rate, Requests: reqs}
	st.Metrics = pointOnly(reqs, reqs[n-1].End)
	return st
}

func TestGatesOverSteps(t *testing.T) {
	sc := &results.Scenario{Name: "s", Steps: []*results.Step{
		stepAt(0, 5, 50*time.Millisecond, 10),
		stepAt(1, 10, 80*time.Millisecond, 10),
		stepAt(2, 20, 400*time.Millisecond, 10),
	}}
	perStep, err := Compile("ttft.p95 < 200ms")
	assert.NilError(t, err)
	for _, st := range sc.Steps {
		st.Assertions = []results.Outcome{perStep.Evaluate(st)}
	}
	cases := []struct {
		expr     string
		verdict  results.Verdict
		observed string
	}{
		{"all(steps, .ttft.p95 < 200ms)", results.Fail, "ttft.p95 by step = [50.0ms, 80.0ms, 400.0ms]"},
		{"any(steps, .ttft.p95 < 60ms)", results.Pass, "ttft.p95 by step = [50.0ms, 80.0ms, 400.0ms]"},
		{"capacity >= 10", results.Pass, "capacity = 10/s, required >= 10"},
		{"capacity > 15", results.Fail, "capacity = 10/s, required > 15"},
		{"capacity > 15 || len(steps) > 5", results.Fail, "capacity = 10/s"},
		{"len(steps) == 3 && steps[2].ttft.p95 > steps[0].ttft.p95 * 4", results.Pass, "ttft.p95 by step = [50.0ms, 80.0ms, 400.0ms]"},
	}
	for _, c := range cases {
		a, err := Compile(c.expr)
		assert.NilError(t, err, c.expr)
		assert.Assert(t, a.Scenario(), c.expr)
		o := a.EvaluateScenario(sc)
		assert.Equal(t, o.Verdict, c.verdict, "%s: %+v", c.expr, o)
		assert.Equal(t, o.Observed, c.observed, c.expr)
	}
	// A scenario assertion is not evaluated at a step, and the reverse.
	a, _ := Compile("capacity > 1")
	assert.Equal(t, a.Evaluate(sc.Steps[0]).Verdict, results.Error)
	assert.Equal(t, perStep.EvaluateScenario(sc).Verdict, results.Error)
}

func TestGatesOverStepsCompileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"all(steps, .ttft.p96 < 1s)":      "unknown name ttft.p96 in a step; did you mean `ttft.p95`?",
		"all(steps, .ttft.p95 < 200)":     "cannot compare a duration with a number; write a duration such as 200ms",
		"capacity >= 10 && ttft.p95 < 1s": "ttft is a per-step name, but this assertion reads steps or capacity and is evaluated once per scenario: write all(steps, .ttft ...) or split it into two assertions",
	} {
		_, err := Compile(src)
		ce, ok := err.(*CompileError)
		assert.Assert(t, ok, "%s: %v", src, err)
		assert.Equal(t, ce.Message, want, src)
	}
}

func TestBaselineNames(t *testing.T) {
	head := stepAt(0, 5, 100*time.Millisecond, 10)
	base := stepAt(0, 5, 80*time.Millisecond, 10)
	a, err := Compile("ttft.p95 < baseline.ttft.p95 * 1.1")
	assert.NilError(t, err)
	o := a.EvaluateWithBaseline(head, base)
	assert.Equal(t, o.Verdict, results.Fail)
	// Ten samples are too few to test the change: the gate reads the values.
	assert.Equal(t, o.Observed, "ttft.p95 = 100.0ms, required < baseline.ttft.p95 * 1.1 (baseline.ttft.p95 = 80.0ms)")
	o = a.EvaluateWithBaseline(base, head)
	assert.Equal(t, o.Verdict, results.Pass)
	o = a.Evaluate(head)
	assert.Equal(t, o.Verdict, results.Error, "no baseline is never a pass")

	_, err = Compile("baseline.ttft.p96 < 1s")
	assert.ErrorContains(t, err, "did you mean `baseline.ttft.p95`?")

	// Matching steps: same scenario, index and target.
	run := &results.Run{Scenarios: []*results.Scenario{{Name: "s", Steps: []*results.Step{base}}}}
	assert.Equal(t, BaselineStep(run, "s", head), base)
	assert.Assert(t, BaselineStep(run, "other", head) == nil)
	assert.Assert(t, BaselineStep(run, "s", stepAt(0, 50, time.Millisecond, 2)) == nil)
}
