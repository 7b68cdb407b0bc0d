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
// figure varies from run to run. That interval is never narrower than what
// the pooled requests allow: a percentile's also spans the order-statistic
// interval of all the runs' samples together (and stays open where they
// are too few to bound it), a rate's is at least its runs' own intervals
// over √N, and a ratio's spans the Wilson interval of the pooled counts.
// Samples are the runs' kept samples, one run after another. With fewer
// than two runs it returns the one run's metrics.
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
	out.Errors.Samples = nil // runs[0]'s map is not ours to change
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
		reqs.Waiting += m.Requests.Waiting
		if m.Waiting != nil && (out.Waiting == nil || m.Waiting.Count > out.Waiting.Count) {
			out.Waiting, out.TTFTP95WithWaiting = m.Waiting, m.TTFTP95WithWaiting // the run cut with the most requests waiting
		}
		reqs.Excluded += m.Requests.Excluded
		errs.Count += m.Errors.Count
		for k, v := range m.Errors.Reasons {
			out.Errors.Reasons[k] += v
		}
		for k, v := range m.Errors.Samples {
			if _, ok := out.Errors.Samples[k]; !ok {
				if out.Errors.Samples == nil {
					out.Errors.Samples = map[string]string{}
				}
				out.Errors.Samples[k] = v
			}
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
	// within widens an across-run interval to the runs' own precision: the
	// mean of their half-widths over √N.
	within := func(mean float64, iv *Interval, each func(m *Metrics) *Interval) *Interval {
		var half float64
		k := 0
		for i := range runs {
			if w := each(&runs[i]); w != nil && !w.LoOpen && !w.HiOpen {
				half += (w.Hi - w.Lo) / 2
				k++
			}
		}
		if k > 0 {
			half /= float64(k) * math.Sqrt(float64(len(runs)))
			iv.Lo, iv.Hi = math.Min(iv.Lo, mean-half), math.Max(iv.Hi, mean+half)
		}
		iv.Lo = math.Max(iv.Lo, 0)
		return iv
	}
	reqs.RatePerSec, reqs.RateCI = across(func(m *Metrics) float64 { return m.Requests.RatePerSec })
	reqs.RateCI = within(reqs.RatePerSec, reqs.RateCI, func(m *Metrics) *Interval { return m.Requests.RateCI })
	reqs.SentRatePerSec, _ = across(func(m *Metrics) float64 { return m.Requests.SentRatePerSec })
	errs.Rate, errs.RateCI = across(func(m *Metrics) float64 { return m.Errors.Rate })
	errs.RateCI = pooledRatio(errs.RateCI, reqs.Errored, reqs.Completed+reqs.Errored, confidence)
	toks.OutputRatePerSec, toks.OutputRateCI = across(func(m *Metrics) float64 { return m.Tokens.OutputRatePerSec })
	toks.OutputRateCI = within(toks.OutputRatePerSec, toks.OutputRateCI, func(m *Metrics) *Interval { return m.Tokens.OutputRateCI })
	toks.TotalRatePerSec, toks.TotalRateCI = across(func(m *Metrics) float64 { return m.Tokens.TotalRatePerSec })
	toks.TotalRateCI = within(toks.TotalRatePerSec, toks.TotalRateCI, func(m *Metrics) *Interval { return m.Tokens.TotalRateCI })
	toks.PromptRatePerSec, toks.PromptRateCI = across(func(m *Metrics) float64 { return m.Tokens.PromptRatePerSec })
	toks.PromptRateCI = within(toks.PromptRatePerSec, toks.PromptRateCI, func(m *Metrics) *Interval { return m.Tokens.PromptRateCI })
	out.Inputs = combineInputs(runs, reqs.Completed, across, within)
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
		g.RateCI = within(g.RatePerSec, g.RateCI, func(m *Metrics) *Interval { return goodputOf(m).RateCI })
		g.Ratio, g.RatioCI = across(func(m *Metrics) float64 { return goodputOf(m).Ratio })
		g.RatioCI = pooledRatio(g.RatioCI, g.Count, reqs.Completed+reqs.Errored, confidence)
		out.Goodput = &g
	}
	out.Samples = pooledSamples(runs)
	dists := []func(m *Metrics) *Distribution{
		func(m *Metrics) *Distribution { return &m.TTFT }, func(m *Metrics) *Distribution { return &m.TPOT },
		func(m *Metrics) *Distribution { return &m.ITL }, func(m *Metrics) *Distribution { return &m.Latency },
		func(m *Metrics) *Distribution { return &m.Queue }, func(m *Metrics) *Distribution { return &m.ClientLag },
	}
	for i, d := range dists {
		*d(&out) = combineDistributions(runs, d, confidence)
		if i < 5 && out.Samples != nil {
			widenToPooled(d(&out), out.Samples.Of([]string{"ttft", "tpot", "itl", "latency", "queue"}[i]), confidence)
		}
	}
	combinePhases(&out, runs, confidence)
	out.Groups, out.GroupsDropped = combineGroups(runs, confidence)
	out.Sessions = combineSessions(runs, confidence)
	out.Images = combineImages(runs)
	return out
}

// combineGroups combines each group over the runs that had it, as the
// step's own figures are combined.
func combineGroups(runs []Metrics, confidence float64) ([]Group, int) {
	var out []Group
	dropped := 0
	seen := map[[2]string]bool{}
	for _, m := range runs {
		dropped = max(dropped, m.GroupsDropped)
		for _, g := range m.Groups {
			id := [2]string{g.By, g.Key}
			if seen[id] {
				continue
			}
			seen[id] = true
			var each []Metrics
			for _, r := range runs {
				if h := r.Group(g.By, g.Key); h != nil {
					each = append(each, h.Metrics)
				}
			}
			c := CombineRepeats(each, confidence)
			c.Samples = nil
			out = append(out, Group{By: g.By, Key: g.Key, Metrics: c})
		}
	}
	return out, dropped
}

// combinePhases combines the reasoning phases' figures of the runs that
// had any, as the other distributions and token counts are combined.
func combinePhases(out *Metrics, runs []Metrics, confidence float64) {
	out.TTFO, out.TPOTReasoning, out.TPOTAnswer, out.Tokens.Phases = nil, nil, nil, nil
	var ph PhaseTokens
	completed, any := 0, false
	for i := range runs {
		completed += runs[i].Requests.Completed
		if p := runs[i].Tokens.Phases; p != nil {
			any = true
			ph.ReasoningTotal += p.ReasoningTotal
			ph.AnswerTotal += p.AnswerTotal
			if ph.Source != "chunks" {
				ph.Source = p.Source
			}
		} else {
			ph.AnswerTotal += runs[i].Tokens.OutputTotal
		}
	}
	if !any {
		return
	}
	if completed > 0 {
		ph.ReasoningMean = float64(ph.ReasoningTotal) / float64(completed)
		ph.AnswerMean = float64(ph.AnswerTotal) / float64(completed)
	}
	out.Tokens.Phases = &ph
	for i, f := range []func(m *Metrics) **Distribution{
		func(m *Metrics) **Distribution { return &m.TTFO },
		func(m *Metrics) **Distribution { return &m.TPOTReasoning },
		func(m *Metrics) **Distribution { return &m.TPOTAnswer },
	} {
		d := combineDistributions(runs, func(m *Metrics) *Distribution {
			if p := *f(m); p != nil {
				return p
			}
			return &Distribution{}
		}, confidence)
		if out.Samples != nil {
			widenToPooled(&d, out.Samples.Of([]string{"ttfo", "tpot_reasoning", "tpot_answer"}[i]), confidence)
		}
		*f(out) = &d
	}
}

// pooledRatio widens an across-run interval of a proportion to the Wilson
// interval of the pooled counts, within [0, 1].
func pooledRatio(iv *Interval, k, n int, confidence float64) *Interval {
	if lo, hi, ok := WilsonInterval(k, n, confidence); ok {
		iv.Lo, iv.Hi = math.Min(iv.Lo, lo), math.Max(iv.Hi, hi)
	}
	iv.Lo, iv.Hi = math.Max(iv.Lo, 0), math.Min(iv.Hi, 1)
	return iv
}

// pooledSamples puts the runs' kept samples one after another (at most
// MaxKeptSamples of each distribution, evenly spaced).
func pooledSamples(runs []Metrics) *Samples {
	out := &Samples{}
	for _, f := range []func(s *Samples) *[]float64{
		func(s *Samples) *[]float64 { return &s.TTFT }, func(s *Samples) *[]float64 { return &s.TPOT },
		func(s *Samples) *[]float64 { return &s.ITL }, func(s *Samples) *[]float64 { return &s.Latency },
		func(s *Samples) *[]float64 { return &s.Queue },
		func(s *Samples) *[]float64 { return &s.TTFO }, func(s *Samples) *[]float64 { return &s.TPOTReasoning },
		func(s *Samples) *[]float64 { return &s.TPOTAnswer },
	} {
		var all []float64
		for i := range runs {
			if s := runs[i].Samples; s != nil {
				all = append(all, *f(s)...)
				out.Thinned = out.Thinned || s.Thinned
			}
		}
		if n := len(all); n > MaxKeptSamples {
			thin := make([]float64, MaxKeptSamples)
			for i := range thin {
				thin[i] = all[i*n/MaxKeptSamples]
			}
			all, out.Thinned = thin, true
		}
		*f(out) = all
	}
	return out
}

// widenToPooled widens each percentile's across-run interval to the
// order-statistic interval of the pooled samples, open where they are too
// few to bound it.
func widenToPooled(d *Distribution, samples []float64, confidence float64) {
	if len(samples) == 0 {
		return
	}
	ds := make([]time.Duration, len(samples))
	for i, v := range samples {
		ds[i] = time.Duration(math.Round(v * 1e6))
	}
	pooled := NewDistributionAt(ds, confidence)
	for _, pair := range [][2]*Interval{{&d.P50CI, &pooled.P50CI}, {&d.P90CI, &pooled.P90CI}, {&d.P95CI, &pooled.P95CI},
		{&d.P99CI, &pooled.P99CI}, {&d.P999CI, &pooled.P999CI}} {
		iv, p := pair[0], pair[1]
		if p.LoOpen {
			iv.LoOpen = true
		} else if !iv.LoOpen {
			iv.Lo = math.Min(iv.Lo, p.Lo)
		}
		if p.HiOpen {
			iv.HiOpen = true
		} else if !iv.HiOpen {
			iv.Hi = math.Max(iv.Hi, p.Hi)
		}
	}
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
		// A duration is never negative: the t interval of a few runs can
		// reach below 0, and cutting it there only raises its coverage.
		return time.Duration(math.Round(mean)), Interval{Lo: math.Max(lo, 0), Hi: hi}
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

// combineSessions combines the runs' session figures as the step's own are
// combined: counts summed, turns per session over all the sessions, and
// the duration's percentiles and mean across the runs (combineDistributions).
// nil when no run had sessions.
func combineSessions(runs []Metrics, confidence float64) *SessionMetrics {
	var out *SessionMetrics
	turns := 0.0
	for _, m := range runs {
		s := m.Sessions
		if s == nil {
			continue
		}
		if out == nil {
			out = &SessionMetrics{}
		}
		out.Started += s.Started
		out.Completed += s.Completed
		out.Failed += s.Failed
		turns += s.TurnsMean * float64(s.Started)
		for k, v := range s.Reasons {
			if out.Reasons == nil {
				out.Reasons = map[string]int{}
			}
			out.Reasons[k] += v
		}
	}
	if out == nil {
		return nil
	}
	if out.Started > 0 {
		out.TurnsMean = turns / float64(out.Started)
	}
	out.Duration = combineDistributions(runs, func(m *Metrics) *Distribution {
		if m.Sessions == nil {
			return &Distribution{}
		}
		return &m.Sessions.Duration
	}, confidence)
	return out
}
