package load

import (
	"math"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestConstantSchedule(t *testing.T) {
	s := Constant{RatePerSec: 4}
	for i, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second} {
		assert.Equal(t, s.At(i), want)
	}
	assert.Equal(t, Constant{RatePerSec: 2.37}.At(237), 100*time.Second)
	assert.Equal(t, Constant{RatePerSec: 5000}.At(49999), 9999800*time.Microsecond)
}

func TestAllAtOnce(t *testing.T) {
	for _, i := range []int{0, 1, 1000, 1 << 30} {
		assert.Equal(t, AllAtOnce{}.At(i), time.Duration(0))
	}
}

func TestPoissonIsReproducibleAndAPureFunctionOfI(t *testing.T) {
	a, b := NewPoisson(10, 1), NewPoisson(10, 1)
	// In order on one, in reverse and jumping on the other.
	var fwd []time.Duration
	for i := range 5000 {
		fwd = append(fwd, a.At(i))
	}
	for i := 4999; i >= 0; i -= 7 {
		assert.Equal(t, b.At(i), fwd[i], "At(%d)", i)
	}
	assert.Equal(t, b.At(3000), fwd[3000])
	assert.Equal(t, b.At(1024), fwd[1024])
	assert.Equal(t, fwd[0], time.Duration(0))
	assert.Assert(t, slices.IsSorted(fwd))
	// Another seed gives other arrivals.
	assert.Assert(t, NewPoisson(10, 2).At(100) != fwd[100])
}

// TestPoissonGapsAreExponential is a Kolmogorov-Smirnov goodness-of-fit
// test of the gaps between arrivals against the exponential distribution
// of rate λ, at the 1% level, for a few seeds and rates.
func TestPoissonGapsAreExponential(t *testing.T) {
	const n = 20000
	crit := 1.628 / math.Sqrt(n) // K-S critical value, α = 0.01
	for _, c := range []struct {
		rate float64
		seed int64
	}{{1, 1}, {37.5, 7}, {5000, 42}} {
		p := NewPoisson(c.rate, c.seed)
		at := make([]time.Duration, n+1)
		for i := range at {
			at[i] = p.At(i)
		}
		gaps := make([]float64, n)
		var sum float64
		for i := range n {
			gaps[i] = (at[i+1] - at[i]).Seconds()
			sum += gaps[i]
		}
		slices.Sort(gaps)
		d := 0.0
		for i, g := range gaps {
			cdf := 1 - math.Exp(-c.rate*g)
			d = max(d, math.Abs(cdf-float64(i)/n), math.Abs(cdf-float64(i+1)/n))
		}
		assert.Assert(t, d < crit, "rate %v seed %d: K-S statistic %.4f, critical %.4f", c.rate, c.seed, d, crit)
		mean := sum / n
		assert.Assert(t, math.Abs(mean*c.rate-1) < 0.03, "rate %v: mean gap %v, want %v", c.rate, mean, 1/c.rate)
		// The arrival count in a window is Poisson: its variance/mean is ~1.
		// Count arrivals per unit of 10/rate seconds.
		unit := 10 / c.rate
		counts := map[int]int{}
		horizon := int(at[n-1].Seconds() / unit)
		for i := range n {
			if k := int(at[i].Seconds() / unit); k < horizon {
				counts[k]++
			}
		}
		var m, v float64
		for k := range horizon {
			m += float64(counts[k])
		}
		m /= float64(horizon)
		for k := range horizon {
			v += (float64(counts[k]) - m) * (float64(counts[k]) - m)
		}
		v /= float64(horizon - 1)
		assert.Assert(t, v/m > 0.85 && v/m < 1.15, "rate %v: index of dispersion %.3f", c.rate, v/m)
	}
}

func TestSweepRatesAreEvenlySpacedStrictlyBetween(t *testing.T) {
	got := SweepRates(1, 7, 5)
	assert.DeepEqual(t, got, []float64{2, 3, 4, 5, 6})
	got = SweepRates(2.5, 4.5, 1)
	assert.DeepEqual(t, got, []float64{3.5})
}

func TestMeanGap(t *testing.T) {
	assert.Equal(t, MeanGap(Constant{RatePerSec: 4}), 250*time.Millisecond)
	assert.Equal(t, MeanGap(Constant{RatePerSec: 2.37}), 421940928*time.Nanosecond)
	assert.Equal(t, MeanGap(NewPoisson(100, 1)), 10*time.Millisecond)
	assert.Equal(t, MeanGap(AllAtOnce{}), time.Duration(0), "everything due at once has no gap")
	assert.Equal(t, MeanGap(nil), time.Duration(0))
	assert.Equal(t, MeanGap(Constant{}), time.Duration(0))
	assert.Equal(t, MeanGap(Constant{RatePerSec: 1e-300}), time.Duration(math.MaxInt64))
}
