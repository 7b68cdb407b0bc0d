package results

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestClientLagLimitIsRelativeToWhatLagDistorts(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name          string
		gap, latency  time.Duration
		limit, scale  time.Duration
		basis, string string
	}{
		// An open load: a tenth of the mean gap between requests.
		{"2.37 req/s", 421940928, 0, 42194093, 421940928, BasisGap, "42.2ms (10% of the mean gap between requests, 421.9ms)"},
		{"4 req/s", 250 * ms, 0, 25 * ms, 250 * ms, BasisGap, "25ms (10% of the mean gap between requests, 250ms)"},
		// Never below the floor: at 1,000 req/s a tenth of a gap is 100 µs.
		{"1,000 req/s", ms, 0, ms, ms, BasisGap, "1ms (the floor: 10% of the mean gap between requests, 1ms, is below it)"},
		// A closed loop or a cap: a tenth of the median latency.
		{"closed", 0, 370 * ms, 37 * ms, 370 * ms, BasisLatency, "37ms (10% of the median latency, 370ms)"},
		// A rate under a cap: the shorter scale.
		{"capped, gap shorter", 100 * ms, 2 * time.Second, 10 * ms, 100 * ms, BasisGap, "10ms (10% of the mean gap between requests, 100ms)"},
		{"capped, latency shorter", time.Second, 50 * ms, 5 * ms, 50 * ms, BasisLatency, "5ms (10% of the median latency, 50ms)"},
		// Nothing to compare with (no rate, no completed request): the floor.
		{"none", 0, 0, ms, 0, "", "1ms (the floor: no gap or latency to compare with)"},
	} {
		l := ClientLagLimit(c.gap, c.latency)
		assert.Equal(t, l, LagLimit{Limit: c.limit, Scale: c.scale, Basis: c.basis}, c.name)
		assert.Equal(t, l.String(), c.string, c.name)
	}
}

func TestLagLimitExceeded(t *testing.T) {
	// The case: 6 ms of lag against a 422 ms gap is nothing; the
	// same 6 ms at 1,000 req/s bunches six requests.
	slow := ClientLagLimit(time.Second*100/237, 0)
	assert.Assert(t, !slow.Exceeded(6*time.Millisecond))
	assert.Assert(t, slow.Exceeded(50*time.Millisecond))
	fast := ClientLagLimit(time.Millisecond, 0)
	assert.Assert(t, fast.Exceeded(6*time.Millisecond))
	assert.Assert(t, !fast.Exceeded(time.Millisecond), "at the limit is not above it")
}
