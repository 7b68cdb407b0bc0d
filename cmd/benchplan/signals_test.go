package main

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// The signal sequence on a fake clock: `timeout`'s two signals at once,
// a CI runner's SIGINT then SIGTERM 7.5 s later, and a third signal.
func TestSignalSequence(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		after []time.Duration // since the first signal
		want  []action
	}{
		{"one signal stops", []time.Duration{0}, []action{actStop}},
		{"timeout signals the child then its group", []time.Duration{0, time.Millisecond}, []action{actStop, actIgnore}},
		{"repeats within the window are ignored", []time.Duration{0, 500 * time.Millisecond, signalWindow - time.Nanosecond}, []action{actStop, actIgnore, actIgnore}},
		{"GitHub Actions: SIGINT, SIGTERM 7.5 s later", []time.Duration{0, 7500 * time.Millisecond}, []action{actStop, actForce}},
		{"the forcing signal delivered twice", []time.Duration{0, 3 * time.Second, 3*time.Second + time.Millisecond}, []action{actStop, actForce, actIgnore}},
		{"after the force, exit", []time.Duration{0, 3 * time.Second, 3*time.Second + signalWindow}, []action{actStop, actForce, actExit}},
		{"ignored repeat then a force", []time.Duration{0, time.Millisecond, signalWindow}, []action{actStop, actIgnore, actForce}},
	}
	for _, c := range cases {
		var st signalState
		var got []action
		for _, d := range c.after {
			got = append(got, st.next(t0.Add(d)))
		}
		assert.DeepEqual(t, got, c.want)
	}
}
