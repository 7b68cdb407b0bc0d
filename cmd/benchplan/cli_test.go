package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// Most tests run the command in this process, through runMain, with a
// cliState of their own: its environment (testEnv) and its streams. They
// run side by side (t.Parallel) unless they change the process (t.Chdir,
// t.Setenv) or measure it (allocations, wall-clock gates).
//
// The built binary (benchplanBinary, startRun) is for what only a process
// of its own shows: how it answers signals and what exit status the
// process ends with. Process servers (`command:`) exec the built binary as
// the server; benchplan itself then runs in-process.

// testEnv is the environment of an in-process command: this process's
// (PATH, HOME, $BENCHPLAN_STATE_DIR from TestMain) without GITHUB_*
// variables, so that the machine's own never leak in, then kvs
// ("NAME=value"), which win.
func testEnv(kvs ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") {
			env = append(env, kv)
		}
	}
	return append(env, kvs...)
}

// cli is one in-process command line: its environment (testEnv's kvs),
// stdin and deadline.
type cli struct {
	env     []string
	stdin   io.Reader
	timeout time.Duration
}

// run runs args through runMain and returns the exit code and output; it
// fails the test when the command outlives the deadline (the context ends
// and the command stops as on a signal).
func (c cli) run(t *testing.T, args ...string) result {
	t.Helper()
	if c.timeout == 0 {
		c.timeout = 2 * time.Minute
	}
	if c.stdin == nil {
		c.stdin = strings.NewReader("")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	st := &cliState{Stdin: c.stdin, Stdout: &stdout, Stderr: &stderr, Env: testEnv(c.env...)}
	code := runMain(ctx, st, args)
	assert.Assert(t, ctx.Err() == nil, "benchplan %v did not finish within %s:\nstdout:\n%s\nstderr:\n%s", args, c.timeout, stdout.String(), stderr.String())
	return result{code, stdout.String(), stderr.String()}
}

// benchplan runs a command line in this process, with a deadline.
func benchplan(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	return cli{timeout: timeout}.run(t, args...)
}

// runInProcess runs a command line in this process.
func runInProcess(t *testing.T, args ...string) result {
	t.Helper()
	return cli{}.run(t, args...)
}

// runWithEnv runs a command line in this process with env added to its
// environment.
func runWithEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return cli{env: env}.run(t, args...)
}

// benchplanBinary runs the built binary with args and a deadline: for the
// exit status of the process itself.
func benchplanBinary(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running benchplan %v: %v", args, err)
	}
	assert.Assert(t, ctx.Err() == nil, "benchplan %v did not finish within %s", args, timeout)
	return result{code, out.String(), errb.String()}
}

// TestEnvironmentIsTheCommands: a command reads its environment from its
// state, not the process's: ${VAR} in the plan, what a process server
// inherits, and HF_TOKEN, which the server gets and no log or report shows.
func TestEnvironmentIsTheCommands(t *testing.T) {
	t.Parallel()
	const token = "hf_state0123456789abcdef"
	_, inProcess := os.LookupEnv("BP_TEST_GREETING")
	assert.Assert(t, !inProcess, "the test process has BP_TEST_GREETING set")
	addr := freePort(t)
	plan := writePlan(t, `version: 1
name: env-${BP_TEST_GREETING}
servers:
  local:
    command: [sh, -c, 'echo "server env: $BP_TEST_GREETING $HF_TOKEN"; exec `+binary+` sim --addr `+addr+` --ttft 1ms --itl 1ms']
    url: http://`+addr+`
scenarios:
  - { name: a, load: { type: synchronous }, data: { emulated: { prompt_tokens: 4, output_tokens: 2 } }, limits: { max_requests: 2 } }
`)
	out := t.TempDir()
	r := cli{env: []string{"BP_TEST_GREETING=hello", "HF_TOKEN=" + token}}.run(t, "run", plan, "--out", out, "--quiet")
	assert.Equal(t, r.code, exitOK, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Equal(t, readRun(t, out).Plan, "env-hello")
	log := mustRead(t, filepath.Join(out, "logs", "local.log"))
	assert.Assert(t, strings.Contains(log, "server env: hello [redacted]"), "the server inherits the command's environment; the token is hidden:\n%s", log)
	texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	outputs(t, out, texts)
	for name, text := range texts {
		assert.Assert(t, !strings.Contains(text, token), "%s shows HF_TOKEN", name)
	}
}
