package main

import (
	"os"
	"strings"
	"sync"
	"syscall"
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

// An exit that cuts the cleanup short says how to remove what remains,
// Kubernetes pods included.
func TestSignalExitSaysHowToCleanUp(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 3)
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	at := []time.Time{t0, t0.Add(3 * time.Second), t0.Add(3*time.Second + signalWindow)}
	n := 0
	var stderr lockedWriter // the force's timer writes to it later, from its own goroutine
	exited := make(chan int, 2)
	force := make(chan struct{})
	for range at {
		sigs <- syscall.SIGTERM
	}
	close(sigs)
	handleSignals(sigs, &stderr, func() time.Time { n++; return at[n-1] }, "stopping", func() {}, force, func(code int) { exited <- code })
	assert.Equal(t, <-exited, exitInterrupted)
	assert.Assert(t, strings.Contains(stderr.String(), "exiting at once; containers, processes or Kubernetes pods of this run may remain: run `benchplan cleanup` (pods: `benchplan cleanup --kubernetes --yes`)"), stderr.String())
}

type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
