package results

import (
	"fmt"
	"math"
	"time"
)

// When is a step's client late? Latencies (ttft, tpot, latency) start at
// sent, so the client's lag (sent − ready) never enters them; what lag
// distorts is the load the server saw:
//
//   - on a schedule (constant, poisson), a request sent late arrives late:
//     lag reshapes the arrival process, and how much depends on the gaps
//     between arrivals. 6 ms against the 422 ms mean gap of 2.37 req/s
//     moves nothing; 6 ms at 1,000 req/s (a 1 ms gap) bunches six requests.
//   - in a closed loop (synchronous, concurrent) or under a concurrency cap
//     (max_concurrency, throughput), a request sent late leaves its stream
//     or slot idle: lag lowers the concurrency the server saw, in
//     proportion to lag / latency.
//
// So the limit on lag p99 is a share of that time scale, with a floor below
// which lag is a busy machine's scheduling noise whatever the load (and
// which is the limit when no scale is known).

// ClientLateFloor is the least client lag p99 that makes a step client
// late, whatever its load.
const ClientLateFloor = time.Millisecond

// ClientLateShare is the share of the time scale a step's lag distorts
// (the mean gap between requests, or the median latency) that its lag p99
// may reach: at most 1% of requests then leave later than a tenth of a gap
// (a Poisson schedule's own gaps vary by their whole mean), or hold their
// slot idle for more than a tenth of a typical request.
const ClientLateShare = 0.10

// LagLimit is the client lag p99 above which a step is client late,
// and the time scale it derives from.
type LagLimit struct {
	// Limit is max(ClientLateFloor, ClientLateShare × Scale).
	Limit time.Duration
	// Scale is the time scale the lag is measured against; 0 when none is
	// known (the floor applies).
	Scale time.Duration
	// Basis names Scale: BasisGap or BasisLatency ("" when Scale is 0).
	Basis string
}

// Bases of a LagLimit.
const (
	BasisGap     = "mean gap between requests"
	BasisLatency = "median latency"
)

// ClientLagLimit returns the lag limit of a step. meanGap is its schedule's
// mean time between intended sends (1/rate; 0 for a closed loop or a load
// due all at once). medianLatency is its median latency when requests wait
// for a stream or a slot (a closed loop, or a concurrency cap), else 0:
// uncapped, a late request holds nothing up. With both, the shorter
// scale applies.
func ClientLagLimit(meanGap, medianLatency time.Duration) LagLimit {
	l := LagLimit{Limit: ClientLateFloor}
	switch {
	case meanGap > 0 && (medianLatency <= 0 || meanGap <= medianLatency):
		l.Scale, l.Basis = meanGap, BasisGap
	case medianLatency > 0:
		l.Scale, l.Basis = medianLatency, BasisLatency
	default:
		return l
	}
	l.Limit = max(ClientLateFloor, time.Duration(math.Round(ClientLateShare*float64(l.Scale))))
	return l
}

// Exceeded reports whether a lag p99 is above the limit.
func (l LagLimit) Exceeded(p99 time.Duration) bool { return p99 > l.Limit }

// String says the limit and why: "42.2ms (10% of the mean gap between
// requests, 421.9ms)"; "1ms (the floor: ...)" when the share is below it.
func (l LagLimit) String() string {
	lim := roundLag(l.Limit)
	if l.Scale <= 0 {
		return fmt.Sprintf("%s (the floor: no gap or latency to compare with)", lim)
	}
	what := fmt.Sprintf("%.0f%% of the %s, %s", ClientLateShare*100, l.Basis, roundLag(l.Scale))
	if share := time.Duration(math.Round(ClientLateShare * float64(l.Scale))); share < ClientLateFloor {
		return fmt.Sprintf("%s (the floor: %s, is below it)", lim, what)
	}
	return fmt.Sprintf("%s (%s)", lim, what)
}

// roundLag rounds a lag for a message: to 10µs below 10 ms, to 100µs
// below 1 s, else to the millisecond.
func roundLag(d time.Duration) time.Duration {
	switch {
	case d < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
