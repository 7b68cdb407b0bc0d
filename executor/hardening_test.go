package executor

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// goesAway is a url server (the simulator) that answers its readiness
// probe and the first n chat requests, then closes its listener: later
// connections are refused, as from a server that died.
func goesAway(t *testing.T, n int64) string {
	t.Helper()
	s := sim.New(sim.Config{})
	var served atomic.Int64
	var once sync.Once
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/completions") {
			s.ServeHTTP(w, r)
			return
		}
		if served.Add(1) > n {
			once.Do(func() { go srv.Listener.Close() })
			hj, ok := w.(http.Hijacker)
			if ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A url server that goes away mid-step is not hammered: after
// UnreachableAfter refused connections in a row the step stops as
// server_unreachable, partial, and the run ends in error (exit 3).
func TestServerGoneMidStepStopsTheStep(t *testing.T) {
	t.Parallel()
	run, err := runPlan(t, `version: 1
name: gone
servers:
  remote: { url: "`+goesAway(t, 5)+`" }
scenarios:
  - name: chat
    load: { type: concurrent, streams: 2 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
    limits: { max_requests: 100000, max_duration: 2m }
  - name: later
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
    limits: { max_requests: 2 }
`, nil)
	var ue *UnreachableError
	assert.Assert(t, errors.As(err, &ue), "run error: %v", err)
	assert.Equal(t, ue.Refused, UnreachableAfter)
	st := run.Scenarios[0].Steps[0]
	assert.Equal(t, st.StopReason, StopServerUnreachable)
	assert.Assert(t, st.Partial)
	refused := st.Metrics.Errors.Reasons["connection refused"]
	// The streams stop soon after the limit, not after the step's 100,000
	// requests: how many refusals come in between depends on how fast the
	// machine turns a refused connection around against the step's stop
	// (under -race on a busy machine, 34 of 20 were seen), so the bound is
	// loose; ue.Refused above is exact.
	assert.Assert(t, refused >= UnreachableAfter-2 && refused < 1000, "refused %d: %v", refused, st.Metrics.Errors.Reasons)
	assert.Assert(t, strings.Contains(run.Scenarios[0].Error, "went away"), run.Scenarios[0].Error)
	assert.Assert(t, strings.Contains(run.Scenarios[1].Error, "not run"), run.Scenarios[1].Error)
}

// A request of a scenario with no `timeout` is still bounded.
func TestDefaultRequestTimeout(t *testing.T) {
	t.Parallel()
	lim := limits(mustScenario(t, `version: 1
name: t
servers:
  sim: { sim: {} }
scenarios:
  - name: s
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
    limits: { max_requests: 2 }
`))
	assert.Equal(t, lim.Timeout, DefaultRequestTimeout)
	lim = limits(mustScenario(t, `version: 1
name: t
servers:
  sim: { sim: {} }
scenarios:
  - name: s
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
    limits: { max_requests: 2, timeout: 3s }
`))
	assert.Equal(t, lim.Timeout, 3*time.Second)
}

// A /metrics endpoint that stalls is waited on once, not in every step:
// after a step finds it stalled, the scenario's later steps do not scrape
// it, and say why.
func TestStalledMetricsAreRememberedForTheScenario(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Config{})
	var scrapes atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			scrapes.Add(1)
			select { // stalls until the test ends
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	run, err := runPlan(t, `version: 1
name: stall
servers:
  remote: { url: "`+srv.URL+`" }
scenarios:
  - name: chat
    load: { type: concurrent, streams: [1, 1, 1] }
    data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
    limits: { max_requests: 3 }
    telemetry: { gpu: off }
`, nil)
	assert.NilError(t, err)
	steps := run.Scenarios[0].Steps
	assert.Equal(t, len(steps), 3)
	assert.Equal(t, scrapes.Load(), int64(1), "the stalled endpoint was scraped again")
	for _, st := range steps[1:] {
		assert.Assert(t, st.TelemetrySummary != nil && st.TelemetrySummary.Server != nil)
		assert.Assert(t, strings.Contains(st.TelemetrySummary.Server.Unavailable, "did not answer within"), "%+v", st.TelemetrySummary.Server)
	}
}

// mustScenario loads a plan from text and returns its first scenario.
func mustScenario(t *testing.T, text string) *plan.Scenario {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(text), 0o644))
	p, err := plan.Read(path, plan.Options{})
	assert.NilError(t, err)
	return p.Scenarios[0]
}

// A signal while a server is still starting (here one that never becomes
// ready and ignores SIGTERM, so its start's clean-up takes the whole stop
// grace) does not hold up the partial results: the Interrupted hook runs
// at once, and the start winds down afterwards, under StopAll.
func TestInterruptDoesNotWaitForAStartingServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing answers there: the server never becomes ready
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.yaml")
	spawned := filepath.Join(dir, "spawned")
	assert.NilError(t, os.WriteFile(path, []byte(`version: 1
name: starting
servers:
  slow:
    command: ["sh", "-c", "trap '' TERM; touch `+filepath.Join(dir, "spawned")+`; while true; do sleep 0.1; done"]
    url: http://`+addr+`
    startup_timeout: 5m
scenarios:
  - name: waits
    server: slow
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
    limits: { max_requests: 3 }
`), 0o644))
	p, err := plan.Read(path, plan.Options{})
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		cancelled time.Time
	)
	hooked := make(chan time.Duration, 1)
	var partial *results.Run
	opts := Options{
		// As a signal would, once the server's process runs (it has
		// written its file, and ignores SIGTERM from then on).
		Progress: onLine("server slow: starting process", func() {
			go func() {
				for {
					if _, err := os.Stat(spawned); err == nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				cancelled = time.Now()
				mu.Unlock()
				cancel()
			}()
		}),
		Interrupted: func(run *results.Run) {
			partial = run
			mu.Lock()
			hooked <- time.Since(cancelled)
			mu.Unlock()
		},
	}
	run, err := Run(ctx, p, opts)
	assert.ErrorIs(t, err, context.Canceled)
	took := <-hooked
	// The start's clean-up waits servers.DefaultStopGrace (10 s) on a
	// server that ignores SIGTERM; the results must not.
	assert.Assert(t, took < servers.DefaultStopGrace/2, "the partial results waited %s for the starting server", took)
	assert.Equal(t, partial.Scenarios[0].Error, "not run: interrupted")
	assert.Equal(t, partial.Error, "interrupted")
	assert.Equal(t, run.Error, "interrupted")
	mu.Lock()
	defer mu.Unlock()
	assert.Assert(t, time.Since(cancelled) >= servers.DefaultStopGrace*9/10, "the start's clean-up did not take its grace: the test shows nothing")
}

// onLine is a progress writer that calls f once, when a line containing
// text is written.
func onLine(text string, f func()) io.Writer {
	var once sync.Once
	return writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), text) {
			once.Do(f)
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }
