package assert

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// noisyStep makes a step of n requests one every 100 ms whose ttft is
// lognormal around median (sigma 0.2), scaled by k, from a fixed seed.
func noisyStep(n int, median time.Duration, k float64, seed uint64) *results.Step {
	rng := rand.New(rand.NewPCG(seed, 7))
	reqs := make([]results.Request, n)
	for i := range reqs {
		sent := time.Duration(i) * 100 * time.Millisecond
		ttft := time.Duration(float64(median) * k * math.Exp(0.2*rng.NormFloat64()))
		reqs[i] = results.Request{Index: i, Intended: sent, Sent: sent, FirstToken: sent + ttft,
			LastToken: sent + ttft + 20*time.Millisecond, End: sent + ttft + 20*time.Millisecond,
			PromptTokens: 8, OutputTokens: 3, UsageReported: true}
	}
	st := &results.Step{Index: 0, Load: "constant", TargetRatePerSec: 10}
	st.Metrics = results.Compute(reqs, reqs[n-1].End)
	return st
}

func evaluate(t *testing.T, src string, st, base *results.Step) results.Outcome {
	t.Helper()
	a, err := Compile(src)
	assert.NilError(t, err)
	return a.EvaluateWithBaseline(st, base)
}

// A gate passes when its whole interval passes, fails when its whole
// interval fails, and is inconclusive when the interval straddles it.
func TestThreeValuedGates(t *testing.T) {
	t.Parallel()
	st := noisyStep(300, 100*time.Millisecond, 1, 1)
	p95 := st.Metrics.TTFT.P95
	for src, want := range map[string]results.Verdict{
		"ttft.p95 < 200ms":                      results.Pass,
		"ttft.p95 < 100ms":                      results.Fail,
		"ttft.p95 < " + p95.String():            results.Inconclusive, // the observed value is the bound
		"ttft.p95 > 100ms":                      results.Pass,
		"ttft.p95 < 200ms && ttft.p50 > 1s":     results.Fail,
		"ttft.p95 < 200ms || ttft.p50 > 1s":     results.Pass,
		"ttft.mean < 200ms":                     results.Pass,
		"errors.rate == 0":                      results.Pass, // a fact about the run, not an estimate
		"requests.rate > 5":                     results.Pass,
		"requests.rate > 100":                   results.Fail,
		"ttft.p99 < 1s":                         results.Inconclusive, // 300 < 368 samples
		"ttft.p95 < 200ms && errors.rate < 0.5": results.Pass,
	} {
		o := evaluate(t, src, st, nil)
		assert.Equal(t, o.Verdict, want, "%s: %s %s", src, o.Observed, o.Message)
	}
}

// A percentile on too few samples cannot pass, whatever its value, and the
// message says how many it needs.
func TestTooFewSamplesToBound(t *testing.T) {
	t.Parallel()
	st := noisyStep(40, 100*time.Millisecond, 1, 2)
	o := evaluate(t, "ttft.p99 < 1h", st, nil)
	assert.Equal(t, o.Verdict, results.Inconclusive)
	assert.Assert(t, strings.Contains(o.Observed, ", ?]"), o.Observed)
	assert.Assert(t, strings.Contains(o.Message, "ttft.p99 rests on 40 samples, too few to bound it at 95% confidence (a p99 needs at least 368)"), o.Message)
	// Its lower bound still decides a clear failure.
	o = evaluate(t, "ttft.p99 < 10ms", st, nil)
	assert.Equal(t, o.Verdict, results.Fail, o.Observed)
	// The median of 40 is bounded.
	o = evaluate(t, "ttft.p50 < 1s", st, nil)
	assert.Equal(t, o.Verdict, results.Pass, o.Observed)
}

// A change against the baseline is tested on the kept samples: a 30%
// slowdown fails a 10% gate, the same server passes it, and an exact 10%
// change cannot be told from the bound.
func TestBaselineChangeIsTested(t *testing.T) {
	t.Parallel()
	base := noisyStep(300, 100*time.Millisecond, 1, 3)
	same := noisyStep(300, 100*time.Millisecond, 1, 4)
	slower := noisyStep(300, 100*time.Millisecond, 1.3, 5)
	edge := noisyStep(300, 100*time.Millisecond, 1.1, 6) // 10% slower: at the bound
	const gate = "ttft.p50 < baseline.ttft.p50 * 1.10"
	assert.Equal(t, evaluate(t, gate, same, base).Verdict, results.Pass)
	o := evaluate(t, gate, slower, base)
	assert.Equal(t, o.Verdict, results.Fail)
	assert.Assert(t, strings.Contains(o.Observed, "against the baseline"), o.Observed)
	assert.Equal(t, evaluate(t, gate, edge, base).Verdict, results.Inconclusive)
	// The same runs always give the same interval.
	assert.Equal(t, evaluate(t, gate, slower, base).Observed, o.Observed)
	// The order the gate is written in does not matter.
	for _, st := range []*results.Step{same, slower, edge} {
		assert.Equal(t, evaluate(t, "baseline.ttft.p50 * 1.10 > ttft.p50", st, base).Verdict, evaluate(t, gate, st, base).Verdict)
	}
}

// A distribution used whole is evaluated over its intervals too.
func TestWholeDistributionsHaveIntervals(t *testing.T) {
	t.Parallel()
	st := noisyStep(40, 100*time.Millisecond, 1, 2)
	assert.Equal(t, evaluate(t, "all([ttft, latency], .p99 < 1h)", st, nil).Verdict, results.Inconclusive, "a p99 of 40")
	assert.Equal(t, evaluate(t, "all([ttft, latency], .p50 < 1h)", st, nil).Verdict, results.Pass)
	assert.Equal(t, evaluate(t, "all([ttft, latency], .p50 < 1ms)", st, nil).Verdict, results.Fail)
}

// The plan's policy says what an undecided gate does.
func TestInconclusivePolicy(t *testing.T) {
	t.Parallel()
	st := noisyStep(40, 100*time.Millisecond, 1, 6)
	a, err := Compile("ttft.p99 < 1s")
	assert.NilError(t, err)
	for policy, want := range map[string]results.Verdict{
		"":                    results.Inconclusive,
		plan.InconclusiveFail: results.Inconclusive,
		plan.InconclusiveWarn: results.Warn,
		plan.InconclusivePass: results.Pass,
	} {
		g := Gate{Assertion: a, Inconclusive: policy}
		o := g.label(a.Evaluate(st))
		assert.Equal(t, o.Verdict, want, policy)
		assert.Equal(t, o.Inconclusive, policy == plan.InconclusiveWarn || policy == plan.InconclusivePass, policy)
	}
	// A warn-only gate never fails the run, but says it was undecided.
	o := Gate{Assertion: a, Warn: true}.label(a.Evaluate(st))
	assert.Equal(t, o.Verdict, results.Warn)
	assert.Assert(t, o.Inconclusive)
}
