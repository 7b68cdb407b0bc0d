package executor

import (
	"fmt"
	"time"

	"github.com/benchplan/benchplan/results"
)

// waitingFlatters is how far ttft.p95 must fall below its bound with the
// waiting requests counted (results.Metrics.TTFTP95WithWaiting) before a
// step says that ttft flatters the server: 5%, the default effect size of
// compare and baseline gates.
const waitingFlatters = 1.05

// waitingWarning says when a step cut with requests still waiting for
// their first token reports a ttft.p95 that those requests would have
// raised by more than waitingFlatters: ttft is over completed requests, so
// an overloaded step that was cut flatters the server. "" otherwise: a few
// requests waiting put no figure at risk.
func waitingWarning(m *results.Metrics) string {
	w := m.Waiting
	if w == nil || w.Count == 0 {
		return ""
	}
	bound := time.Duration(m.TTFTP95WithWaiting)
	if m.TTFT.Count > 0 && float64(bound) <= float64(m.TTFT.P95)*waitingFlatters {
		return ""
	}
	reported := "ttft has no data: no request completed"
	if m.TTFT.Count > 0 {
		reported = "ttft.p95 is " + roundFor(m.TTFT.P95).String()
	}
	return fmt.Sprintf("%d requests were still waiting for their first token when the step was cut (the longest for %s): "+
		"ttft is over completed requests and leaves them out; counted at their wait so far, ttft.p95 would be at least %s (%s). "+
		"Gate on requests.waiting or waiting.max, or give the step time to drain",
		w.Count, roundFor(w.Max), roundFor(bound), reported)
}

// roundFor rounds a duration for a sentence: to 0.1ms below a second, to
// the millisecond above.
func roundFor(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
