package main

// End-to-end tests of the server launchers through the command: a
// container of the simulator's image, `benchplan sim` (the built binary)
// as a process server, and a remote target that never becomes ready. Each
// checks that nothing is left running, whatever way benchplan ends.
// benchplan runs in-process, or as the built binary where a test signals
// or kills it.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"
)

// serversNeedDocker skips the test, visibly, when no Docker engine answers.
func serversNeedDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("SKIP: Docker is not available (docker info: %v): container tests need it and run in CI", err)
	}
}

// serversSimImage builds the simulator's FROM scratch image from the
// repository's Dockerfile with a static binary; the image is removed when
// the test ends.
func serversSimImage(t *testing.T) string {
	t.Helper()
	serversNeedDocker(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "bin", "benchplan"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	assert.NilError(t, err, "go build:\n%s", out)
	df, err := os.ReadFile("../../Dockerfile")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644))
	tag := fmt.Sprintf("benchplan-sim:cmd-test-%d", os.Getpid())
	out, err = exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput()
	assert.NilError(t, err, "docker build:\n%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// containersOf lists the containers benchplan process pid labelled.
func containersOf(t *testing.T, pid int, all bool) []string {
	t.Helper()
	args := []string{"ps", "-q", "--filter", "label=benchplan.pid=" + strconv.Itoa(pid)}
	if all {
		args = append(args, "-a")
	}
	out, err := exec.Command("docker", args...).Output()
	assert.NilError(t, err)
	return strings.Fields(string(out))
}

// removeContainersOf removes them, for a test that failed half-way.
func removeContainersOf(t *testing.T, pid int) {
	if ids := containersOf(t, pid, true); len(ids) > 0 {
		t.Errorf("removing containers left behind: %v", ids)
		_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}

// startRun starts `benchplan run` and returns the command and its stderr.
// waitForOutput waits until a started run's output contains text; it fails
// the test when the run ends first or the timeout passes.
func waitForOutput(t *testing.T, cmd *exec.Cmd, out *syncWriter, text string, timeout time.Duration) {
	t.Helper()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(out.String(), text) {
			return poll.Success()
		}
		if cmd.ProcessState != nil {
			return poll.Error(fmt.Errorf("benchplan ended:\n%s", out))
		}
		return poll.Continue("waiting for %q:\n%s", text, out)
	}, poll.WithTimeout(timeout), poll.WithDelay(20*time.Millisecond))
}

func startRun(t *testing.T, args ...string) (*exec.Cmd, *syncWriter) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run"}, args...)...)
	var stderr syncWriter
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	assert.NilError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &stderr
}

// waitExit waits for cmd to end and returns its exit code (-1 for a signal).
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration, stderr *syncWriter) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("benchplan did not end within %s:\n%s", within, stderr)
	}
	return cmd.ProcessState.ExitCode()
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestServersContainer runs containers of the simulator's image (FROM
// scratch) through the container launcher.
// The subtests run one after another: they count the containers by the
// pid that labels them, which is this process's for the in-process runs.
func TestServersContainer(t *testing.T) {
	t.Parallel()
	img := serversSimImage(t)
	t.Run("measured then SIGINT", func(t *testing.T) { containerMeasuredThenSIGINT(t, img) })
	t.Run("log and digest", func(t *testing.T) { containerLogAndDigest(t, img) })
	t.Run("failed start exits 3", func(t *testing.T) { containerFailedStartExits3(t, img) })
	t.Run("cleanup", func(t *testing.T) { containerCleanup(t, img) })
}

// containerCleanup: `benchplan cleanup` removes a container whose
// benchplan is gone (killed with SIGKILL) and leaves one whose benchplan
// still runs; `--run ID` removes that one too (not `--all` here: it would
// take other tests' containers).
func containerCleanup(t *testing.T, img string) {
	host, err := os.Hostname()
	assert.NilError(t, err)
	dead := exec.Command("true")
	assert.NilError(t, dead.Run()) // its pid is now free: a benchplan that died
	create := func(pid int) string {
		out, err := exec.Command("docker", "create",
			"--label", "benchplan.run=cleanup-test", "--label", "benchplan.server=vllm",
			"--label", "benchplan.pid="+strconv.Itoa(pid), "--label", "benchplan.host="+host, img).Output()
		assert.NilError(t, err)
		id := strings.TrimSpace(string(out))
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
		return id
	}
	orphan, live := create(dead.Process.Pid), create(os.Getpid())
	exists := func(id string) bool {
		return exec.Command("docker", "inspect", id).Run() == nil
	}
	r := benchplan(t, time.Minute, "cleanup")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Assert(t, strings.Contains(r.stdout, "removed 1 container(s)"), r.stdout)
	assert.Assert(t, !exists(orphan), "the dead run's container is removed")
	assert.Assert(t, exists(live), "a running benchplan's container is left alone")
	r = benchplan(t, time.Minute, "cleanup", "--run", "cleanup-test")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Assert(t, !exists(live))
}

// containerMeasuredThenSIGINT measures against a container, is
// interrupted, and leaves no container behind.
func containerMeasuredThenSIGINT(t *testing.T, img string) {
	plan := writePlan(t, `version: 1
name: container
servers:
  ctr:
    image: `+img+`
    port: 8000
    pull: never
    args: ["--ttft", "20ms", "--itl", "2ms", "--model", "ctr-model"]
    startup_timeout: 1m
scenarios:
  - name: measured
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
    limits: { max_requests: 6 }
    assert: [ "ttft.p50 >= 20ms", "errors.rate == 0" ]
  - name: long
    load: { type: constant, rate: 5 }
    data: { emulated: { prompt_tokens: 16, output_tokens: 8 } }
    limits: { max_duration: 2m }
`)
	out := t.TempDir()
	cmd, stderr := startRun(t, plan, "--out", out)
	pid := cmd.Process.Pid
	defer removeContainersOf(t, pid)
	waitForOutput(t, cmd, stderr, "long constant 5.00/s: started", 60*time.Second)
	ids := containersOf(t, pid, false)
	assert.Equal(t, len(ids), 1, "the container runs")
	// The long scenario has measured a few requests.
	hp, err := exec.Command("docker", "port", ids[0], "8000/tcp").Output()
	assert.NilError(t, err)
	waitAnswered(t, "http://"+strings.Fields(string(hp))[0], 3)
	assert.NilError(t, cmd.Process.Signal(syscall.SIGINT))
	code := waitExit(t, cmd, 45*time.Second, stderr)
	assert.Equal(t, code, exitInterrupted, stderr.String())
	assert.Equal(t, len(containersOf(t, pid, true)), 0, "no container is left after SIGINT")

	run := readRun(t, out)
	m := run.Scenarios[0].Steps[0].Metrics
	assert.Equal(t, m.Requests.Completed, 6)
	assert.Equal(t, m.Tokens.OutputTotal, 6*8)
	assert.Equal(t, run.Scenarios[0].Model, "ctr-model")
	assert.Equal(t, run.Scenarios[0].Steps[0].Assertions[0].Verdict, results.Pass)
	assert.Assert(t, run.Scenarios[1].Steps[0].Partial)
}

// containerLogAndDigest checks what the executor records of a container:
// OUT/logs/<server>.log and the image digest.
func containerLogAndDigest(t *testing.T, img string) {
	plan := writePlan(t, `version: 1
name: container-log
servers:
  ctr: { image: `+img+`, port: 8000, pull: never, args: ["--ttft", "5ms", "--itl", "1ms"] }
scenarios:
  - name: once
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 2 }
`)
	out := t.TempDir()
	pid := os.Getpid() // in-process: the containers carry this pid
	defer removeContainersOf(t, pid)
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, exitOK, r.stderr)
	assert.Equal(t, len(containersOf(t, pid, true)), 0)
	log, err := os.ReadFile(filepath.Join(out, "logs", "ctr.log"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(string(log), "benchplan sim: serving sim-model"), string(log))
	run := readRun(t, out)
	assert.Equal(t, len(run.Environment.Servers), 1)
	assert.Equal(t, run.Environment.Servers[0].Image, img)
	assert.Assert(t, strings.HasPrefix(run.Environment.Servers[0].Digest, "sha256:"), "%+v", run.Environment.Servers[0])
}

// containerFailedStartExits3 shows the reason and the last lines of the
// server's output, and removes the container.
func containerFailedStartExits3(t *testing.T, img string) {
	plan := writePlan(t, `version: 1
name: broken
servers:
  ctr: { image: `+img+`, port: 8000, pull: never, args: ["--profile", "no-such-gpu"] }
scenarios:
  - name: once
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 2 }
`)
	out := t.TempDir()
	pid := os.Getpid() // in-process: the containers carry this pid
	defer removeContainersOf(t, pid)
	start := time.Now()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, exitRunFailed, r.stderr)
	assert.Assert(t, time.Since(start) < 30*time.Second)
	msg := r.stderr
	assert.Assert(t, strings.Contains(msg, `benchplan: server "ctr" container exited during startup (exit code 2)`), msg)
	assert.Assert(t, strings.Contains(msg, `    | benchplan sim: --profile: unknown simulator profile "no-such-gpu"`), msg)
	assert.Equal(t, len(containersOf(t, pid, true)), 0)
}

// simProcesses lists the pids of `benchplan sim --addr addr` processes.
func simProcesses(addr string) []int {
	return processesRunning("sim\x00--addr\x00" + addr)
}

// TestServersProcessStoppedWhenBenchplanIsKilled starts `benchplan sim` as a
// process server, stops benchplan mid-run (SIGTERM, then SIGKILL in a second
// run), and checks that no simulator process remains.
func TestServersProcessStoppedWhenBenchplanIsKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("SKIP: needs /proc to find the process server")
	}
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			addr := freePort(t)
			plan := writePlan(t, `version: 1
name: process
servers:
  local:
    command: [`+strconv.Quote(binary)+`, sim, --addr, "`+addr+`", --ttft, 10ms, --itl, 2ms]
    url: http://`+addr+`
    startup_timeout: 30s
scenarios:
  - name: long
    load: { type: constant, rate: 5 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 8 } }
    limits: { max_duration: 2m }
`)
			out := t.TempDir()
			cmd, stderr := startRun(t, plan, "--out", out)
			t.Cleanup(func() {
				for _, pid := range simProcesses(addr) {
					t.Errorf("killing the process server left behind: %d", pid)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			poll.WaitOn(t, func(poll.LogT) poll.Result {
				if strings.Contains(stderr.String(), "long constant 5.00/s: started") && len(simProcesses(addr)) == 1 {
					return poll.Success()
				}
				if cmd.ProcessState != nil {
					return poll.Error(fmt.Errorf("benchplan ended:\n%s", stderr))
				}
				return poll.Continue("waiting for the scenario to run:\n%s", stderr)
			}, poll.WithTimeout(30*time.Second), poll.WithDelay(100*time.Millisecond))
			waitAnswered(t, "http://"+addr, 2) // mid-run, requests measured
			assert.NilError(t, cmd.Process.Signal(sig))
			code := waitExit(t, cmd, 30*time.Second, stderr)
			if sig == syscall.SIGTERM {
				assert.Equal(t, code, exitInterrupted, stderr.String())
			}
			poll.WaitOn(t, func(poll.LogT) poll.Result {
				if pids := simProcesses(addr); len(pids) > 0 {
					return poll.Continue("process server still running: %v", pids)
				}
				return poll.Success()
			}, poll.WithTimeout(15*time.Second), poll.WithDelay(100*time.Millisecond))
			// Nothing serves there any more (a closing socket may still
			// take a connection and reset it: what matters is no answer).
			poll.WaitOn(t, func(poll.LogT) poll.Result {
				hc := &http.Client{Timeout: time.Second}
				resp, err := hc.Get("http://" + addr + "/v1/models")
				if err != nil {
					return poll.Success()
				}
				resp.Body.Close()
				return poll.Continue("%s still answers", addr)
			}, poll.WithTimeout(5*time.Second), poll.WithDelay(100*time.Millisecond))
		})
	}
}

// TestServersProcessDyingDuringStartupExits3 runs `benchplan sim` as a
// process server that exits before it is ready (a profile it does not
// know): the wait ends at once, not at startup_timeout, with exit 3, the
// exit status and the log's last lines, and the log is kept.
func TestServersProcessDyingDuringStartupExits3(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	plan := writePlan(t, `version: 1
name: process
servers:
  local:
    command: [`+strconv.Quote(binary)+`, sim, --addr, "`+addr+`", --profile, no-such-gpu]
    url: http://`+addr+`
    startup_timeout: 60s
scenarios:
  - name: chat
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 2 }
`)
	out := t.TempDir()
	start := time.Now()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	took := time.Since(start)
	assert.Equal(t, r.code, exitRunFailed, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, took < 15*time.Second, "the wait ended when the process exited, not at startup_timeout: %s", took)
	assert.Assert(t, is.Contains(r.stderr, `server "local"`), r.stderr)
	assert.Assert(t, is.Contains(r.stderr, "exit status 2"), r.stderr)
	assert.Assert(t, is.Contains(r.stderr, "no-such-gpu"), "the log's last lines say why: %s", r.stderr)
	log, err := os.ReadFile(filepath.Join(out, "logs", "local.log"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(log), "no-such-gpu"))
	assert.Equal(t, readRun(t, out).Verdict, results.Error)
	assert.Equal(t, len(simProcesses(addr)), 0)
}

// TestServersRemoteNeverReadyExits3 points a plan at a server that answers
// 503 forever: the run fails within startup_timeout, exit 3, with the reason.
func TestServersRemoteNeverReadyExits3(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "loading", http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	plan := writePlan(t, `version: 1
name: remote
servers:
  remote: { url: "`+ts.URL+`", startup_timeout: 2s }
scenarios:
  - name: chat
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 2 }
`)
	out := t.TempDir()
	start := time.Now()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--quiet")
	took := time.Since(start)
	assert.Equal(t, r.code, exitRunFailed, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, strings.Contains(r.stderr, `benchplan: server "remote" not ready at `+ts.URL+
		` within 2s (startup_timeout): GET /health answered 503 Service Unavailable (still loading)`), r.stderr)
	assert.Assert(t, took < 10*time.Second, "took %s", took)
	assert.Equal(t, readRun(t, out).Verdict, results.Error)
}

// waitAnswered waits until the simulator at base (its URL, no /v1) has
// answered n requests, as its /metrics count them.
func waitAnswered(t *testing.T, base string, n int) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		resp, err := hc.Get(base + "/metrics")
		if err != nil {
			return poll.Continue("GET /metrics: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return poll.Continue("GET /metrics: %v", err)
		}
		done := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "vllm:request_success_total{") {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				done += int(v)
			}
		}
		if done < n {
			return poll.Continue("%d of %d requests answered", done, n)
		}
		return poll.Success()
	}, poll.WithTimeout(time.Minute), poll.WithDelay(50*time.Millisecond))
}
