package servers

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"

	"github.com/benchplan/benchplan/plan"
)

func helperServer(addr string, env map[string]string) *plan.Server {
	e := map[string]string{"BENCHPLAN_TEST_HELPER": "serve", "HELPER_ADDR": addr}
	for k, v := range env {
		e[k] = v
	}
	return &plan.Server{Command: helperCommand(), URL: "http://" + addr, Env: e, Model: "helper-model"}
}

func stopCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProcessServerLogsAndStops(t *testing.T) {
	addr := freeAddr(t)
	logs := t.TempDir()
	s := helperServer(addr, map[string]string{"HELPER_DELAY": "500ms", "HELPER_SECRET": "hf_supersecret"})
	s.Env["HF_TOKEN"] = "hf_supersecret"
	in, err := StartWith(context.Background(), "local/vllm", s, Options{LogDir: logs})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = in.Stop(context.Background()) })
	assert.Assert(t, in.PID > 0)
	assert.DeepEqual(t, in.Models, []string{"helper-model"})
	assert.Equal(t, in.Version, "9.9.9")
	assert.Equal(t, in.LogPath, filepath.Join(logs, "local_vllm.log"))
	assert.Assert(t, alive(in.PID))

	assert.NilError(t, in.Stop(stopCtx(t)))
	assert.Assert(t, !alive(in.PID), "the process is gone after Stop")
	b, err := os.ReadFile(in.LogPath)
	assert.NilError(t, err)
	log := string(b)
	assert.Assert(t, strings.Contains(log, "helper: serving on "+addr), log)
	assert.Assert(t, strings.Contains(log, "helper: stopped"), "SIGTERM first, so the server can stop cleanly:\n%s", log)
	assert.Assert(t, strings.Contains(log, "helper: starting, token [redacted]"), log)
	assert.Assert(t, !strings.Contains(log, "hf_supersecret"), "a secret never reaches the log:\n%s", log)
}

func TestProcessExitDuringStartupEndsTheWaitAtOnce(t *testing.T) {
	addr := freeAddr(t)
	s := helperServer(addr, map[string]string{"HELPER_EXIT": "3"})
	s.StartupTimeout = dur(time.Minute)
	start := time.Now()
	_, err := StartWith(context.Background(), "vllm", s, Options{LogDir: t.TempDir()})
	assert.Assert(t, time.Since(start) < 5*time.Second, "took %s", time.Since(start))
	var se *StartError
	assert.Assert(t, errors.As(err, &se), "%v", err)
	msg := err.Error()
	assert.Assert(t, strings.Contains(msg, `server "vllm" process exited during startup (exit status 3) after `), msg)
	assert.Assert(t, strings.Contains(msg, "vllm.log:\n    | helper: loading shard"), msg)
	assert.Assert(t, strings.HasSuffix(msg, "    | helper: CUDA out of memory"), msg)
	assert.Equal(t, strings.Count(msg, "\n    | "), TailLines, msg)
}

func TestProcessGroupIsKilledAfterGrace(t *testing.T) {
	addr := freeAddr(t)
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	s := helperServer(addr, map[string]string{"HELPER_CHILD": "1", "HELPER_CHILD_PIDFILE": pidfile, "HELPER_IGNORE_TERM": "1"})
	in, err := StartWith(context.Background(), "p", s, Options{StopGrace: 500 * time.Millisecond})
	assert.NilError(t, err)
	b, err := os.ReadFile(pidfile)
	assert.NilError(t, err)
	child, _ := strconv.Atoi(string(b))
	assert.Assert(t, alive(child))
	start := time.Now()
	assert.NilError(t, in.Stop(stopCtx(t)))
	took := time.Since(start)
	assert.Assert(t, took >= 500*time.Millisecond && took < 5*time.Second, "SIGKILL after the grace period: %s", took)
	assert.Assert(t, !alive(in.PID))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if alive(child) {
			return poll.Continue("child %d still alive", child)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second))
}

func TestProcessNeverReady(t *testing.T) {
	addr := freeAddr(t)
	s := helperServer(addr, map[string]string{"HELPER_DELAY": "1h"})
	s.StartupTimeout = dur(700 * time.Millisecond)
	_, err := StartWith(context.Background(), "p", s, Options{StopGrace: time.Second})
	assert.ErrorContains(t, err, `server "p" not ready at http://`+addr+" within 700ms (startup_timeout): GET /health answered 503 Service Unavailable (still loading); last lines of its output:")
}

func TestProcessBadCommand(t *testing.T) {
	_, err := Start(context.Background(), "p", &plan.Server{Command: []string{"/nonexistent/vllm"}, URL: "http://127.0.0.1:1"})
	assert.ErrorContains(t, err, `server "p" cannot start process "/nonexistent/vllm": `)
}

func TestProcessInterruptedStopsTheProcess(t *testing.T) {
	addr := freeAddr(t)
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	s := helperServer(addr, map[string]string{"HELPER_DELAY": "1h", "HELPER_CHILD": "1", "HELPER_CHILD_PIDFILE": pidfile})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupt once the process has started its child and serves /health
	// (503, loading), however long a busy machine takes to get there.
	go func() {
		hc := &http.Client{Timeout: time.Second}
		for ctx.Err() == nil {
			if _, err := os.Stat(pidfile); err == nil {
				if resp, err := hc.Get(s.URL + "/health"); err == nil {
					resp.Body.Close()
					cancel()
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err := StartWith(ctx, "p", s, Options{})
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
	b, err := os.ReadFile(pidfile)
	assert.NilError(t, err)
	child, _ := strconv.Atoi(string(b))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if alive(child) {
			return poll.Continue("child %d still alive", child)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second))
}
