package load

import (
	"context"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
)

func TestConstantSchedule(t *testing.T) {
	s := Constant{RatePerSec: 4}
	for i, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second} {
		assert.Equal(t, s.At(i), want)
	}
	assert.Equal(t, Constant{RatePerSec: 2.37}.At(237), 100*time.Second)
}

// sleeper is a Do that takes d and succeeds, like a server with fixed latency.
func sleeper(d time.Duration) Do {
	return func(ctx context.Context, origin time.Time, rec *results.Request) error {
		rec.Sent = time.Since(origin)
		select {
		case <-time.After(d):
			rec.FirstToken = time.Since(origin)
			rec.End = rec.FirstToken
			return nil
		case <-ctx.Done():
			rec.End = time.Since(origin)
			rec.Error = "cancelled"
			return ctx.Err()
		}
	}
}

func TestRunOpenSendsOnScheduleWhateverTheServerDoes(t *testing.T) {
	// 50 req/s for 10 requests against a server that takes 100 ms: an open
	// model sends every 20 ms anyway, so several are in flight at once.
	out := RunOpen(context.Background(), Constant{RatePerSec: 50}, Limits{MaxRequests: 10}, sleeper(100*time.Millisecond))
	assert.Equal(t, len(out.Requests), 10)
	assert.Equal(t, out.StopReason, StopMaxRequests)
	for i, r := range out.Requests {
		assert.Equal(t, r.Index, i)
		assert.Equal(t, r.Intended, time.Duration(i)*20*time.Millisecond)
		lag := r.Sent - r.Intended
		assert.Assert(t, lag >= 0 && lag < 15*time.Millisecond, "request %d sent %s after its intended time", i, lag)
	}
	// The whole step takes about 9*20ms + 100ms, not 10*100ms.
	assert.Assert(t, out.End < 600*time.Millisecond, "step took %s", out.End)
}

func TestRunOpenMaxDurationCancelsInFlightAsIncomplete(t *testing.T) {
	out := RunOpen(context.Background(), Constant{RatePerSec: 20}, Limits{MaxDuration: 200 * time.Millisecond}, sleeper(time.Hour))
	assert.Equal(t, out.StopReason, StopMaxDuration)
	assert.Equal(t, len(out.Requests), 4) // intended at 0, 50, 100, 150 ms
	for _, r := range out.Requests {
		assert.Assert(t, r.Incomplete, "request %d not marked incomplete", r.Index)
		assert.Equal(t, r.Error, "")
	}
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Requests.Incomplete, 4)
	assert.Equal(t, m.Errors.Count, 0)
}

func TestRunClosedIsOneAtATime(t *testing.T) {
	out := RunClosed(context.Background(), 1, Limits{MaxRequests: 4}, sleeper(20*time.Millisecond))
	assert.Equal(t, len(out.Requests), 4)
	for i := 1; i < len(out.Requests); i++ {
		prev, cur := out.Requests[i-1], out.Requests[i]
		assert.Assert(t, cur.Sent >= prev.End, "request %d sent at %s before %d ended at %s", i, cur.Sent, i-1, prev.End)
		assert.Assert(t, cur.Sent-cur.Intended < 5*time.Millisecond)
	}
}

func TestInterruptStopsTheStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	out := RunOpen(ctx, Constant{RatePerSec: 10}, Limits{MaxRequests: 1000}, sleeper(time.Hour))
	assert.Assert(t, out.Interrupted)
	assert.Equal(t, out.StopReason, StopInterrupted)
	assert.Assert(t, len(out.Requests) >= 1 && len(out.Requests) <= 3)
}
