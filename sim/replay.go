package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// This file replays a workload through the engine model on its own clock,
// without HTTP and without waiting for the real time: what the calibration
// test (calibration_test.go) runs at each published condition. The engine
// is the one the server runs; only its clock is virtual.

// replayLoad is a workload offered to a replayed engine, the way the
// published benchmarks offer it.
type replayLoad struct {
	// Scenario is publishedLatency or publishedOffline (all requests at
	// once, no API server), publishedConcurrency (a closed loop of
	// Concurrency streams through the API server) or publishedPoisson
	// (Poisson arrivals at RatePerS through the API server).
	Scenario    string
	Requests    int
	Concurrency int
	RatePerS    float64
	// InputTokens and OutputTokens are the requests' median lengths;
	// with InputSigma or OutputSigma above zero each request's length is
	// drawn from a log-normal distribution with that median and that σ of
	// its logarithm, else every request has the median. OutputTokens are
	// generated in full (no early stop), up to MaxOutputTokens when set.
	InputTokens, OutputTokens int
	InputSigma, OutputSigma   float64
	MaxOutputTokens           int
	// Seed seeds the Poisson arrivals and the lengths.
	Seed uint64
	// OfflineOverhead is, for latency and offline batches, the time the
	// offline API takes before the engine sees the batch and after it
	// ends (they bypass the API server's FrontendLatency).
	OfflineOverhead time.Duration
}

// replayed is what a replay measured, the way the published benchmarks
// report it: per request TTFT from the request's arrival at the server
// and TPOT = (e2e − TTFT)/(output − 1); the run's span from the first
// arrival to the last token.
type replayed struct {
	TTFT, TPOT []time.Duration // per request, sorted
	Span       time.Duration
	Outputs    int // generated tokens
	Inputs     int // prompt tokens
	// PromptTokensCounted is the engine's prompt token counter (what
	// vllm:prompt_tokens_total would say).
	PromptTokensCounted int
	// Preemptions counts sequences preempted for KV-cache room.
	Preemptions int
	// Unfinished counts requests the engine never completed (a prompt
	// its KV cache cannot hold): the figures then leave them out.
	Unfinished int
}

// OutputTokensPerS is generated tokens per second over the span.
func (r replayed) OutputTokensPerS() float64 { return float64(r.Outputs) / r.Span.Seconds() }

// TotalTokensPerS is prompt and generated tokens per second over the span.
func (r replayed) TotalTokensPerS() float64 {
	return float64(r.Inputs+r.Outputs) / r.Span.Seconds()
}

// quantile is the q-quantile of sorted durations by linear interpolation
// between closest ranks (numpy's default, as vLLM's benchmarks compute
// percentiles), in milliseconds.
func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	hi := min(lo+1, len(sorted)-1)
	v := float64(sorted[lo]) + (h-float64(lo))*float64(sorted[hi]-sorted[lo])
	return v / 1e6
}

// replay runs load through an engine configured by cfg on a virtual clock
// and returns what it measured. Requests through the API server (closed
// loop, Poisson) reach the engine cfg.FrontendLatency after they arrive;
// offline and latency batches are handed to the engine directly, as
// LLM.generate does.
func replay(cfg Config, load replayLoad) replayed {
	cfg.sanitize()
	m := newMetrics(&cfg, true, cfg.KVCacheBudget()/cfg.blockSize())
	e := newEngine(&cfg, m)
	e.virtual = true
	t0 := time.Unix(0, 0)
	e.vnow = t0
	frontend := cfg.FrontendLatency
	if load.Scenario == publishedLatency || load.Scenario == publishedOffline {
		frontend = load.OfflineOverhead
	}
	type req struct {
		s      *seq
		at     time.Time // arrival at the server
		submit time.Time // arrival at the engine
	}
	var pending []req // by submit time
	var inflight []req
	var out replayed
	issued := 0
	lengths := rand.New(rand.NewPCG(load.Seed, 0x5851f42d4c957f2d))
	draw := func(median int, sigma float64) int {
		if sigma <= 0 {
			return median
		}
		return max(1, int(math.Round(float64(median)*math.Exp(sigma*lengths.NormFloat64()))))
	}
	issue := func(at time.Time) {
		in, out := draw(load.InputTokens, load.InputSigma), draw(load.OutputTokens, load.OutputSigma)
		if load.MaxOutputTokens > 0 {
			out = min(out, load.MaxOutputTokens)
		}
		s := &seq{arrival: at, ready: at.Add(frontend), prompt: in, maxOut: out, out: out, fin: finLength, notify: make(chan struct{}, 1)}
		r := req{s: s, at: at, submit: at.Add(frontend)}
		i, _ := slices.BinarySearchFunc(pending, r.submit, func(p req, t time.Time) int { return p.submit.Compare(t) })
		pending = slices.Insert(pending, i, r)
		issued++
	}
	switch load.Scenario {
	case publishedPoisson:
		rng := rand.New(rand.NewPCG(load.Seed, 0x9e3779b97f4a7c15))
		at := t0
		for range load.Requests {
			issue(at)
			at = at.Add(time.Duration(rng.ExpFloat64() / load.RatePerS * 1e9))
		}
	case publishedConcurrency:
		for range min(max(load.Concurrency, 1), load.Requests) {
			issue(t0)
		}
	default:
		for range load.Requests {
			issue(t0)
		}
	}
	var last time.Time
	for len(pending) > 0 || len(inflight) > 0 {
		n := 0
		for _, r := range pending {
			if r.submit.After(e.vnow) {
				break
			}
			e.waiting = append(e.waiting, r.s)
			inflight = append(inflight, r)
			n++
		}
		pending = pending[n:]
		if !e.busy() {
			if len(pending) == 0 {
				break // in flight but not in the engine: cannot happen
			}
			e.vnow = pending[0].submit
			continue
		}
		before := e.vnow
		e.once()
		if e.vnow.Equal(before) {
			// Nothing could run (a prompt the KV cache cannot hold, or an
			// engine without costs): go on at the next arrival, or stop.
			if len(pending) == 0 {
				break
			}
			e.vnow = pending[0].submit
		}
		k := 0
		for _, r := range inflight {
			if r.s.gen < r.s.out {
				inflight[k] = r
				k++
				continue
			}
			ttft := r.s.first.Sub(r.at)
			out.TTFT = append(out.TTFT, ttft)
			if r.s.out > 1 {
				out.TPOT = append(out.TPOT, (r.s.last.Sub(r.at)-ttft)/time.Duration(r.s.out-1))
			}
			out.Outputs += r.s.gen
			out.Inputs += r.s.prompt
			last = r.s.last
			if load.Scenario == publishedConcurrency && issued < load.Requests {
				issue(r.s.last)
			}
		}
		clear(inflight[k:])
		inflight = inflight[:k]
	}
	out.Span = last.Sub(t0)
	out.PromptTokensCounted = int(m.promptToks.Load())
	out.Preemptions = int(m.preemptions.Load())
	out.Unfinished = issued - len(out.TTFT)
	if load.Scenario == publishedConcurrency {
		out.Unfinished = load.Requests - len(out.TTFT)
	}
	slices.Sort(out.TTFT)
	slices.Sort(out.TPOT)
	return out
}
