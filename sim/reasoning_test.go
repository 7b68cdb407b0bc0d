package sim_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/sim"
)

// postChat sends a chat request and returns the raw answer.
func postChat(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	assert.NilError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	assert.Equal(t, resp.StatusCode, 200)
	return resp
}

// With reasoning_tokens the simulator streams that many reasoning deltas
// in the configured field, as vLLM's reasoning parsers do, before the
// answer's content deltas, and its usage says how many completion tokens
// were reasoning; a non-streamed answer carries the reasoning in
// message.reasoning_content.
func TestReasoningDeltas(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"", sim.ReasoningContent, sim.ReasoningOpenAI, sim.ReasoningBoth} {
		ts := newServer(t, sim.Config{ReasoningTokens: 3, ReasoningField: field})
		resp := postChat(t, ts.URL, `{"model":"sim-model","messages":[{"role":"user","content":"a b"}],"max_tokens":5,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`)
		var kinds []string
		var usage map[string]any
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var ch struct {
				Choices []struct {
					Delta map[string]any `json:"delta"`
				} `json:"choices"`
				Usage map[string]any `json:"usage"`
			}
			assert.NilError(t, json.Unmarshal([]byte(data), &ch), data)
			if ch.Usage != nil {
				usage = ch.Usage
			}
			for _, c := range ch.Choices {
				if _, role := c.Delta["role"]; role {
					continue
				}
				var keys []string
				for _, k := range []string{"reasoning_content", "reasoning", "content"} {
					if v, ok := c.Delta[k].(string); ok && v != "" {
						keys = append(keys, k)
					}
				}
				kinds = append(kinds, strings.Join(keys, "+"))
			}
		}
		want := map[string]string{"": "reasoning_content", sim.ReasoningContent: "reasoning_content",
			sim.ReasoningOpenAI: "reasoning", sim.ReasoningBoth: "reasoning_content+reasoning"}[field]
		assert.DeepEqual(t, kinds, []string{want, want, want, "content", "content"})
		assert.Equal(t, usage["completion_tokens"], 5.0)
		assert.DeepEqual(t, usage["completion_tokens_details"], map[string]any{"reasoning_tokens": 3.0})
	}

	ts := newServer(t, sim.Config{ReasoningTokens: 3})
	resp := postChat(t, ts.URL, `{"model":"sim-model","messages":[{"role":"user","content":"a b"}],"max_tokens":5,"ignore_eos":true}`)
	var answer struct {
		Choices []struct {
			Message struct {
				Content          string `json:"content"`
				ReasoningContent string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
		Usage map[string]any `json:"usage"`
	}
	assert.NilError(t, json.NewDecoder(resp.Body).Decode(&answer))
	assert.Equal(t, len(strings.Fields(answer.Choices[0].Message.ReasoningContent)), 3)
	assert.Equal(t, len(strings.Fields(answer.Choices[0].Message.Content)), 2)
	assert.DeepEqual(t, answer.Usage["completion_tokens_details"], map[string]any{"reasoning_tokens": 3.0})
}

func TestReasoningKnobsAreValidated(t *testing.T) {
	t.Parallel()
	c := sim.Config{ReasoningTokens: -1, ReasoningField: "thoughts"}
	err := c.Validate()
	assert.ErrorContains(t, err, "reasoning_tokens: must not be negative")
	assert.ErrorContains(t, err, `reasoning_field: must be "reasoning_content", "reasoning" or "both", got "thoughts"`)
}
