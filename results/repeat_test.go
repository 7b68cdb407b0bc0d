package results

import (
	"testing"
	"time"
)

// Repeated runs gate on the spread across runs. References: SciPy 1.10.1,
// x = np.array([100., 110., 120.]);
// stats.t.interval(0.95, 2, loc=x.mean(), scale=x.std(ddof=1)/np.sqrt(3))
// = (85.15862288156248, 134.84137711843752), and for the rates
// x = np.array([4.0, 4.2, 3.9, 4.1]) at 0.9 with 3 degrees of freedom
// = (3.89809104349065, 4.2019089565093495).
func TestCombineRepeats(t *testing.T) {
	t.Parallel()
	ms := func(v float64) time.Duration { return time.Duration(v * 1e6) }
	run := func(p95 float64, rate float64, completed int) Metrics {
		m := Metrics{Confidence: 0.95}
		m.TTFT = Distribution{Count: 100, P95: ms(p95), Min: ms(p95 / 2), Max: ms(p95 * 2), Confidence: 0.95}
		m.Requests = RequestCounts{Total: completed, Completed: completed, RatePerSec: rate}
		m.Tokens.Source = "usage"
		return m
	}
	c := CombineRepeats([]Metrics{run(100, 4.0, 100), run(110, 4.2, 100), run(120, 3.9, 90)}, 0.95)
	if c.TTFT.P95 != ms(110) || c.TTFT.Count != 300 || c.TTFT.Min != ms(50) || c.TTFT.Max != ms(240) {
		t.Errorf("combined ttft: %+v", c.TTFT)
	}
	close(t, "p95 lo", c.TTFT.P95CI.Lo/1e6, 85.15862288156248, 1e-6)
	close(t, "p95 hi", c.TTFT.P95CI.Hi/1e6, 134.84137711843752, 1e-6)
	if c.Requests.Completed != 290 {
		t.Errorf("completed %d, want the sum 290", c.Requests.Completed)
	}
	r := CombineRepeats([]Metrics{run(1, 4.0, 1), run(1, 4.2, 1), run(1, 3.9, 1), run(1, 4.1, 1)}, 0.9)
	close(t, "rate", r.Requests.RatePerSec, 4.05, 1e-12)
	close(t, "rate lo", r.Requests.RateCI.Lo, 3.89809104349065, 1e-9)
	close(t, "rate hi", r.Requests.RateCI.Hi, 4.2019089565093495, 1e-9)
	if one := CombineRepeats([]Metrics{run(100, 4, 10)}, 0.95); one.TTFT.P95 != ms(100) {
		t.Error("one run is its own result")
	}
}

// Runs that agree closely do not make an interval narrower than their
// pooled requests allow: a p999 of 3 × 50 requests stays unbounded, and
// no errors in 2 × 100 requests still leaves errors.rate's Wilson interval.
func TestCombineRepeatsKeepsThePooledUncertainty(t *testing.T) {
	t.Parallel()
	run := func(shift int) Metrics {
		var reqs []Request
		for i := range 50 {
			sent := time.Duration(i) * 100 * time.Millisecond
			ttft := time.Duration(20+(i*7+shift)%13) * time.Millisecond
			reqs = append(reqs, Request{Index: i, Intended: sent, Sent: sent, FirstToken: sent + ttft, LastToken: sent + ttft + 5*time.Millisecond,
				End: sent + ttft + 5*time.Millisecond, PromptTokens: 4, OutputTokens: 2, UsageReported: true})
		}
		return Compute(reqs, 6*time.Second)
	}
	c := CombineRepeats([]Metrics{run(0), run(1), run(2)}, 0.95)
	if !c.TTFT.P999CI.HiOpen {
		t.Errorf("p999 of 150 pooled requests is bounded: %+v", c.TTFT.P999CI)
	}
	if c.Samples == nil || len(c.Samples.TTFT) != 150 {
		t.Errorf("pooled samples: %+v", c.Samples)
	}
	if iv := c.Errors.RateCI; iv == nil || iv.Lo != 0 || iv.Hi < 0.02 {
		t.Errorf("errors.rate interval %+v: 0 of 150 is not a proven 0", iv)
	}
}
