package assert

import (
	"time"

	"github.com/benchplan/benchplan/results"
)

// pointOnly computes metrics as Compute does, without their intervals: the
// tests that use it are about what an expression means, not about how
// sure a sample is (interval_test.go is).
// The steps are read as paced (their sent rate over the span of sends).
func pointOnly(reqs []results.Request, end time.Duration) results.Metrics {
	return stripIntervals(results.ComputeWith(reqs, results.Window{Stop: end, Paced: true}))
}

func stripIntervals(m results.Metrics) results.Metrics {
	for _, d := range []*results.Distribution{&m.TTFT, &m.TPOT, &m.ITL, &m.Latency, &m.Queue, &m.ClientLag, m.TTFO, m.TPOTReasoning, m.TPOTAnswer} {
		if d == nil {
			continue
		}
		d.Confidence = 0
		d.MeanCI, d.P50CI, d.P90CI, d.P95CI, d.P99CI, d.P999CI = results.Interval{}, results.Interval{}, results.Interval{}, results.Interval{}, results.Interval{}, results.Interval{}
	}
	m.Requests.RateCI, m.Errors.RateCI, m.Tokens.OutputRateCI, m.Tokens.TotalRateCI = nil, nil, nil, nil
	if m.Goodput != nil {
		m.Goodput.RateCI, m.Goodput.RatioCI = nil, nil
	}
	return m
}
