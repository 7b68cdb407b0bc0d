package load

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
)

// sleeper is a Do that takes d and succeeds, like a server with fixed
// latency, and tracks how many run at once.
type sleeper struct {
	d        time.Duration
	fail     func(i int) bool
	now, top atomic.Int64
}

func (s *sleeper) do(ctx context.Context, origin time.Time, rec *results.Request) error {
	rec.Sent = time.Since(origin)
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for {
		top := s.top.Load()
		if n <= top || s.top.CompareAndSwap(top, n) {
			break
		}
	}
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case <-t.C:
		rec.FirstToken = time.Since(origin)
		rec.End = rec.FirstToken
		if s.fail != nil && s.fail(rec.Index) {
			rec.Error = "http 500"
			return errors.New("http 500")
		}
		return nil
	case <-ctx.Done():
		rec.End = time.Since(origin)
		rec.Error = "cancelled"
		return ctx.Err()
	}
}

func TestRunOpenSendsOnScheduleWhateverTheServerDoes(t *testing.T) {
	// 50 req/s for 10 requests against a server that takes 300 ms: an open
	// model sends every 20 ms anyway, so several are in flight at once,
	// each sent before the one before it ended (a closed loop would wait).
	s := &sleeper{d: 300 * time.Millisecond}
	out := RunOpen(context.Background(), Constant{RatePerSec: 50}, Limits{MaxRequests: 10}, s.do)
	assert.Equal(t, len(out.Requests), 10)
	assert.Equal(t, out.StopReason, StopMaxRequests)
	for i, r := range out.Requests {
		assert.Equal(t, r.Index, i)
		assert.Equal(t, r.Intended, time.Duration(i)*20*time.Millisecond)
		assert.Equal(t, r.Ready, r.Intended)
		assert.Assert(t, r.Sent >= r.Intended, "request %d sent at %s, before its time %s", i, r.Sent, r.Intended)
		if i > 0 {
			prev := out.Requests[i-1]
			assert.Assert(t, r.Sent < prev.End, "request %d sent at %s, after %d ended at %s", i, r.Sent, i-1, prev.End)
		}
		assert.Assert(t, r.OK(), "request %d: drained at the end, not cut", i)
	}
	assert.Assert(t, s.top.Load() >= 4)
	// The whole step takes about 9*20ms + 300ms, not 10*300ms.
	assert.Assert(t, out.End < 2*time.Second, "step took %s", out.End)
	assert.Assert(t, !out.Saturated)
}

func TestRunOpenMaxDurationCancelsInFlightAsIncomplete(t *testing.T) {
	s := &sleeper{d: time.Hour}
	start := time.Now()
	out := RunOpen(context.Background(), Constant{RatePerSec: 20}, Limits{MaxDuration: 200 * time.Millisecond}, s.do)
	assert.Assert(t, time.Since(start) < 2*time.Second, "not an hour")
	assert.Equal(t, out.StopReason, StopMaxDuration)
	assert.Equal(t, out.End, 200*time.Millisecond)
	// Intended at 0, 50, 100 and 150 ms: all sent (a machine that stalls
	// past the cut leaves the last ones unsent, and says so).
	assert.Equal(t, len(out.Requests)+out.Unsent, 4)
	assert.Assert(t, len(out.Requests) >= 1)
	for _, r := range out.Requests {
		assert.Assert(t, r.Incomplete, "request %d not marked incomplete", r.Index)
		assert.Equal(t, r.Error, "")
	}
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Requests.Incomplete, len(out.Requests))
	assert.Equal(t, m.Errors.Count, 0)
}

func TestMaxRequestsDrainsInFlight(t *testing.T) {
	s := &sleeper{d: 80 * time.Millisecond}
	out := Run(context.Background(), Spec{Schedule: AllAtOnce{}}, Limits{MaxRequests: 6, MaxDuration: 10 * time.Second}, s.do)
	assert.Equal(t, out.StopReason, StopMaxRequests)
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Requests.Completed, 6)
	assert.Equal(t, m.Requests.Incomplete, 0)
	assert.Assert(t, out.End < 2*time.Second, "drained, not waited for: %s", out.End)
}

func TestRunClosedIsOneAtATime(t *testing.T) {
	s := &sleeper{d: 20 * time.Millisecond}
	out := RunClosed(context.Background(), 1, Limits{MaxRequests: 4}, s.do)
	assert.Equal(t, len(out.Requests), 4)
	assert.Equal(t, s.top.Load(), int64(1))
	for i := 1; i < len(out.Requests); i++ {
		prev, cur := out.Requests[i-1], out.Requests[i]
		assert.Assert(t, cur.Sent >= prev.End, "request %d sent at %s before %d ended at %s", i, cur.Sent, i-1, prev.End)
		// Intended when its stream was free: after the previous ended.
		assert.Assert(t, cur.Intended >= prev.End && cur.Sent >= cur.Intended, "request %d intended at %s, sent at %s", i, cur.Intended, cur.Sent)
		assert.Equal(t, cur.Ready, cur.Intended)
	}
}

func TestConcurrentStreamsHoldNInFlight(t *testing.T) {
	s := &sleeper{d: 30 * time.Millisecond}
	out := RunClosed(context.Background(), 4, Limits{MaxRequests: 20}, s.do)
	assert.Equal(t, len(out.Requests), 20)
	assert.Equal(t, s.top.Load(), int64(4))
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Concurrency.Max, 4)
	// Near 4: a stream's next request follows its previous at once (the
	// bound leaves a busy machine 10 ms per 30 ms request).
	assert.Assert(t, m.Concurrency.Mean > 3, "mean %v", m.Concurrency.Mean)
}

func TestThroughputCapQueuesVisibly(t *testing.T) {
	// Everything due at 0, at most 3 in flight: requests wait for a slot,
	// which their queue time shows and their client lag does not.
	s := &sleeper{d: 50 * time.Millisecond}
	out := Run(context.Background(), Spec{Schedule: AllAtOnce{}, MaxConcurrency: 3}, Limits{MaxRequests: 9}, s.do)
	assert.Equal(t, s.top.Load(), int64(3))
	assert.Equal(t, len(out.Requests), 9)
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Concurrency.Max, 3)
	assert.Assert(t, m.Queue.Max >= 100*time.Millisecond, "queue max %s", m.Queue.Max)
	// The client's own lag is what a busy machine adds, not the queue.
	assert.Assert(t, m.ClientLag.P99 < 50*time.Millisecond, "client lag p99 %s", m.ClientLag.P99)
	assert.Assert(t, !out.Saturated, "a plan's cap is not saturation")
	for _, r := range out.Requests[3:] {
		assert.Assert(t, r.Ready >= 40*time.Millisecond, "request %d ready at %s", r.Index, r.Ready)
	}
}

func TestMaxErrorsStopsEarly(t *testing.T) {
	s := &sleeper{d: 10 * time.Millisecond, fail: func(int) bool { return true }}
	start := time.Now()
	out := RunOpen(context.Background(), Constant{RatePerSec: 200}, Limits{MaxDuration: 5 * time.Second, MaxErrors: 5}, s.do)
	assert.Assert(t, time.Since(start) < 2500*time.Millisecond, "not the whole 5 s")
	assert.Equal(t, out.StopReason, StopMaxErrors)
	assert.Assert(t, !out.Interrupted)
	m := results.Compute(out.Requests, out.End)
	// About 5 (those that failed at once with the fifth); a machine that
	// stalls sends a burst of due requests that can fail together.
	assert.Assert(t, m.Errors.Count >= 5 && m.Errors.Count <= 50, "errors %d", m.Errors.Count)
	assert.Equal(t, m.Errors.Reasons["http 500"], m.Errors.Count)
}

func TestMaxErrorRateStopsEarlyAfterTenFinished(t *testing.T) {
	s := &sleeper{d: time.Millisecond, fail: func(i int) bool { return i%2 == 1 }}
	out := RunClosed(context.Background(), 1, Limits{MaxRequests: 1000, MaxErrorRate: 0.3}, s.do)
	assert.Equal(t, out.StopReason, StopMaxErrorRate)
	assert.Equal(t, len(out.Requests), MinFinishedForErrorRate)
}

func TestTimeoutIsAnErrorNotIncomplete(t *testing.T) {
	s := &sleeper{d: time.Hour}
	out := RunClosed(context.Background(), 2, Limits{MaxRequests: 4, Timeout: 20 * time.Millisecond}, s.do)
	assert.Equal(t, out.StopReason, StopMaxRequests)
	for _, r := range out.Requests {
		assert.Equal(t, r.Error, "timeout")
		assert.Assert(t, !r.Incomplete)
	}
}

func TestInterruptStopsTheStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s := &sleeper{d: time.Hour}
	out := RunOpen(ctx, Constant{RatePerSec: 10}, Limits{MaxRequests: 1000}, s.do)
	assert.Assert(t, out.Interrupted)
	assert.Equal(t, out.StopReason, StopInterrupted)
	assert.Assert(t, len(out.Requests) >= 1 && len(out.Requests) <= 3)
	for _, r := range out.Requests {
		assert.Assert(t, r.Incomplete, "interrupted, not failed: %+v", r)
	}
}

func TestClientCeilingIsSaturationAndTheStepEndsOnTime(t *testing.T) {
	// 1,000 req/s against 200 ms requests wants ~200 in flight; the client
	// may hold 20. The step still ends at its duration, says the client was
	// saturated, and counts what it never sent.
	s := &sleeper{d: 200 * time.Millisecond}
	start := time.Now()
	out := RunOpen(context.Background(), Constant{RatePerSec: 1000}, Limits{MaxDuration: 500 * time.Millisecond, MaxInFlight: 20}, s.do)
	took := time.Since(start)
	// On time: not waiting to send the hundreds it could not (seconds at
	// 20 in flight), nor for the 20 it cut.
	assert.Assert(t, took < 2*time.Second, "step took %s", took)
	assert.Equal(t, out.StopReason, StopMaxDuration)
	assert.Assert(t, out.Saturated)
	assert.Assert(t, s.top.Load() <= 20)
	assert.Assert(t, out.Unsent > 300, "unsent %d", out.Unsent)
	assert.Equal(t, len(out.Requests)+out.Unsent, 500)
	m := results.Compute(out.Requests, out.End)
	// A ceiling the client hit is its own lag: past the first 20, every
	// request waited for a slot that freed 200 ms after its holder was
	// sent (the records say so whether or not the request finished
	// before the cut).
	for _, r := range out.Requests {
		if r.Index >= 20 {
			assert.Assert(t, r.Sent-r.Ready > 100*time.Millisecond, "request %d: client lag %s", r.Index, r.Sent-r.Ready)
		}
	}
	if m.ClientLag.Count > 20 {
		assert.Assert(t, m.ClientLag.P99 > 100*time.Millisecond, "client lag p99 %s", m.ClientLag.P99)
	}
}

func TestRequestsEndingAfterTheCutAreIncomplete(t *testing.T) {
	// A server that ignores the cancellation and answers 100 ms later: the
	// answers arrive after the step's end, so they count as incomplete and
	// the window still ends at the cut.
	do := func(ctx context.Context, origin time.Time, rec *results.Request) error {
		rec.Sent = time.Since(origin)
		time.Sleep(250 * time.Millisecond)
		rec.FirstToken = time.Since(origin)
		rec.End = rec.FirstToken
		return nil
	}
	out := RunOpen(context.Background(), Constant{RatePerSec: 20}, Limits{MaxDuration: 200 * time.Millisecond}, do)
	assert.Equal(t, out.End, 200*time.Millisecond)
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Requests.Completed, 0)
	assert.Equal(t, m.Requests.Incomplete+out.Unsent, 4)
	assert.Assert(t, m.Requests.Incomplete >= 1)
	assert.Equal(t, time.Duration(m.Duration), 200*time.Millisecond)
}

func TestAnswersAfterALateCutAreIncompleteAndSendsAfterItUnsent(t *testing.T) {
	// A busy machine runs the max_duration timer late. Answers the client
	// records after the cut's time, and sends after it, count as they
	// would had the timer been on time, even before the timer fires: the
	// Do below reports times as if its request had taken until after the
	// cut, while the step is still running.
	const cut = time.Second
	var n atomic.Int64
	do := func(ctx context.Context, origin time.Time, rec *results.Request) error {
		rec.Sent = time.Since(origin)
		switch n.Add(1) {
		case 1: // answered after the cut
			rec.FirstToken = cut + time.Millisecond
			rec.End = rec.FirstToken
		case 2: // sent after the cut
			rec.Sent = cut + time.Millisecond
			rec.FirstToken = rec.Sent + time.Millisecond
			rec.End = rec.FirstToken
		default:
			rec.FirstToken = time.Since(origin)
			rec.End = rec.FirstToken
		}
		return nil
	}
	out := RunOpen(context.Background(), Constant{RatePerSec: 10}, Limits{MaxDuration: cut}, do)
	m := results.Compute(out.Requests, out.End)
	assert.Equal(t, m.Requests.Incomplete, 1)
	assert.Equal(t, m.Requests.Total, 9, "one of ten never counted as sent")
	assert.Equal(t, m.Requests.Completed, 8)
	assert.Assert(t, time.Duration(m.Duration) <= cut, "the window ends at the cut: %s", time.Duration(m.Duration))
}

func TestAStepIsSetUpBeforeItsClockStarts(t *testing.T) {
	// The first request is due at the step's origin, so whatever the step
	// sets up after taking it makes that request late: filling 100,000
	// in-flight slots there once sent it 3 ms late. When the clock starts,
	// the slots and the first request's record exist already, and the
	// slots queue nothing: setting them up costs the same at any ceiling.
	type setup struct {
		started, records, capacity, queued, fresh int
	}
	var got setup
	clockStarts = func(s *step) {
		got.started++
		got.records = s.recs.n
		if s.slots != nil {
			got.capacity, got.queued, got.fresh = cap(s.slots.freed), len(s.slots.freed), s.slots.fresh
		}
	}
	defer func() { clockStarts = nil }()
	do := func(ctx context.Context, origin time.Time, rec *results.Request) error {
		rec.Sent = time.Since(origin)
		rec.FirstToken, rec.End = rec.Sent, rec.Sent
		return nil
	}
	out := RunOpen(context.Background(), Constant{RatePerSec: 1000}, Limits{MaxRequests: 3, MaxInFlight: 100_000}, do)
	assert.Equal(t, got, setup{started: 1, records: 1, capacity: 100_000, queued: 0, fresh: 100_000})
	assert.Equal(t, len(out.Requests), 3)
	assert.Equal(t, out.Requests[0].Intended, time.Duration(0))
	assert.Assert(t, out.Requests[0].Sent >= 0)

	// A closed load has nothing to set up: its clock starts at once.
	got = setup{}
	out = RunClosed(context.Background(), 1, Limits{MaxRequests: 2}, do)
	assert.Equal(t, got.started, 1)
	assert.Equal(t, len(out.Requests), 2)
}

func TestSlots(t *testing.T) {
	// Slots never taken were freed at the start and cost nothing until
	// taken; slots given back are taken in the order they were freed.
	sl := newSlots(3)
	assert.Equal(t, len(sl.freed), 0)
	for range 3 {
		freed, ok := sl.tryTake()
		assert.Assert(t, ok)
		assert.Equal(t, freed, time.Duration(0))
	}
	_, ok := sl.tryTake()
	assert.Assert(t, !ok, "all three are taken")
	sl.give(5 * time.Millisecond)
	sl.give(7 * time.Millisecond)
	freed, ok := sl.tryTake()
	assert.Assert(t, ok)
	assert.Equal(t, freed, 5*time.Millisecond)
	freed, _ = sl.tryTake()
	assert.Equal(t, freed, 7*time.Millisecond)
	_, ok = sl.tryTake()
	assert.Assert(t, !ok)
}

func TestARecordTakenButNeverSentIsNotARequest(t *testing.T) {
	// The dispatcher takes the next request's record before it is due; a
	// step that ends first leaves that record out of its requests.
	s := &sleeper{d: time.Hour}
	out := RunOpen(context.Background(), Constant{RatePerSec: 1}, Limits{MaxDuration: 50 * time.Millisecond}, s.do)
	assert.Equal(t, len(out.Requests), 1)
	assert.Equal(t, out.Requests[0].Index, 0)
	assert.Assert(t, out.Requests[0].Incomplete)
	assert.Equal(t, out.Unsent, 0)
}

func TestPreciseSleeperWaitsAtLeastItsTime(t *testing.T) {
	ps := newPreciseSleeper()
	if ps == nil {
		t.Skip("no precise sleeper on this system")
	}
	defer ps.close()
	for _, blocking := range []bool{false, true} {
		start := time.Now()
		assert.Assert(t, ps.sleep(time.Millisecond, blocking))
		assert.Assert(t, time.Since(start) >= time.Millisecond, "blocking %v: woke after %s", blocking, time.Since(start))
	}
}
