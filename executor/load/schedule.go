package load

import (
	"math"
	"sync"
	"time"
)

// Schedule yields the intended send time of request i as an offset from the
// step's start. It is a pure function of i: the same i always gives the same
// offset, whatever was asked before, and offsets never decrease with i.
type Schedule interface {
	At(i int) time.Duration
}

// Constant spaces requests evenly at RatePerSec: request i is due at
// i / RatePerSec seconds.
type Constant struct {
	RatePerSec float64
}

// At returns i / RatePerSec seconds.
func (c Constant) At(i int) time.Duration {
	return time.Duration(math.Round(float64(i) / c.RatePerSec * 1e9))
}

// AllAtOnce makes every request due at the step's start (the throughput
// load): how many are in flight is left to a concurrency cap.
type AllAtOnce struct{}

// At returns 0.
func (AllAtOnce) At(int) time.Duration { return 0 }

// Poisson spaces requests by independent exponential gaps of mean
// 1/RatePerSec (a Poisson process). Gap k (between requests k and k+1) is
// drawn from a hash of (seed, k), so the schedule is reproducible for a
// seed and At(i) does not depend on the order of calls.
type Poisson struct {
	rate float64
	key  uint64

	mu sync.Mutex
	// marks[j] is the offset of request j*poissonMark, in seconds: At(i)
	// adds at most poissonMark-1 gaps to the nearest mark below i.
	marks []float64
	// last is the most recent answer, to make the common in-order walk O(1).
	lastI int
	lastT float64
}

const poissonMark = 1024

// NewPoisson returns the Poisson schedule of rate requests per second for
// seed.
func NewPoisson(rate float64, seed int64) *Poisson {
	return &Poisson{rate: rate, key: mix64(uint64(seed) ^ 0x5bd1e9955bd1e995), marks: []float64{0}}
}

// RatePerSec is the schedule's mean rate.
func (p *Poisson) RatePerSec() float64 { return p.rate }

// Gap returns the k-th gap in seconds: -ln(1-u)/rate with u uniform in
// [0, 1) drawn from (seed, k).
func (p *Poisson) Gap(k int) float64 {
	u := float64(mix64(p.key+uint64(k)*0x9e3779b97f4a7c15)>>11) / (1 << 53)
	return -math.Log1p(-u) / p.rate
}

// At returns the sum of the first i gaps.
func (p *Poisson) At(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Extend the marks up to i's.
	for len(p.marks) <= i/poissonMark {
		j := len(p.marks) - 1
		t := p.marks[j]
		for k := j * poissonMark; k < (j+1)*poissonMark; k++ {
			t += p.Gap(k)
		}
		p.marks = append(p.marks, t)
	}
	from, t := (i/poissonMark)*poissonMark, p.marks[i/poissonMark]
	if p.lastI > from && p.lastI <= i {
		from, t = p.lastI, p.lastT
	}
	for k := from; k < i; k++ {
		t += p.Gap(k)
	}
	p.lastI, p.lastT = i, t
	return time.Duration(math.Round(t * 1e9))
}

// MeanGap is a schedule's mean time between intended sends (1/rate), or 0
// for a schedule with no rate (AllAtOnce, or one this package does not
// know).
func MeanGap(s Schedule) time.Duration {
	var rate float64
	switch s := s.(type) {
	case Constant:
		rate = s.RatePerSec
	case *Constant:
		rate = s.RatePerSec
	case *Poisson:
		rate = s.RatePerSec()
	case interface{ MeanRatePerSec() float64 }: // ramps, traces
		rate = s.MeanRatePerSec()
	}
	if !(rate > 0) || math.IsInf(rate, 0) {
		return 0
	}
	if gap := math.Round(1e9 / rate); gap < math.MaxInt64 {
		return time.Duration(gap)
	}
	return math.MaxInt64
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// SweepRates returns n rates evenly spaced strictly between lo and hi:
// lo + (hi-lo)*k/(n+1) for k = 1..n.
func SweepRates(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for k := 1; k <= n; k++ {
		out[k-1] = lo + (hi-lo)*float64(k)/float64(n+1)
	}
	return out
}
