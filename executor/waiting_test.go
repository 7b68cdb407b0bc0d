package executor

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// cutStep: 100 requests answered with TTFT 100..199ms, then waiting more
// requests sent in the step's last 2s, still without a first token when
// it stopped at 12s.
func cutStep(waiting int) results.Metrics {
	var rs []results.Request
	for i := range 100 {
		sent := time.Duration(i) * 100 * time.Millisecond
		first := sent + 100*time.Millisecond + time.Duration(i)*time.Millisecond
		rs = append(rs, results.Request{Index: i, Intended: sent, Ready: sent, Sent: sent, FirstToken: first,
			LastToken: first + 10*time.Millisecond, End: first + 11*time.Millisecond, OutputTokens: 2, UsageReported: true})
	}
	for i := range waiting {
		sent := 10*time.Second + time.Duration(i)*time.Second/time.Duration(waiting)
		rs = append(rs, results.Request{Index: 100 + i, Intended: sent, Ready: sent, Sent: sent, Incomplete: true})
	}
	return results.ComputeWith(rs, results.Window{Stop: 12 * time.Second})
}

func TestWaitingRequestsAreCountedAndWarnedOfOnlyWhenTheyMatter(t *testing.T) {
	m := cutStep(20)
	assert.Check(t, is.Equal(m.Requests.Waiting, 20))
	assert.Check(t, is.Equal(m.Waiting.Max, 2*time.Second))
	assert.Check(t, is.Equal(m.TTFT.Count, 100), "ttft is over the answered requests alone")
	// 20 of 120 waited 1..2s: the p95 of all 120 is among them.
	assert.Check(t, time.Duration(m.TTFTP95WithWaiting) > time.Second, "%v", m.TTFTP95WithWaiting)
	w := waitingWarning(&m)
	assert.Check(t, strings.HasPrefix(w, "20 requests were still waiting for their first token when the step was cut (the longest for 2s)"), w)
	assert.Check(t, strings.Contains(w, "Gate on requests.waiting or waiting.max"), w)

	// Two waiting requests out of 102 hardly move the p95: no warning.
	m = cutStep(2)
	assert.Check(t, is.Equal(m.Requests.Waiting, 2))
	assert.Check(t, is.Equal(waitingWarning(&m), ""), "p95 %v, with waiting %v", m.TTFT.P95, m.TTFTP95WithWaiting)

	// None waiting: nothing to say.
	m = cutStep(0)
	assert.Check(t, m.Waiting == nil && m.Requests.Waiting == 0)
	assert.Check(t, is.Equal(waitingWarning(&m), ""))
}
