package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/client"
	"github.com/benchplan/benchplan/results"
	"github.com/benchplan/benchplan/sim"
)

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// conversation is a multi-turn chat against the simulator through
// benchplan's client: each turn sends the system prompt, the history with
// the server's actual answers, and a new user message.
type conversation struct {
	msgs []chatMessage
}

func (c *conversation) turn(cl *client.Client, user string, maxTokens int) (results.Request, error) {
	msgs := append(append([]chatMessage{}, c.msgs...), chatMessage{"user", user})
	body, err := json.Marshal(msgs)
	if err != nil {
		return results.Request{}, err
	}
	ans := &client.Answer{}
	var rec results.Request
	if err := cl.Do(context.Background(), client.Request{Messages: body, MaxTokens: maxTokens, IgnoreEOS: true, Answer: ans}, time.Now(), &rec); err != nil {
		return rec, err
	}
	if err := ans.Err(); err != nil {
		return rec, err
	}
	c.msgs = append(msgs, chatMessage{"assistant", string(ans.Text)})
	return rec, nil
}

// The prefix cache reuses a conversation's blocks across its turns (the
// earlier prompt and the answer the server generated, sent back) and
// across conversations sharing a system prompt: the hit rate of turn k's
// prefill rises with k, and each turn's hits are exactly the whole blocks
// of the previous turn's prompt and answer.
func TestPrefixCacheAcrossTurns(t *testing.T) {
	const (
		sessions = 8
		turns    = 4
		system   = 64 // tokens: 4 blocks of 16
		user     = 32
		answer   = 32
		block    = 16
	)
	cfg := sim.Config{PrefixCache: true, KVCacheTokens: 1 << 16, DecodeBase: 100 * time.Microsecond}
	cl, url := simClient(t, cfg)
	convs := make([]*conversation, sessions)
	for i := range convs {
		convs[i] = &conversation{msgs: []chatMessage{{"system", words(system, "sys")}}}
	}
	var rates []float64
	before := scrape(t, url)
	for k := 1; k <= turns; k++ {
		var wg sync.WaitGroup
		recs := make([]results.Request, sessions)
		errs := make([]error, sessions)
		// The first conversation's first turn goes alone: the others
		// find its system prompt cached.
		recs[0], errs[0] = convs[0].turn(cl, words(user, fmt.Sprintf("s0t%d-", k)), answer)
		for i := 1; i < sessions; i++ {
			wg.Go(func() { recs[i], errs[i] = convs[i].turn(cl, words(user, fmt.Sprintf("s%dt%d-", i, k)), answer) })
		}
		wg.Wait()
		for i, err := range errs {
			assert.NilError(t, err, "session %d turn %d", i, k)
		}
		after := scrape(t, url)
		q := after.get(t, "vllm:prefix_cache_queries_total") - before.get(t, "vllm:prefix_cache_queries_total")
		h := after.get(t, "vllm:prefix_cache_hits_total") - before.get(t, "vllm:prefix_cache_hits_total")
		before = after
		prompt := system + k*user + (k-1)*answer
		for _, r := range recs {
			assert.Equal(t, r.PromptTokens, prompt, "turn %d: the prompt is the history plus the new message", k)
		}
		assert.Equal(t, q, float64(sessions*prompt), "turn %d queries", k)
		wantHits := (sessions - 1) * system // turn 1: the shared system prompt
		if k > 1 {
			prev := system + (k-1)*user + (k-2)*answer + answer // the previous turn's whole sequence
			wantHits = sessions * (prev / block * block)
		}
		assert.Equal(t, h, float64(wantHits), "turn %d hits", k)
		rates = append(rates, h/q)
	}
	t.Logf("prefix cache hit rate by turn: %.3f", rates)
	for k := 1; k < turns; k++ {
		assert.Assert(t, rates[k] > rates[k-1], "hit rate by turn: %v", rates)
	}
	assert.Assert(t, rates[turns-1] > 0.5, "turn %d hit rate %.3f", turns, rates[turns-1])
}

// Conversations whose contexts grow past what the paged KV cache holds
// for all of them at once preempt sequences (counted in
// vllm:num_preemptions_total) and still complete every turn.
func TestGrowingContextsPreempt(t *testing.T) {
	const (
		sessions = 6
		turns    = 3
	)
	// Turn 2 ends at 64+64+64+64 = 256 tokens, 17 blocks with the next
	// token's: 64 blocks admit 4 of its 13-block prompts, which cannot
	// all grow. The conversations go turn by turn together, each turn
	// taking 64 decode steps of 1ms.
	cfg := sim.Config{KVCacheTokens: 64 * 16, DecodeBase: time.Millisecond}
	cl, url := simClient(t, cfg)
	convs := make([]*conversation, sessions)
	for i := range convs {
		convs[i] = &conversation{}
	}
	for k := 1; k <= turns; k++ {
		var wg sync.WaitGroup
		errs := make([]error, sessions)
		for i, c := range convs {
			wg.Go(func() {
				r, err := c.turn(cl, words(64, fmt.Sprintf("p%d-%d-", i, k)), 64)
				if err == nil && (r.Error != "" || r.OutputTokens != 64) {
					err = fmt.Errorf("error %q, %d output tokens", r.Error, r.OutputTokens)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			assert.NilError(t, err, "session %d turn %d", i, k)
		}
	}
	eventually(t, url, "vllm:kv_cache_usage_perc", 0)
	e := scrape(t, url)
	assert.Assert(t, e.get(t, "vllm:num_preemptions_total") > 0)
	assert.Equal(t, e.get(t, "vllm:generation_tokens_total"), float64(sessions*turns*64))
}
