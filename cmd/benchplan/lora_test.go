package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/client"
)

// requestLines reads requests.jsonl's model, api, scenario and error.
type requestLine struct {
	Scenario string `json:"scenario"`
	Index    int    `json:"index"`
	Model    string `json:"model"`
	API      string `json:"api"`
	Error    string `json:"error"`
	Status   int    `json:"status_code"`
}

func readRequestLines(t *testing.T, dir string) []requestLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "requests.jsonl"))
	assert.NilError(t, err)
	var out []requestLine
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l requestLine
		assert.NilError(t, json.Unmarshal([]byte(line), &l), line)
		out = append(out, l)
	}
	return out
}

// A scenario's models mix: every request of requests.jsonl says which
// model it named, drawn by weight from the load's seed, so two runs draw
// the same model for each request; a single-model completions scenario
// records its model and API too; a model the server does not serve fails
// with vLLM's 404, each failed request still saying what it asked for.
func TestModelsMixTagsEveryRequest(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: lora
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms, lora_adapters: [sql-lora, chat-lora] } }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
  limits: { max_requests: 60 }
scenarios:
  - name: mix
    models: [{ name: sim-model }, { name: sql-lora, weight: 3 }, { name: chat-lora, weight: 2 }]
    load: { type: concurrent, streams: 4 }
    assert: [ "errors.rate == 0" ]
  - name: plain
    api: completions
    load: { type: synchronous }
    limits: { max_requests: 3 }
  - name: typo
    models: [{ name: sql-lorra }]
    load: { type: synchronous }
    limits: { max_requests: 2 }
`)
	runOnce := func() []requestLine {
		out := t.TempDir()
		r := benchplan(t, time.Minute, "run", plan, "--out", out, "--requests")
		// The typo scenario has no successful request: the run could not
		// be carried out as planned.
		assert.Equal(t, r.code, 3, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		return readRequestLines(t, out)
	}
	first, second := runOnce(), runOnce()

	byScenario := map[string][]requestLine{}
	for _, l := range first {
		byScenario[l.Scenario] = append(byScenario[l.Scenario], l)
	}
	counts := map[string]int{}
	mix := map[int]string{}
	for _, l := range byScenario["mix"] {
		assert.Equal(t, l.API, "chat")
		assert.Equal(t, l.Error, "")
		counts[l.Model]++
		mix[l.Index] = l.Model
	}
	t.Logf("models drawn: %v", counts)
	assert.Equal(t, len(mix), 60)
	assert.Equal(t, counts["sim-model"]+counts["sql-lora"]+counts["chat-lora"], 60, "%v", counts)
	// Weights 1, 3, 2 of 60: 10, 30, 20 expected; each is drawn (the
	// draw is seeded: these counts are the same on every run).
	assert.Assert(t, counts["sim-model"] > 0 && counts["sql-lora"] > counts["chat-lora"] && counts["chat-lora"] > counts["sim-model"], "%v", counts)
	for _, l := range second {
		if l.Scenario == "mix" {
			assert.Equal(t, l.Model, mix[l.Index], "request %d drew another model on the second run", l.Index)
		}
	}

	assert.Equal(t, len(byScenario["plain"]), 3)
	for _, l := range byScenario["plain"] {
		assert.Equal(t, l.Model, "sim-model")
		assert.Equal(t, l.API, "completions")
		assert.Equal(t, l.Error, "")
	}
	assert.Equal(t, len(byScenario["typo"]), 2)
	for _, l := range byScenario["typo"] {
		assert.Equal(t, l.Model, "sql-lorra")
		assert.Equal(t, l.API, "chat")
		assert.Equal(t, l.Error, "http 404")
		assert.Equal(t, l.Status, 404)
	}
}

// `benchplan sim --lora-adapters a,b` serves the adapters (a process of
// its own, as users start it); a repeated adapter is refused with the
// flag's name.
func TestSimServesLoraAdapters(t *testing.T) {
	t.Parallel()
	addr := startSim(t, "--model", "base", "--lora-adapters", "sql-lora, chat-lora", "--max-loras", "2")
	models, err := client.Models(context.Background(), http.DefaultClient, "http://"+addr, "")
	assert.NilError(t, err)
	assert.DeepEqual(t, models, []string{"base", "sql-lora", "chat-lora"})

	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), &cliState{Stdout: &stdout, Stderr: &stderr, Env: testEnv()}, []string{"sim", "--lora-adapters", "a,a", "--max-loras", "-1"})
	assert.Equal(t, code, exitInvalid)
	assert.Assert(t, strings.Contains(stderr.String(), `benchplan sim: --lora-adapters adapter "a" is listed twice`), stderr.String())
	assert.Assert(t, strings.Contains(stderr.String(), `benchplan sim: --max-loras must not be negative, got -1`), stderr.String())
}
