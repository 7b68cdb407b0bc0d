package results

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// embeddingsRequests: n requests of k inputs, 100 prompt tokens each, sent
// every 100ms and answered in 30ms; one more failed.
func embeddingsRequests(n, k int) []Request {
	var rs []Request
	for i := range n {
		at := time.Duration(i) * 100 * time.Millisecond
		rs = append(rs, Request{Index: i, API: "embeddings", Inputs: k, Intended: at, Ready: at, Sent: at,
			End: at + 30*time.Millisecond, PromptTokens: 100 * k, UsageReported: true})
	}
	at := time.Duration(n) * 100 * time.Millisecond
	rs = append(rs, Request{Index: n, API: "embeddings", Inputs: k, Sent: at, End: at + time.Millisecond, Error: "http 500"})
	return rs
}

func TestEmbeddingsFigures(t *testing.T) {
	m := ComputeWith(embeddingsRequests(40, 8), Window{Stop: 5 * time.Second, Paced: true})
	assert.Assert(t, m.Inputs != nil)
	// 40 completed requests of 8 inputs; the window ends with the failed
	// request's end, 4.001s.
	sec := 4.001
	assert.Equal(t, m.Inputs.Total, 320)
	assert.Equal(t, m.Inputs.Mean, 8.0)
	assert.Assert(t, near(m.Inputs.RatePerSec, 320/sec), "%g", m.Inputs.RatePerSec)
	assert.Assert(t, near(m.Tokens.PromptRatePerSec, 32000/sec), "%g", m.Tokens.PromptRatePerSec)
	assert.Equal(t, m.Tokens.OutputRatePerSec, 0.0)
	for _, iv := range []struct {
		v  float64
		ci *Interval
	}{{m.Inputs.RatePerSec, m.Inputs.RateCI}, {m.Tokens.PromptRatePerSec, m.Tokens.PromptRateCI}} {
		assert.Assert(t, iv.ci != nil && iv.ci.Lo <= iv.v && iv.v <= iv.ci.Hi && iv.ci.Lo < iv.ci.Hi, "%g %+v", iv.v, iv.ci)
	}
	// No streamed token: no ttft, tpot or itl samples, a latency for each.
	assert.Equal(t, m.TTFT.Count, 0)
	assert.Equal(t, m.TPOT.Count, 0)
	assert.Equal(t, m.ITL.Count, 0)
	assert.Equal(t, m.Latency.Count, 40)
	assert.Equal(t, m.Latency.P95, 30*time.Millisecond)

	// A closed loop: inputs.rate's interval is requests.rate's times the mean.
	c := ComputeWith(embeddingsRequests(40, 4), Window{Stop: 5 * time.Second})
	assert.Assert(t, c.Requests.RateCI != nil && c.Inputs.RateCI != nil)
	assert.Assert(t, near(c.Inputs.RateCI.Lo, c.Requests.RateCI.Lo*4) && near(c.Inputs.RateCI.Hi, c.Requests.RateCI.Hi*4))

	// Chat requests carry no inputs: no inputs figures at all.
	chat := ComputeWith([]Request{{Sent: 0, FirstToken: time.Millisecond, LastToken: 2 * time.Millisecond, End: 3 * time.Millisecond, PromptTokens: 5, OutputTokens: 2}}, Window{Stop: time.Second})
	assert.Assert(t, chat.Inputs == nil)

	// Repeats add the totals and average the rates.
	r := CombineRepeats([]Metrics{m, ComputeWith(embeddingsRequests(40, 8), Window{Stop: 5 * time.Second, Paced: true})}, 0.95)
	assert.Assert(t, r.Inputs != nil)
	assert.Equal(t, r.Inputs.Total, 640)
	assert.Equal(t, r.Inputs.Mean, 8.0)
	assert.Assert(t, near(r.Inputs.RatePerSec, m.Inputs.RatePerSec))
	assert.Assert(t, near(r.Tokens.PromptRatePerSec, m.Tokens.PromptRatePerSec))
}

func near(a, b float64) bool { return a-b < 1e-9*max(1, b) && b-a < 1e-9*max(1, b) }
