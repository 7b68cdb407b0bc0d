package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A reasoning model (the simulator streaming 6 reasoning deltas, 2ms
// apart, before a 4-token answer): ttft is the first token of any kind,
// ttfo the first answer token, the output splits into reasoning and
// answer, each gateable; requests.jsonl carries each request's phases.
func TestReasoningPhasesAreGateable(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: reasoning
servers:
  sim: { sim: { ttft: 5ms, itl: 2ms, reasoning_tokens: 6, reasoning_field: reasoning } }
scenarios:
  - name: think
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 10 } }
    limits: { max_requests: 5 }
    assert:
      - ttfo.min >= 15ms
      - ttfo.count == 5 && tpot_reasoning.count == 5 && tpot_answer.count == 5
      - tokens.reasoning.total == 30 && tokens.reasoning.mean == 6
      - tokens.answer.total == 20 && tokens.answer.mean == 4
      - tokens.output.mean == 10
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--requests")
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, "ttfo.min = "))
	m := readRun(t, out).Scenarios[0].Steps[0].Metrics
	assert.Assert(t, m.TTFO != nil && m.TPOTReasoning != nil && m.TPOTAnswer != nil)
	assert.Assert(t, m.TTFO.P50 >= 17*time.Millisecond && m.TTFO.P50 > m.TTFT.P50, "ttfo %s, ttft %s: the answer is due ttft + 6 itls (17ms) after the request", m.TTFO.P50, m.TTFT.P50)
	assert.Equal(t, *m.Tokens.Phases, results.PhaseTokens{ReasoningTotal: 30, ReasoningMean: 6, AnswerTotal: 20, AnswerMean: 4, Source: "usage"})

	b, err := os.ReadFile(filepath.Join(out, "requests.jsonl"))
	assert.NilError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Equal(t, len(lines), 5)
	for _, line := range lines {
		var l struct {
			FirstToken    float64  `json:"first_token_ms"`
			FirstAnswer   float64  `json:"first_answer_ms"`
			LastReasoning float64  `json:"last_reasoning_ms"`
			TTFTms        *float64 `json:"ttft_ms"`
			TTFOms        *float64 `json:"ttfo_ms"`
			Reasoning     *int     `json:"reasoning_tokens"`
			Answer        *int     `json:"answer_tokens"`
			Reported      bool     `json:"reasoning_reported"`
		}
		assert.NilError(t, json.Unmarshal([]byte(line), &l))
		assert.Assert(t, l.TTFTms != nil && l.TTFOms != nil && l.Reasoning != nil && l.Answer != nil, line)
		assert.Equal(t, *l.Reasoning, 6, line)
		assert.Equal(t, *l.Answer, 4, line)
		assert.Assert(t, l.Reported, line)
		// The last reasoning chunk and the first answer chunk may arrive in
		// one read on a loaded machine: then they share an instant.
		assert.Assert(t, l.FirstToken < l.LastReasoning && l.LastReasoning <= l.FirstAnswer, line)
		// The answer is the seventh token: the simulator never sends it
		// before ttft + 6 itls = 17ms after the request arrived. (Measured
		// from the first token instead, the gap shrinks when a loaded
		// machine delays the first token and the simulator catches up.)
		assert.Assert(t, *l.TTFOms >= 17, line)
	}
}

// Without reasoning the phase figures are absent, and a gate on them is an
// error that says why, never a pass.
func TestReasoningGateWithoutReasoningIsAnError(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: no-reasoning
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms } }
scenarios:
  - name: plain
    load: { type: synchronous }
    data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 3 }
    assert: [ "ttfo.p95 < 1s" ]
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out)
	assert.Equal(t, r.code, 3, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, is.Contains(r.stdout+r.stderr, "no answer in this step had reasoning"))
	m := readRun(t, out).Scenarios[0].Steps[0].Metrics
	assert.Assert(t, m.TTFO == nil && m.TPOTReasoning == nil && m.TPOTAnswer == nil && m.Tokens.Phases == nil)
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	assert.NilError(t, err)
	for _, key := range []string{`"ttfo":`, `"tpot_reasoning":`, `"tpot_answer":`, `"phases":`, `"ttfo_ms":`} {
		assert.Assert(t, !strings.Contains(string(b), key), "results.json of a run without reasoning has %s", key)
	}
}
