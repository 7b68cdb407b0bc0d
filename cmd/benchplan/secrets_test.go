package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// Secrets reach the server but never the console, a log or a report: a
// password in a server URL, values of variables whose name looks secret
// wherever they are used (extra_body here), api_key and headers.
func TestSecretsNeverShow(t *testing.T) {
	const password, token, key = "pw-0123456789", "tk-0123456789", "sk-0123456789"
	t.Parallel()
	env := []string{"MY_PASSWORD=" + password, "OTHER_TOKEN=" + token, "THE_KEY=" + key}
	addr := freePort(t)
	plan := writePlan(t, `version: 1
name: secrets
servers:
  local:
    command: [`+strconv.Quote(binary)+`, sim, --addr, "`+addr+`", --ttft, 2ms, --itl, 1ms]
    url: "http://user:${MY_PASSWORD}@`+addr+`"
    api_key: "${THE_KEY}"
    headers: { X-Trace: "${OTHER_TOKEN}" }
scenarios:
  - name: chat
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 3 }
    request: { extra_body: { user: "${MY_PASSWORD}", note: "${OTHER_TOKEN}" } }
`)
	out := t.TempDir()
	r := cli{env: env}.run(t, "run", plan, "--out", out, "--requests", "--progress", "lines")
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, strings.Contains(r.stderr+r.stdout, "user:[redacted]@"), "the URL is shown, its password is not:\n%s", r.stderr)
	texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	assert.NilError(t, filepath.Walk(out, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		texts[path] = string(b)
		return err
	}))
	assert.Assert(t, len(texts) >= 8, "reports, requests.jsonl and the server log: %d", len(texts))
	for name, text := range texts {
		for _, s := range []string{password, token, key} {
			assert.Assert(t, !strings.Contains(text, s), "%s shows a secret (%s)", name, s)
		}
	}
}

// theSecret is one distinctive secret value that TestOneSecretEverywhere
// puts in every place a plan can hold one.
const theSecret = "sk-e2e-9f8e7d6c5b4a3210"

// literalSecret and literalHeader are secrets written into a command
// line as they are, known to be secrets only by the option or header they
// follow (--hf-token=X, -H "Authorization: Bearer X").
const (
	literalSecret = "hf-literal-0a1b2c3d4e5f"
	literalHeader = "bearer-literal-6a7b8c9d"
)

// secretPlan puts ${BENCH_TOKEN} in a command line (after a secret-looking
// option and bare) and args, the server's env, its headers, its URL's
// password, its api_key and a request's extra_body, and literal secrets
// after a secret option and header of its command line; the server's
// wrapper script prints them. bad adds values that fail validation and
// quote the secret.
func secretPlan(t *testing.T, addr string, bad bool) string {
	t.Helper()
	extra := ""
	if bad {
		extra = `    startup_timeout: "${BENCH_TOKEN}"
    port: "${BENCH_TOKEN}"
`
	}
	return writePlan(t, `version: 1
name: secrets-everywhere
servers:
  local:
    command: [sh, -c, 'echo "server sees $HF_TOKEN $1 $2 $3 $4 $6"; exec `+binary+` sim --addr `+addr+` --ttft 2ms --itl 1ms', wrapper,
              --api-key, "${BENCH_TOKEN}", "${BENCH_TOKEN}", "--hf-token=`+literalSecret+`", -H, "Authorization: Bearer `+literalHeader+`"]
    args: [--api-key, "${BENCH_TOKEN}"]
    env: { HF_TOKEN: "${BENCH_TOKEN}", NOTE: "plain ${BENCH_TOKEN}" }
    url: "http://user:${BENCH_TOKEN}@`+addr+`"
    api_key: "${BENCH_TOKEN}"
    headers: { X-Trace: "${BENCH_TOKEN}", Authorization: "Bearer ${BENCH_TOKEN}" }
`+extra+`scenarios:
  - name: chat
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 3 }
    request: { extra_body: { user: "${BENCH_TOKEN}", note: "for ${BENCH_TOKEN}" } }
`)
}

// noSecret fails for every text (stdout, stderr, a file) that shows
// theSecret.
func noSecret(t *testing.T, what string, texts map[string]string) {
	t.Helper()
	for name, text := range texts {
		for _, sec := range []string{theSecret, literalSecret, literalHeader} {
			if i := strings.Index(text, sec); i >= 0 {
				from, to := max(0, i-120), min(len(text), i+len(sec)+40)
				t.Errorf("%s: %s shows a secret: ...%s...", what, name, text[from:to])
			}
		}
	}
}

// outputs reads every file under dir (logs/ included) into texts.
func outputs(t *testing.T, dir string, texts map[string]string) {
	t.Helper()
	assert.NilError(t, filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		texts[path] = string(b)
		return err
	}))
}

// TestOneSecretEverywhere runs (in-process) and validates a plan that puts
// one secret, from an environment variable, in every place a plan can hold
// one, and --set: the secret shows nowhere, in stdout, stderr or any file
// of the run (reports, requests.jsonl, the server's log). The run uses a
// process server behind a shell wrapper that prints the secret.
func TestOneSecretEverywhere(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	set := []string{"--set", "scenarios.chat.request.extra_body.via_set=${BENCH_TOKEN}"}
	invoke := func(args ...string) result {
		return cli{env: []string{"BENCH_TOKEN=" + theSecret}}.run(t, args...)
	}

	t.Run("run", func(t *testing.T) {
		out := t.TempDir()
		r := invoke(append([]string{"run", secretPlan(t, addr, false), "--out", out, "--requests", "--progress", "lines"}, set...)...)
		assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		assert.Assert(t, strings.Contains(r.stderr, "wrapper --api-key [redacted] [redacted] --hf-token=[redacted] -H Authorization: [redacted])"),
			"the command line shows, its secrets do not:\n%s", r.stderr)
		texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
		outputs(t, out, texts)
		log := texts[filepath.Join(out, "logs", "local.log")]
		assert.Assert(t, strings.Contains(log, "server sees [redacted] --api-key [redacted] [redacted] --hf-token=[redacted] Authorization: [redacted]"), "the server printed it, the log hides it:\n%s", log)
		run := readRun(t, out)
		assert.Assert(t, len(run.Environment.Servers) == 1)
		noSecret(t, "run", texts)
	})
	t.Run("validate", func(t *testing.T) {
		r := invoke(append([]string{"validate", secretPlan(t, addr, false)}, set...)...)
		assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		noSecret(t, "validate", map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	// A value that fails validation is quoted in the error: redacted.
	// (Depends on the plan package's redaction of its errors, issue #17.)
	for _, cmd := range []string{"validate", "run"} {
		t.Run("invalid-"+cmd, func(t *testing.T) {
			args := append([]string{cmd, secretPlan(t, addr, true)}, set...)
			args = append(args, "--set", "scenarios.chat.load.rate=${BENCH_TOKEN}")
			if cmd == "run" {
				args = append(args, "--out", t.TempDir())
			}
			r := invoke(args...)
			assert.Equal(t, r.code, exitInvalid, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			noSecret(t, cmd+" of an invalid plan", map[string]string{"stdout": r.stdout, "stderr": r.stderr})
		})
	}
}
