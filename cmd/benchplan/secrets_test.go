package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// Secrets reach the server but never the console, a log or a report: a
// password in a server URL, values of variables whose name looks secret
// wherever they are used (extra_body here), api_key and headers.
func TestSecretsNeverShow(t *testing.T) {
	const password, token, key = "pw-0123456789", "tk-0123456789", "sk-0123456789"
	t.Setenv("MY_PASSWORD", password)
	t.Setenv("OTHER_TOKEN", token)
	t.Setenv("THE_KEY", key)
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
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--requests", "--progress", "lines")
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
