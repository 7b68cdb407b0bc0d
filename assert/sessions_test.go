package assert

import (
	"testing"
	"time"

	check "gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/benchplan/benchplan/results"
)

// A step of sessions is gated on its sessions' figures; the duration's
// percentiles have order-statistic intervals like any distribution.
func TestSessionsGates(t *testing.T) {
	var recs []results.Session
	for k := 1; k <= 40; k++ {
		s := results.Session{ID: k, Turns: 4, Sent: 4, Done: 4, Start: time.Duration(k) * time.Second,
			Ended: results.SessionCompleted}
		s.End = s.Start + time.Duration(1000+10*k)*time.Millisecond
		if k%10 == 0 {
			s.Done, s.Ended = 2, "failed: http 500"
		}
		recs = append(recs, s)
	}
	step := &results.Step{}
	step.Metrics.Requests.Total = 150
	step.Metrics.Requests.Completed = 150
	step.Metrics.Sessions = results.ComputeSessions(recs, results.Window{}, 0.95)
	for _, c := range []struct {
		expr string
		want results.Verdict
	}{
		{"sessions.started == 40", results.Pass},
		{"sessions.completed == 36", results.Pass},
		{"sessions.failed == 4", results.Pass},
		{"sessions.turns.mean == 3.8", results.Pass},
		{"sessions.duration.p50 < 2s", results.Pass},
		{"sessions.duration.p95 < 1s", results.Fail},
		// The p95 of 36 samples: its interval reaches the maximum.
		{"sessions.duration.p95 < 1.39s", results.Inconclusive},
	} {
		a, err := Compile(c.expr)
		check.Assert(t, err, c.expr)
		o := a.Evaluate(step)
		check.Check(t, is.Equal(o.Verdict, c.want), "%s: %+v", c.expr, o)
	}
	a, err := Compile("sessions.completed > 0")
	check.Assert(t, err)
	o := a.Evaluate(&results.Step{})
	check.Check(t, is.Equal(o.Verdict, results.Error))
	check.Check(t, is.Contains(o.Message, "the scenario has no sessions (data.sessions)"))
}
