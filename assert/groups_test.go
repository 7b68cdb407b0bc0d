package assert

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	check "gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/benchplan/benchplan/results"
)

// groupedStep is the step of groupedStepRequests.
func groupedStep() *results.Step {
	return &results.Step{Metrics: results.ComputeWith(groupedStepRequests(), results.Window{Stop: 7 * time.Second})}
}

func TestGroupSelectors(t *testing.T) {
	step := groupedStep()
	var out strings.Builder
	for _, c := range []struct {
		expr string
		want results.Verdict
	}{
		{`model["base"].ttft.p90 < 300ms`, results.Pass},
		{`ttft.p90 < 300ms`, results.Fail},                            // the step's own, both models
		{`model["lora"].ttft.p90 < 300ms`, results.Fail},              // the slow model alone
		{`model["lora"].ttft.p95 < 300ms`, results.Fail},              // open above, but all of its interval fails
		{`model.base.requests.completed == 60`, results.Pass},         // member syntax reads the same group
		{`turn[4].ttft.p50 > turn[1].ttft.p50 + 100ms`, results.Pass}, // how TTFT grows with context
		{`turn[4].tokens.prompt.mean == 400`, results.Pass},
		{`turn[5].ttft.p95 < 1s`, results.Error}, // no such turn: never a pass
		{`window[1].ttft.p95 < 1s`, results.Error},
		{`model["chat-lora"].errors.rate == 0`, results.Error},
		{`turn[1].server.kv_cache_usage.max < 0.9`, results.Error},
	} {
		a, err := Compile(c.expr)
		if !check.Check(t, err, c.expr) {
			continue
		}
		o := a.Evaluate(step)
		check.Check(t, is.Equal(string(o.Verdict), string(c.want)), "%s: %+v", c.expr, o)
		check.Check(t, !strings.Contains(o.Observed+o.Message, slotPrefix), "%s shows a hidden root: %+v", c.expr, o)
		fmt.Fprintf(&out, "%s\n  %s\n  observed: %s\n", c.expr, o.Verdict, o.Observed)
		if o.Message != "" {
			fmt.Fprintf(&out, "  message: %s\n", o.Message)
		}
	}
	golden.Assert(t, out.String(), "groups.golden")
}

// TestGroupFiguresAreTheGroupsOwn checks a group's figure against the same
// figure of a step made of the group's requests alone.
func TestGroupFiguresAreTheGroupsOwn(t *testing.T) {
	step := groupedStep()
	var lora []results.Request
	var turns []string
	for _, g := range step.Metrics.Groups {
		turns = append(turns, g.Label())
	}
	check.Check(t, is.DeepEqual(turns, []string{`model["base"]`, `model["lora"]`, "turn[1]", "turn[2]", "turn[3]", "turn[4]"}))
	g := step.Metrics.Group(results.ByModel, "lora")
	check.Assert(t, g != nil)
	// Rebuild the lora requests and compute their step on its own.
	for i := range 120 {
		if i%2 == 1 {
			lora = append(lora, groupedStepRequests()[i])
		}
	}
	alone := results.ComputeWith(lora, results.Window{Stop: 7 * time.Second})
	check.Check(t, is.Equal(g.Metrics.TTFT.P95, alone.TTFT.P95))
	check.Check(t, is.DeepEqual(g.Metrics.TTFT.P95CI, alone.TTFT.P95CI))
	check.Check(t, is.Equal(g.Metrics.Requests.RatePerSec, alone.Requests.RatePerSec))
	check.Check(t, g.Metrics.Samples == nil, "a group keeps no samples of its own")

	a, err := Compile(`model["lora"].ttft.p95 < 1s`)
	check.Assert(t, err)
	o := a.Evaluate(step)
	check.Check(t, strings.HasPrefix(o.Observed, `model["lora"].ttft.p95 = `+formatValue(alone.TTFT.P95)), o.Observed)
}

// groupedStepRequests: 120 requests to two models (base fast, lora slow:
// TTFT 100..139ms against 300..339ms) in four session turns whose TTFT
// grows with the turn (+50ms a turn).
func groupedStepRequests() []results.Request {
	var rs []results.Request
	for i := range 120 {
		model, ttft := "base", 100*ms
		if i%2 == 1 {
			model, ttft = "lora", 300*ms
		}
		turn := i%4 + 1
		ttft += time.Duration(turn-1)*50*ms + time.Duration(i%40)*ms/3
		sent := time.Duration(i) * 50 * ms
		rs = append(rs, results.Request{Index: i, Model: model, API: "chat", Session: i/4 + 1, Turn: turn,
			Intended: sent, Ready: sent, Sent: sent, FirstToken: sent + ttft, LastToken: sent + ttft + 100*ms,
			End: sent + ttft + 101*ms, ITLs: []time.Duration{50 * ms, 50 * ms}, PromptTokens: 100 * turn,
			OutputTokens: 3, UsageReported: true})
	}
	return rs
}

func TestGroupSelectorCompileErrors(t *testing.T) {
	var out strings.Builder
	for _, src := range []string{
		`turn["4"].ttft.p95 < 1s`,
		`turn[0].ttft.p95 < 1s`,
		`model[2].ttft.p95 < 1s`,
		`window[step.index].ttft.p95 < 1s`,
		`turn[4].ttft.p96 < 1s`,
		`turn[4].tfft.p95 < 1s`,
		`all(steps, .ttft.p95 < turn[1].ttft.p95)`,
		`turn[1].ttft.p95 + turn[2].ttft.p95 + turn[3].ttft.p95 + turn[4].ttft.p95 + turn[5].ttft.p95 + turn[6].ttft.p95 + turn[7].ttft.p95 + turn[8].ttft.p95 + turn[9].ttft.p95 < 1s`,
		`trun[4].ttft.p95 < 1s`,
	} {
		_, err := Compile(src)
		var ce *CompileError
		if !check.Check(t, errors.As(err, &ce), "%s: want a compile error, got %v", src, err) {
			continue
		}
		check.Check(t, !strings.Contains(ce.Message, slotPrefix), "%s: %s", src, ce.Message)
		fmt.Fprintf(&out, "%s\n  %s\n%s\n", src, ce.Message, caret(ce))
	}
	golden.Assert(t, out.String(), "group-errors.golden")
}
