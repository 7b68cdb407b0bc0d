package results

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"time"
)

// Metrics are the figures of one step, as defined in docs/metrics.md.
type Metrics struct {
	// Duration is the measured window: from the step's start to the end
	// of its last finished request (or to the step's end when it was cut).
	Duration Duration `json:"duration_ms"`

	TTFT    Distribution `json:"ttft"`
	TPOT    Distribution `json:"tpot"`
	ITL     Distribution `json:"itl"`
	Latency Distribution `json:"latency"`
	Queue   Distribution `json:"queue"`

	// ClientLag is sent - ready per request: how late the client itself
	// was. On a schedule with no concurrency cap it equals Queue.
	ClientLag Distribution `json:"client_lag"`

	// Waiting is, for the requests still waiting for their first token
	// when the step was cut (by max_duration or an interrupt), how long
	// each had waited: the step's stop - sent, a lower bound of a TTFT
	// that ttft, over completed requests, leaves out. nil when none was.
	Waiting *Distribution `json:"waiting,omitempty"`
	// TTFTP95WithWaiting is the p95 of ttft with those requests counted at
	// their wait so far: a lower bound of the p95 the step would have shown
	// had it run until they answered. 0 when no request was waiting.
	TTFTP95WithWaiting Duration `json:"ttft_p95_with_waiting_ms,omitempty"`

	// TTFO, TPOTReasoning and TPOTAnswer are the phases of a step in which
	// some answer had reasoning (nil otherwise, and absent from
	// results.json): the time to the first answer (non-reasoning) token,
	// and the time per token within the reasoning and within the answer.
	// Over completed requests; an answer without reasoning counts in TTFO
	// and TPOTAnswer with its ttft and tpot.
	TTFO          *Distribution `json:"ttfo,omitempty"`
	TPOTReasoning *Distribution `json:"tpot_reasoning,omitempty"`
	TPOTAnswer    *Distribution `json:"tpot_answer,omitempty"`

	Requests RequestCounts `json:"requests"`
	Errors   ErrorCounts   `json:"errors"`
	Tokens   TokenCounts   `json:"tokens"`
	// Concurrency is the number of requests in flight, time-weighted over
	// the measured window.
	Concurrency Concurrency `json:"concurrency"`
	// Inputs counts the inputs of embeddings requests; nil in a step that
	// sent none (results/inputs.go).
	Inputs *InputCounts `json:"inputs,omitempty"`
	// Goodput counts the requests that met every bound of the scenario's
	// slo; nil when the scenario has none.
	Goodput *Goodput `json:"goodput,omitempty"`
	// Sessions summarise the step's multi-turn sessions (nil without).
	Sessions *SessionMetrics `json:"sessions,omitempty"`
	// Confidence is the confidence of every interval in these metrics.
	Confidence float64 `json:"confidence,omitempty"`
	// Samples are the per-request samples behind the distributions, kept
	// so that a later run can test a change for significance (compare,
	// baseline.*); nil in a result written before they were kept.
	Samples *Samples `json:"samples,omitempty"`
	// Groups are the same figures over the requests to each model (when
	// they name more than one), at each turn of multi-turn sessions and in
	// each window of a ramp (see Group); nil when there are none.
	Groups []Group `json:"groups,omitempty"`
	// GroupsDropped counts groups past MaxGroups of one tag, not kept.
	GroupsDropped int `json:"groups_dropped,omitempty"`
	// Images counts the images requests carried and their tokens; nil
	// when no completed request carried one.
	Images *ImageCounts `json:"images,omitempty"`
}

// Concurrency summarises requests in flight over the measured window. A
// request is in flight from sent to end (to the step's stop when it was
// cut); every request counts, warmup and cooldown ones included, because
// the server carried them.
type Concurrency struct {
	// Mean is the time-weighted mean: the integral of in-flight requests
	// over the window divided by its length.
	Mean float64 `json:"mean"`
	// Max is the most requests in flight at any instant of the window.
	Max int `json:"max"`
}

// SLO bounds a request; zero means no bound.
type SLO struct {
	TTFT    Duration `json:"ttft_ms,omitempty"`
	TPOT    Duration `json:"tpot_ms,omitempty"`
	Latency Duration `json:"latency_ms,omitempty"`
}

// Goodput is what met the SLO.
type Goodput struct {
	SLO SLO `json:"slo"`
	// Count is the completed requests within every bound.
	Count int `json:"count"`
	// RatePerSec is Count per second of the measured window.
	RatePerSec float64 `json:"rate_per_sec"`
	// Ratio is Count / (completed + errored), 0 when nothing finished.
	Ratio float64 `json:"ratio"`
	// RateCI and RatioCI are their confidence intervals: batch means for
	// the rate (see batchRates), Wilson for the ratio.
	RateCI  *Interval `json:"rate_ci_per_sec,omitempty"`
	RatioCI *Interval `json:"ratio_ci,omitempty"`
}

// Meets reports whether a completed request is within every bound: ttft
// (first token - sent), tpot (requests with one output token have none and
// meet any tpot bound) and latency (end - sent), each at most the bound.
func (s SLO) Meets(r *Request) bool {
	if !r.OK() {
		return false
	}
	if s.TTFT > 0 && (r.FirstToken == 0 || r.FirstToken-r.Sent > time.Duration(s.TTFT)) {
		return false
	}
	if s.TPOT > 0 {
		if tpot, ok := r.TPOT(); ok && tpot > time.Duration(s.TPOT) {
			return false
		}
	}
	if s.Latency > 0 && r.End-r.Sent > time.Duration(s.Latency) {
		return false
	}
	return true
}

// RequestCounts counts a step's requests by how they ended.
type RequestCounts struct {
	Total      int `json:"total"`
	Completed  int `json:"completed"`
	Errored    int `json:"errored"`
	Incomplete int `json:"incomplete"`
	// Waiting counts the incomplete requests that had no first token when
	// the step was cut (Metrics.Waiting).
	Waiting int `json:"waiting,omitempty"`
	// Excluded counts the requests of the warmup and cooldown, which are in
	// none of the other counts.
	Excluded int `json:"excluded,omitempty"`
	// RatePerSec is completed requests per second of the measured window
	// (the window ends with the last answer, so it reads below the rate
	// sent by about one latency's worth of the step).
	RatePerSec float64 `json:"rate_per_sec"`
	// RateCI is RatePerSec's interval (batch means, see batchRates).
	RateCI *Interval `json:"rate_ci_per_sec,omitempty"`
	// SentRatePerSec is the offered rate: for a paced step (constant,
	// poisson), requests sent per second of the span over which they were
	// sent ((sent - 1) / (last send - first send)), what the client
	// achieved whatever the server did, the target rate for a constant
	// load the server kept up with; for a closed loop or a burst, sent
	// requests per second of the measured window.
	SentRatePerSec float64 `json:"sent_rate_per_sec"`
}

// errorSamples is the first ErrorDetail of each reason of reasons, from
// every record (the first failure of a reason may have fallen in the
// warmup); nil when there is none.
func errorSamples(reqs []Request, reasons map[string]int) map[string]string {
	var out map[string]string
	for i := range reqs {
		r := &reqs[i]
		if r.ErrorDetail == "" || r.Incomplete || reasons[r.Error] == 0 {
			continue
		}
		if _, ok := out[r.Error]; !ok {
			if out == nil {
				out = map[string]string{}
			}
			out[r.Error] = r.ErrorDetail
		}
	}
	return out
}

// ErrorCounts counts a step's failed requests.
type ErrorCounts struct {
	Count int `json:"count"`
	// Rate is errored / (completed + errored), a fraction in [0, 1].
	Rate float64 `json:"rate"`
	// RateCI is Rate's Wilson score interval.
	RateCI *Interval `json:"rate_ci,omitempty"`
	// Reasons counts errors by reason ("http 500", "timeout", ...).
	Reasons map[string]int `json:"reasons,omitempty"`
	// Samples holds, for each reason of Reasons, what the server said the
	// first time (Request.ErrorDetail): "http 400" -> "This model's
	// maximum context length is 8192 tokens. ...". A reason without one
	// has no entry.
	Samples map[string]string `json:"samples,omitempty"`
}

// TokenCounts sums the tokens of completed requests.
type TokenCounts struct {
	PromptTotal int     `json:"prompt_total"`
	PromptMean  float64 `json:"prompt_mean"`
	OutputTotal int     `json:"output_total"`
	OutputMean  float64 `json:"output_mean"`
	// OutputRatePerSec is output tokens per second of the measured window.
	OutputRatePerSec float64 `json:"output_rate_per_sec"`
	// PromptRatePerSec is prompt (input) tokens per second of the measured
	// window, with its interval (batch means, see batchRates).
	PromptRatePerSec float64   `json:"prompt_rate_per_sec"`
	PromptRateCI     *Interval `json:"prompt_rate_ci_per_sec,omitempty"`
	// TotalRatePerSec is prompt + output tokens per second of the window.
	TotalRatePerSec float64 `json:"total_rate_per_sec"`
	// OutputRateCI and TotalRateCI are the rates' intervals (batch means,
	// see batchRates).
	OutputRateCI *Interval `json:"output_rate_ci_per_sec,omitempty"`
	TotalRateCI  *Interval `json:"total_rate_ci_per_sec,omitempty"`
	// Source is "usage" when every count came from the server's usage, or
	// "chunks" when some output counts are content-chunk counts.
	Source string `json:"source"`
	// Phases splits the output tokens into reasoning and answer in a step
	// in which some answer had reasoning; nil otherwise.
	Phases *PhaseTokens `json:"phases,omitempty"`
}

// PhaseTokens splits the output tokens of completed requests into
// reasoning and answer (output - reasoning).
type PhaseTokens struct {
	ReasoningTotal int     `json:"reasoning_total"`
	ReasoningMean  float64 `json:"reasoning_mean"`
	AnswerTotal    int     `json:"answer_total"`
	AnswerMean     float64 `json:"answer_mean"`
	// Source is "usage" when every reasoning count came from the server's
	// usage (completion_tokens_details.reasoning_tokens), or "chunks" when
	// some are counts of reasoning chunks.
	Source string `json:"source"`
}

// Duration is a time.Duration written to JSON as float milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration as float milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(ms(time.Duration(d)))
}

// UnmarshalJSON reads float milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Duration(time.Duration(math.Round(f * 1e6)))
	return nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Distribution summarises samples of a duration. Percentiles are exact,
// computed over all samples by linear interpolation between the closest
// ranks (numpy's default, the definition vLLM's benchmark uses). Each
// percentile and the mean carry a confidence interval (docs/metrics.md,
// "Uncertainty").
type Distribution struct {
	Count int
	Mean  time.Duration
	Std   time.Duration
	Min   time.Duration
	Max   time.Duration
	P50   time.Duration
	P90   time.Duration
	P95   time.Duration
	P99   time.Duration
	P999  time.Duration
	// Confidence is the confidence of the intervals below; 0 when none
	// were computed (a result written before intervals existed).
	Confidence float64
	// MeanCI is the Student t interval of the mean; the others are the
	// distribution-free order-statistic intervals of the percentiles.
	MeanCI, P50CI, P90CI, P95CI, P99CI, P999CI Interval
}

// Interval is a confidence interval in its figure's unit (nanoseconds for
// a duration). A side the sample is too small to bound is open: LoOpen
// (HiOpen) is then true and Lo (Hi) means nothing.
type Interval struct {
	Lo, Hi         float64
	LoOpen, HiOpen bool
}

// Percentiles lists the percentiles a Distribution holds, with their names.
var Percentiles = []struct {
	Name string
	P    float64
}{{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}}

// Figure returns a member of the distribution by its assertion name (mean,
// median, p50, ... p999) with its interval; ok is false for other names.
func (d *Distribution) Figure(name string) (v time.Duration, iv Interval, ok bool) {
	switch name {
	case "mean":
		return d.Mean, d.MeanCI, true
	case "median", "p50":
		return d.P50, d.P50CI, true
	case "p90":
		return d.P90, d.P90CI, true
	case "p95":
		return d.P95, d.P95CI, true
	case "p99":
		return d.P99, d.P99CI, true
	case "p999":
		return d.P999, d.P999CI, true
	}
	return 0, Interval{}, false
}

type distJSON struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	Std   float64 `json:"std_ms"`
	Min   float64 `json:"min_ms"`
	Max   float64 `json:"max_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	// CI holds the intervals as [lo, hi] in ms, null for an open side.
	CI *distCI `json:"ci,omitempty"`
}

type distCI struct {
	Confidence float64     `json:"confidence"`
	Mean       [2]*float64 `json:"mean_ms"`
	P50        [2]*float64 `json:"p50_ms"`
	P90        [2]*float64 `json:"p90_ms"`
	P95        [2]*float64 `json:"p95_ms"`
	P99        [2]*float64 `json:"p99_ms"`
	P999       [2]*float64 `json:"p999_ms"`
}

// msPair writes an interval of nanoseconds as [lo, hi] ms, nil when open.
func msPair(iv Interval) [2]*float64 {
	var out [2]*float64
	if !iv.LoOpen {
		v := ms(time.Duration(iv.Lo))
		out[0] = &v
	}
	if !iv.HiOpen {
		v := ms(time.Duration(iv.Hi))
		out[1] = &v
	}
	return out
}

func nsInterval(p [2]*float64) Interval {
	iv := Interval{LoOpen: p[0] == nil, HiOpen: p[1] == nil}
	if p[0] != nil {
		iv.Lo = math.Round(*p[0] * 1e6)
	}
	if p[1] != nil {
		iv.Hi = math.Round(*p[1] * 1e6)
	}
	return iv
}

// MarshalJSON writes every figure as float milliseconds (keys end in _ms).
func (d Distribution) MarshalJSON() ([]byte, error) {
	j := distJSON{d.Count, ms(d.Mean), ms(d.Std), ms(d.Min), ms(d.Max),
		ms(d.P50), ms(d.P90), ms(d.P95), ms(d.P99), ms(d.P999), nil}
	if d.Confidence > 0 {
		j.CI = &distCI{Confidence: d.Confidence, Mean: msPair(d.MeanCI), P50: msPair(d.P50CI), P90: msPair(d.P90CI),
			P95: msPair(d.P95CI), P99: msPair(d.P99CI), P999: msPair(d.P999CI)}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Distribution) UnmarshalJSON(b []byte) error {
	var j distJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	f := func(v float64) time.Duration { return time.Duration(math.Round(v * 1e6)) }
	*d = Distribution{Count: j.Count, Mean: f(j.Mean), Std: f(j.Std), Min: f(j.Min), Max: f(j.Max),
		P50: f(j.P50), P90: f(j.P90), P95: f(j.P95), P99: f(j.P99), P999: f(j.P999)}
	if c := j.CI; c != nil {
		d.Confidence = c.Confidence
		d.MeanCI, d.P50CI, d.P90CI = nsInterval(c.Mean), nsInterval(c.P50), nsInterval(c.P90)
		d.P95CI, d.P99CI, d.P999CI = nsInterval(c.P95), nsInterval(c.P99), nsInterval(c.P999)
	}
	return nil
}

// NewDistribution summarises samples with intervals at DefaultConfidence;
// it sorts them in place.
func NewDistribution(samples []time.Duration) Distribution {
	return NewDistributionAt(samples, DefaultConfidence)
}

// NewDistributionAt summarises samples with intervals at the given
// confidence; it sorts them in place.
func NewDistributionAt(samples []time.Duration, confidence float64) Distribution {
	n := len(samples)
	if n == 0 {
		return Distribution{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	mean := sum / float64(n)
	var sq float64
	for _, s := range samples {
		d := float64(s) - mean
		sq += d * d
	}
	d := Distribution{
		Count: n,
		Mean:  time.Duration(math.Round(mean)),
		Std:   time.Duration(math.Round(math.Sqrt(sq / float64(n)))),
		Min:   samples[0],
		Max:   samples[n-1],
		P50:   Percentile(samples, 50),
		P90:   Percentile(samples, 90),
		P95:   Percentile(samples, 95),
		P99:   Percentile(samples, 99),
		P999:  Percentile(samples, 99.9),
	}
	if confidence <= 0 || confidence >= 1 {
		return d
	}
	d.Confidence = confidence
	if lo, hi, ok := TInterval(mean, math.Sqrt(sq/float64(max(n-1, 1))), n, confidence); ok {
		d.MeanCI = Interval{Lo: math.Max(lo, float64(samples[0])), Hi: math.Min(hi, float64(samples[n-1]))}
	} else {
		d.MeanCI = Interval{LoOpen: true, HiOpen: true}
	}
	ci := func(p float64) Interval {
		lo, hi, loOK, hiOK := QuantileRanks(n, p, confidence)
		iv := Interval{LoOpen: !loOK, HiOpen: !hiOK}
		if loOK {
			iv.Lo = float64(samples[lo])
		}
		if hiOK {
			iv.Hi = float64(samples[hi])
		}
		return iv
	}
	d.P50CI, d.P90CI, d.P95CI, d.P99CI, d.P999CI = ci(0.5), ci(0.9), ci(0.95), ci(0.99), ci(0.999)
	return d
}

// Percentile returns the p-th percentile (0..100) of sorted samples by linear
// interpolation between closest ranks: rank = p/100 * (n-1).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := p / 100 * float64(n-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	if hi >= n {
		hi = n - 1
	}
	frac := rank - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[hi]-sorted[lo])))
}

// Compute derives a step's metrics from its request records with no warmup,
// cooldown or SLO. end is when the step stopped.
func Compute(reqs []Request, end time.Duration) Metrics {
	return ComputeWith(reqs, Window{Stop: end})
}

// Window says which part of a step is measured.
type Window struct {
	// Stop is when the step stopped (its limit, an early stop or an
	// interrupt), as an offset from its start.
	Stop time.Duration
	// Start is the window's start (the warmup's end; 0 without warmup).
	Start time.Duration
	// End, when positive, is the window's end (the cooldown's start).
	// Otherwise the window ends with the last measured request to finish,
	// or at Stop when measured requests were still in flight then.
	End time.Duration
	// SLO, when not nil, defines goodput.
	SLO *SLO
	// Confidence is the confidence of every interval (DefaultConfidence
	// when 0).
	Confidence float64
	// Paced is true for a step whose schedule sets the sending rate
	// (constant, poisson): its offered rate is measured over the span of
	// its sends. A closed loop or a burst sends as answers come or all at
	// once, and its sent rate is over the measured window.
	Paced bool
	// Windows are the ends of a ramp's windows, as offsets from the
	// step's start, in order: window n (from 1, Request.Window) spans
	// [Windows[n-2], Windows[n-1]), the first from 0. The figures of
	// window[n] are measured over that span; nil for a load without them.
	Windows []time.Duration
}

// TPOT is the request's time per output token after the first:
// (last token - first token) / (output tokens - 1). ok is false for a
// request with fewer than two output tokens.
func (r *Request) TPOT() (tpot time.Duration, ok bool) {
	if r.OutputTokens < 2 || r.LastToken <= r.FirstToken || r.FirstToken == 0 {
		return 0, false
	}
	return (r.LastToken - r.FirstToken) / time.Duration(r.OutputTokens-1), true
}

// ComputeWith derives a step's metrics from its request records, as
// docs/metrics.md defines them. Excluded requests count in concurrency
// only.
func ComputeWith(reqs []Request, w Window) Metrics {
	m := computeMetrics(reqs, w)
	// Groups are measured over the step's window (a ramp's windows over
	// their own part of it), not each over its own last request.
	gw := w
	gw.End = w.Start + time.Duration(m.Duration)
	m.Groups, m.GroupsDropped = computeGroups(reqs, gw)
	return m
}

// computeMetrics is ComputeWith without the groups.
func computeMetrics(reqs []Request, w Window) Metrics {
	var m Metrics
	var ttft, tpot, itl, lat, queue, lag []time.Duration
	var ttfo, tpotR, tpotA, waiting []time.Duration
	reasoned, reasoningChunks := false, false
	var phases PhaseTokens
	var inputs inputTally
	var last time.Duration
	conf := w.Confidence
	if conf <= 0 || conf >= 1 {
		conf = DefaultConfidence
	}
	firstSent, lastSent := time.Duration(-1), time.Duration(0)
	chunks := false
	m.Errors.Reasons = map[string]int{}
	nITL := 0
	for i := range reqs {
		if r := &reqs[i]; r.OK() && !r.Excluded {
			nITL += len(r.ITLs)
		}
	}
	itl = make([]time.Duration, 0, nITL)
	sent := 0
	good := 0
	// Completions, output tokens, all tokens and good completions by end
	// time, for the rates' batch-means intervals.
	var ends []rateEvent
	for i := range reqs {
		r := &reqs[i]
		if r.Excluded {
			m.Requests.Excluded++
			continue
		}
		m.Requests.Total++
		sent++
		if firstSent < 0 || r.Sent < firstSent {
			firstSent = r.Sent
		}
		lastSent = max(lastSent, r.Sent)
		switch {
		case r.Incomplete:
			m.Requests.Incomplete++
			// Still waiting for its first token when the step was cut: its
			// wait so far is a lower bound of its TTFT. It was cut at its
			// end (a run pooled by extend ends before the step does).
			if cut := w.Stop; r.FirstToken == 0 && cut > r.Sent {
				if r.End > r.Sent && r.End < cut {
					cut = r.End
				}
				waiting = append(waiting, cut-r.Sent)
			}
			continue
		case r.Error != "":
			m.Requests.Errored++
			m.Errors.Reasons[r.Error]++
			queue = append(queue, r.Sent-r.Intended)
			lag = append(lag, r.Sent-r.Ready)
			if r.End > last {
				last = r.End
			}
			continue
		}
		m.Requests.Completed++
		if r.End > last {
			last = r.End
		}
		queue = append(queue, r.Sent-r.Intended)
		lag = append(lag, r.Sent-r.Ready)
		lat = append(lat, r.End-r.Sent)
		if r.FirstToken > 0 {
			ttft = append(ttft, r.FirstToken-r.Sent)
		}
		if t, ok := r.TPOT(); ok {
			tpot = append(tpot, t)
		}
		if r.FirstAnswer > 0 {
			ttfo = append(ttfo, r.FirstAnswer-r.Sent)
		}
		if t, ok := r.TPOTReasoning(); ok {
			tpotR = append(tpotR, t)
		}
		if t, ok := r.TPOTAnswer(); ok {
			tpotA = append(tpotA, t)
		}
		if r.Reasoned() {
			reasoned = true
			if !r.ReasoningReported {
				reasoningChunks = true
			}
		}
		phases.ReasoningTotal += r.ReasoningTokens
		phases.AnswerTotal += r.AnswerTokens()
		itl = append(itl, r.ITLs...)
		m.Tokens.PromptTotal += r.PromptTokens
		m.Tokens.OutputTotal += r.OutputTokens
		if !r.UsageReported {
			chunks = true
		}
		ev := rateEvent{at: r.End, out: r.OutputTokens, all: r.OutputTokens + r.PromptTokens, in: r.PromptTokens, inputs: r.Inputs}
		if r.Inputs > 0 {
			inputs.add(r.Inputs)
		}
		if w.SLO != nil && w.SLO.Meets(r) {
			good++
			ev.good = true
		}
		ends = append(ends, ev)
	}
	if len(m.Errors.Reasons) == 0 {
		m.Errors.Reasons = nil
	}
	m.Errors.Samples = errorSamples(reqs, m.Errors.Reasons)
	end := w.End
	if end <= 0 {
		end = last
		if last == 0 || (m.Requests.Incomplete > 0 && w.Stop > last) {
			end = w.Stop
		}
	}
	start := min(w.Start, end)
	window := end - start
	m.Duration = Duration(window)
	m.Confidence = conf
	if m.Requests.Total > 0 {
		// Before the distributions sort them: kept in the order sent.
		m.Samples = keepSamples(ttft, tpot, itl, lat, queue)
		if reasoned {
			m.Samples.TTFO, m.Samples.TPOTReasoning, m.Samples.TPOTAnswer = m.Samples.keep(ttfo), m.Samples.keep(tpotR), m.Samples.keep(tpotA)
		}
	}
	m.TTFT = NewDistributionAt(ttft, conf)
	m.TPOT = NewDistributionAt(tpot, conf)
	m.ITL = NewDistributionAt(itl, conf)
	m.Latency = NewDistributionAt(lat, conf)
	m.Queue = NewDistributionAt(queue, conf)
	m.ClientLag = NewDistributionAt(lag, conf)
	if len(waiting) > 0 {
		// ttft's p95 with the waiting requests counted at their wait so
		// far (ttft is sorted by now): the least an uncut step could show.
		all := append(append(make([]time.Duration, 0, len(ttft)+len(waiting)), ttft...), waiting...)
		slices.Sort(all)
		m.TTFTP95WithWaiting = Duration(Percentile(all, 95))
		d := NewDistribution(waiting)
		d.Confidence = 0 // facts about this cut, not estimates: no intervals
		m.Waiting = &d
		m.Requests.Waiting = len(waiting)
	}
	if reasoned {
		d1, d2, d3 := NewDistributionAt(ttfo, conf), NewDistributionAt(tpotR, conf), NewDistributionAt(tpotA, conf)
		m.TTFO, m.TPOTReasoning, m.TPOTAnswer = &d1, &d2, &d3
		phases.Source = "usage"
		if reasoningChunks {
			phases.Source = "chunks"
		}
		if c := m.Requests.Completed; c > 0 {
			phases.ReasoningMean = float64(phases.ReasoningTotal) / float64(c)
			phases.AnswerMean = float64(phases.AnswerTotal) / float64(c)
		}
		m.Tokens.Phases = &phases
	}
	m.Errors.Count = m.Requests.Errored
	done := m.Requests.Completed + m.Requests.Errored
	if done > 0 {
		m.Errors.Rate = float64(m.Requests.Errored) / float64(done)
	}
	if c := m.Requests.Completed; c > 0 {
		m.Tokens.PromptMean = float64(m.Tokens.PromptTotal) / float64(c)
		m.Tokens.OutputMean = float64(m.Tokens.OutputTotal) / float64(c)
	}
	sec := window.Seconds()
	var rates rateIntervals
	if sec > 0 {
		m.Requests.RatePerSec = float64(m.Requests.Completed) / sec
		m.Requests.SentRatePerSec = float64(sent) / sec
		if span := lastSent - firstSent; w.Paced && sent >= 2 && span >= time.Millisecond {
			m.Requests.SentRatePerSec = float64(sent-1) / span.Seconds()
		}
		m.Tokens.OutputRatePerSec = float64(m.Tokens.OutputTotal) / sec
		m.Tokens.TotalRatePerSec = float64(m.Tokens.OutputTotal+m.Tokens.PromptTotal) / sec
		m.Tokens.PromptRatePerSec = float64(m.Tokens.PromptTotal) / sec
		rates = batchRates(ends, start, end, conf)
		if !w.Paced {
			rates = littleRates(m, rates)
		}
		m.Requests.RateCI = rates.requests
		if m.Requests.Completed > 0 {
			m.Tokens.OutputRateCI, m.Tokens.TotalRateCI, m.Tokens.PromptRateCI = rates.output, rates.all, rates.prompt
		}
	}
	if lo, hi, ok := WilsonInterval(m.Requests.Errored, done, conf); ok {
		m.Errors.RateCI = &Interval{Lo: lo, Hi: hi}
	}
	m.Tokens.Source = "usage"
	if chunks {
		m.Tokens.Source = "chunks"
	}
	if w.SLO != nil {
		g := &Goodput{SLO: *w.SLO, Count: good}
		if sec > 0 {
			g.RatePerSec = float64(good) / sec
			g.RateCI = rates.good
		}
		if done > 0 {
			g.Ratio = float64(good) / float64(done)
		}
		if lo, hi, ok := WilsonInterval(good, done, conf); ok {
			g.RatioCI = &Interval{Lo: lo, Hi: hi}
		}
		m.Goodput = g
	}
	m.Inputs = inputs.counts(m.Requests.Completed, sec, rates)
	m.Concurrency = concurrency(reqs, start, end, w.Stop)
	m.Images = imageCounts(reqs)
	return m
}

// concurrency integrates the requests in flight over [start, end].
func concurrency(reqs []Request, start, end, stop time.Duration) Concurrency {
	if end <= start {
		return Concurrency{}
	}
	type event struct {
		at    time.Duration
		delta int
	}
	ev := make([]event, 0, 2*len(reqs))
	for i := range reqs {
		r := &reqs[i]
		from, to := r.Sent, r.End
		if r.Incomplete && stop > to {
			to = stop
		}
		if to <= start || from >= end || to <= from {
			continue
		}
		ev = append(ev, event{max(from, start), +1}, event{min(to, end), -1})
	}
	// Ends sort before starts at the same instant, so back-to-back
	// requests (a closed loop) do not count twice.
	slices.SortFunc(ev, func(a, b event) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.delta - b.delta
	})
	var c Concurrency
	var area float64
	cur := 0
	prev := start
	for _, e := range ev {
		area += float64(cur) * float64(e.at-prev)
		prev = e.at
		cur += e.delta
		if cur > c.Max {
			c.Max = cur
		}
	}
	c.Mean = area / float64(end-start)
	return c
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ReasonKeys returns the error reasons in a stable order.
func (e ErrorCounts) ReasonKeys() []string { return sortedKeys(e.Reasons) }

// rateEvent is a completion at its end time, with what it adds to each rate.
type rateEvent struct {
	at       time.Duration
	out, all int
	// in is the prompt tokens, inputs the embeddings inputs.
	in, inputs int
	good       bool
}

// RateBatches is how many equal batches of the measured window the
// batch-means interval of a rate uses.
const RateBatches = 10

type rateIntervals struct{ requests, output, all, good, prompt, inputs *Interval }

// batchRates bounds the rates of a window by the method of batch means
// (Law, Simulation Modeling and Analysis, 5th ed., §9.5.3). The batches
// cover the span from the first completion to the window's end, cut into
// RateBatches equal parts: before the first answer nothing can complete,
// and that start-up would dominate the spread of a paced load (Law's
// method assumes the transient was deleted). Each batch's rate is one
// observation; their Student t interval, relative to their mean, is the
// rate's relative interval. It follows the load: completions paced by a
// constant schedule vary little from batch to batch, a bursty server's a
// lot. The interval is never narrower than one completion in n, the
// count's own resolution. With fewer than two completions a batch on average the counts are
// too thin for batches, and the exact Poisson (Garwood) interval of the
// count is used instead, scaled to each rate by its mean per completion.
func batchRates(ends []rateEvent, start, end time.Duration, conf float64) rateIntervals {
	sec := (end - start).Seconds()
	n := len(ends)
	if sec <= 0 {
		return rateIntervals{}
	}
	var out rateIntervals
	first := end
	for _, e := range ends {
		first = min(first, e.at)
	}
	if n < 2*RateBatches || end <= first {
		lo, hi := PoissonInterval(n, conf)
		per := func(f func(e rateEvent) float64) *Interval {
			if n == 0 {
				return &Interval{Lo: 0, Hi: hi / sec}
			}
			tot := 0.0
			for _, e := range ends {
				tot += f(e)
			}
			m := tot / float64(n)
			return &Interval{Lo: lo / sec * m, Hi: hi / sec * m}
		}
		out.requests = per(func(rateEvent) float64 { return 1 })
		out.output = per(func(e rateEvent) float64 { return float64(e.out) })
		out.all = per(func(e rateEvent) float64 { return float64(e.all) })
		out.good = per(func(e rateEvent) float64 { return b2f(e.good) })
		out.prompt = per(func(e rateEvent) float64 { return float64(e.in) })
		out.inputs = per(func(e rateEvent) float64 { return float64(e.inputs) })
		return out
	}
	width := float64(end-first) / RateBatches
	var req, o, a, g, in, inp [RateBatches]float64
	for _, e := range ends {
		i := int(float64(e.at-first) / width)
		i = min(max(i, 0), RateBatches-1)
		req[i]++
		o[i] += float64(e.out)
		a[i] += float64(e.all)
		g[i] += b2f(e.good)
		in[i] += float64(e.in)
		inp[i] += float64(e.inputs)
	}
	iv := func(x [RateBatches]float64) *Interval {
		var mean, sq float64
		for _, v := range x {
			mean += v
		}
		mean /= RateBatches
		total := mean * RateBatches / sec // the rate, over the whole window
		if mean == 0 {
			return &Interval{Lo: 0, Hi: 0}
		}
		for _, v := range x {
			sq += (v - mean) * (v - mean)
		}
		lo, hi, _ := TInterval(mean, math.Sqrt(sq/(RateBatches-1)), RateBatches, conf)
		// Never surer than one completion in n: the count's own resolution
		// (perfectly paced completions have no spread between batches).
		res := 1 / float64(n)
		return &Interval{Lo: math.Max(math.Min(lo/mean, 1-res), 0) * total, Hi: math.Max(hi/mean, 1+res) * total}
	}
	return rateIntervals{iv(req), iv(o), iv(a), iv(g), iv(in), iv(inp)}
}

// littleRates bounds the rates of a closed loop (synchronous, concurrent,
// throughput) by Little's law (Little 1961): over a window that starts and
// ends with nothing in flight, completions per second are exactly the mean
// number in flight over the mean latency, X = L / W. A closed loop sets L
// itself, so the rate is as sure as the mean latency: its interval is the
// rate scaled by W / W_hi .. W / W_lo, with W's Student t interval. Batch
// means would read the waves in which a batching server finishes a closed
// loop's requests (all of a wave at once, with fixed output lengths) as
// noise, and a handful of waves as almost no information. Goodput keeps
// its batch-means interval. Without a latency interval, rates stay as
// they were.
func littleRates(m Metrics, rates rateIntervals) rateIntervals {
	w := m.Latency
	if w.Count < 2 || w.Confidence == 0 || w.MeanCI.LoOpen || w.MeanCI.HiOpen || w.MeanCI.Lo <= 0 {
		return rates
	}
	lo, hi := float64(w.Mean)/w.MeanCI.Hi, float64(w.Mean)/w.MeanCI.Lo
	scale := func(v float64) *Interval { return &Interval{Lo: v * lo, Hi: v * hi} }
	rates.requests = scale(m.Requests.RatePerSec)
	rates.output = scale(m.Tokens.OutputRatePerSec)
	rates.all = scale(m.Tokens.TotalRatePerSec)
	rates.prompt = scale(m.Tokens.PromptRatePerSec)
	rates.inputs = nil // made from requests' by InputCounts
	return rates
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
