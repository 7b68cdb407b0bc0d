package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

const simPlan = `version: 1
name: t
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
scenarios:
  - name: a
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 2 }
`

func TestNegativeCapsAreRefused(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, simPlan)
	for _, args := range [][]string{
		{"validate", plan, "--max-requests", "-5"},
		{"validate", plan, "--max-duration=-1s"},
		{"run", plan, "--max-requests=-1", "--out", t.TempDir()},
		{"run", plan, "--max-duration", "-30s", "--out", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, args)
		assert.Equal(t, code, exitInvalid, "%v: %s", args, stderr.String())
		assert.Assert(t, strings.Contains(stderr.String(), "invalid value"), stderr.String())
		assert.Assert(t, strings.Contains(stderr.String(), "(0: no cap)"), stderr.String())
		assert.Equal(t, stdout.String(), "")
	}
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"validate", plan, "--max-requests", "0", "--max-duration", "0"})
	assert.Equal(t, code, exitOK, "0 caps nothing, as before: %s", stderr.String())
}

// A data file's mistakes are the plan's: found by validate, and by run
// before any server starts.
func TestDataFileMistakesShowBeforeAnyServerStarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "prompts.jsonl"), []byte("{\"prompt\": \"a\"}\n{\"prompt\": \"b\", \"output_tokens\": \"many\"}\n"), 0o644))
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(strings.Replace(simPlan, "data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }", "data: { file: { path: prompts.jsonl } }", 1)), 0o644))
	want := plan + `:8:27: data file ` + filepath.Join(dir, "prompts.jsonl") + `:2: not a JSON object: json: cannot unmarshal string into Go struct field .output_tokens of type int`

	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"validate", plan})
	assert.Equal(t, code, exitInvalid)
	assert.Assert(t, strings.HasPrefix(stderr.String(), want), stderr.String())

	out := filepath.Join(dir, "out")
	stdout.Reset()
	stderr.Reset()
	code = runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"run", plan, "--out", out})
	assert.Equal(t, code, exitInvalid, stderr.String())
	assert.Assert(t, strings.HasPrefix(stderr.String(), want), stderr.String())
	assert.Assert(t, !strings.Contains(stderr.String(), "starting server"), stderr.String())
	_, err := os.Stat(filepath.Join(out, "results.json"))
	assert.Assert(t, os.IsNotExist(err), "nothing ran: %v", err)
}

// A named pipe given as a data file or a plan is refused at once: its open
// used to block validate and run until killed, Ctrl-C included.
func TestNamedPipesAndDevicesAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "prompts.txt")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(strings.Replace(simPlan, "data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }", "data: { file: { path: prompts.txt } }", 1)), 0o644))

	r := benchplan(t, time.Minute, "validate", plan)
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Assert(t, strings.HasPrefix(r.stderr, plan+":8:27: data file prompts.txt is a named pipe (FIFO), not a regular file"), r.stderr)

	r = benchplan(t, time.Minute, "run", plan, "--out", filepath.Join(dir, "out"))
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Assert(t, strings.Contains(r.stderr, "is a named pipe (FIFO), not a regular file"), r.stderr)

	// So is a --baseline that is a pipe.
	r = benchplan(t, time.Minute, "run", writePlan(t, simPlan), "--baseline", fifo, "--out", filepath.Join(dir, "out2"))
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Assert(t, strings.Contains(r.stderr, "--baseline: read results: "+fifo+" is a named pipe (FIFO), not a regular file"), r.stderr)

	r = benchplan(t, time.Minute, "report", fifo)
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Equal(t, r.stderr, "benchplan report: "+fifo+" is a named pipe (FIFO), not a regular file\n")
	r = benchplan(t, time.Minute, "compare", "/dev/zero", fifo)
	assert.Assert(t, r.code != exitOK, r.stderr)
	assert.Assert(t, strings.Contains(r.stderr, "/dev/zero is a character device, not a regular file"), r.stderr)

	// A plan that is a device or a pipe: refused, not read for ever.
	planFifo := filepath.Join(dir, "plan-fifo.yaml")
	assert.NilError(t, syscall.Mkfifo(planFifo, 0o600))
	r = benchplan(t, time.Minute, "validate", "/dev/zero", planFifo, dir)
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Equal(t, r.stderr, "read plan: /dev/zero is a character device, not a regular file\n"+
		"read plan: "+planFifo+" is a named pipe (FIFO), not a regular file\n"+
		"read plan: "+dir+" is a directory, not a regular file\n")
}

func TestHugePlanIsRefusedUnread(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	assert.NilError(t, err)
	assert.NilError(t, f.Truncate(50<<20)) // 50 MB; validate used to read and parse all of it
	assert.NilError(t, f.Close())
	r := benchplan(t, time.Minute, "validate", big, "--servers", big)
	assert.Equal(t, r.code, exitInvalid, r.stderr)
	assert.Assert(t, strings.HasPrefix(r.stderr, big+":1:1: the plan file is larger than the limit of 1 MiB"), r.stderr)
}

func TestSetErrorsDoNotShowSecrets(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, strings.Replace(simPlan, "  sim: { sim: { ttft: 1ms, itl: 1ms } }", "  remote: { url: \"http://127.0.0.1:1\", api_key: \"${BENCH_KEY:-x}\" }", 1))
	for _, set := range []string{
		`servers.remote.api_key="sk-live-0123456789`,                           // not YAML
		`servers.remote.api_key=[sk-live-0123456789]`,                          // not a string
		`servers.remote.headers.Authorization="Bearer sk-live-0123456789\r\n"`, // CR LF in a header
	} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"validate", plan, "--set", set})
		assert.Equal(t, code, exitInvalid, "%s: %s", set, stderr.String())
		assert.Assert(t, !strings.Contains(stderr.String(), "sk-live-0123456789"), stderr.String())
		assert.Assert(t, strings.Contains(stderr.String(), "[redacted]"), stderr.String())
	}
}
