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

	Requests RequestCounts `json:"requests"`
	Errors   ErrorCounts   `json:"errors"`
	Tokens   TokenCounts   `json:"tokens"`
	// Concurrency is the number of requests in flight, time-weighted over
	// the measured window.
	Concurrency Concurrency `json:"concurrency"`
	// Goodput counts the requests that met every bound of the scenario's
	// slo; nil when the scenario has none.
	Goodput *Goodput `json:"goodput,omitempty"`
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
	// Excluded counts the requests of the warmup and cooldown, which are in
	// none of the other counts.
	Excluded int `json:"excluded,omitempty"`
	// RatePerSec is completed requests per second of the measured window.
	RatePerSec float64 `json:"rate_per_sec"`
	// SentRatePerSec is requests sent per second of the measured window
	// (what the client achieved, whatever the server did).
	SentRatePerSec float64 `json:"sent_rate_per_sec"`
}

// ErrorCounts counts a step's failed requests.
type ErrorCounts struct {
	Count int `json:"count"`
	// Rate is errored / (completed + errored), a fraction in [0, 1].
	Rate float64 `json:"rate"`
	// Reasons counts errors by reason ("http 500", "timeout", ...).
	Reasons map[string]int `json:"reasons,omitempty"`
}

// TokenCounts sums the tokens of completed requests.
type TokenCounts struct {
	PromptTotal int     `json:"prompt_total"`
	PromptMean  float64 `json:"prompt_mean"`
	OutputTotal int     `json:"output_total"`
	OutputMean  float64 `json:"output_mean"`
	// OutputRatePerSec is output tokens per second of the measured window.
	OutputRatePerSec float64 `json:"output_rate_per_sec"`
	// TotalRatePerSec is prompt + output tokens per second of the window.
	TotalRatePerSec float64 `json:"total_rate_per_sec"`
	// Source is "usage" when every count came from the server's usage, or
	// "chunks" when some output counts are content-chunk counts.
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
// ranks (numpy's default, the definition vLLM's benchmark uses).
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
}

// MarshalJSON writes every figure as float milliseconds (keys end in _ms).
func (d Distribution) MarshalJSON() ([]byte, error) {
	return json.Marshal(distJSON{d.Count, ms(d.Mean), ms(d.Std), ms(d.Min), ms(d.Max),
		ms(d.P50), ms(d.P90), ms(d.P95), ms(d.P99), ms(d.P999)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Distribution) UnmarshalJSON(b []byte) error {
	var j distJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	f := func(v float64) time.Duration { return time.Duration(math.Round(v * 1e6)) }
	*d = Distribution{j.Count, f(j.Mean), f(j.Std), f(j.Min), f(j.Max), f(j.P50), f(j.P90), f(j.P95), f(j.P99), f(j.P999)}
	return nil
}

// NewDistribution summarises samples; it sorts them in place.
func NewDistribution(samples []time.Duration) Distribution {
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
	return Distribution{
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
	var m Metrics
	var ttft, tpot, itl, lat, queue, lag []time.Duration
	var last time.Duration
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
	for i := range reqs {
		r := &reqs[i]
		if r.Excluded {
			m.Requests.Excluded++
			continue
		}
		m.Requests.Total++
		sent++
		switch {
		case r.Incomplete:
			m.Requests.Incomplete++
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
		itl = append(itl, r.ITLs...)
		m.Tokens.PromptTotal += r.PromptTokens
		m.Tokens.OutputTotal += r.OutputTokens
		if !r.UsageReported {
			chunks = true
		}
		if w.SLO != nil && w.SLO.Meets(r) {
			good++
		}
	}
	if len(m.Errors.Reasons) == 0 {
		m.Errors.Reasons = nil
	}
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
	m.TTFT = NewDistribution(ttft)
	m.TPOT = NewDistribution(tpot)
	m.ITL = NewDistribution(itl)
	m.Latency = NewDistribution(lat)
	m.Queue = NewDistribution(queue)
	m.ClientLag = NewDistribution(lag)
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
	if sec > 0 {
		m.Requests.RatePerSec = float64(m.Requests.Completed) / sec
		m.Requests.SentRatePerSec = float64(sent) / sec
		m.Tokens.OutputRatePerSec = float64(m.Tokens.OutputTotal) / sec
		m.Tokens.TotalRatePerSec = float64(m.Tokens.OutputTotal+m.Tokens.PromptTotal) / sec
	}
	m.Tokens.Source = "usage"
	if chunks {
		m.Tokens.Source = "chunks"
	}
	if w.SLO != nil {
		g := &Goodput{SLO: *w.SLO, Count: good}
		if sec > 0 {
			g.RatePerSec = float64(good) / sec
		}
		if done > 0 {
			g.Ratio = float64(good) / float64(done)
		}
		m.Goodput = g
	}
	m.Concurrency = concurrency(reqs, start, end, w.Stop)
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
