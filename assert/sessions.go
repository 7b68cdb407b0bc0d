package assert

import (
	"strings"

	"github.com/benchplan/benchplan/results"
)

// sessionsEnv are a step's multi-turn session figures (results.SessionMetrics).
type sessionsEnv struct {
	Started   int          `expr:"started"`
	Completed int          `expr:"completed"`
	Failed    int          `expr:"failed"`
	Turns     sessionTurns `expr:"turns"`
	Duration  dist         `expr:"duration"`
}

type sessionTurns struct {
	// Mean is the mean number of turns completed per started session.
	Mean float64 `expr:"mean"`
}

func newSessionsEnv(m *results.SessionMetrics) sessionsEnv {
	if m == nil {
		return sessionsEnv{}
	}
	return sessionsEnv{
		Started: m.Started, Completed: m.Completed, Failed: m.Failed,
		Turns: sessionTurns{Mean: m.TurnsMean}, Duration: newDist(m.Duration),
	}
}

// sessionsNoData says why a sessions.* figure has no value in s; ok is
// false for a path outside sessions.
func sessionsNoData(path string, s *results.Step) (string, bool) {
	rest, ok := strings.CutPrefix(path, "sessions.")
	if !ok {
		return "", false
	}
	m := s.Metrics.Sessions
	switch {
	case m == nil:
		return "the scenario has no sessions (data.sessions)", true
	case rest == "turns.mean" && m.Started == 0:
		return "no session started in this step's measured window", true
	case strings.HasPrefix(rest, "duration.") && rest != "duration.count" && m.Duration.Count == 0:
		return "no session completed in this step's measured window", true
	}
	return "", true
}

// sessionsInterval is the interval of a sessions.duration figure.
func sessionsInterval(path string, m *results.Metrics) (results.Interval, int, bool) {
	member, ok := strings.CutPrefix(path, "sessions.duration.")
	if !ok || m.Sessions == nil || m.Sessions.Duration.Confidence == 0 {
		return results.Interval{}, 0, false
	}
	d := m.Sessions.Duration
	_, iv, ok := d.Figure(member)
	return iv, d.Count, ok
}
