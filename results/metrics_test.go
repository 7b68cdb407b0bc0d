package results

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

const msec = time.Millisecond

func TestPercentileIsNumpyLinear(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// numpy.percentile(range(1, 11), [0, 50, 90, 95, 99, 100]) =
	// 1, 5.5, 9.1, 9.55, 9.91, 10 (here in ns, rounded).
	for p, want := range map[float64]time.Duration{0: 1, 50: 6, 90: 9, 95: 10, 99: 10, 100: 10} {
		assert.Equal(t, Percentile(s, p), want, "p%v", p)
	}
	big := make([]time.Duration, 10)
	for i := range big {
		big[i] = time.Duration(i+1) * msec
	}
	assert.Equal(t, Percentile(big, 50), 5500*time.Microsecond)
	assert.Equal(t, Percentile(big, 90), 9100*time.Microsecond)
	assert.Equal(t, Percentile(big, 95), 9550*time.Microsecond)
	assert.Equal(t, Percentile(big, 99), 9910*time.Microsecond)
}

// req is a completed request sent at sent, first token after ttft, then
// n-1 more tokens every itl.
func req(i int, sent, ttft, itl time.Duration, n int) Request {
	r := Request{Index: i, Intended: sent, Ready: sent, Sent: sent, FirstToken: sent + ttft,
		PromptTokens: 10, OutputTokens: n, UsageReported: true}
	r.LastToken = r.FirstToken + time.Duration(n-1)*itl
	r.End = r.LastToken + msec
	for range n - 1 {
		r.ITLs = append(r.ITLs, itl)
	}
	return r
}

func TestConcurrencyIsTimeWeighted(t *testing.T) {
	// Two requests overlapping for half of a 4 s window: [0,2s] and [1s,3s]
	// (ends at last token + 1ms); the window is [0, 3.001s].
	a := req(0, 0, 100*msec, 100*msec, 20) // ends at 0.1+1.9+0.001 = 2.001s
	b := req(1, time.Second, 100*msec, 100*msec, 20)
	m := ComputeWith([]Request{a, b}, Window{Stop: 5 * time.Second})
	assert.Equal(t, m.Concurrency.Max, 2)
	want := (2.001 + 2.001) / 3.001
	assert.Assert(t, math.Abs(m.Concurrency.Mean-want) < 1e-6, "mean %v, want %v", m.Concurrency.Mean, want)

	// Back to back (a closed loop): never two at once.
	c := Request{Index: 0, Sent: 0, End: time.Second}
	d := Request{Index: 1, Sent: time.Second, End: 2 * time.Second}
	m = ComputeWith([]Request{c, d}, Window{Stop: 2 * time.Second})
	assert.Equal(t, m.Concurrency.Max, 1)
	assert.Equal(t, m.Concurrency.Mean, 1.0)
}

func TestGoodputCountsRequestsWithinEveryBound(t *testing.T) {
	reqs := []Request{
		req(0, 0, 100*msec, 10*msec, 11),        // ttft 100, tpot 10: good
		req(1, 100*msec, 250*msec, 10*msec, 11), // ttft too slow
		req(2, 200*msec, 100*msec, 30*msec, 11), // tpot too slow
		req(3, 300*msec, 100*msec, 0, 1),        // one token: no tpot, good
		{Index: 4, Sent: 400 * msec, End: 500 * msec, Error: "http 500"},
	}
	slo := &SLO{TTFT: Duration(200 * msec), TPOT: Duration(20 * msec)}
	m := ComputeWith(reqs, Window{Stop: 2 * time.Second, SLO: slo})
	assert.Assert(t, m.Goodput != nil)
	assert.Equal(t, m.Goodput.Count, 2)
	assert.Equal(t, m.Goodput.Ratio, 2.0/5.0)
	assert.Equal(t, m.Goodput.RatePerSec, 2/time.Duration(m.Duration).Seconds())
	assert.Assert(t, ComputeWith(reqs, Window{Stop: time.Second}).Goodput == nil, "no slo, no goodput")
}

func TestExcludedRequestsCountNowhereButConcurrency(t *testing.T) {
	reqs := []Request{req(0, 0, 10*msec, msec, 4), req(1, time.Second, 10*msec, msec, 4), req(2, 2*time.Second, 10*msec, msec, 4)}
	reqs[0].Excluded = true
	reqs[0].FirstToken = 500 * msec // a slow warmup request
	m := ComputeWith(reqs, Window{Stop: 3 * time.Second, Start: time.Second})
	assert.Equal(t, m.Requests.Total, 2)
	assert.Equal(t, m.Requests.Excluded, 1)
	assert.Equal(t, m.TTFT.Max, 10*msec)
	// The window runs from the warmup's end to the last measured end.
	assert.Equal(t, time.Duration(m.Duration), reqs[2].End-time.Second)
}

func TestClientLagIsSentMinusReady(t *testing.T) {
	r := req(0, 0, 10*msec, msec, 2)
	r.Intended, r.Ready, r.Sent = 0, 5*msec, 5*msec+300*time.Microsecond
	m := ComputeWith([]Request{r}, Window{Stop: time.Second})
	assert.Equal(t, m.Queue.P99, 5*msec+300*time.Microsecond)
	assert.Equal(t, m.ClientLag.P99, 300*time.Microsecond)
}

// A step in which answers had reasoning reports its phases; a step
// without reasoning has none (and its results.json is as before).
func TestReasoningPhases(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	var reqs []Request
	for i := range 4 {
		at := time.Duration(i) * 100 * ms
		r := Request{Index: i, Intended: at, Sent: at, FirstToken: at + 10*ms, PromptTokens: 5, OutputTokens: 8, UsageReported: true}
		if i < 3 { // 5 reasoning tokens 2ms apart, then 3 answer tokens 4ms apart
			r.ReasoningTokens, r.ReasoningReported = 5, true
			r.LastReasoning = r.FirstToken + 8*ms
			r.FirstAnswer = r.LastReasoning + 4*ms
		} else { // no reasoning: 8 answer tokens 4ms apart
			r.FirstAnswer = r.FirstToken
		}
		r.LastToken = r.FirstAnswer + 8*ms
		if i == 3 {
			r.LastToken = r.FirstAnswer + 28*ms
		}
		r.End = r.LastToken
		reqs = append(reqs, r)
	}
	m := Compute(reqs, time.Second)
	if m.TTFO == nil || m.TPOTReasoning == nil || m.TPOTAnswer == nil || m.Tokens.Phases == nil {
		t.Fatalf("no phases: %+v", m)
	}
	if m.TTFO.Min != 10*ms || m.TTFO.Max != 22*ms || m.TTFO.Count != 4 {
		t.Errorf("ttfo %+v: want 22ms for reasoning answers, the ttft (10ms) for the other", *m.TTFO)
	}
	if m.TPOTReasoning.Count != 3 || m.TPOTReasoning.P50 != 2*ms {
		t.Errorf("tpot_reasoning %+v", *m.TPOTReasoning)
	}
	if m.TPOTAnswer.Count != 4 || m.TPOTAnswer.Min != 4*ms || m.TPOTAnswer.Max != 4*ms {
		t.Errorf("tpot_answer %+v", *m.TPOTAnswer)
	}
	if p := *m.Tokens.Phases; p != (PhaseTokens{ReasoningTotal: 15, ReasoningMean: 3.75, AnswerTotal: 17, AnswerMean: 4.25, Source: "usage"}) {
		t.Errorf("phases %+v", p)
	}
	rep := CombineRepeats([]Metrics{m, Compute(reqs, time.Second)}, 0.95)
	if rep.TTFO == nil || rep.TTFO.Count != 8 || rep.Tokens.Phases.ReasoningTotal != 30 {
		t.Errorf("repeats: %+v %+v", rep.TTFO, rep.Tokens.Phases)
	}

	plain := Compute(reqs[3:], time.Second)
	if plain.TTFO != nil || plain.Tokens.Phases != nil || plain.Samples.TTFO != nil {
		t.Errorf("phases without reasoning: %+v", plain)
	}
	b, _ := json.Marshal(plain)
	for _, key := range []string{`"ttfo"`, `"tpot_reasoning"`, `"tpot_answer"`, `"phases"`, `"ttfo_ms"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("results.json without reasoning has %s", key)
		}
	}
}
