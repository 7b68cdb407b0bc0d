package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"
)

// running reports whether a process (not a zombie) with pid exists.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// TestCleanupStopsTheOrphansOfAKilledRun runs a process server behind a
// shell wrapper that forks the real server (as `uv run` or a script
// starting vLLM, whose workers are children again) and kills benchplan with
// SIGKILL: the wrapper dies with it (Pdeathsig), the server it forked lives
// on, still listening. The next run refuses to benchmark that orphan, and
// `benchplan cleanup` finds its process group from the run's record and
// stops it.
func TestCleanupStopsTheOrphansOfAKilledRun(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("SKIP: needs /proc to check the processes")
	}
	t.Parallel()
	state := t.TempDir()
	env := append(os.Environ(), "BENCHPLAN_STATE_DIR="+state)
	addr := freePort(t)
	pidfile := filepath.Join(t.TempDir(), "server.pid")
	plan := writePlan(t, `version: 1
name: orphans
servers:
  local:
    command: [sh, -c, '`+binary+` sim --addr `+addr+` --ttft 2ms --itl 1ms & echo $! > `+pidfile+`; wait']
    url: http://`+addr+`
    startup_timeout: 30s
scenarios:
  - name: long
    load: { type: constant, rate: 5 }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_duration: 2m }
`)
	cmd := exec.Command(binary, "run", plan, "--out", t.TempDir(), "--progress", "lines")
	cmd.Env = env
	var out syncWriter
	cmd.Stdout, cmd.Stderr = &out, &out
	assert.NilError(t, cmd.Start())
	var server int
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if server > 0 && running(server) {
			t.Errorf("killing the orphaned server %d", server)
			_ = syscall.Kill(server, syscall.SIGKILL)
		}
	})
	waitForOutput(t, cmd, &out, "long constant 5.00/s: started", time.Minute)
	b, err := os.ReadFile(pidfile)
	assert.NilError(t, err)
	server, err = strconv.Atoi(strings.TrimSpace(string(b)))
	assert.NilError(t, err)
	recs, err := filepath.Glob(filepath.Join(state, "*.json"))
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 1, "the run records its server's process group")
	var rec struct {
		Run  string `json:"run"`
		PGID int    `json:"pgid"`
	}
	rb, err := os.ReadFile(recs[0])
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(rb, &rec))

	assert.NilError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	// The wrapper goes with benchplan; the server it forked does not.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if running(rec.PGID) {
			return poll.Continue("the wrapper %d still runs", rec.PGID)
		}
		return poll.Success()
	}, poll.WithTimeout(30*time.Second))
	assert.Assert(t, running(server), "the forked server outlives benchplan (if not, this test proves nothing)")

	// The next run (in-process) does not benchmark the orphan.
	stateEnv := []string{"BENCHPLAN_STATE_DIR=" + state}
	r := cli{env: stateEnv}.run(t, "run", plan, "--out", t.TempDir())
	assert.Equal(t, r.code, exitRunFailed, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, strings.Contains(r.stderr, `server "local" not started: http://`+addr+
		" already answers before it started: another server (perhaps one an earlier run left: try `benchplan cleanup`) is listening there"), r.stderr)

	// cleanup --run: the default (runs whose benchplan is gone) would also
	// take what other tests running now leave for it.
	c := cli{env: stateEnv}.run(t, "cleanup", "--run", rec.Run, "--grace", "5s")
	assert.Equal(t, c.code, exitOK, "stdout:\n%s\nstderr:\n%s", c.stdout, c.stderr)
	assert.Assert(t, strings.Contains(c.stdout, "stopped 1 process group(s)"), c.stdout)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if running(server) {
			return poll.Continue("the orphaned server %d still runs", server)
		}
		return poll.Success()
	}, poll.WithTimeout(30*time.Second))
	recs, _ = filepath.Glob(filepath.Join(state, "*.json"))
	assert.Equal(t, len(recs), 0, "the record goes with its group")
	hc := &http.Client{Timeout: time.Second}
	if resp, err := hc.Get("http://" + addr + "/v1/models"); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after cleanup", addr)
	}
}
