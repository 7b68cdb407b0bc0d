package reporters

import (
	"fmt"
	"time"

	"github.com/benchplan/benchplan/results"
)

// sessionsLine summarises a step's multi-turn sessions on one line ("" for
// a step without them).
func sessionsLine(st *results.Step) string {
	m := st.Metrics.Sessions
	if m == nil {
		return ""
	}
	s := fmt.Sprintf("sessions: %d started, %d completed, %d failed, %.1f turns each", m.Started, m.Completed, m.Failed, m.TurnsMean)
	if d := m.Duration; d.Count > 0 {
		s += fmt.Sprintf("; duration p50 %s, p95 %s", d.P50.Round(time.Millisecond), d.P95.Round(time.Millisecond))
	}
	return s
}
