package results

import (
	"math"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

const tms = time.Millisecond

func TestSeriesInterval(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		0:                100 * tms,
		2 * time.Second:  100 * tms,
		10 * time.Second: 100 * tms,
		11 * time.Second: 200 * tms,
		time.Minute:      time.Second,
		10 * time.Minute: 10 * time.Second,
		24 * time.Hour:   20 * time.Minute,
	} {
		assert.Equal(t, SeriesInterval(d), want, "%s", d)
		assert.Assert(t, d <= 100*SeriesInterval(d))
	}
}

func TestComputeSeries(t *testing.T) {
	// Step of 2s, 100ms buckets. Request 0: sent 0, first token 100ms,
	// last 300ms, end 300ms, 5 tokens. Request 1: sent 150ms, fails at
	// 250ms. Request 2: sent 1.95s, still in flight at the stop (2s).
	reqs := []Request{
		{Index: 0, Sent: 0, FirstToken: 100 * tms, LastToken: 300 * tms, End: 300 * tms, OutputTokens: 5},
		{Index: 1, Sent: 150 * tms, End: 250 * tms, Error: "http 500"},
		{Index: 2, Sent: 1950 * tms, Incomplete: true},
	}
	s := ComputeSeries(reqs, 2*time.Second)
	assert.Equal(t, time.Duration(s.Interval), 100*tms)
	assert.Equal(t, s.Len(), 20)
	assert.DeepEqual(t, s.Sent[:3], []int{1, 1, 0})
	assert.Equal(t, s.Sent[19], 1)
	assert.Equal(t, s.Completed[3], 1, "completed at 300ms")
	assert.Equal(t, s.Errored[2], 1, "failed at 250ms")
	// In flight: bucket 0 and 2 hold request 0 fully; bucket 1 holds it
	// and half of request 1; bucket 2 holds half of request 1 too.
	assert.DeepEqual(t, s.InFlight[:4], []float64{1, 1.5, 1.5, 0})
	assert.Equal(t, s.InFlight[19], 0.5, "the incomplete request is in flight to the stop")
	// Tokens: 1 at 100ms, 4 spread over (100ms, 300ms].
	total := 0.0
	for _, v := range s.OutputTokens {
		total += v
	}
	assert.Equal(t, total, 5.0)
	assert.DeepEqual(t, s.OutputTokens[:4], []float64{0, 3, 2, 0})
}

func TestComputeSeriesCounts(t *testing.T) {
	// A closed loop: 50 back-to-back requests of 100ms with 10 tokens.
	var reqs []Request
	for i := 0; i < 50; i++ {
		at := time.Duration(i) * 100 * tms
		reqs = append(reqs, Request{Index: i, Sent: at, FirstToken: at + 10*tms, LastToken: at + 100*tms, End: at + 100*tms, OutputTokens: 10})
	}
	s := ComputeSeries(reqs, 5*time.Second)
	sent, done, toks := 0, 0, 0.0
	for i := 0; i < s.Len(); i++ {
		sent += s.Sent[i]
		done += s.Completed[i]
		toks += s.OutputTokens[i]
		assert.Assert(t, math.Abs(s.InFlight[i]-1) < 1e-9, "bucket %d in flight %v", i, s.InFlight[i])
	}
	assert.Equal(t, sent, 50)
	assert.Equal(t, done, 50)
	assert.Assert(t, math.Abs(toks-500) < 1e-6)
	assert.Assert(t, ComputeSeries(nil, time.Second) == nil)
}

func TestNewHistogram(t *testing.T) {
	var samples []time.Duration
	for i := 0; i < 1000; i++ {
		samples = append(samples, 100*tms+time.Duration(i)*100*time.Microsecond) // 100ms..199.9ms
	}
	samples = append(samples, 30*time.Second) // one far outlier
	h := NewHistogram(samples)
	n := h.Overflow
	for _, c := range h.Counts {
		n += c
	}
	assert.Equal(t, n, len(samples))
	assert.Equal(t, h.Overflow, 1, "the far tail is cut")
	assert.Assert(t, len(h.Counts) <= MaxBins+1)
	assert.Assert(t, len(h.Counts) >= 10)
	assert.Equal(t, time.Duration(h.Start)%time.Duration(h.Width), time.Duration(0), "bins start on a multiple of their width")
	assert.Equal(t, time.Duration(h.Width), 5*tms)

	one := NewHistogram([]time.Duration{42 * tms, 42 * tms})
	assert.Equal(t, len(one.Counts), 1)
	assert.Equal(t, one.Counts[0], 2)
	assert.Assert(t, NewHistogram(nil) == nil)
}

func TestComputeHistograms(t *testing.T) {
	reqs := []Request{
		{Sent: 0, FirstToken: 50 * tms, LastToken: 150 * tms, End: 150 * tms, OutputTokens: 11},
		{Sent: 0, FirstToken: 70 * tms, LastToken: 170 * tms, End: 170 * tms, OutputTokens: 11, Excluded: true},
		{Sent: 0, End: 20 * tms, Error: "timeout"},
	}
	h := ComputeHistograms(reqs)
	assert.Equal(t, sum(h.TTFT.Counts), 1, "warmup and failed requests are not measured")
	assert.Equal(t, sum(h.Latency.Counts), 1)
	assert.Equal(t, sum(h.TPOT.Counts), 1)
	assert.Assert(t, ComputeHistograms(reqs[1:]) == nil)
}

func sum(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}
