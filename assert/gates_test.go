package assert

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/benchplan/benchplan/plan"
)

// An unknown name is shown where it was written, however the YAML spells
// the assertion: plain, quoted with escapes, over several lines, in a
// block scalar, next to a multi-byte character.
func TestCompileErrorsPointIntoTheYAML(t *testing.T) {
	src := `version: 1
name: cols
servers:
  sim: { sim: {} }
defaults:
  limits: { max_requests: 5 }
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
scenarios:
  - name: a
    load: { type: synchronous }
    assert:
      - ttft.p95 < 200ms && queue.p1 < 1s
      - "ttft.p95 < 200ms && \"x\" == \"x\" && queue.p2 < 1s"
      - 'ttft.p95 < 200ms && ''x'' == ''x'' && queue.p3 < 1s'
      - "\tttft.p4 < 1s"
      - "ttft.p95 < 5µs && itl.p5 < 1s"
      - |
        ttft.p95 < 200ms &&
          itl.p6 < 1s
      - >-
        ttft.p95 < 200ms &&

        itl.p7 < 1s
      - ttft.p95 < 200ms &&
        itl.p8 < 1s
      - "ttft.p95 < 200ms &&
        itl.p9 < 1s"
      - "ttft.p95 < 200ms && \
        itl.p11 < 1s"
      - { expr: 'ttft.p95 < 200ms && itl.p12 < 1s' }
      - expr: ttft.p95 < 200ms && itl.p13 < 1s
        name: x
`
	p, err := plan.Parse("cols.yaml", []byte(src), plan.Options{})
	assert.NilError(t, err)
	_, err = CompilePlan(p)
	var es plan.Errors
	assert.Assert(t, errors.As(err, &es), "%v", err)
	want := []string{"p1 ", "p2 ", "p3 ", "p4 ", "p5 ", "p6 ", "p7 ", "p8 ", "p9 ", "p11 ", "p12 ", "p13 "}
	assert.Equal(t, len(es), len(want), "%v", err)
	lines := strings.Split(src, "\n")
	for i, e := range es {
		line := []rune(lines[e.Line-1])
		assert.Assert(t, e.Column >= 1 && e.Column <= len(line), "%d:%d", e.Line, e.Column)
		at := string(line[e.Column-1:])
		assert.Assert(t, strings.HasPrefix(at, want[i]), "error %d at %d:%d points at %q, want %q:\n%s", i, e.Line, e.Column, at, want[i], e)
		// The caret line lines up under the column, in characters.
		text := e.Error()
		caret := strings.Split(text, "\n")[2]
		src := strings.Split(text, "\n")[1]
		assert.Equal(t, len([]rune(caret)), len([]rune(src[:strings.Index(src, "| ")+2]))+e.Column, text)
	}
}

// FuzzPlanAssertions loads plans whose assertions are compiled beside the
// plan's own checks, as `benchplan validate` does: never a panic, and every
// mistake inside the file, its caret on a character of its line.
func FuzzPlanAssertions(f *testing.F) {
	f.Add([]byte("version: 1\nname: x\nservers: {s: {sim: {}}}\nscenarios:\n  - name: a\n    load: {type: synchronous}\n    data: {emulated: {prompt_tokens: 1, output_tokens: 1}}\n    limits: {max_requests: 1}\n    assert: [\"ttft.p9 < 1s\"]\n"))
	f.Add([]byte("version: 1\nname: x\nservers: {s: {sim: {}}}\nscenarios:\n  - name: a\n    assert:\n      - |\n        ttft.p95 < 1s &&\n          itl.p98 < 1s\n      - \"a \\\"b\\\" \\u00b5 itl.p1\"\n      - >-\n        x\n\n        y.z\n"))
	f.Add([]byte("version: 1\nname: x\nscenarios:\n  - name: a\n    assert: [ 'it''s && ttft.p96 < 2' , \"\\tq.p1\" ]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := plan.Options{Assertions: func(p *plan.Plan) plan.Errors {
			_, err := CompilePlan(p)
			es, _ := plan.AsErrors(err)
			return es
		}}
		_, err := plan.Parse("fuzz.yaml", src, opts)
		if err == nil {
			return
		}
		es, ok := plan.AsErrors(err)
		if !ok {
			t.Fatalf("not positioned errors: %v", err)
		}
		lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(src), "\r\n", "\n"), "\r", "\n"), "\n")
		for _, e := range es {
			if e.Set != "" {
				continue
			}
			if e.Line < 1 || e.Line > len(lines) {
				t.Fatalf("line %d outside the file (%d lines): %v", e.Line, len(lines), e)
			}
			if e.Column < 1 || e.Column > len([]rune(lines[e.Line-1]))+1 {
				t.Fatalf("column %d outside line %d (%q): %v", e.Column, e.Line, lines[e.Line-1], e)
			}
			_ = e.Error() // renders without panicking
		}
	})
}

// A selector of a model the scenario does not send to is an error before
// anything runs, at the selector, with the mix's names.
func TestModelSelectorsAreCheckedAgainstTheMix(t *testing.T) {
	src := `version: 1
name: mix
servers:
  sim: { sim: {} }
defaults:
  limits: { max_requests: 5 }
  data: { emulated: { prompt_tokens: 8, output_tokens: 4 } }
scenarios:
  - name: mixed
    models: [{ name: base }, { name: sql-lora, weight: 2 }]
    load: { type: synchronous }
    assert:
      - model["sql-lora"].ttft.p95 < 1s
      - ttft.p95 < 1s && model["sql-lroa"].ttft.p95 < 1s
  - name: one
    load: { type: synchronous }
    assert:
      - model["base"].ttft.p95 < 1s
      - turn[1].ttft.p95 < 1s
  - name: chat
    data: { sessions: { turns: 4, user_tokens: 8, output_tokens: 4 } }
    load: { type: concurrent, streams: 2 }
    assert:
      - turn[4].ttft.p95 < turn[1].ttft.p95 * 2
      - turn[5].ttft.p95 < 1s
      - window[1].ttft.p95 < 1s
  - name: ramp
    load: { type: ramp, ramp: { from: 1, to: 4, duration: 4s, stages: 4 } }
    assert:
      - window[4].ttft.p95 < window[1].ttft.p95 * 3
      - window[5].ttft.p95 < 1s
`
	p, err := plan.Parse("mix.yaml", []byte(src), plan.Options{})
	assert.NilError(t, err)
	_, err = CompilePlan(p)
	var es plan.Errors
	assert.Assert(t, errors.As(err, &es), "%v", err)
	assert.Equal(t, len(es), 6, "%v", err)
	assert.Equal(t, es[0].Line, 14)
	assert.Equal(t, es[0].Column, len(`      - ttft.p95 < 1s && `)+1)
	assert.Assert(t, strings.Contains(es[0].Error(), `unknown model "sql-lroa": the scenario's models are "base", "sql-lora"; did you mean `+"`sql-lora`"+`?`), es[0].Error())
	assert.Equal(t, es[1].Line, 18)
	assert.Assert(t, strings.Contains(es[1].Error(), `model["base"] reads per-model figures, made when a scenario's requests name more than one model (models:); this scenario names one`), es[1].Error())
	assert.Assert(t, strings.Contains(es[2].Error(), `turn[1] reads per-turn figures, made for multi-turn sessions (data.sessions); this scenario has none`), es[2].Error())
	assert.Equal(t, es[3].Line, 25)
	assert.Assert(t, strings.Contains(es[3].Error(), `turn[5]: the scenario's sessions have at most 4 turns`), es[3].Error())
	assert.Assert(t, strings.Contains(es[4].Error(), `window[1] reads per-window figures, made for a ramp (load.type: ramp); this scenario's load is not one`), es[4].Error())
	assert.Assert(t, strings.Contains(es[5].Error(), `window[5]: the scenario's ramp has 4 windows`), es[5].Error())
}
