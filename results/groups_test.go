package results

import (
	"strconv"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// tagged makes n successful requests, one every 100ms, each 200ms long,
// tagged by tag(i).
func tagged(n int, tag func(i int, r *Request)) []Request {
	rs := make([]Request, n)
	for i := range rs {
		at := time.Duration(i) * 100 * time.Millisecond
		rs[i] = Request{Index: i, Intended: at, Ready: at, Sent: at, FirstToken: at + 50*time.Millisecond,
			LastToken: at + 150*time.Millisecond, End: at + 200*time.Millisecond, PromptTokens: 10, OutputTokens: 5,
			UsageReported: true}
		tag(i, &rs[i])
	}
	return rs
}

func labels(gs []Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Label())
	}
	return out
}

func TestGroupsOnlyWhereTagged(t *testing.T) {
	one := ComputeWith(tagged(10, func(i int, r *Request) { r.Model = "m" }), Window{Stop: time.Second})
	assert.Check(t, is.Len(one.Groups, 0), "one model makes no per-model groups")

	turns := ComputeWith(tagged(24, func(i int, r *Request) { r.Model = "m"; r.Turn = i%12 + 1 }), Window{Stop: 3 * time.Second})
	assert.Check(t, is.DeepEqual(labels(turns.Groups), []string{"turn[1]", "turn[2]", "turn[3]", "turn[4]", "turn[5]",
		"turn[6]", "turn[7]", "turn[8]", "turn[9]", "turn[10]", "turn[11]", "turn[12]"}), "turns in number order")
	for _, g := range turns.Groups {
		assert.Check(t, is.Equal(g.Metrics.Requests.Completed, 2), g.Label())
		assert.Check(t, g.Metrics.Groups == nil && g.Metrics.Samples == nil, g.Label())
	}
}

func TestGroupsAreCapped(t *testing.T) {
	m := ComputeWith(tagged(MaxGroups+6, func(i int, r *Request) { r.Model = "m" + strconv.Itoa(1000+i) }), Window{Stop: 10 * time.Second})
	assert.Check(t, is.Len(m.Groups, MaxGroups))
	assert.Check(t, is.Equal(m.GroupsDropped, 6))
	assert.Check(t, is.Equal(m.Groups[0].Key, "m1000"))
}

// TestRampWindowRates: 60 requests at 10/s over 6 s, in three windows of
// 2 s; each window's rate is its own completions over its own span, not
// over the step's window.
func TestRampWindowRates(t *testing.T) {
	rs := tagged(60, func(i int, r *Request) {
		if i < 10 {
			r.Window = 1 // the first second only: 10 requests in 2 s
		} else {
			r.Window = 2 + (i-10)/25
		}
	})
	w := Window{Stop: 6 * time.Second, Windows: []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second}}
	m := ComputeWith(rs, w)
	assert.Check(t, is.DeepEqual(labels(m.Groups), []string{"window[1]", "window[2]", "window[3]"}))
	want := []float64{10.0 / 2, 25.0 / 2, 25.0 / 2}
	for i, g := range m.Groups {
		assert.Check(t, is.Equal(g.Metrics.Duration, Duration(2*time.Second)), g.Label())
		assert.Check(t, is.Equal(g.Metrics.Requests.RatePerSec, want[i]), g.Label())
	}
	// Without the ramp's bounds a window is measured over the step's window.
	m = ComputeWith(rs, Window{Stop: 6 * time.Second})
	assert.Check(t, is.Equal(m.Groups[0].Metrics.Duration, m.Duration))
}

func TestGroupsCombineAcrossRepeats(t *testing.T) {
	run := func(slow time.Duration) Metrics {
		return ComputeWith(tagged(40, func(i int, r *Request) {
			r.Model = []string{"a", "b"}[i%2]
			if r.Model == "b" {
				r.FirstToken += slow
			}
		}), Window{Stop: 5 * time.Second})
	}
	c := CombineRepeats([]Metrics{run(10 * time.Millisecond), run(30 * time.Millisecond)}, 0.95)
	assert.Assert(t, is.Len(c.Groups, 2))
	b := c.Group(ByModel, "b")
	assert.Assert(t, b != nil)
	assert.Check(t, is.Equal(b.Metrics.Requests.Completed, 40), "counts are summed over the runs")
	// The mean of the runs' TTFT p50s: 50ms + (10ms + 30ms) / 2.
	assert.Check(t, is.Equal(b.Metrics.TTFT.P50, 70*time.Millisecond))
	assert.Check(t, is.Equal(c.Group(ByModel, "a").Metrics.TTFT.P50, 50*time.Millisecond))
}

// Under repeat, session figures combine the runs as the step's own do:
// counts summed, turns per session over every session, the duration's
// percentiles the mean of the runs'.
func TestSessionsCombineAcrossRepeats(t *testing.T) {
	run := func(started, completed int, turns float64, dur time.Duration) Metrics {
		var ds []time.Duration
		for i := range completed {
			ds = append(ds, dur+time.Duration(i)*time.Millisecond)
		}
		return Metrics{Sessions: &SessionMetrics{Started: started, Completed: completed, TurnsMean: turns,
			Duration: NewDistribution(ds), Reasons: map[string]int{SessionCompleted: completed}}}
	}
	c := CombineRepeats([]Metrics{run(10, 8, 3.5, time.Second), run(30, 30, 4, 3*time.Second)}, 0.95)
	assert.Assert(t, c.Sessions != nil)
	assert.Check(t, is.Equal(c.Sessions.Started, 40))
	assert.Check(t, is.Equal(c.Sessions.Completed, 38))
	assert.Check(t, is.Equal(c.Sessions.Reasons[SessionCompleted], 38))
	assert.Check(t, is.Equal(c.Sessions.TurnsMean, (10*3.5+30*4)/40.0))
	// The mean of the runs' p50s (1.0035s and 3.0145s).
	want := (run(10, 8, 0, time.Second).Sessions.Duration.P50 + run(30, 30, 0, 3*time.Second).Sessions.Duration.P50) / 2
	assert.Check(t, is.Equal(c.Sessions.Duration.P50, want))
	assert.Check(t, CombineRepeats([]Metrics{{}, {}}, 0.95).Sessions == nil)
}

// Two runs far apart give a wide t interval (one degree of freedom), which
// for a duration stops at 0.
func TestCombinedDurationIntervalsAreNotNegative(t *testing.T) {
	run := func(ttft time.Duration) Metrics {
		return ComputeWith(tagged(20, func(i int, r *Request) { r.FirstToken = r.Sent + ttft }), Window{Stop: 3 * time.Second})
	}
	c := CombineRepeats([]Metrics{run(10 * time.Millisecond), run(200 * time.Millisecond)}, 0.95)
	assert.Check(t, is.Equal(c.TTFT.P50, 105*time.Millisecond))
	assert.Check(t, is.Equal(c.TTFT.P50CI.Lo, 0.0), "%+v", c.TTFT.P50CI)
	assert.Check(t, c.TTFT.P50CI.Hi > float64(time.Second), "%+v", c.TTFT.P50CI)
}
