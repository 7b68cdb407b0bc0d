package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// An embeddings scenario on the simulator: each request carries 4
// emulated inputs of exactly 16 tokens (measured with /tokenize), usage
// says so, and latency, requests/s, input tokens/s and inputs per request
// are gateable; requests.jsonl tags each request with its API and inputs.
func TestEmbeddingsScenario(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: embeddings
servers:
  sim: { sim: { ttft: 2ms, embedding_per_token: 50us, embedding_dim: 64 } }
scenarios:
  - name: embed
    api: embeddings
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 16 }, inputs_per_request: 4 }
    limits: { max_requests: 6 }
    assert:
      - inputs.mean == 4 && inputs.total == 24
      - tokens.prompt.mean == 64 && tokens.prompt.total == 384
      - latency.min >= 5ms
      - tokens.prompt.rate > 0 && inputs.rate > 0 && requests.rate > 0
      - tokens.output.total == 0
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--requests")
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	run := readRun(t, out)
	sc := run.Scenarios[0]
	assert.Equal(t, sc.API, "embeddings")
	assert.Equal(t, sc.Data.PromptLengths, "exact")
	m := sc.Steps[0].Metrics
	assert.Equal(t, m.TTFT.Count, 0)
	assert.Assert(t, m.Inputs != nil && m.Inputs.Total == 24)

	b, err := os.ReadFile(filepath.Join(out, "requests.jsonl"))
	assert.NilError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Equal(t, len(lines), 6)
	for _, line := range lines {
		var l struct {
			API     string   `json:"api"`
			Inputs  int      `json:"inputs"`
			TTFT    *float64 `json:"ttft_ms"`
			Latency *float64 `json:"latency_ms"`
			Prompt  int      `json:"prompt_tokens"`
		}
		assert.NilError(t, json.Unmarshal([]byte(line), &l))
		assert.Equal(t, l.API, "embeddings", line)
		assert.Equal(t, l.Inputs, 4, line)
		assert.Equal(t, l.Prompt, 64, line)
		assert.Assert(t, l.TTFT == nil && l.Latency != nil, line)
	}
}

// Prompts from a file, 3 to a request, in order; a gate on ttft, which
// embeddings do not have, is an error that says why, never a pass.
func TestEmbeddingsFromFileAndTTFTGate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "passages.txt"), []byte("one two\nthree four five\nsix\n"), 0o644))
	plan := filepath.Join(dir, "plan.yaml")
	assert.NilError(t, os.WriteFile(plan, []byte(`version: 1
name: embeddings-file
servers:
  sim: { sim: { ttft: 1ms } }
scenarios:
  - name: embed
    api: embeddings
    load: { type: synchronous }
    data: { file: { path: passages.txt }, inputs_per_request: 3 }
    limits: { max_requests: 2 }
    assert:
      - tokens.prompt.total == 12
      - ttft.p95 < 1s
`), 0o644))
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, 3, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, "ttft.p95 = no data"))
	a := readRun(t, out).Scenarios[0].Steps[0].Assertions
	assert.Equal(t, string(a[0].Verdict), "pass", a[0].Observed)
	assert.Equal(t, string(a[1].Verdict), "error")
	assert.Assert(t, is.Contains(a[1].Message, "embeddings and rerank answers are not streamed: ttft has no samples"))
}

// A rerank scenario: a query and 3 documents a request, usage the pairs'
// tokens (the query counted once per document), inputs the documents.
func TestRerankScenario(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: rerank
servers:
  sim: { sim: { ttft: 2ms } }
scenarios:
  - name: rerank
    api: rerank
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 10 }, inputs_per_request: 3 }
    limits: { max_requests: 4 }
    assert:
      - inputs.mean == 3 && inputs.total == 12
      - tokens.prompt.mean == 60
      - latency.max < 5s
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Equal(t, readRun(t, out).Scenarios[0].Data.PromptLengths, "exact")
}
