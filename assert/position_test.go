package assert

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
	"github.com/benchplan/benchplan/results"
)

// TestGatesKnowTheirLineInThePlan: every compiled gate carries the
// position of its expression in the plan file (annotations point there):
// plain, quoted and mapping forms, defaults' assertions in every scenario,
// and none for an assertion given with --set.
func TestGatesKnowTheirLineInThePlan(t *testing.T) {
	src := `version: 1
name: positions
servers:
  sim: { sim: {} }
defaults:
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
  limits: { max_requests: 5 }
  assert: [ "errors.rate == 0" ]
scenarios:
  - name: a
    load: { type: constant, rate: 2 }
    assert:
      - ttft.p95 < 200ms
      - 'tpot.p50 < 20ms'
      - { expr: "requests.rate > 1", severity: warn }
      - name: slow
        expr: latency.p99 < 2s
  - name: b
    load: { type: constant, rate: 2 }
`
	p, err := plan.Parse("p.yaml", []byte(src), plan.Options{})
	assert.NilError(t, err)
	gates, err := CompilePlan(p)
	assert.NilError(t, err)
	type pos struct {
		Expr      string
		Line, Col int
	}
	got := func(sc string) []pos {
		var out []pos
		for _, g := range gates[sc] {
			out = append(out, pos{g.Source, g.Line, g.Column})
		}
		return out
	}
	assert.DeepEqual(t, got("a"), []pos{
		{"errors.rate == 0", 8, 14},
		{"ttft.p95 < 200ms", 13, 9},
		{"tpot.p50 < 20ms", 14, 10},
		{"requests.rate > 1", 15, 18},
		{"latency.p99 < 2s", 17, 15},
	})
	assert.DeepEqual(t, got("b"), []pos{{"errors.rate == 0", 8, 14}})

	// The outcome carries the gate's position.
	o := gates["a"][1].label(gates["a"][1].Evaluate(&results.Step{}))
	assert.Equal(t, o.Line, 13)
	assert.Equal(t, o.Column, 9)

	p, err = plan.Parse("p.yaml", []byte(src), plan.Options{Sets: []string{`scenarios.b.assert=["ttft.p99 < 1s"]`}})
	assert.NilError(t, err)
	gates, err = CompilePlan(p)
	assert.NilError(t, err)
	b := gates["b"]
	assert.Equal(t, b[len(b)-1].Source, "ttft.p99 < 1s")
	assert.Equal(t, b[len(b)-1].Line, 0, "an assertion from --set has no line in the file")
}
