package load

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/results"
)

// near asserts that got is within 1 ns of want seconds (the schedules round
// to the nanosecond).
func near(t *testing.T, got time.Duration, want float64, msg string, args ...any) {
	t.Helper()
	assert.Assert(t, math.Abs(float64(got)-want*1e9) <= 1, "%s: got %v, want %.9fs", fmt.Sprintf(msg, args...), got, want)
}

// A linear ramp from 0 to r over d has N(t) = r t²/(2d): request i is due
// at √(2 i d / r).
func TestLinearFromZeroIsTheClosedForm(t *testing.T) {
	l := Linear{FromPerSec: 0, ToPerSec: 20, Duration: 10 * time.Second}
	for _, i := range []int{1, 2, 10, 50, 99, 100} {
		near(t, l.At(i), math.Sqrt(2*float64(i)*10/20), "At(%d)", i)
	}
	// N(10s) = 100: past it the rate is 20/s.
	near(t, l.At(100), 10, "end of the ramp")
	near(t, l.At(120), 11, "after the ramp")
	assert.Equal(t, l.At(0), time.Duration(0))
}

// From 1 to 3 over 4 s: N(t) = t + t²/4, so t = -2 + 2√(1+i).
func TestLinearRisingAndFallingInvertTheIntegral(t *testing.T) {
	up := Linear{FromPerSec: 1, ToPerSec: 3, Duration: 4 * time.Second}
	for i := 1; i <= 8; i++ {
		near(t, up.At(i), -2+2*math.Sqrt(1+float64(i)), "up At(%d)", i)
	}
	// Falling from 3 to 1 over 4 s: N(t) = 3t - t²/4, t = 6 - 2√(9-i).
	down := Linear{FromPerSec: 3, ToPerSec: 1, Duration: 4 * time.Second}
	for i := 1; i <= 8; i++ {
		near(t, down.At(i), 6-2*math.Sqrt(9-float64(i)), "down At(%d)", i)
	}
	near(t, down.At(10), 6, "after the fall, at 1/s")
	// Equal ends are a constant rate.
	flat := Linear{FromPerSec: 4, ToPerSec: 4, Duration: time.Second}
	for i := range 10 {
		assert.Equal(t, flat.At(i), Constant{RatePerSec: 4}.At(i))
	}
}

func TestLinearIsMonotoneAndMatchesItsRate(t *testing.T) {
	l := Linear{FromPerSec: 1, ToPerSec: 200, Duration: 60 * time.Second}
	var at []time.Duration
	for i := range 7000 {
		at = append(at, l.At(i))
	}
	assert.Assert(t, slices.IsSorted(at))
	// The count in each second is the integral of the rate over it.
	for s := 0; s < 60; s += 7 {
		n := 0
		for _, a := range at {
			if a >= time.Duration(s)*time.Second && a < time.Duration(s+1)*time.Second {
				n++
			}
		}
		want := (l.RatePerSecAt(time.Duration(s)*time.Second) + l.RatePerSecAt(time.Duration(s+1)*time.Second)) / 2
		assert.Assert(t, math.Abs(float64(n)-want) <= 1, "second %d: %d requests, want %.1f", s, n, want)
	}
}

func TestStagedStepsTheRate(t *testing.T) {
	s := Staged{FromPerSec: 2, ToPerSec: 8, Duration: 12 * time.Second, Stages: 4}
	assert.DeepEqual(t, []float64{s.StageRatePerSec(0), s.StageRatePerSec(1), s.StageRatePerSec(2), s.StageRatePerSec(3)}, []float64{2, 4, 6, 8})
	// Stage 0: 3 s at 2/s → requests 0..5 at 0, 0.5, ..., 2.5; request 6
	// opens stage 1 at 3 s, then every 0.25 s.
	for i := 0; i <= 6; i++ {
		near(t, s.At(i), float64(i)*0.5, "At(%d)", i)
	}
	near(t, s.At(7), 3.25, "At(7)")
	// Counts before stages: 6, 18, 36, 60.
	near(t, s.At(18), 6, "stage 2 opens")
	near(t, s.At(36), 9, "stage 3 opens")
	near(t, s.At(60), 12, "the end")
	near(t, s.At(68), 13, "after the end, at 8/s")
	// A fractional count carries over: 1/s for 2.5 s, then 2/s.
	f := Staged{FromPerSec: 1, ToPerSec: 2, Duration: 5 * time.Second, Stages: 2}
	near(t, f.At(2), 2, "At(2)")
	near(t, f.At(3), 2.75, "At(3): 0.5 requests were left from stage 0")
	// A stage at rate 0 sends nothing.
	z := Staged{FromPerSec: 0, ToPerSec: 4, Duration: 2 * time.Second, Stages: 2}
	assert.Equal(t, z.At(1), time.Second+250*time.Millisecond)
}

func TestWindowOf(t *testing.T) {
	d := 60 * time.Second
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{0, 1}, {10*time.Second - 1, 1}, {10 * time.Second, 2}, {59 * time.Second, 6}, {60 * time.Second, 6}, {time.Hour, 6}, {-time.Second, 1}} {
		assert.Equal(t, WindowOf(c.at, d, 6), c.want, "at %v", c.at)
	}
	assert.Equal(t, WindowOf(time.Second, d, 0), 0)
	// Thirds of 1 s: 333,333,333.33 ns each.
	assert.Equal(t, WindowOf(333333333, time.Second, 3), 1)
	assert.Equal(t, WindowOf(333333334, time.Second, 3), 2)
	assert.Equal(t, WindowOf(math.MaxInt64-1, math.MaxInt64, 100), 100)
}

func TestTraceSchedule(t *testing.T) {
	tr := Trace{Offsets: []time.Duration{0, 0, 5 * time.Millisecond, time.Second}}
	assert.Equal(t, tr.At(2), 5*time.Millisecond)
	assert.Equal(t, tr.At(4), never)
	assert.Equal(t, tr.At(-1), time.Duration(0))
	near(t, TraceOffset(27482*time.Millisecond, 20*time.Second, 2), 3.741, "(27.482 - 20) / 2")
	assert.Equal(t, MeanGap(tr), 333333333*time.Nanosecond)
	assert.Equal(t, MeanGap(Linear{FromPerSec: 1, ToPerSec: 3, Duration: time.Second}), 500*time.Millisecond)
}

// The dispatcher stops at a trace's end by itself: past it, nothing is due.
func TestCountDueStopsAtATracesEnd(t *testing.T) {
	tr := Trace{Offsets: []time.Duration{0, time.Millisecond, 2 * time.Millisecond}}
	assert.Equal(t, countDue(tr, 1, Limits{MaxRequests: 3}, time.Hour), 2)
	assert.Equal(t, countDue(tr, 0, Limits{}, time.Hour), 3)
}

// The dispatcher sends a trace's requests at their offsets and ends with
// the trace, whatever the limits: it does not wait out max_duration.
func TestRunEndsWithTheTrace(t *testing.T) {
	offsets := []time.Duration{0, 0, time.Millisecond, 3 * time.Millisecond}
	do := func(_ context.Context, origin time.Time, rec *results.Request) error {
		rec.Sent = time.Since(origin)
		rec.End = rec.Sent
		return nil
	}
	out := Run(context.Background(), Spec{Schedule: Trace{Offsets: offsets}}, Limits{MaxDuration: time.Hour}, do)
	assert.Equal(t, len(out.Requests), 4)
	for _, r := range out.Requests {
		assert.Equal(t, r.Intended, offsets[r.Index])
		assert.Assert(t, r.Sent >= r.Intended)
	}
	assert.Assert(t, out.End < time.Hour, "ended at %v", out.End)
	assert.Equal(t, out.Unsent, 0)
}

func TestDueBefore(t *testing.T) {
	// N(2s) = 100 for 20 → 80 req/s in 4 stages: requests 0..99 are due before 2 s.
	assert.Equal(t, DueBefore(Staged{FromPerSec: 20, ToPerSec: 80, Duration: 2 * time.Second, Stages: 4}, 2*time.Second), 100)
	// N(10s) = 100 for 0 → 20 linearly; N(5s) = 25.
	l := Linear{FromPerSec: 0, ToPerSec: 20, Duration: 10 * time.Second}
	assert.Equal(t, DueBefore(l, 10*time.Second), 100)
	assert.Equal(t, DueBefore(l, 5*time.Second), 25)
	assert.Equal(t, DueBefore(Constant{RatePerSec: 3}, time.Second), 3)
	assert.Equal(t, DueBefore(Constant{RatePerSec: 3}, 0), 0)
	assert.Equal(t, DueBefore(Trace{Offsets: []time.Duration{0, 1, 2}}, time.Hour), 3)
}

func TestWindowEndsMatchWindowOf(t *testing.T) {
	d := 20*time.Second + 3
	ends := WindowEnds(d, 6)
	assert.Equal(t, len(ends), 6)
	assert.Equal(t, ends[5], d)
	for k, end := range ends {
		// The last instant before an end is in window k+1; the end itself
		// starts the next (the last window also takes what is due later).
		assert.Equal(t, WindowOf(end-1, d, 6), k+1)
		if k < 5 {
			assert.Equal(t, WindowOf(end, d, 6), k+2)
		}
	}
	assert.Assert(t, WindowEnds(d, 0) == nil && WindowEnds(0, 3) == nil)
}
