package load

import "time"

// Trace is an open load replayed from recorded arrivals: request i is due
// at Offsets[i], already shifted to the replay's window and divided by its
// speed (see TraceOffset). Requests past the trace are never due.
type Trace struct {
	Offsets []time.Duration
}

// At returns request i's recorded offset.
func (t Trace) At(i int) time.Duration {
	if i < 0 {
		return 0
	}
	if i >= len(t.Offsets) {
		return never
	}
	return t.Offsets[i]
}

// MeanRatePerSec is the trace's mean arrival rate over its span (0 for a
// trace of fewer than two requests or no span).
func (t Trace) MeanRatePerSec() float64 {
	n := len(t.Offsets)
	if n < 2 {
		return 0
	}
	span := t.Offsets[n-1] - t.Offsets[0]
	if span <= 0 {
		return 0
	}
	return float64(n-1) / span.Seconds()
}

// TraceOffset is the intended offset of an arrival recorded at timestamp
// (from the trace's time 0), in a replay whose window starts at start and
// that runs speed times faster than recorded: (timestamp - start) / speed.
func TraceOffset(timestamp, start time.Duration, speed float64) time.Duration {
	if speed <= 0 {
		speed = 1
	}
	return seconds((timestamp - start).Seconds() / speed)
}
