package results

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// This file holds the statistics behind every interval and every
// significance test benchplan reports. docs/metrics.md ("Uncertainty")
// names each method and why it was chosen; stats_test.go checks each
// against reference values computed with SciPy.

// DefaultConfidence is the confidence of every interval when the plan does
// not set one.
const DefaultConfidence = 0.95

// QuantileRanks returns the 0-based ranks lo and hi of the order
// statistics that bound the p-quantile (0 < p < 1) of a sample of n with at
// least the given confidence: the distribution-free interval of
// Conover (1999, §3.2) and Hahn & Meeker (1991, §5.2), built from the
// binomial distribution of how many samples fall below the quantile, with
// at most (1-confidence)/2 of probability outside each side. loOK (hiOK) is
// false when n is too small to bound that side: then even the smallest
// (largest) sample is not below (above) the quantile with that confidence.
func QuantileRanks(n int, p, confidence float64) (lo, hi int, loOK, hiOK bool) {
	if n <= 0 || p <= 0 || p >= 1 {
		return 0, 0, false, false
	}
	tail := (1 - confidence) / 2
	b := distuv.Binomial{N: float64(n), P: p}
	cdf := func(k int) float64 {
		if k < 0 {
			return 0
		}
		if k >= n {
			return 1
		}
		return b.CDF(float64(k))
	}
	// Lower: the largest r (1-based) with P(Bin < r) = cdf(r-1) <= tail.
	// cdf is increasing, so search for the first r where it exceeds tail.
	r := sort.Search(n+1, func(r int) bool { return cdf(r-1) > tail*(1+1e-12) })
	// r is the first failing r; the last passing one is r-1.
	if r-1 >= 1 {
		lo, loOK = r-2, true
	}
	// Upper: the smallest s (1-based) with P(Bin <= s-1) = cdf(s-1) >= 1-tail.
	s := sort.Search(n+1, func(s int) bool { return s >= 1 && cdf(s-1) >= (1-tail)*(1-1e-12) })
	if s >= 1 && s <= n {
		hi, hiOK = s-1, true
	}
	return lo, hi, loOK, hiOK
}

// MinSamples is the smallest sample that bounds the p-quantile on both
// sides at the confidence: below it, QuantileRanks leaves a side open.
func MinSamples(p, confidence float64) int {
	tail := (1 - confidence) / 2
	// Both sides need max(p, 1-p)^n <= tail.
	q := math.Max(p, 1-p)
	return int(math.Ceil(math.Log(tail) / math.Log(q)))
}

// TInterval returns the Student t interval for the mean of a sample with
// the given mean, standard deviation (n-1 denominator) and size. For n < 2
// it returns ok false.
func TInterval(mean, sd float64, n int, confidence float64) (lo, hi float64, ok bool) {
	if n < 2 {
		return 0, 0, false
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(1 - (1-confidence)/2)
	h := t * sd / math.Sqrt(float64(n))
	return mean - h, mean + h, true
}

// PoissonInterval returns the exact (Garwood 1936) interval for the mean of
// a Poisson count k: the chi-square quantiles χ²(α/2; 2k)/2 and
// χ²(1-α/2; 2k+2)/2. Divide by an exposure (seconds) to bound a rate.
func PoissonInterval(k int, confidence float64) (lo, hi float64) {
	a := 1 - confidence
	if k > 0 {
		lo = distuv.ChiSquared{K: float64(2 * k)}.Quantile(a/2) / 2
	}
	hi = distuv.ChiSquared{K: float64(2*k + 2)}.Quantile(1-a/2) / 2
	return lo, hi
}

// WilsonInterval returns the Wilson (1927) score interval for a proportion
// of k successes in n trials; ok is false for n = 0. It keeps its coverage
// near the nominal level even at 0 or n successes, where the Wald interval
// collapses to a point.
func WilsonInterval(k, n int, confidence float64) (lo, hi float64, ok bool) {
	if n <= 0 {
		return 0, 0, false
	}
	z := zQuantile(1 - (1-confidence)/2)
	nf := float64(n)
	p := float64(k) / nf
	den := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	lo, hi = math.Max(0, centre-half), math.Min(1, centre+half)
	if k == 0 {
		lo = 0 // exactly, not a rounding error above it
	}
	if k == n {
		hi = 1
	}
	return lo, hi, true
}

// NewcombeDiff returns Newcombe's (1998, method 10) hybrid score interval
// for the difference p2 - p1 of two independent proportions k1/n1 and
// k2/n2, built from their Wilson intervals.
func NewcombeDiff(k1, n1, k2, n2 int, confidence float64) (lo, hi float64, ok bool) {
	l1, u1, ok1 := WilsonInterval(k1, n1, confidence)
	l2, u2, ok2 := WilsonInterval(k2, n2, confidence)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	d := p2 - p1
	lo = d - math.Sqrt((p2-l2)*(p2-l2)+(u1-p1)*(u1-p1))
	hi = d + math.Sqrt((u2-p2)*(u2-p2)+(p1-l1)*(p1-l1))
	return lo, hi, true
}

// ZQuantile is the standard normal quantile.
func ZQuantile(q float64) float64 { return distuv.UnitNormal.Quantile(q) }

func zQuantile(q float64) float64 { return ZQuantile(q) }

// MinBootstrapSamples is the smallest sample RatioInterval tests: below
// it a block bootstrap has too few blocks to see the variance, and its
// intervals come out far too narrow (a 95% interval of a median ratio
// covered 48% of the time at n = 5, 86% at n = 20).
const MinBootstrapSamples = 30

// RatioInterval returns an interval for stat(head) / stat(base) of two
// runs from a moving-block bootstrap (Künsch 1989; Lahiri, Resampling
// Methods for Dependent Data, 2003, ch. 2): `resamples` replicates drawn
// with a fixed seed (so that the same samples always give the same
// interval) give the standard error of log(stat(head)/stat(base)), and the
// interval is the observed ratio times exp(±z·se). The normal interval on
// the log scale stays accurate at the far tails a Bonferroni-corrected
// confidence asks for, where the percentiles of a few thousand replicates
// would rest on a handful of them. stat is the p-percentile (0..100,
// Percentile's interpolation), or the mean when p is 0. ok is false when
// either run has fewer than MinBootstrapSamples samples or a stat is not
// positive.
//
// The samples must be in the order the requests were sent. Requests that
// share a server's batch or queue are correlated, and resampling blocks of
// consecutive requests (⌈√n⌉ long) keeps that correlation, where
// resampling single requests would understate the variance and call noise
// a change. When the runs are about as long (within 10%), the blocks are
// drawn at the same positions in both (a paired bootstrap over the common
// length): two runs of one plan send the same prompts at the same times,
// so a burst in the workload falls in both and is not mistaken for a
// change; for unrelated runs pairing by position is still a valid
// resampling of the two, only no sharper.
func RatioInterval(base, head []float64, p, confidence float64, resamples int, seed uint64) (lo, hi float64, ok bool) {
	logRatio, se, ok := LogRatioSE(base, head, p, resamples, seed)
	if !ok {
		return 0, 0, false
	}
	z := ZQuantile(1 - (1-confidence)/2)
	return math.Exp(logRatio - z*se), math.Exp(logRatio + z*se), true
}

// LogRatioSE returns log(stat(head)/stat(base)) and its block-bootstrap
// standard error, from which RatioInterval makes an interval at any
// confidence (see there for the method and its conditions).
func LogRatioSE(base, head []float64, p float64, resamples int, seed uint64) (logRatio, se float64, ok bool) {
	if len(base) < MinBootstrapSamples || len(head) < MinBootstrapSamples {
		return 0, 0, false
	}
	b0 := statistic(slices.Clone(base), p)
	h0 := statistic(slices.Clone(head), p)
	if b0 <= 0 || h0 <= 0 {
		return 0, 0, false
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	paired := math.Abs(float64(len(base)-len(head))) <= 0.1*float64(max(len(base), len(head)))
	if paired {
		n := min(len(base), len(head))
		base, head = base[:n], head[:n]
	}
	bb, hb := make([]float64, len(base)), make([]float64, len(head))
	bs, hs := make([]int, blockCount(len(base))), make([]int, blockCount(len(head)))
	var sum, sq float64
	k := 0
	for range resamples {
		blockStarts(len(base), bs, rng)
		if paired {
			copy(hs, bs)
		} else {
			blockStarts(len(head), hs, rng)
		}
		b := statistic(fillBlocks(base, bb, bs), p)
		h := statistic(fillBlocks(head, hb, hs), p)
		if b <= 0 || h <= 0 {
			continue
		}
		r := math.Log(h / b)
		sum += r
		sq += r * r
		k++
	}
	if k < resamples/2 || k < 2 {
		return 0, 0, false
	}
	mean := sum / float64(k)
	se = math.Sqrt(math.Max(sq/float64(k)-mean*mean, 0) * float64(k) / float64(k-1))
	return math.Log(h0 / b0), se, true
}

// blockLen is the moving-block bootstrap's block length for n samples.
func blockLen(n int) int { return int(math.Ceil(math.Sqrt(float64(n)))) }

// blockCount is how many blocks make one replicate of n samples.
func blockCount(n int) int {
	l := blockLen(n)
	return (n + l - 1) / l
}

// blockStarts draws the random starts of one replicate's blocks into starts.
func blockStarts(n int, starts []int, rng *rand.Rand) {
	l := blockLen(n)
	for i := range starts {
		starts[i] = rng.IntN(n - l + 1)
	}
}

// fillBlocks fills buf with the blocks of x at starts and returns it.
func fillBlocks(x, buf []float64, starts []int) []float64 {
	l := blockLen(len(x))
	i := 0
	for _, s := range starts {
		i += copy(buf[i:], x[s:s+l])
	}
	return buf
}

// statistic is the p-percentile (Percentile's interpolation) of x, or its
// mean when p is 0; it reorders x.
func statistic(x []float64, p float64) float64 {
	if p == 0 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	rank := p / 100 * float64(len(x)-1)
	k := int(math.Floor(rank))
	v := selectK(x, k)
	if frac := rank - float64(k); frac > 0 && k+1 < len(x) {
		// After selection x[k+1:] holds the larger values: the next order
		// statistic is their minimum.
		next := x[k+1]
		for _, w := range x[k+2:] {
			next = math.Min(next, w)
		}
		return v + frac*(next-v)
	}
	return v
}

// selectK returns the k-th smallest value of x (0-based), reordering x so
// that x[:k] <= x[k] <= x[k+1:] (Hoare's selection, median-of-three
// pivots): O(n) on average.
func selectK(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}
