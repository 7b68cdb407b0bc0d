package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
	"gotest.tools/v3/assert"
)

// capture reads the stream of a FuzzSSE seed file (go test fuzz v1: a
// quoted []byte, then the cut).
func capture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzSSE", name))
	assert.NilError(t, err)
	line := strings.Split(string(b), "\n")[1]
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
	assert.NilError(t, err)
	return s
}

// serveStream answers every request with stream, as a 200 SSE answer.
func serveStream(t *testing.T, stream string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(stream))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A vLLM answer with a reasoning parser streams reasoning_content (vLLM
// ≤ 0.9) or reasoning (newer vLLM) deltas before the answer's content: the
// first token is the first reasoning delta, the first answer token comes
// after the last reasoning one, and the usage's
// completion_tokens_details.reasoning_tokens splits the output.
func TestReasoningCaptures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"vllm-reasoning-content", "vllm-reasoning-openai"} {
		stream := capture(t, name)
		for _, tc := range []struct {
			stream   string
			reported bool
		}{
			{stream, true},
			// Without usage, the chunks are counted: 4 reasoning, 2 answer.
			{dropUsage(stream), false},
		} {
			c := New(Config{BaseURL: serveStream(t, tc.stream), API: Chat, Model: "m"})
			var rec results.Request
			assert.NilError(t, c.Do(context.Background(), Request{Prompt: "hi", MaxTokens: 6}, time.Now(), &rec), name)
			assert.Equal(t, rec.OutputTokens, 6, name)
			assert.Equal(t, rec.ReasoningTokens, 4, name)
			assert.Equal(t, rec.ReasoningReported, tc.reported, name)
			assert.Equal(t, rec.AnswerTokens(), 2, name)
			assert.Assert(t, rec.Reasoned())
			assert.Assert(t, rec.FirstToken > 0 && rec.FirstToken <= rec.LastReasoning, "%s: %+v", name, rec)
			assert.Assert(t, rec.LastReasoning <= rec.FirstAnswer && rec.FirstAnswer <= rec.LastToken, "%s: %+v", name, rec)
		}
	}

	// An answer without reasoning: its first answer token is its first token.
	stream := content("a") + content("b") + `data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}` + "\n\n" + done
	c := New(Config{BaseURL: serveStream(t, stream), API: Chat, Model: "m"})
	var rec results.Request
	assert.NilError(t, c.Do(context.Background(), Request{Prompt: "hi", MaxTokens: 2}, time.Now(), &rec))
	assert.Assert(t, !rec.Reasoned())
	assert.Equal(t, rec.FirstAnswer, rec.FirstToken)
	assert.Equal(t, rec.ReasoningTokens, 0)
	assert.Equal(t, rec.AnswerTokens(), 2)
}

// dropUsage removes the usage-only chunk of a stream.
func dropUsage(stream string) string {
	var out []string
	for _, ev := range strings.SplitAfter(stream, "\n\n") {
		if !strings.Contains(ev, `"choices":[],"usage"`) {
			out = append(out, ev)
		}
	}
	return strings.Join(out, "")
}

// An implausible reasoning count is a bad usage, like the other counts.
func TestImplausibleReasoningTokens(t *testing.T) {
	t.Parallel()
	stream := content("a") + `data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"completion_tokens_details":{"reasoning_tokens":-3}}}` + "\n\n" + done
	c := New(Config{BaseURL: serveStream(t, stream), API: Chat, Model: "m"})
	var rec results.Request
	err := c.Do(context.Background(), Request{Prompt: "hi", MaxTokens: 1}, time.Now(), &rec)
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, ReasonBadUsage)
}

// The simulator's reasoning knob, in each of its fields, reaches the
// client's record: 5 reasoning tokens of 16, the first answer token at
// least 5 inter-token gaps after the first token.
func TestAgainstSimulatorReasoning(t *testing.T) {
	t.Parallel()
	const itl = 2 * time.Millisecond
	for _, field := range []string{sim.ReasoningContent, sim.ReasoningOpenAI, sim.ReasoningBoth} {
		url, _ := startSim(t, sim.Config{ITL: itl, ReasoningTokens: 5, ReasoningField: field})
		c := New(Config{BaseURL: url, API: Chat, Model: "sim-model"})
		var rec results.Request
		assert.NilError(t, c.Do(context.Background(), Request{Prompt: "a b c", MaxTokens: 16, IgnoreEOS: true}, time.Now(), &rec), field)
		assert.Equal(t, rec.OutputTokens, 16, field)
		assert.Equal(t, rec.ReasoningTokens, 5, field)
		assert.Assert(t, rec.ReasoningReported, field)
		assert.Equal(t, rec.AnswerTokens(), 11, field)
		assert.Equal(t, len(rec.ITLs), 15, "%s: one chunk a token, both fields in one chunk", field)
		// The answer's first token is the sixth: the simulator never sends
		// it before five gaps after the request arrived. (Measured from
		// the first token instead, the gap shrinks when a loaded machine
		// delays the first token and the simulator then catches up.)
		assert.Assert(t, rec.FirstAnswer-rec.Sent >= 5*itl, "%s: answer %s after the request was sent", field, rec.FirstAnswer-rec.Sent)
		assert.Assert(t, rec.LastReasoning < rec.FirstAnswer, field)
		tr, ok := rec.TPOTReasoning()
		assert.Assert(t, ok && tr > 0, "%s: tpot_reasoning %s", field, tr)
		ta, ok := rec.TPOTAnswer()
		assert.Assert(t, ok && ta > 0, "%s: tpot_answer %s", field, ta)
	}
	// Completions have no reasoning; a one-token answer keeps its token.
	url, _ := startSim(t, sim.Config{ReasoningTokens: 5})
	for _, c := range []struct {
		api    string
		tokens int
	}{{Completions, 16}, {Chat, 1}} {
		cl := New(Config{BaseURL: url, API: c.api, Model: "sim-model"})
		var rec results.Request
		assert.NilError(t, cl.Do(context.Background(), Request{Prompt: "a b c", MaxTokens: c.tokens, IgnoreEOS: true}, time.Now(), &rec))
		assert.Assert(t, !rec.Reasoned(), c.api)
		assert.Equal(t, rec.AnswerTokens(), c.tokens, c.api)
	}
}
