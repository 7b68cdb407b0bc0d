package load

import (
	"math"
	"math/bits"
	"time"
)

// never is the offset of a request a schedule never sends: later than any
// step's end.
const never = time.Duration(math.MaxInt64)

// Linear is an open load whose rate rises (or falls) linearly from
// FromPerSec to ToPerSec over Duration, then stays at ToPerSec. Request i
// is due at the time t where the expected count of requests so far,
// N(t) = ∫₀ᵗ r(s) ds, reaches i: the exact inverse of the rate's integral,
// so request 0 is due at 0 and no rounding accumulates.
type Linear struct {
	FromPerSec, ToPerSec float64
	Duration             time.Duration
}

// At returns the time at which N(t) = i.
func (l Linear) At(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	x := float64(i)
	d := l.Duration.Seconds()
	if d <= 0 {
		return seconds(x / l.ToPerSec)
	}
	total := (l.FromPerSec + l.ToPerSec) / 2 * d // N(d)
	if x > total {
		if !(l.ToPerSec > 0) {
			return never
		}
		return seconds(d + (x-total)/l.ToPerSec)
	}
	// a t² + b t - x = 0 with a = (to-from)/(2d), b = from; the root
	// 2x / (b + √(b² + 4ax)) is stable when a is small or negative.
	a := (l.ToPerSec - l.FromPerSec) / (2 * d)
	b := l.FromPerSec
	disc := math.Max(b*b+4*a*x, 0)
	den := b + math.Sqrt(disc)
	if !(den > 0) {
		return never
	}
	return seconds(2 * x / den)
}

// RatePerSecAt is the rate at offset t.
func (l Linear) RatePerSecAt(t time.Duration) float64 {
	if t >= l.Duration || l.Duration <= 0 {
		return l.ToPerSec
	}
	return l.FromPerSec + (l.ToPerSec-l.FromPerSec)*t.Seconds()/l.Duration.Seconds()
}

// MeanRatePerSec is the mean rate over the ramp.
func (l Linear) MeanRatePerSec() float64 { return (l.FromPerSec + l.ToPerSec) / 2 }

// Staged is an open load whose rate steps from FromPerSec to ToPerSec in
// Stages equal stages over Duration: stage k (0-based) runs at
// FromPerSec + (ToPerSec-FromPerSec)·k/(Stages-1) and lasts Duration/Stages;
// after the last stage the rate stays at ToPerSec. Request i is due where
// the integral of the rate reaches i, as for Linear: within a stage,
// requests are evenly spaced at its rate, and a stage's first request
// comes where the previous stage's count left off.
type Staged struct {
	FromPerSec, ToPerSec float64
	Duration             time.Duration
	Stages               int
}

// StageRatePerSec is stage k's rate (0-based).
func (s Staged) StageRatePerSec(k int) float64 {
	if s.Stages <= 1 {
		return s.ToPerSec
	}
	k = min(max(k, 0), s.Stages-1)
	return s.FromPerSec + (s.ToPerSec-s.FromPerSec)*float64(k)/float64(s.Stages-1)
}

// At returns the time at which the integral of the staged rate reaches i.
func (s Staged) At(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	x := float64(i)
	n := max(s.Stages, 1)
	stage := s.Duration.Seconds() / float64(n)
	before := 0.0 // requests expected before stage k
	for k := range n {
		r := s.StageRatePerSec(k)
		if in := r * stage; before+in >= x && r > 0 {
			return seconds(float64(k)*stage + (x-before)/r)
		} else {
			before += in
		}
	}
	if !(s.ToPerSec > 0) {
		return never
	}
	return seconds(float64(n)*stage + (x-before)/s.ToPerSec)
}

// MeanRatePerSec is the mean rate over the stages.
func (s Staged) MeanRatePerSec() float64 { return (s.FromPerSec + s.ToPerSec) / 2 }

// WindowOf is the 1-based window of a step of length d cut into n equal
// windows that offset at falls in: window k covers [k-1, k)·d/n. Offsets
// at or past d fall in window n; n < 1 gives 0 (no windows).
func WindowOf(at, d time.Duration, n int) int {
	if n < 1 || d <= 0 {
		return 0
	}
	if at < 0 {
		return 1
	}
	if at >= d {
		return n
	}
	// ⌊at·n/d⌋ + 1, exactly, in 128 bits.
	hi, lo := bits.Mul64(uint64(at), uint64(n))
	q, _ := bits.Div64(hi, lo, uint64(d))
	return int(q) + 1
}

// seconds converts seconds to a Duration, rounded to the nanosecond, and
// saturating.
func seconds(s float64) time.Duration {
	ns := math.Round(s * 1e9)
	if !(ns < math.MaxInt64) {
		return never
	}
	return time.Duration(ns)
}

// DueBefore counts the requests a schedule has due before offset d: the
// least i with At(i) >= d, found by bisection (At never decreases).
func DueBefore(s Schedule, d time.Duration) int {
	if s.At(0) >= d {
		return 0
	}
	hi := 1
	for s.At(hi) < d {
		if hi > math.MaxInt32 {
			return hi
		}
		hi *= 2
	}
	lo := hi / 2 // At(lo) < d <= At(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if s.At(mid) < d {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// WindowEnds are the ends of the n equal windows of a step of length d,
// as offsets from its start: window k (from 1, WindowOf) ends at ⌈k·d/n⌉,
// the first offset WindowOf puts in window k+1. n < 1 or d <= 0 gives none.
func WindowEnds(d time.Duration, n int) []time.Duration {
	if n < 1 || d <= 0 {
		return nil
	}
	ends := make([]time.Duration, n)
	for k := 1; k <= n; k++ {
		hi, lo := bits.Mul64(uint64(d), uint64(k))
		q, r := bits.Div64(hi, lo, uint64(n))
		if r != 0 {
			q++
		}
		ends[k-1] = time.Duration(q)
	}
	return ends
}
