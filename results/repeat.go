package results

import (
	"math"
	"time"
)

// CombineRepeats makes one step's metrics from the metrics of the same step
// run len(runs) times (a scenario's `repeat: N`), for servers whose
// run-to-run variance dominates what one run can see. Counts and token
// totals are summed; every estimate (each percentile and mean of the
// distributions, the rates, errors.rate and goodput's rate and ratio) is
// the mean of its value over the runs, with the Student t interval of that
// mean across the runs as its interval, so a gate decides on how the
// figure varies from run to run, not within one. Samples are those of the
// first run (comparisons resample within runs). With fewer than two runs
// it returns the one run's metrics.
func CombineRepeats(runs []Metrics, confidence float64) Metrics {
	if len(runs) == 0 {
		return Metrics{}
	}
	if len(runs) == 1 {
		return runs[0]
	}
	out := runs[0]
	out.Confidence = confidence
	out.Errors.Reasons = map[string]int{}
	var reqs RequestCounts
	var errs ErrorCounts
	var toks TokenCounts
	var dur time.Duration
	conc := Concurrency{}
	for _, m := range runs {
		reqs.Total += m.Requests.Total
		reqs.Completed += m.Requests.Completed
		reqs.Errored += m.Requests.Errored
		reqs.Incomplete += m.Requests.Incomplete
		reqs.Excluded += m.Requests.Excluded
		errs.Count += m.Errors.Count
		for k, v := range m.Errors.Reasons {
			out.Errors.Reasons[k] += v
		}
		toks.PromptTotal += m.Tokens.PromptTotal
		toks.OutputTotal += m.Tokens.OutputTotal
		if m.Tokens.Source == "chunks" {
			toks.Source = "chunks"
		}
		dur += time.Duration(m.Duration)
		conc.Max = max(conc.Max, m.Concurrency.Max)
	}
	if len(out.Errors.Reasons) == 0 {
		out.Errors.Reasons = nil
	}
	if toks.Source == "" {
		toks.Source = "usage"
	}
	if reqs.Completed > 0 {
		toks.PromptMean = float64(toks.PromptTotal) / float64(reqs.Completed)
		toks.OutputMean = float64(toks.OutputTotal) / float64(reqs.Completed)
	}
	across := func(get func(m *Metrics) float64) (float64, *Interval) {
		xs := make([]float64, len(runs))
		for i := range runs {
			xs[i] = get(&runs[i])
		}
		mean, sd := meanSD(xs)
		lo, hi, _ := TInterval(mean, sd, len(xs), confidence)
		return mean, &Interval{Lo: lo, Hi: hi}
	}
	reqs.RatePerSec, reqs.RateCI = across(func(m *Metrics) float64 { return m.Requests.RatePerSec })
	reqs.SentRatePerSec, _ = across(func(m *Metrics) float64 { return m.Requests.SentRatePerSec })
	errs.Rate, errs.RateCI = across(func(m *Metrics) float64 { return m.Errors.Rate })
	toks.OutputRatePerSec, toks.OutputRateCI = across(func(m *Metrics) float64 { return m.Tokens.OutputRatePerSec })
	toks.TotalRatePerSec, toks.TotalRateCI = across(func(m *Metrics) float64 { return m.Tokens.TotalRatePerSec })
	conc.Mean, _ = across(func(m *Metrics) float64 { return m.Concurrency.Mean })
	out.Requests, out.Errors.Count, out.Errors.Rate, out.Errors.RateCI = reqs, errs.Count, errs.Rate, errs.RateCI
	out.Tokens, out.Concurrency = toks, conc
	out.Duration = Duration(dur / time.Duration(len(runs)))
	if out.Goodput != nil {
		g := *out.Goodput
		g.Count = 0
		for _, m := range runs {
			if m.Goodput != nil {
				g.Count += m.Goodput.Count
			}
		}
		g.RatePerSec, g.RateCI = across(func(m *Metrics) float64 { return goodputOf(m).RatePerSec })
		g.Ratio, g.RatioCI = across(func(m *Metrics) float64 { return goodputOf(m).Ratio })
		out.Goodput = &g
	}
	dists := []func(m *Metrics) *Distribution{
		func(m *Metrics) *Distribution { return &m.TTFT }, func(m *Metrics) *Distribution { return &m.TPOT },
		func(m *Metrics) *Distribution { return &m.ITL }, func(m *Metrics) *Distribution { return &m.Latency },
		func(m *Metrics) *Distribution { return &m.Queue }, func(m *Metrics) *Distribution { return &m.ClientLag },
	}
	for _, d := range dists {
		*d(&out) = combineDistributions(runs, d, confidence)
	}
	return out
}

func goodputOf(m *Metrics) Goodput {
	if m.Goodput == nil {
		return Goodput{}
	}
	return *m.Goodput
}

// combineDistributions is one distribution over repeated runs: counts
// summed, min and max over all, the rest the mean over the runs that have
// samples, each with its t interval across them.
func combineDistributions(runs []Metrics, get func(m *Metrics) *Distribution, confidence float64) Distribution {
	var have []*Distribution
	for i := range runs {
		if d := get(&runs[i]); d.Count > 0 {
			have = append(have, d)
		}
	}
	if len(have) == 0 {
		return Distribution{}
	}
	out := Distribution{Confidence: confidence, Min: have[0].Min, Max: have[0].Max}
	for _, d := range have {
		out.Count += d.Count
		out.Min = min(out.Min, d.Min)
		out.Max = max(out.Max, d.Max)
	}
	fig := func(f func(d *Distribution) time.Duration) (time.Duration, Interval) {
		xs := make([]float64, len(have))
		for i, d := range have {
			xs[i] = float64(f(d))
		}
		mean, sd := meanSD(xs)
		lo, hi, ok := TInterval(mean, sd, len(xs), confidence)
		if !ok {
			return time.Duration(math.Round(mean)), Interval{LoOpen: true, HiOpen: true}
		}
		return time.Duration(math.Round(mean)), Interval{Lo: lo, Hi: hi}
	}
	out.Mean, out.MeanCI = fig(func(d *Distribution) time.Duration { return d.Mean })
	out.Std, _ = fig(func(d *Distribution) time.Duration { return d.Std })
	out.P50, out.P50CI = fig(func(d *Distribution) time.Duration { return d.P50 })
	out.P90, out.P90CI = fig(func(d *Distribution) time.Duration { return d.P90 })
	out.P95, out.P95CI = fig(func(d *Distribution) time.Duration { return d.P95 })
	out.P99, out.P99CI = fig(func(d *Distribution) time.Duration { return d.P99 })
	out.P999, out.P999CI = fig(func(d *Distribution) time.Duration { return d.P999 })
	return out
}

// meanSD is the mean and the sample standard deviation (n-1) of xs.
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var sq float64
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(xs)-1))
}
