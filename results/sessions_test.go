package results

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestComputeSessions(t *testing.T) {
	assert.Assert(t, ComputeSessions(nil, Window{}, 0.95) == nil, "no sessions: no figures")
	s := time.Second
	recs := []Session{
		{ID: 1, Turns: 3, Sent: 3, Done: 3, Start: 0, End: 5 * s, Ended: SessionCompleted},       // in the warmup
		{ID: 2, Turns: 3, Sent: 3, Done: 3, Start: 2 * s, End: 6 * s, Ended: SessionCompleted},   // 4s
		{ID: 3, Turns: 3, Sent: 3, Done: 3, Start: 3 * s, End: 9 * s, Ended: SessionCompleted},   // 6s
		{ID: 4, Turns: 3, Sent: 2, Done: 1, Start: 4 * s, End: 5 * s, Ended: "failed: http 500"}, // failed
		{ID: 5, Turns: 3, Sent: 2, Done: 1, Start: 5 * s, End: 10 * s, Ended: SessionStepEnded},  // cut
		{ID: 6, Turns: 3, Sent: 1, Done: 0, Start: 11 * s, End: 11 * s, Ended: SessionStepEnded}, // in the cooldown
		{ID: 7, Turns: 3, Sent: 0, Done: 0, Ended: SessionStepEnded},                             // never sent
		{ID: 8, Turns: 4, Sent: 4, Done: 4, Start: 6 * s, End: 7 * s, Ended: "answer too long"},  // ended by a bound
	}
	m := ComputeSessions(recs, Window{Start: time.Second, End: 10 * s}, 0.95)
	assert.Equal(t, m.Started, 5)
	assert.Equal(t, m.Completed, 2)
	assert.Equal(t, m.Failed, 2)
	assert.Equal(t, m.TurnsMean, float64(3+3+1+1+4)/5)
	assert.Equal(t, m.Duration.Count, 2)
	assert.Equal(t, m.Duration.Min, 4*s)
	assert.Equal(t, m.Duration.Max, 6*s)
	assert.DeepEqual(t, m.Reasons, map[string]int{SessionCompleted: 2, "failed: http 500": 1, SessionStepEnded: 1, "answer too long": 1})
}
