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

	"github.com/benchplan/benchplan/results"
)

// A 4-turn session plan on the simulator with its prefix cache on: every
// turn sends the whole history back, so in requests.jsonl, from usage,
// turn k's prompt tokens are the system prompt, the k user messages and
// the k-1 answers (the simulator counts words and adds no chat template
// tokens): prompt(k) = 32 + 24k + sum of output(j) for j < k, answers of
// drawn lengths included. The server's prefix cache finds most of it.
func TestSessionsSendTheirHistory(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: sessions
servers:
  sim: { sim: { prefix_cache: true, decode_base: 200us, prefill_per_token: 1us } }
scenarios:
  - name: chat
    load: { type: synchronous }
    data:
      sessions: { turns: 4, system_tokens: 32, user_tokens: 24, output_tokens: 20, output_stdev: 8, output_min: 4, think_time: 1ms }
    limits: { max_requests: 16 }
    telemetry: { interval: 50ms }
    assert:
      - sessions.started == 4 && sessions.completed == 4 && sessions.failed == 0
      - sessions.turns.mean == 4
      - sessions.duration.count == 4
      - server.prefix_cache_hit_rate > 0.5
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--requests")
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, "sessions.completed = 4"))
	assert.Assert(t, is.Contains(r.stdout, "  sessions: 4 started, 4 completed, 0 failed, 4.0 turns each; duration p50 "))
	m := readRun(t, out).Scenarios[0].Steps[0].Metrics
	assert.Assert(t, m.Sessions != nil)
	assert.Equal(t, m.Sessions.Reasons[results.SessionCompleted], 4)

	b, err := os.ReadFile(filepath.Join(out, "requests.jsonl"))
	assert.NilError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Equal(t, len(lines), 16)
	type rec struct {
		Session, Turn int
		PromptTokens  int     `json:"prompt_tokens"`
		OutputTokens  int     `json:"output_tokens"`
		UsageReported bool    `json:"usage_reported"`
		Intended      float64 `json:"intended_ms"`
		End           float64 `json:"end_ms"`
		Error         string  `json:"error"`
	}
	sessions := map[int][]rec{}
	outputs := map[int]bool{}
	for _, line := range lines {
		var l rec
		assert.NilError(t, json.Unmarshal([]byte(line), &l))
		assert.Assert(t, l.Session >= 1 && l.Session <= 4 && l.Turn >= 1 && l.Turn <= 4, line)
		assert.Assert(t, l.UsageReported && l.Error == "", line)
		sessions[l.Session] = append(sessions[l.Session], l)
		outputs[l.OutputTokens] = true
	}
	assert.Assert(t, len(outputs) > 1, "answers of drawn lengths: %v", outputs)
	for k, turns := range sessions {
		assert.Equal(t, len(turns), 4, "session %d", k)
		answers := 0
		for i, l := range turns {
			assert.Equal(t, l.Turn, i+1, "session %d: turns in order", k)
			assert.Equal(t, l.PromptTokens, 32+24*l.Turn+answers,
				"session %d turn %d: the system prompt, %d user messages and the answers so far (%d tokens)", k, l.Turn, l.Turn, answers)
			if i > 0 {
				prev := turns[i-1]
				think := l.Intended - prev.End // 1ms, in records rounded to the microsecond
				assert.Assert(t, think > 0.998 && think < 1.002, "session %d turn %d: intended at the previous turn's end plus the think time, got %.3fms after", k, l.Turn, think)
			}
			answers += l.OutputTokens
		}
	}
}

// A failed turn ends its session: no later turn of it is sent, the
// session counts as failed with its reason, and a new session takes its
// stream.
func TestSessionsAFailedTurnEndsItsSession(t *testing.T) {
	t.Parallel()
	plan := writePlan(t, `version: 1
name: sessions-failing
servers:
  sim: { sim: { ttft: 1ms, itl: 100us, error_rate_500: 0.25, seed: 3 } }
scenarios:
  - name: chat
    load: { type: concurrent, streams: 2 }
    data: { sessions: { turns: 3, user_tokens: 8, output_tokens: 4 } }
    limits: { max_requests: 60 }
    assert:
      - sessions.failed > 0
`)
	out := t.TempDir()
	r := benchplan(t, time.Minute, "run", plan, "--out", out, "--requests")
	assert.Equal(t, r.code, 0, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	m := readRun(t, out).Scenarios[0].Steps[0].Metrics
	assert.Equal(t, m.Sessions.Reasons["failed: http 500"], m.Sessions.Failed)
	assert.Equal(t, m.Sessions.Failed, m.Requests.Errored, "each failed turn ended its own session")

	b, err := os.ReadFile(filepath.Join(out, "requests.jsonl"))
	assert.NilError(t, err)
	failedAt := map[int]int{}
	turns := map[int][]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l struct {
			Session, Turn int
			Error         string `json:"error"`
		}
		assert.NilError(t, json.Unmarshal([]byte(line), &l))
		turns[l.Session] = append(turns[l.Session], l.Turn)
		if l.Error != "" {
			failedAt[l.Session] = l.Turn
		}
	}
	assert.Assert(t, len(failedAt) > 0)
	for k, n := range failedAt {
		assert.Equal(t, len(turns[k]), n, "session %d failed at turn %d and sent no turn after it: %v", k, n, turns[k])
	}
}
