package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchplan/benchplan/executor"
	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"
)

// A process server that crashes mid-step: the step stops with the
// server's exit and the last lines of its log, its failed requests are
// counted with their reasons, the next scenario on that server is skipped
// with a reason, a scenario on another server still runs, every report is
// written, benchplan exits 3 and no server process remains.
func TestServerDyingMidStepExits3(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("SKIP: needs /proc to find the process server")
	}
	t.Parallel()
	addr := freePort(t)
	// The "engine" serves for 2s, then prints a CUDA error and dies.
	script := filepath.Join(t.TempDir(), "engine.sh")
	assert.NilError(t, os.WriteFile(script, []byte(`#!/bin/sh
"$1" sim --addr "$2" --ttft 10ms --itl 2ms &
sleep 2
echo "RuntimeError: CUDA error: an illegal memory access was encountered" >&2
kill -9 $!
exit 1
`), 0o755))
	plan := writePlan(t, `version: 1
name: crash
servers:
  engine:
    command: [`+strconv.Quote(script)+`, `+strconv.Quote(binary)+`, "`+addr+`"]
    url: http://`+addr+`
    startup_timeout: 20s
  other:
    sim: { ttft: 5ms, itl: 1ms }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 8 } }
scenarios:
  - name: long
    server: engine
    load: { type: concurrent, streams: 4 }
    limits: { max_duration: 60s }
  - name: after
    server: engine
    load: { type: synchronous }
    limits: { max_requests: 3 }
  - name: elsewhere
    server: other
    load: { type: synchronous }
    limits: { max_requests: 3 }
    assert: [ errors.rate == 0 ]
`)
	out := t.TempDir()
	start := time.Now()
	r := benchplan(t, 45*time.Second, "run", plan, "--out", out)
	assert.Equal(t, r.code, exitRunFailed, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, time.Since(start) < 30*time.Second, "the step stopped when the server died, not at max_duration")
	assert.Assert(t, is.Contains(r.stderr, `server "engine" exited`), r.stderr)
	assert.Assert(t, is.Contains(r.stderr, "CUDA error: an illegal memory access"), "the log's last lines are shown:\n%s", r.stderr)

	run := readRun(t, out)
	assert.Equal(t, run.Verdict, results.Error)
	long := run.Scenarios[0]
	assert.Equal(t, len(long.Steps), 1)
	st := long.Steps[0]
	assert.Equal(t, st.StopReason, executor.StopServerExited)
	assert.Assert(t, st.Partial)
	assert.Assert(t, st.Metrics.Requests.Completed > 0, "requests before the crash were measured")
	assert.Assert(t, is.Contains(long.Error, `server "engine" exited`))
	m := st.Metrics
	if m.Errors.Count > 0 {
		total := 0
		for _, n := range m.Errors.Reasons {
			total += n
		}
		assert.Equal(t, total, m.Errors.Count, "every error has a reason: %v", m.Errors.Reasons)
	}
	assert.Equal(t, run.Scenarios[1].Error, `not run: server "engine" exited during scenario "long"`)
	assert.Equal(t, run.Scenarios[2].Error, "")
	assert.Equal(t, run.Scenarios[2].Steps[0].Metrics.Requests.Completed, 3)
	for _, f := range []string{"results.json", "junit.xml", "summary.md", "report.html", "results.csv", "logs/engine.log"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NilError(t, err, f)
	}
	b, err := os.ReadFile(filepath.Join(out, "logs", "engine.log"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(b), "CUDA error"))
	assert.Equal(t, len(simProcesses(addr)), 0, "no simulator process remains")
}

// processesRunning lists the pids whose command line contains s (zombies
// left out).
func processesRunning(s string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat")); err == nil {
			if i := strings.LastIndexByte(string(st), ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// A server that ignores SIGTERM holds up the stop after a signal (its
// grace period is 10s). The partial results are written before the stop
// begins; a repeat of the signal at once (as `timeout` sends one to the
// child and one to its group) does not force; a signal after the window
// forces benchplan out at once, with exit 130, and the server does not
// outlive it.
func TestSignalsStopGracefullyThenForce(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("SKIP: needs /proc to find the process server")
	}
	t.Parallel()
	addr := freePort(t)
	script := filepath.Join(t.TempDir(), "stubborn-engine.sh")
	assert.NilError(t, os.WriteFile(script, []byte(`#!/bin/sh
trap '' TERM
"$1" sim --addr "$2" --ttft 10ms --itl 2ms &
while true; do sleep 0.2; done
`), 0o755))
	plan := writePlan(t, `version: 1
name: stubborn
servers:
  engine:
    command: [`+strconv.Quote(script)+`, `+strconv.Quote(binary)+`, "`+addr+`"]
    url: http://`+addr+`
    startup_timeout: 20s
scenarios:
  - name: long
    load: { type: constant, rate: 5 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 8 } }
    limits: { max_duration: 2m }
`)
	out := t.TempDir()
	cmd, stderr := startRun(t, plan, "--out", out)
	t.Cleanup(func() {
		for _, pid := range processesRunning(script) {
			t.Errorf("the server outlived benchplan: %d", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	waitForOutput(t, cmd, stderr, "long constant 5.00/s: started", 30*time.Second)
	first := time.Now()
	assert.NilError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.NilError(t, cmd.Process.Signal(syscall.SIGTERM))
	waitForOutput(t, cmd, stderr, "stopping process", 15*time.Second)
	// The server ignores its SIGTERM: benchplan waits out its grace, with
	// the partial results already on disk.
	run := readRun(t, out)
	assert.Equal(t, run.Error, "interrupted")
	assert.Equal(t, len(run.Scenarios), 1)
	assert.Assert(t, !strings.Contains(stderr.String(), "forced"), "the repeated signal forced the exit:\n%s", stderr)
	assert.Assert(t, is.Contains(stderr.String(), "partial results written"))
	assert.Assert(t, !strings.Contains(stderr.String(), "reports: "), "benchplan ended before the server's grace ran out:\n%s", stderr)

	// A signal after the window forces: the window is real time by
	// definition, so the test waits it out.
	if wait := signalWindow - time.Since(first); wait > 0 {
		time.Sleep(wait + 100*time.Millisecond)
	}
	start := time.Now()
	assert.NilError(t, cmd.Process.Signal(syscall.SIGINT))
	code := waitExit(t, cmd, forceTimeout+5*time.Second, stderr)
	assert.Equal(t, code, exitInterrupted, stderr.String())
	assert.Assert(t, time.Since(start) < forceTimeout, "the forcing signal waited %s", time.Since(start))
	assert.Assert(t, is.Contains(stderr.String(), "forced exit"))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if len(processesRunning(script)) == 0 {
			return poll.Success()
		}
		return poll.Continue("the server still runs: %v", processesRunning(script))
	}, poll.WithTimeout(5*time.Second), poll.WithDelay(100*time.Millisecond))
	run = readRun(t, out)
	assert.Equal(t, run.Error, "interrupted")
}

// A server with `restart: per_scenario` is stopped and started afresh for
// each scenario that names it; a shared one starts once.
func TestRestartPerScenario(t *testing.T) {
	t.Parallel()
	addr, addr2 := freePort(t), freePort(t)
	plan := writePlan(t, `version: 1
name: restart
servers:
  fresh:
    command: [`+strconv.Quote(binary)+`, sim, --addr, "`+addr+`", --ttft, 5ms, --itl, 1ms]
    url: http://`+addr+`
    restart: per_scenario
  shared:
    command: [`+strconv.Quote(binary)+`, sim, --addr, "`+addr2+`", --ttft, 5ms, --itl, 1ms]
    url: http://`+addr2+`
defaults:
  load: { type: synchronous }
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
  limits: { max_requests: 2 }
scenarios:
  - { name: a, server: fresh }
  - { name: b, server: shared }
  - { name: c, server: fresh }
  - { name: d, server: shared }
`)
	r := benchplan(t, time.Minute, "run", plan, "--out", t.TempDir())
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Equal(t, strings.Count(r.stderr, "server fresh: starting process"), 2, r.stderr)
	assert.Equal(t, strings.Count(r.stderr, "server shared: starting process"), 1, r.stderr)
	assert.Equal(t, len(simProcesses(addr))+len(simProcesses(addr2)), 0)
}

// The simulator's faults through a real run: 500s, 429s, stalled streams
// (ended by the per-request timeout), dropped connections and malformed
// chunks are each counted under their own reason, the other requests are
// measured, and the run goes on to its gate.
func TestFaultsAreCountedByReason(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: faults
servers:
  flaky:
    sim: { ttft: 5ms, itl: 1ms, seed: 7, error_rate_500: 0.1, error_rate_429: 0.1, stall_rate: 0.1, drop_rate: 0.1, malformed_rate: 0.1 }
scenarios:
  - name: chat
    load: { type: concurrent, streams: 8 }
    data: { emulated: { prompt_tokens: 16, output_tokens: 16 } }
    limits: { max_requests: 200, timeout: 300ms }
    assert: [ "errors.rate < 0.7", "ttft.p95 < 100ms" ]
`)
	out := t.TempDir()
	start := time.Now()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, time.Since(start) < 30*time.Second, "stalled streams end at the timeout")
	m := readRun(t, out).Scenarios[0].Steps[0].Metrics
	t.Logf("reasons: %v", m.Errors.Reasons)
	assert.Equal(t, m.Requests.Total, 200)
	total := 0
	for _, n := range m.Errors.Reasons {
		total += n
	}
	assert.Equal(t, total, m.Errors.Count, "every error has a reason")
	for _, want := range []string{"http 500", "http 429", "timeout", "malformed chunk"} {
		n := m.Errors.Reasons[want]
		assert.Assert(t, n >= 8 && n <= 40, "%s: %d of 200 (10%% asked): %v", want, n, m.Errors.Reasons)
	}
	other := m.Errors.Count - m.Errors.Reasons["http 500"] - m.Errors.Reasons["http 429"] - m.Errors.Reasons["timeout"] - m.Errors.Reasons["malformed chunk"]
	assert.Assert(t, other >= 8, "dropped streams are errors too: %v", m.Errors.Reasons)
	assert.Assert(t, m.Requests.Completed >= 60, "the rest were measured: %d", m.Requests.Completed)
	assert.Assert(t, is.Contains(r.stdout, "http 429"), "the console lists the reasons")
}
