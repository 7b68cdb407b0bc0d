package executor

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/results"
)

func TestClientLateIsRelativeToWhatLagDistorts(t *testing.T) {
	ms := time.Millisecond
	step := func(lagP99, latencyP50 time.Duration) *results.Step {
		st := &results.Step{}
		st.Metrics.ClientLag = results.Distribution{Count: 100, P99: lagP99}
		st.Metrics.Queue = st.Metrics.ClientLag
		st.Metrics.Latency = results.Distribution{Count: 100, P50: latencyP50}
		return st
	}
	for _, c := range []struct {
		name    string
		spec    load.Spec
		lag     time.Duration
		latency time.Duration
		warning string // "" for none
	}{
		// The case: a busy machine's 6 ms against a 422 ms gap.
		{"2.37 req/s, 6ms", load.Spec{Schedule: load.Constant{RatePerSec: 2.37}}, 6 * ms, 400 * ms, ""},
		{"2.37 req/s, 50ms", load.Spec{Schedule: load.Constant{RatePerSec: 2.37}}, 50 * ms, 400 * ms,
			"client late: queue p99 is 50ms, above 42.2ms (10% of the mean gap between requests, 421.9ms); requests left benchplan late enough to reshape the arrivals the server saw: the load was not quite the one asked for (latencies start at sent and leave the lag out)"},
		{"poisson 20/s, 2ms", load.Spec{Schedule: load.NewPoisson(20, 1)}, 2 * ms, 400 * ms, ""},
		{"constant 5,000/s, 1.2ms: the floor", load.Spec{Schedule: load.Constant{RatePerSec: 5000}}, 1200 * time.Microsecond, 400 * ms,
			"client late: queue p99 is 1.2ms, above 1ms (the floor: 10% of the mean gap between requests, 200µs, is below it); requests left benchplan late enough to reshape the arrivals the server saw: the load was not quite the one asked for (latencies start at sent and leave the lag out)"},
		// A closed loop: a late request leaves its stream idle, against
		// how long a request holds it.
		{"synchronous, 20ms", load.Spec{Streams: 1}, 20 * ms, 400 * ms, ""},
		{"concurrent, 50ms", load.Spec{Streams: 8}, 50 * ms, 400 * ms,
			"client late: client lag p99 is 50ms, above 40ms (10% of the median latency, 400ms); streams or slots sat idle while benchplan caught up: the server saw less load than asked for (latencies start at sent and leave the lag out)"},
		// A cap: the slot's latency, or the gap when it is shorter.
		{"throughput capped, 30ms", load.Spec{Schedule: load.AllAtOnce{}, MaxConcurrency: 64}, 30 * ms, 400 * ms, ""},
		{"constant 100/s capped, 30ms", load.Spec{Schedule: load.Constant{RatePerSec: 100}, MaxConcurrency: 64}, 30 * ms, 400 * ms,
			"client late: client lag p99 is 30ms, above 1ms (10% of the mean gap between requests, 10ms); requests left benchplan late enough to reshape the arrivals the server saw: the load was not quite the one asked for (latencies start at sent and leave the lag out)"},
		// Everything due at once, uncapped: the burst against latency.
		{"throughput uncapped, 20ms", load.Spec{Schedule: load.AllAtOnce{}}, 20 * ms, 400 * ms, ""},
		// No request completed: nothing to compare with, the floor.
		{"closed, no latency", load.Spec{Streams: 1}, 2 * ms, 0,
			"client late: client lag p99 is 2ms, above 1ms (the floor: no gap or latency to compare with); requests left benchplan late: the load was not quite the one asked for (latencies start at sent and leave the lag out)"},
	} {
		st := step(c.lag, c.latency)
		ws := warnings(st, c.spec, load.Outcome{}, 0)
		if c.warning == "" {
			assert.Equal(t, len(ws), 0, "%s: %v", c.name, ws)
			assert.Assert(t, !st.ClientLate, c.name)
			continue
		}
		assert.DeepEqual(t, ws, []string{c.warning})
		assert.Assert(t, st.ClientLate, c.name)
	}
}

func TestSaturationIsClientLateWhateverTheLag(t *testing.T) {
	st := &results.Step{TargetRatePerSec: 2.37}
	st.Metrics.ClientLag = results.Distribution{Count: 10, P99: 100 * time.Microsecond}
	ws := warnings(st, load.Spec{Schedule: load.Constant{RatePerSec: 2.37}}, load.Outcome{Saturated: true, Unsent: 3, End: 10 * time.Second}, 0)
	assert.Assert(t, st.ClientLate)
	assert.Equal(t, len(ws), 1)
	assert.Assert(t, len(ws[0]) > 0 && ws[0][:17] == "client saturated:", ws[0])
}
