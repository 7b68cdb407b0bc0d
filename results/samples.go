package results

import (
	"encoding/json"
	"time"
)

// MaxKeptSamples is the most samples of one distribution a step keeps in
// results.json. A larger sample is thinned to MaxKeptSamples evenly spaced
// in the order sent (a fractional stride), which keeps its shape and its
// correlation over time; tests on it are then as sure as a sample of that
// size, never surer than the data allows.
const MaxKeptSamples = 5000

// Samples are a step's per-request samples in the order the requests were
// sent (itl: request by request, chunk by chunk), as float milliseconds
// rounded to the microsecond: what `benchplan compare` and `baseline.*`
// gates test for significance (docs/metrics.md, "Regressions").
type Samples struct {
	TTFT    []float64 `json:"ttft_ms,omitempty"`
	TPOT    []float64 `json:"tpot_ms,omitempty"`
	ITL     []float64 `json:"itl_ms,omitempty"`
	Latency []float64 `json:"latency_ms,omitempty"`
	Queue   []float64 `json:"queue_ms,omitempty"`
	// TTFO, TPOTReasoning and TPOTAnswer are kept in a step in which some
	// answer had reasoning.
	TTFO          []float64 `json:"ttfo_ms,omitempty"`
	TPOTReasoning []float64 `json:"tpot_reasoning_ms,omitempty"`
	TPOTAnswer    []float64 `json:"tpot_answer_ms,omitempty"`
	// Thinned is true when a distribution had more than MaxKeptSamples.
	Thinned bool `json:"thinned,omitempty"`
}

// Of returns the kept samples of a distribution by its name (ttft, tpot,
// itl, latency, queue); nil when none were kept.
func (s *Samples) Of(name string) []float64 {
	if s == nil {
		return nil
	}
	switch name {
	case "ttft":
		return s.TTFT
	case "tpot":
		return s.TPOT
	case "itl":
		return s.ITL
	case "latency":
		return s.Latency
	case "queue":
		return s.Queue
	case "ttfo":
		return s.TTFO
	case "tpot_reasoning":
		return s.TPOTReasoning
	case "tpot_answer":
		return s.TPOTAnswer
	}
	return nil
}

// keepSamples copies duration samples, in the order sent, into Samples.
func keepSamples(ttft, tpot, itl, lat, queue []time.Duration) *Samples {
	s := &Samples{}
	s.TTFT, s.TPOT, s.ITL, s.Latency, s.Queue = s.keep(ttft), s.keep(tpot), s.keep(itl), s.keep(lat), s.keep(queue)
	return s
}

// keep copies samples, thinned to MaxKeptSamples (setting Thinned).
func (s *Samples) keep(d []time.Duration) []float64 {
	n := len(d)
	if n == 0 {
		return nil
	}
	k := min(n, MaxKeptSamples)
	if k < n {
		s.Thinned = true
	}
	out := make([]float64, k)
	for i := range out {
		out[i] = ms(d[i*n/k]) // every (n/k)-th, a fractional stride
	}
	return out
}

// MarshalJSON writes an interval as [lo, hi], null for an open side.
func (iv Interval) MarshalJSON() ([]byte, error) {
	var out [2]*float64
	if !iv.LoOpen {
		out[0] = &iv.Lo
	}
	if !iv.HiOpen {
		out[1] = &iv.Hi
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var in [2]*float64
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*iv = Interval{LoOpen: in[0] == nil, HiOpen: in[1] == nil}
	if in[0] != nil {
		iv.Lo = *in[0]
	}
	if in[1] != nil {
		iv.Hi = *in[1]
	}
	return nil
}
