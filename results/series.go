package results

import (
	"math"
	"slices"
	"time"
)

// This file holds what the reports draw beyond the summary figures: a
// step's activity over time (Series), the shape of its distributions
// (Histograms), telemetry sampled beside it (Telemetry), and what the run's
// servers were (ServerEnv). All of it is written to results.json, so a
// report rendered again from a saved result (`benchplan report`) has the
// same charts.

// Series is a step's activity over time, in buckets of equal width from the
// step's start: bucket i covers [i*Interval, (i+1)*Interval). Every request
// counts, warmup and cooldown ones included: the series shows what the
// server carried.
type Series struct {
	// Interval is the width of a bucket.
	Interval Duration `json:"interval_ms"`
	// InFlight is the time-weighted mean number of requests in flight in
	// each bucket (a request is in flight from sent to end).
	InFlight []float64 `json:"in_flight"`
	// Sent counts the requests sent in each bucket.
	Sent []int `json:"sent"`
	// Completed counts the requests that completed in each bucket.
	Completed []int `json:"completed"`
	// Errored counts the requests that failed in each bucket.
	Errored []int `json:"errored"`
	// OutputTokens is the output tokens received in each bucket. A
	// completed request's first token is placed at its first token's
	// arrival and the others spread evenly up to its last token's.
	OutputTokens []float64 `json:"output_tokens"`
}

// Len is the number of buckets.
func (s *Series) Len() int {
	if s == nil {
		return 0
	}
	return len(s.InFlight)
}

// SeriesInterval picks a bucket width for a step that lasted d: the
// smallest of 100ms, 200ms, 500ms, 1s, 2s, 5s, 10s, 15s, 30s, 1m, 2m, 5m,
// 10m, ... that makes at most 100 buckets.
func SeriesInterval(d time.Duration) time.Duration {
	steps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}
	for _, s := range steps {
		if d <= 100*s {
			return s
		}
	}
	iv := 10 * time.Minute
	for d > 100*iv {
		iv *= 2
	}
	return iv
}

// ComputeSeries buckets a step's request records over time. end is when
// the step stopped; the series runs to end or to the last request's end,
// whichever is later. A request still in flight at the stop (incomplete)
// is in flight until end. It returns nil when there is nothing to show.
func ComputeSeries(reqs []Request, end time.Duration) *Series {
	last := end
	for i := range reqs {
		last = max(last, reqs[i].End, reqs[i].Sent)
	}
	if last <= 0 || len(reqs) == 0 {
		return nil
	}
	iv := SeriesInterval(last)
	n := int((last + iv - 1) / iv)
	s := &Series{
		Interval:     Duration(iv),
		InFlight:     make([]float64, n),
		Sent:         make([]int, n),
		Completed:    make([]int, n),
		Errored:      make([]int, n),
		OutputTokens: make([]float64, n),
	}
	bucket := func(t time.Duration) int { return min(max(int(t/iv), 0), n-1) }
	inflight := newSpreader(n, iv)
	tokens := newSpreader(n, iv)
	for i := range reqs {
		r := &reqs[i]
		s.Sent[bucket(r.Sent)]++
		to := r.End
		if r.Incomplete && end > to {
			to = end
		}
		inflight.add(r.Sent, to, float64(to-r.Sent)/float64(iv))
		switch {
		case r.Incomplete:
		case r.Error != "":
			s.Errored[bucket(r.End)]++
		default:
			s.Completed[bucket(r.End)]++
			if r.OutputTokens > 0 && r.FirstToken > 0 {
				s.OutputTokens[bucket(r.FirstToken)]++
				rest := float64(r.OutputTokens - 1)
				if rest > 0 {
					if r.LastToken > r.FirstToken {
						tokens.add(r.FirstToken, r.LastToken, rest)
					} else {
						s.OutputTokens[bucket(r.FirstToken)] += rest
					}
				}
			}
		}
	}
	inflight.sum(s.InFlight)
	tokens.sum(s.OutputTokens)
	for i := range s.InFlight {
		s.InFlight[i] = round3(s.InFlight[i])
		s.OutputTokens[i] = round3(s.OutputTokens[i])
	}
	return s
}

// spreader spreads amounts evenly over time intervals into buckets, in
// time proportional to the intervals' length rather than to the buckets
// they touch: whole buckets go through a difference array.
type spreader struct {
	iv   time.Duration
	part []float64
	diff []float64 // per-bucket amount for whole buckets, as differences
}

func newSpreader(n int, iv time.Duration) *spreader {
	return &spreader{iv: iv, part: make([]float64, n), diff: make([]float64, n+1)}
}

// add spreads amount evenly over [from, to).
func (s *spreader) add(from, to time.Duration, amount float64) {
	n := len(s.part)
	if to <= from || amount == 0 {
		return
	}
	from = max(from, 0)
	per := amount / float64(to-from) // per nanosecond
	i0, i1 := int(from/s.iv), int(to/s.iv)
	if i0 >= n {
		s.part[n-1] += amount
		return
	}
	if i1 >= n {
		i1, to = n-1, time.Duration(n)*s.iv
	}
	if i0 == i1 {
		s.part[i0] += per * float64(to-from)
		return
	}
	s.part[i0] += per * float64(time.Duration(i0+1)*s.iv-from)
	s.part[i1] += per * float64(to-time.Duration(i1)*s.iv)
	if i1 > i0+1 {
		whole := per * float64(s.iv)
		s.diff[i0+1] += whole
		s.diff[i1] -= whole
	}
}

// sum adds the spread amounts into out.
func (s *spreader) sum(out []float64) {
	run := 0.0
	for i := range out {
		run += s.diff[i]
		out[i] += s.part[i] + run
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Histograms are the shapes of a step's per-request distributions, over
// its measured requests (the samples of Metrics' distributions).
type Histograms struct {
	TTFT    *Histogram `json:"ttft,omitempty"`
	TPOT    *Histogram `json:"tpot,omitempty"`
	Latency *Histogram `json:"latency,omitempty"`
}

// Histogram counts samples in bins of equal width: bin i covers
// [Start + i*Width, Start + (i+1)*Width). Samples beyond the last bin (a
// long tail, cut so it does not squeeze the rest) are counted in Overflow.
type Histogram struct {
	Start    Duration `json:"start_ms"`
	Width    Duration `json:"width_ms"`
	Counts   []int    `json:"counts"`
	Overflow int      `json:"overflow,omitempty"`
}

// MaxBins is the most bins NewHistogram makes.
const MaxBins = 40

// NewHistogram bins samples: about 2 * n^(1/3) bins (Rice's rule; at
// least 10, at most MaxBins) of a round width. When the top 0.5% of the
// samples spans more than the rest (a far tail that would squeeze every
// other bin into one), the bins stop at the last sample within twice the
// span of the rest and the samples beyond are counted in Overflow. It
// sorts samples in place and returns nil when there are none.
func NewHistogram(samples []time.Duration) *Histogram {
	if len(samples) == 0 {
		return nil
	}
	slices.Sort(samples)
	lo, hi := samples[0], samples[len(samples)-1]
	if p := Percentile(samples, 99.5); hi-p > p-lo {
		// A far tail: bins end at the last sample within twice the
		// body's span (lo to the 99.5th percentile).
		limit := p + (p - lo)
		i, _ := slices.BinarySearch(samples, limit+1)
		hi = samples[max(i-1, 0)]
	}
	// Rice's rule (2 * n^(1/3) bins), between 10 and MaxBins.
	bins := min(max(int(math.Ceil(2*math.Cbrt(float64(len(samples))))), 10), MaxBins)
	width := niceDuration(float64(hi-lo) / float64(bins))
	if hi == lo {
		width = niceDuration(math.Max(float64(lo), float64(time.Millisecond)) / 20)
	}
	start := lo / width * width
	bins = min(int((hi-start)/width)+1, MaxBins+1)
	h := &Histogram{Start: Duration(start), Width: Duration(width), Counts: make([]int, bins)}
	for _, v := range samples {
		i := int((v - start) / width)
		if v > hi || i >= bins {
			h.Overflow++
			continue
		}
		h.Counts[i]++
	}
	return h
}

// niceDuration rounds d (nanoseconds) up to 1, 2 or 5 times a power of ten,
// at least a microsecond.
func niceDuration(d float64) time.Duration {
	if d <= float64(time.Microsecond) {
		return time.Microsecond
	}
	exp := math.Pow(10, math.Floor(math.Log10(d)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*exp >= d {
			return time.Duration(m * exp)
		}
	}
	return time.Duration(10 * exp)
}

// ComputeHistograms bins the measured, completed requests' ttft, tpot and
// latency (the samples of Metrics.TTFT, TPOT and Latency). It returns nil
// when no request completed.
func ComputeHistograms(reqs []Request) *Histograms {
	var ttft, tpot, lat []time.Duration
	for i := range reqs {
		r := &reqs[i]
		if r.Excluded || !r.OK() {
			continue
		}
		lat = append(lat, r.End-r.Sent)
		if r.FirstToken > 0 {
			ttft = append(ttft, r.FirstToken-r.Sent)
		}
		if t, ok := r.TPOT(); ok {
			tpot = append(tpot, t)
		}
	}
	if len(lat) == 0 {
		return nil
	}
	return &Histograms{TTFT: NewHistogram(ttft), TPOT: NewHistogram(tpot), Latency: NewHistogram(lat)}
}

// Telemetry is one quantity sampled beside a step: a server metric
// (vLLM's num_requests_running, kv_cache_usage_perc) or a GPU's
// (utilisation, memory used). Reports draw one chart per Name, one line per
// Label.
type Telemetry struct {
	// Name identifies the quantity: "server.num_requests_running",
	// "gpu.utilization", "gpu.memory_used".
	Name string `json:"name"`
	// Label tells series of one Name apart ("GPU 0", a server's name).
	Label string `json:"label,omitempty"`
	// Source is where the samples came from ("vllm /metrics", "nvidia-smi").
	Source string `json:"source,omitempty"`
	// Unit is the values' unit: "%", "bytes", "requests", "fraction", ...
	Unit string `json:"unit,omitempty"`
	// At holds each sample's time as an offset from the step's start.
	At []Duration `json:"at_ms"`
	// Values holds the samples, one per At.
	Values []float64 `json:"values"`
}

// ServerEnv describes a server the run used.
type ServerEnv struct {
	// Name is the server's name in the plan.
	Name string `json:"name"`
	// Kind is container, kubernetes, process, url or sim.
	Kind string `json:"kind"`
	// Image is the container image, and Digest its content digest when known.
	Image  string `json:"image,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Model is the model the server was asked to load, or the one it served.
	Model string `json:"model,omitempty"`
	// Args are the server's extra command-line arguments (secrets redacted).
	Args []string `json:"args,omitempty"`
	// Version is the server's own version when it reports one.
	Version string `json:"version,omitempty"`
	// Pod is a Kubernetes server's pod (namespace/name), Node the node it
	// ran on and GPU that node's GPU model (label nvidia.com/gpu.product).
	Pod  string `json:"pod,omitempty"`
	Node string `json:"node,omitempty"`
	GPU  string `json:"gpu,omitempty"`
	// Simulated is true when the built-in simulator answered in this
	// server's place: a `sim:` server, or one that --simulate replaced. Its
	// figures are a dry run, not a measurement of a real server.
	Simulated bool `json:"simulated,omitempty"`
	// SimProfile is the simulator's profile (a simulated model and GPU,
	// e.g. phi-3.5-mini-a100); empty for the plain simulator.
	SimProfile string `json:"sim_profile,omitempty"`
	// SimCalibration says how the profile compares with published
	// measurements: engine generation, sources, error band (see
	// docs/simulator.md); empty without a profile.
	SimCalibration string `json:"sim_calibration,omitempty"`
	// Replaces describes the server that --simulate replaced, as the plan
	// declared it; nil when the plan itself declared a `sim:` server.
	Replaces *ReplacedServer `json:"replaces,omitempty"`
}

// ReplacedServer is a server of the plan that --simulate replaced with the
// simulator: what the dry run stands in for.
type ReplacedServer struct {
	// Kind is container, process or url.
	Kind string `json:"kind"`
	// Preset is the container preset (vllm, tgi), if any.
	Preset string `json:"preset,omitempty"`
	// Image is the container image the plan named, if any.
	Image string `json:"image,omitempty"`
	// Model is the model the server would have served, when known.
	Model string `json:"model,omitempty"`
}
