package results

import (
	"math"
	"math/rand/v2"
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
	return math.Max(0, centre-half), math.Min(1, centre+half), true
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

// RateRatioInterval returns the interval of the ratio of two Poisson rates,
// (k2/t2) / (k1/t1), by the normal approximation on the log scale
// (var log ratio = 1/k1 + 1/k2; Rothman, Modern Epidemiology, ch. 14).
// ok is false when either count is 0.
func RateRatioInterval(k1 int, t1 float64, k2 int, t2 float64, confidence float64) (lo, hi float64, ok bool) {
	if k1 <= 0 || k2 <= 0 || t1 <= 0 || t2 <= 0 {
		return 0, 0, false
	}
	r := (float64(k2) / t2) / (float64(k1) / t1)
	z := zQuantile(1 - (1-confidence)/2)
	se := math.Sqrt(1/float64(k1) + 1/float64(k2))
	return r * math.Exp(-z*se), r * math.Exp(z*se), true
}

// ZQuantile is the standard normal quantile.
func ZQuantile(q float64) float64 { return distuv.UnitNormal.Quantile(q) }

func zQuantile(q float64) float64 { return ZQuantile(q) }

// QuantileRatioInterval returns a percentile-bootstrap interval (Efron &
// Tibshirani 1993, ch. 13) for the ratio head_p / base_p of the
// p-percentiles (0..100) of two independent sorted samples, from
// `resamples` bootstrap replicates drawn with a fixed seed, so the same
// samples always give the same interval.
//
// A replicate does not resample the data: the k-th order statistic of a
// resample of n from the sample is x_(⌈n·U⌉) where U is the k-th order
// statistic of n uniforms, U ~ Beta(k, n-k+1), and the (k+1)-th follows as
// U + (1-U)·(1-V^(1/(n-k))), V uniform. So a replicate of a percentile
// with Percentile's interpolation costs O(1), whatever n.
func QuantileRatioInterval(base, head []float64, p, confidence float64, resamples int, seed uint64) (lo, hi float64, ok bool) {
	if len(base) == 0 || len(head) == 0 {
		return 0, 0, false
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	ratios := make([]float64, 0, resamples)
	for range resamples {
		b := bootQuantile(base, p, rng)
		h := bootQuantile(head, p, rng)
		if b <= 0 {
			continue
		}
		ratios = append(ratios, h/b)
	}
	if len(ratios) < resamples/2 {
		return 0, 0, false
	}
	sort.Float64s(ratios)
	a := (1 - confidence) / 2
	return quantileSorted(ratios, a), quantileSorted(ratios, 1-a), true
}

// bootQuantile draws one bootstrap replicate of the p-percentile of a
// sorted sample (see QuantileRatioInterval).
func bootQuantile(sorted []float64, p float64, rng *rand.Rand) float64 {
	n := len(sorted)
	if n == 1 {
		return sorted[0]
	}
	rank := p / 100 * float64(n-1)
	k := int(math.Floor(rank)) + 1 // 1-based order statistic
	frac := rank - float64(k-1)
	u := betaDraw(float64(k), float64(n-k+1), rng)
	x := sorted[pick(u, n)]
	if frac == 0 || k >= n {
		return x
	}
	v := 1 - rng.Float64()
	u2 := u + (1-u)*(1-math.Pow(v, 1/float64(n-k)))
	y := sorted[pick(u2, n)]
	return x + frac*(y-x)
}

// pick maps a uniform order statistic to the empirical quantile's index.
func pick(u float64, n int) int {
	i := int(math.Ceil(u*float64(n))) - 1
	return min(max(i, 0), n-1)
}

// betaDraw draws from Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).
func betaDraw(a, b float64, rng *rand.Rand) float64 {
	x := gammaDraw(a, rng)
	y := gammaDraw(b, rng)
	return x / (x + y)
}

// gammaDraw draws from Gamma(shape, 1) (Marsaglia & Tsang 2000).
func gammaDraw(shape float64, rng *rand.Rand) float64 {
	if shape < 1 {
		u := 1 - rng.Float64()
		return gammaDraw(shape+1, rng) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// quantileSorted is Percentile's interpolation for float64 samples, q in 0..1.
func quantileSorted(s []float64, q float64) float64 {
	n := len(s)
	rank := q * float64(n-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, n-1)
	return s[lo] + (rank-float64(lo))*(s[hi]-s[lo])
}

// MeanRatioInterval returns an interval for mean(head)/mean(base) of two
// independent samples by Fieller's theorem in its large-sample form, via
// the delta method on the log scale: var log ratio ≈ s1²/(n1·m1²) +
// s2²/(n2·m2²). ok is false when a sample has fewer than two values or a
// non-positive mean.
func MeanRatioInterval(base, head []float64, confidence float64) (lo, hi float64, ok bool) {
	m1, s1, n1 := meanSD(base)
	m2, s2, n2 := meanSD(head)
	if n1 < 2 || n2 < 2 || m1 <= 0 || m2 <= 0 {
		return 0, 0, false
	}
	r := m2 / m1
	se := math.Sqrt(s1*s1/(float64(n1)*m1*m1) + s2*s2/(float64(n2)*m2*m2))
	z := zQuantile(1 - (1-confidence)/2)
	return r * math.Exp(-z*se), r * math.Exp(z*se), true
}

func meanSD(x []float64) (mean, sd float64, n int) {
	n = len(x)
	if n == 0 {
		return 0, 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	if n < 2 {
		return mean, 0, n
	}
	var sq float64
	for _, v := range x {
		sq += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sq / float64(n-1)), n
}
