package results

import (
	"time"
)

// Session is one multi-turn session of a step, as the load ran it.
type Session struct {
	// ID numbers the session in its step, from 1 (Request.Session).
	ID int `json:"id"`
	// Turns is how many turns the session was to have.
	Turns int `json:"turns"`
	// Sent is how many of its turns were sent; Done how many completed.
	Sent int `json:"sent"`
	Done int `json:"done"`
	// Start is when its first turn was sent; End when its last turn sent
	// ended (offsets from the step's start; both 0 when none was sent).
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	// Ended says why it ended: SessionCompleted, SessionStepEnded, or the
	// failure that ended it ("failed: http 503", "answer too long", ...).
	Ended string `json:"ended"`
}

// Why a session ended.
const (
	// SessionCompleted: every turn completed.
	SessionCompleted = "completed"
	// SessionStepEnded: the step's limits ended it first.
	SessionStepEnded = "step ended"
)

// SessionMetrics summarise a step's multi-turn sessions (nil in a step
// without sessions). Sessions that started in the warmup or the cooldown
// count in none of them.
type SessionMetrics struct {
	// Started counts the sessions whose first turn was sent in the window.
	Started int `json:"started"`
	// Completed counts those of them whose every turn completed.
	Completed int `json:"completed"`
	// Failed counts those that a failed turn (or an answer too long to send
	// back) ended; the rest were cut by the step's end.
	Failed int `json:"failed"`
	// TurnsMean is the mean number of turns completed per started session.
	TurnsMean float64 `json:"turns_mean"`
	// Duration is the completed sessions' durations: from the first turn's
	// send to the last turn's end, think times included.
	Duration Distribution `json:"duration"`
	// Reasons counts why sessions ended, by Session.Ended.
	Reasons map[string]int `json:"reasons,omitempty"`
}

// ComputeSessions summarises sessions for the measured window w (a session
// counts when its first turn was sent within it), with intervals at
// confidence.
func ComputeSessions(sessions []Session, w Window, confidence float64) *SessionMetrics {
	if sessions == nil {
		return nil
	}
	if confidence <= 0 {
		confidence = DefaultConfidence
	}
	m := &SessionMetrics{Reasons: map[string]int{}}
	var durations []time.Duration
	turns := 0
	for _, s := range sessions {
		if s.Sent == 0 {
			continue // the step ended before its first turn was sent
		}
		if s.Start < w.Start || (w.End > 0 && s.Start >= w.End) {
			continue
		}
		m.Started++
		turns += s.Done
		m.Reasons[s.Ended]++
		switch s.Ended {
		case SessionCompleted:
			m.Completed++
			durations = append(durations, s.End-s.Start)
		case SessionStepEnded:
		default:
			m.Failed++
		}
	}
	if m.Started > 0 {
		m.TurnsMean = float64(turns) / float64(m.Started)
	}
	m.Duration = NewDistributionAt(durations, confidence)
	if len(m.Reasons) == 0 {
		m.Reasons = nil
	}
	return m
}
