package client

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

// An Answer collects the streamed answer's text, not its reasoning, and
// keeps no more than its cap: past it the text stops growing, Overflow is
// set and Err says why, while the request itself stays a success.
func TestAnswerCollectsContentWithinItsCap(t *testing.T) {
	srv := httptest.NewServer(sim.New(sim.Config{ITL: time.Microsecond, TTFT: time.Microsecond, ReasoningTokens: 3}))
	t.Cleanup(srv.Close)
	c := New(Config{BaseURL: srv.URL, API: Chat, Model: "sim-model"})
	t.Cleanup(c.Close)
	do := func(a *Answer) results.Request {
		var rec results.Request
		err := c.Do(context.Background(), Request{Prompt: "one two three", MaxTokens: 40, IgnoreEOS: true, Answer: a}, time.Now(), &rec)
		assert.NilError(t, err)
		assert.Equal(t, rec.Error, "")
		return rec
	}
	a := &Answer{}
	rec := do(a)
	assert.Equal(t, rec.OutputTokens, 40)
	assert.Equal(t, len(strings.Fields(string(a.Text))), 37, "the 37 answer tokens, not the 3 of reasoning: %q", a.Text)
	assert.Assert(t, !a.Overflow && a.Err() == nil)

	small := &Answer{CapBytes: 50}
	do(small)
	assert.Assert(t, small.Overflow)
	assert.Assert(t, len(small.Text) <= 50, "%d bytes kept", len(small.Text))
	assert.ErrorContains(t, small.Err(), "answer too long: the answer is longer than the 50 bytes")
}

// A malformed answer chunk that the fast scanner passes (its content is not
// valid JSON text) is a malformed chunk, not a panic, when an Answer reads it.
func TestAnswerOfAHostileStream(t *testing.T) {
	srv := rawServer(t, 200, `data: {"choices":[{"delta":{"content":"a\q"}}]}`+"\n\n"+done)
	c := New(Config{BaseURL: srv.URL, API: Chat, Model: "m"})
	t.Cleanup(c.Close)
	var rec results.Request
	err := c.Do(context.Background(), Request{Prompt: "hi", MaxTokens: 3, Answer: &Answer{}}, time.Now(), &rec)
	assert.Assert(t, err != nil)
	assert.Equal(t, rec.Error, "malformed chunk")
}
