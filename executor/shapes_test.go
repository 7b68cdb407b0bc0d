package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/executor/load"
	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// A Mooncake trace replayed on the simulator: every request is due at its
// timestamp over the speed, and the server's usage counts exactly the
// trace's input and output lengths.
func TestTraceReplayIsExactByUsage(t *testing.T) {
	var sb strings.Builder
	for i := range 60 {
		// Three families of shared prefixes; lengths vary within the last block.
		fam := int64(i % 3)
		in := 512 + 1 + (i*37)%500
		fmt.Fprintf(&sb, `{"timestamp": %d, "input_length": %d, "output_length": %d, "hash_ids": [%d, %d]}`+"\n", 1000+i*20, in, 2+i%5, fam, 100+i)
	}
	run, err := runPlan(t, `version: 1
name: trace
servers:
  sim: { sim: { ttft: 2ms, itl: 1ms } }
scenarios:
  - name: replay
    load: { type: trace, trace: { file: t.jsonl, format: mooncake, speed: 4, start: 500ms } }
`, map[string]string{"t.jsonl": sb.String()})
	assert.NilError(t, err)
	sc := scenario(t, run, "replay")
	assert.Equal(t, sc.Data.Source, "trace")
	assert.Equal(t, sc.Data.PromptLengths, "exact")
	reqs := sc.Steps[0].Requests
	assert.Equal(t, len(reqs), 60)
	for _, r := range reqs {
		i := r.Index
		assert.Equal(t, r.Error, "", "request %d", i)
		// (1000 + 20 i - 500) ms / 4
		assert.Equal(t, r.Intended, time.Duration(500+20*i)*time.Millisecond/4, "request %d", i)
		assert.Equal(t, r.PromptTokens, 512+1+(i*37)%500, "request %d", i)
		assert.Equal(t, r.OutputTokens, 2+i%5, "request %d", i)
	}
}

// A staged ramp tags each request with the window it was due in, and its
// windows carry the rising rate.
func TestRampTagsWindows(t *testing.T) {
	run, err := runPlan(t, `version: 1
name: ramp
servers:
  sim: { sim: { ttft: 2ms, itl: 1ms } }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
scenarios:
  - name: ramp
    load: { type: ramp, ramp: { from: 20, to: 80, duration: 2s, stages: 4 } }
`, nil)
	assert.NilError(t, err)
	st := scenario(t, run, "ramp").Steps[0]
	counts := make([]int, 5)
	for _, r := range st.Requests {
		assert.Equal(t, r.Window, load.WindowOf(r.Intended, 2*time.Second, 4), "request %d at %v", r.Index, r.Intended)
		counts[r.Window]++
	}
	// 0.5 s at 20, 40, 60 and 80 req/s; the step ends once every request
	// due in the ramp has finished: none is cut.
	assert.DeepEqual(t, counts, []int{0, 10, 20, 30, 40})
	assert.Equal(t, st.StopReason, load.StopMaxRequests)
	assert.Equal(t, st.Metrics.Requests.Completed, 100)
}

// A constant rate reached by a ramp-up: requests due in the ramp-up are
// excluded like a warmup's, and the ramp-up sends fewer than the rate.
func TestRampUpIsExcluded(t *testing.T) {
	run, err := runPlan(t, `version: 1
name: rampup
servers:
  sim: { sim: { ttft: 2ms, itl: 1ms } }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 2 } }
scenarios:
  - name: c
    load: { type: constant, rate: 40, ramp_up: 1s }
    limits: { max_duration: 2s }
`, nil)
	assert.NilError(t, err)
	st := scenario(t, run, "c").Steps[0]
	var up, rest int
	for _, r := range st.Requests {
		if r.Intended < time.Second {
			assert.Assert(t, r.Excluded, "request %d at %v", r.Index, r.Intended)
			up++
		} else {
			assert.Assert(t, !r.Excluded, "request %d at %v", r.Index, r.Intended)
			rest++
		}
	}
	assert.Equal(t, up, 20, "N(1s) = 40 × 1 / 2")
	assert.Assert(t, rest > 30 && rest <= 40, "%d after the ramp-up (the last may be cut on a busy machine)", rest)
	assert.Equal(t, st.Metrics.Requests.Excluded, 20)
	assert.Assert(t, slices.IsSortedFunc(st.Requests, func(a, b results.Request) int { return int(a.Intended - b.Intended) }))
}

// The shipped sample trace replays in full with exact lengths (a short
// window of it here; plans/trace-replay.yaml runs all of it).
func TestSampleTraceReplays(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "plans", "data", "sample-trace.jsonl"))
	assert.NilError(t, err)
	run, err := runPlan(t, `version: 1
name: sample
servers:
  sim: { sim: { ttft: 1ms, itl: 1ms, prefix_cache: true } }
scenarios:
  - name: replay
    load: { type: trace, trace: { file: s.jsonl, speed: 10, duration: 5s } }
`, map[string]string{"s.jsonl": string(src)})
	assert.NilError(t, err)
	sc := scenario(t, run, "replay")
	assert.Assert(t, len(sc.Steps[0].Requests) > 50)
	for _, r := range sc.Steps[0].Requests {
		assert.Equal(t, r.Error, "")
	}
}

// A ramped-up constant rate is judged by its constant rate: its client-lag
// limit and warmed connections use the gap after the ramp-up.
func TestRampedConstantMeanGap(t *testing.T) {
	l := &plan.Load{Type: plan.Constant, Rate: plan.Rates{40}}
	d := plan.Duration(time.Second)
	l.RampUp = &d
	s := rampUp(l, 40)
	assert.Equal(t, load.MeanGap(s), 25*time.Millisecond)
	assert.Equal(t, s.At(20), time.Second, "N(1s) = 20 at the ramp-up's end")
	assert.Equal(t, s.At(21), time.Second+25*time.Millisecond)
}
