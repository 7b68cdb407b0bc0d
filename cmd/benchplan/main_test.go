package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
	"gotest.tools/v3/poll"
)

// binary is benchplan built for these tests: the program a user runs, in
// a process of its own, for the tests of signals and exit statuses, and
// the `benchplan sim` that process servers run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "benchplan-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "benchplan")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building benchplan:", err)
		os.Exit(1)
	}
	// Process servers' records (for `benchplan cleanup`) stay in the
	// tests' own directory, not the user's cache.
	_ = os.Setenv("BENCHPLAN_STATE_DIR", filepath.Join(dir, "state"))
	// Most of these tests wait on a simulated server's latencies, not on
	// the CPU: unless -parallel is given, run more of them at once than
	// the default of one per CPU.
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", strconv.Itoa(max(8, runtime.GOMAXPROCS(0))))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func writePlan(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func readRun(t *testing.T, dir string) *results.Run {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	assert.NilError(t, err)
	var run results.Run
	assert.NilError(t, json.Unmarshal(b, &run))
	return &run
}

// xmllintJUnit validates junit.xml against the shared JUnit schema.
func xmllintJUnit(t *testing.T, file string) {
	t.Helper()
	xsd := filepath.Join("..", "..", "..", "shared", "junit", "junit-10.xsd")
	if env := os.Getenv("JUNIT_XSD"); env != "" {
		xsd = env
	}
	if _, err := os.Stat(xsd); err != nil {
		t.Logf("SKIP junit schema check: %s not found", xsd)
		return
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Log("SKIP junit schema check: xmllint not installed (apt-get install libxml2-utils)")
		return
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", xsd, file).CombinedOutput()
	assert.NilError(t, err, "xmllint rejected %s:\n%s", file, out)
}

func TestQuickstartPasses(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := benchplan(t, 2*time.Minute, "run", "../../plans/quickstart.yaml", "--out", out)
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, strings.Contains(r.stdout, "PASS"), r.stdout)
	for _, f := range []string{"results.json", "junit.xml", "summary.md"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NilError(t, err)
	}
	xmllintJUnit(t, filepath.Join(out, "junit.xml"))
	run := readRun(t, out)
	assert.Equal(t, run.Verdict, results.Pass)
	assert.Equal(t, len(run.Scenarios), 2)
	sync := run.Scenarios[0].Steps[0]
	assert.Equal(t, sync.Metrics.Requests.Completed, 12)
	assert.Equal(t, sync.Metrics.Tokens.OutputTotal, 12*32, "ignore_eos must give exactly output_tokens")
	assert.Equal(t, sync.Metrics.Tokens.PromptTotal, 12*128)
	assert.Equal(t, sync.Metrics.Tokens.Source, "usage")
}

func TestFailingAssertionExits1WithObservedValue(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: too-strict
servers:
  sim: { sim: { ttft: 20ms, itl: 1ms } }
scenarios:
  - name: chat
    load: { type: constant, rate: 20 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 5 }
    assert: [ "ttft.p95 < 1ms", "errors.rate == 0" ]
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, 1, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(junit), "<failure"), string(junit))
	assert.Assert(t, strings.Contains(string(junit), "ttft.p95 = "), string(junit))
	xmllintJUnit(t, filepath.Join(out, "junit.xml"))
	run := readRun(t, out)
	assert.Equal(t, run.Verdict, results.Fail)
	assert.Equal(t, run.Scenarios[0].Steps[0].Assertions[0].Verdict, results.Fail)
	assert.Equal(t, run.Scenarios[0].Steps[0].Assertions[1].Verdict, results.Pass)
}

func TestDeadServerExits3WithOneLineReason(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	plan := writePlan(t, `version: 1
name: dead
servers:
  vllm: { url: "http://`+addr+`", startup_timeout: 1s }
scenarios:
  - name: chat
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 5 }
    assert: [ "ttft.p95 < 1s" ]
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, 3, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	var reason string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(line, "benchplan: ") {
			reason = line
		}
	}
	assert.Assert(t, strings.Contains(reason, `server "vllm" not reachable at http://`+addr), r.stderr)
	run := readRun(t, out) // reports are written as far as possible
	assert.Equal(t, run.Verdict, results.Error)
}

func TestInvalidPlansGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	assert.NilError(t, err)
	assert.Assert(t, len(files) >= 25)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"validate", f})
			assert.Equal(t, code, exitInvalid, "stdout: %s", stdout.String())
			assert.Assert(t, strings.HasPrefix(stderr.String(), f+":"), "error does not start with file:line:col: %s", stderr.String())
			golden.Assert(t, stderr.String(), strings.TrimSuffix(filepath.Base(f), ".yaml")+".golden")
		})
	}
}

func TestReadyPlansValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "plans", "*.yaml"))
	assert.NilError(t, err)
	assert.Assert(t, len(files) > 0)
	setups, err := filepath.Glob(filepath.Join("..", "..", "plans", "servers", "*.yaml"))
	assert.NilError(t, err)
	assert.Assert(t, len(setups) > 0)
	r := benchplan(t, time.Minute, append(append([]string{"validate"}, files...), setups...)...)
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Equal(t, strings.Count(r.stdout, "ok (servers file, 1 server)"), len(setups), r.stdout)

	// A servers file with a mistake is checked as one, not as a plan.
	bad := filepath.Join(t.TempDir(), "servers.yaml")
	assert.NilError(t, os.WriteFile(bad, []byte("version: 1\nservers:\n  a: { url: \"http://x\", startup_timeot: 3s }\n"), 0o644))
	r = benchplan(t, time.Minute, "validate", bad)
	assert.Equal(t, r.code, exitInvalid)
	assert.Assert(t, strings.Contains(r.stderr, `unknown field "startup_timeot" (did you mean "startup_timeout"?)`), r.stderr)
}

// freePort returns a loopback address nothing listens on yet.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startSim runs `benchplan sim` as its own process and waits until it serves.
func startSim(t *testing.T, args ...string) string {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary, append([]string{"sim", "--addr", addr}, args...)...)
	assert.NilError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("benchplan sim did not stop on SIGTERM")
		}
	})
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return poll.Continue("benchplan sim does not listen on %s yet", addr)
		}
		c.Close()
		return poll.Success()
	}, poll.WithTimeout(30*time.Second), poll.WithDelay(20*time.Millisecond))
	return addr
}

// TestAccuracyAgainstSimProcess measures `benchplan sim` in a process of
// its own. Not parallel: its bounds are a tenth of the simulated
// latencies, which other runs in this process would blur.
func TestAccuracyAgainstSimProcess(t *testing.T) {
	addr := startSim(t, "--ttft", "100ms", "--itl", "10ms")
	plan := writePlan(t, `version: 1
name: accuracy
servers:
  sim: { url: "http://`+addr+`" }
scenarios:
  - name: sync
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 64, output_tokens: 32 } }
    limits: { max_requests: 8 }
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	m := readRun(t, out).Scenarios[0].Steps[0].Metrics
	assert.Equal(t, m.Requests.Completed, 8)
	ttft, tpot := m.TTFT.P50, m.TPOT.P50
	assert.Assert(t, ttft >= 100*time.Millisecond && ttft <= 110*time.Millisecond, "ttft p50 = %s, want 100–110ms", ttft)
	assert.Assert(t, tpot >= 10*time.Millisecond && tpot <= 11*time.Millisecond, "tpot p50 = %s, want 10–11ms", tpot)
	assert.Equal(t, m.Tokens.OutputTotal, 8*32)
}

// TestInterruptWritesPartialResultsAndExits130: SIGINT to the binary
// mid-step stops the run, writes what was measured and exits 130. The
// simulator runs in the test, which counts the requests it answered: the
// signal comes once eight have completed.
func TestInterruptWritesPartialResultsAndExits130(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Config{TTFT: 10 * time.Millisecond, ITL: 5 * time.Millisecond})
	var answered atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/completions") {
			answered.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	plan := writePlan(t, `version: 1
name: long
servers:
  sim: { url: "`+srv.URL+`" }
scenarios:
  - name: chat
    load: { type: constant, rate: 10 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 16 } }
    limits: { max_duration: 60s }
  - name: never
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 16 } }
    limits: { max_requests: 3 }
`)
	out := t.TempDir()
	cmd, stderr := startRun(t, plan, "--out", out)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if n := answered.Load(); n < 8 {
			return poll.Continue("%d requests answered", n)
		}
		return poll.Success()
	}, poll.WithTimeout(time.Minute), poll.WithDelay(20*time.Millisecond))
	assert.NilError(t, cmd.Process.Signal(syscall.SIGINT))
	code := waitExit(t, cmd, 20*time.Second, stderr)
	assert.Equal(t, code, 130, stderr.String())
	run := readRun(t, out)
	st := run.Scenarios[0].Steps[0]
	assert.Assert(t, st.Partial)
	assert.Assert(t, st.Metrics.Requests.Completed > 5, "completed %d", st.Metrics.Requests.Completed)
	assert.Equal(t, len(run.Scenarios[1].Steps), 0)
}

// TestBinaryExitCodes: the process exits with the code the command
// returns (main's os.Exit), for a pass, a failed gate, an undecided one
// and an invalid command line. The in-process tests check which code each case gives.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	pass := writePlan(t, simPlan)
	gate := func(requests int) string {
		return writePlan(t, strings.Replace(simPlan, "limits: { max_requests: 2 }", fmt.Sprintf("limits: { max_requests: %d }\n    assert: [ \"ttft.p50 < 1ns\" ]", requests), 1))
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, exitOK},
		{[]string{"run", pass, "--out", t.TempDir(), "--quiet"}, exitOK},
		{[]string{"run", gate(8), "--out", t.TempDir(), "--quiet"}, exitAssertFail},
		{[]string{"run", gate(2), "--out", t.TempDir(), "--quiet"}, exitInconclusive}, // too few to decide
		{[]string{"validate", filepath.Join("testdata", "invalid", "duplicate-key.yaml")}, exitInvalid},
		{[]string{"no-such-command"}, exitInvalid},
	} {
		r := benchplanBinary(t, time.Minute, c.args...)
		assert.Equal(t, r.code, c.code, "%v:\nstdout:\n%s\nstderr:\n%s", c.args, r.stdout, r.stderr)
	}
}

// TestReadyPlansDryRun runs every plan in plans/ on the simulator with
// short limits, and every server setup in plans/servers/ with --simulate,
// as CI does: each must run to a verdict (exit 0, 1, or 4 when a few
// requests cannot decide a gate), never 2 or 3.
func TestReadyPlansDryRun(t *testing.T) {
	t.Parallel()
	plans, _ := filepath.Glob(filepath.Join("..", "..", "plans", "*.yaml"))
	servers, _ := filepath.Glob(filepath.Join("..", "..", "plans", "servers", "*.yaml"))
	type run struct {
		name string
		args []string
	}
	var runs []run
	for _, p := range plans {
		runs = append(runs, run{filepath.Base(p), []string{"run", p, "--simulate", "--max-requests", "6", "--max-duration", "3s", "--quiet"}})
	}
	chat := filepath.Join("..", "..", "plans", "chat.yaml")
	for _, s := range servers {
		runs = append(runs, run{"chat+" + filepath.Base(s), []string{"run", chat, "--servers", s, "--simulate", "--max-requests", "4", "--max-duration", "3s", "--quiet"}})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			res := benchplan(t, time.Minute, append(r.args, "--out", out)...)
			// Exit 3 only from a gate with no data in this cut-short run
			// (turn[4] of sessions that had no time for four turns): the
			// run itself and every scenario must have been carried out.
			assert.Assert(t, res.code == 0 || res.code == 1 || res.code == 3 || res.code == 4, "exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
			run := readRun(t, out)
			assert.Equal(t, run.Error, "", "stderr:\n%s", res.stderr)
			for _, sc := range run.Scenarios {
				assert.Equal(t, sc.Error, "", "scenario %s", sc.Name)
				assert.Assert(t, len(sc.Steps) > 0)
			}
		})
	}
}

// Not parallel: the gate compares wall-clock latencies of runs, which
// other runs in this process would blur.
func TestBaselineGate(t *testing.T) {
	// The gate compares two runs' wall-clock times. On a busy machine a
	// run's ttft can be a few ms later throughout and tens of ms later
	// now and then: the median of a 100ms ttft moves by a few percent,
	// well within the gate's 10%, where a p95 of 10 requests (their
	// maximum) or a 30ms ttft would not be.
	plan := writePlan(t, `version: 1
name: baseline
servers:
  sim: { sim: { ttft: 100ms, itl: 2ms } }
scenarios:
  - name: chat
    load: { type: constant, rate: 20 }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
    limits: { max_requests: 10 }
    assert: [ "ttft.p50 < baseline.ttft.p50 * 1.1" ]
`)
	// Without a baseline the gate cannot be evaluated: an error, never a pass.
	first := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", first, "--quiet")
	assert.Equal(t, r.code, 3, r.stdout)
	o := readRun(t, first).Scenarios[0].Steps[0].Assertions[0]
	assert.Equal(t, o.Verdict, results.Error)
	assert.Assert(t, strings.Contains(o.Message, "no baseline"), o.Message)

	// Against itself as the baseline it holds.
	second := t.TempDir()
	r = benchplan(t, time.Minute, "run", plan, "--out", second, "--quiet", "--baseline", filepath.Join(first, "results.json"))
	assert.Equal(t, r.code, 0, r.stdout)
	o = readRun(t, second).Scenarios[0].Steps[0].Assertions[0]
	assert.Equal(t, o.Verdict, results.Pass)
	assert.Assert(t, strings.Contains(o.Observed, "baseline.ttft.p50 = "), o.Observed)

	// A slower server fails against the faster baseline.
	slow := writePlan(t, strings.Replace(mustRead(t, plan), "ttft: 100ms", "ttft: 200ms", 1))
	third := t.TempDir()
	r = benchplan(t, time.Minute, "run", slow, "--out", third, "--quiet", "--baseline", filepath.Join(first, "results.json"))
	assert.Equal(t, r.code, 1, r.stdout)

	// A baseline that is not a results file is a command-line mistake.
	r = benchplan(t, time.Minute, "run", plan, "--baseline", plan)
	assert.Equal(t, r.code, 2)
	assert.Assert(t, strings.Contains(r.stderr, "is not a benchplan results.json"), r.stderr)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	return string(b)
}

func TestGatesOverStepsCapacityAndWarnings(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: capacity
servers:
  sim: { sim: { ttft: 20ms, itl: 1ms } }
scenarios:
  - name: rates
    load: { type: constant, rate: [10, 20] }
    data: { emulated: { prompt_tokens: 16, output_tokens: 4 } }
    limits: { max_requests: 10 }
    assert:
      - ttft.p50 < 1s
      - { expr: "ttft.p50 < 1ms", name: aspirational, severity: warn }
      - all(steps, .ttft.p50 < 1s)
      - capacity > 5
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, 0, "a failed warn-only gate does not fail the run\n%s", r.stdout)
	run := readRun(t, out)
	sc := run.Scenarios[0]
	assert.Equal(t, len(sc.Steps), 2)
	for _, st := range sc.Steps {
		assert.Equal(t, len(st.Assertions), 2, "per-step gates only")
		assert.Equal(t, st.Assertions[1].Verdict, results.Warn)
		assert.Equal(t, st.Assertions[1].Name, "aspirational")
	}
	assert.Equal(t, len(sc.Assertions), 2, "gates over steps are evaluated once")
	for _, o := range sc.Assertions {
		assert.Equal(t, o.Verdict, results.Pass, "%+v", o)
	}
	assert.Assert(t, strings.Contains(sc.Assertions[0].Observed, "ttft.p50 by step = ["), sc.Assertions[0].Observed)
	assert.Assert(t, sc.Capacity > 5, "capacity %v", sc.Capacity)
	assert.Equal(t, run.Verdict, results.Warn)
}

func TestNeverOverwritesEarlierResultsUnlessAsked(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: twice
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 4, output_tokens: 2 } }, limits: { max_requests: 2 } }
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, 0, r.stderr)
	before := mustRead(t, filepath.Join(out, "results.json"))
	r = benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, 2, "a second run into the same directory is refused")
	assert.Assert(t, strings.Contains(r.stderr, "--overwrite"), r.stderr)
	assert.Equal(t, mustRead(t, filepath.Join(out, "results.json")), before, "the earlier results are untouched")
	r = benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet", "--overwrite")
	assert.Equal(t, r.code, 0, r.stderr)
}

func TestUnwritableOutputIsFoundBeforeRunning(t *testing.T) {
	t.Parallel()
	// A path under a regular file cannot be a directory, even for root.
	file := filepath.Join(t.TempDir(), "a-file")
	assert.NilError(t, os.WriteFile(file, []byte("x"), 0o644))
	r := benchplan(t, time.Minute, "run", "../../plans/quickstart.yaml", "--out", filepath.Join(file, "sub"))
	assert.Equal(t, r.code, 2)
	assert.Assert(t, strings.Contains(r.stderr, "not writable"), r.stderr)
	assert.Assert(t, !strings.Contains(r.stderr, "starting server"), "nothing ran: %s", r.stderr)
}

// -h prints a command's usage and exits 0; an unknown flag exits 2.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"run", "validate", "report", "compare", "schema", "sim", "comment", "cleanup"} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{cmd, "-h"})
		assert.Equal(t, code, exitOK, "%s -h: %s", cmd, stderr.String())
		assert.Assert(t, strings.Contains(stderr.String(), "-"), "%s -h printed no flags", cmd)
		code = runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{cmd, "--no-such-flag"})
		assert.Equal(t, code, exitInvalid, cmd)
	}
	var stdout, stderr bytes.Buffer
	runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"sim", "--help"})
	assert.Assert(t, strings.HasPrefix(stderr.String(), "usage: benchplan sim"), stderr.String())
	assert.Assert(t, strings.Contains(stderr.String(), "block size (tokens) (default 16)"), "derived defaults are shown:\n%s", stderr.String())
}
