package assert

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	check "gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/benchplan/benchplan/results"
)

const ms = time.Millisecond

// healthyRequests: 20 successful streamed requests, 250ms apart, TTFT
// 120..177ms, 64 output tokens 15..19ms apart, queueing 0..900µs.
func healthyRequests() []results.Request {
	var rs []results.Request
	for i := range 20 {
		intended := time.Duration(i) * 250 * ms
		sent := intended + time.Duration(i%4)*300*time.Microsecond
		first := sent + 120*ms + time.Duration(i)*3*ms
		itls := make([]time.Duration, 63)
		last := first
		for j := range itls {
			itls[j] = 15*ms + time.Duration(j%5)*ms
			last += itls[j]
		}
		rs = append(rs, results.Request{
			Index: i, Intended: intended, Sent: sent, FirstToken: first, LastToken: last,
			End: last + 2*ms, ITLs: itls, PromptTokens: 512, OutputTokens: 64, UsageReported: true,
		})
	}
	return rs
}

// slowRequests: 16 successful requests with TTFT 300..450ms, 2 errors, 1
// request cut off by the step's end.
func slowRequests() []results.Request {
	var rs []results.Request
	for i := range 19 {
		intended := time.Duration(i) * 100 * ms
		sent := intended + 5*ms
		r := results.Request{Index: i, Intended: intended, Sent: sent, PromptTokens: 256, UsageReported: true}
		switch i {
		case 3, 11:
			r.Error, r.StatusCode, r.End = "http 500", 500, sent+20*ms
		case 18:
			r.Incomplete = true
		default:
			r.FirstToken = sent + 300*ms + time.Duration(i)*10*ms
			r.ITLs = []time.Duration{40 * ms, 45 * ms, 50 * ms}
			r.LastToken = r.FirstToken + 135*ms
			r.End = r.LastToken + ms
			r.OutputTokens = 4
		}
		rs = append(rs, r)
	}
	return rs
}

// failedRequests: every request failed.
func failedRequests() []results.Request {
	var rs []results.Request
	for i := range 5 {
		at := time.Duration(i) * 200 * ms
		rs = append(rs, results.Request{Index: i, Intended: at, Sent: at + ms, End: at + 30*ms, Error: "connection refused"})
	}
	return rs
}

// oneTokenRequests: successful requests that produced one token each, so
// no TPOT and no ITL.
func oneTokenRequests() []results.Request {
	var rs []results.Request
	for i := range 4 {
		at := time.Duration(i) * 500 * ms
		rs = append(rs, results.Request{
			Index: i, Intended: at, Sent: at, FirstToken: at + 80*ms, LastToken: at + 80*ms,
			End: at + 81*ms, PromptTokens: 100, OutputTokens: 1, UsageReported: true,
		})
	}
	return rs
}

// reasoningRequests: 20 answers of 10 reasoning tokens (10ms apart) then
// 6 answer tokens (20ms apart), the first token 100..119ms after sending:
// ttfo 200..219ms.
func reasoningRequests() []results.Request {
	var rs []results.Request
	for i := range 20 {
		at := time.Duration(i) * 250 * ms
		r := results.Request{Index: i, Intended: at, Sent: at, FirstToken: at + 100*ms + time.Duration(i)*ms,
			PromptTokens: 50, OutputTokens: 16, ReasoningTokens: 10, ReasoningReported: true, UsageReported: true}
		r.LastReasoning = r.FirstToken + 90*ms
		r.FirstAnswer = r.LastReasoning + 10*ms
		r.LastToken = r.FirstAnswer + 100*ms
		r.End = r.LastToken + ms
		rs = append(rs, r)
	}
	return rs
}

// embeddingsRequests: 20 embeddings requests of 8 inputs of 64 tokens
// each, 250ms apart, each answered in 40ms, not streamed.
func embeddingsRequests() []results.Request {
	var rs []results.Request
	for i := range 20 {
		at := time.Duration(i) * 250 * ms
		rs = append(rs, results.Request{Index: i, API: "embeddings", Inputs: 8, Intended: at, Sent: at,
			End: at + 40*ms, PromptTokens: 512, UsageReported: true})
	}
	return rs
}

var steps = map[string]*results.Step{
	"reasoning":  {Index: 0, Load: "constant", TargetRatePerSec: 4, Metrics: pointOnly(reasoningRequests(), 6*time.Second)},
	"healthy":    {Index: 0, Load: "constant", TargetRatePerSec: 4, Metrics: pointOnly(healthyRequests(), 6*time.Second)},
	"slow":       {Index: 2, Load: "concurrent", Streams: 8, Metrics: pointOnly(slowRequests(), 3*time.Second)},
	"failed":     {Index: 1, Load: "constant", TargetRatePerSec: 5, Metrics: pointOnly(failedRequests(), time.Second)},
	"empty":      {Index: 0, Load: "synchronous", Streams: 1, Metrics: pointOnly(nil, 10*time.Second)},
	"onetoken":   {Index: 0, Load: "synchronous", Streams: 1, Metrics: pointOnly(oneTokenRequests(), 2*time.Second)},
	"sessions":   sessionsStep(),
	"embeddings": {Index: 0, Load: "constant", TargetRatePerSec: 4, Metrics: pointOnly(embeddingsRequests(), 5*time.Second)},
	// healthy with `slo: { ttft: 150ms }`: 11 of 20 requests within it.
	"slo": {Index: 0, Load: "constant", TargetRatePerSec: 4, Metrics: stripIntervals(results.ComputeWith(healthyRequests(),
		results.Window{Stop: 6 * time.Second, SLO: &results.SLO{TTFT: results.Duration(150 * ms)}}))},
}

type verdict string

const (
	pass    verdict = "pass"
	fail    verdict = "fail"
	errored verdict = "error"
	compile verdict = "compile error"
)

var cases = []struct {
	expr string
	step string // empty for compile errors
	want verdict
}{
	// requests still waiting for their first token when the step was cut
	{`requests.waiting == 1 && waiting.count == 1 && waiting.max == 1.195s && waiting.min == waiting.max && waiting.mean == 1.195s && waiting.median == waiting.p50 && waiting.p90 == waiting.p95 && waiting.p99 == waiting.p999 && waiting.p50 == 1.195s && waiting.std == 0s`, "slow", pass},
	{`requests.waiting == 0 && waiting.max == 0s`, "healthy", pass},
	{`waiting.max < 1s`, "slow", fail},
	// sessions (sessionsStep: 10 sessions of 4 turns, 2 failed at turn 3)
	{`sessions.started == 10 && sessions.completed == 8 && sessions.failed == 2`, "sessions", pass},
	{`sessions.turns.mean >= 3.6`, "sessions", pass},
	{`sessions.duration.count == 8 && sessions.duration.mean < 2s && sessions.duration.std < 1s`, "sessions", pass},
	{`sessions.duration.min >= 1s && sessions.duration.max < 2s && sessions.duration.median < 2s`, "sessions", pass},
	{`sessions.duration.p50 < 2s && sessions.duration.p90 < 2s && sessions.duration.p95 < 2s`, "sessions", pass},
	{`sessions.duration.p99 < 1s || sessions.duration.p999 < 1s`, "sessions", fail},
	{`sessions.completed > 0`, "healthy", errored},
	// goodput and concurrency
	{`goodput.ratio > 0.5 && goodput.ratio < 0.6`, "slo", pass},
	{`goodput.rate >= 1`, "slo", pass},
	{`goodput.ratio >= 0.95`, "slo", fail},
	{`goodput.ratio >= 0.95`, "healthy", errored},
	{`concurrency.max >= 5 && concurrency.mean < concurrency.max`, "healthy", pass},
	// ttft
	{`ttft.p95 < 200ms`, "healthy", pass},
	{`ttft.p95 < 150ms`, "healthy", fail},
	{`200ms > ttft.p95`, "healthy", pass},
	{`ttft.median == ttft.p50`, "healthy", pass},
	{`ttft.mean < 1s && ttft.std < 50ms`, "healthy", pass},
	{`ttft.min >= 100ms && ttft.max <= 0.2s`, "healthy", pass},
	{`ttft.p90 < ttft.p99 && ttft.p999 <= ttft.max`, "healthy", pass},
	{`ttft.count == requests.completed`, "healthy", pass},
	{`ttft.p95 < ttft.p50 * 1.5`, "healthy", pass},
	{`ttft.p99 / ttft.p50 < 3`, "healthy", pass},
	{`ttft.p95 - ttft.p50 < 50ms`, "healthy", pass},
	{`ttft.p95.Milliseconds() < 200`, "healthy", pass},
	{`ttft.p95 < 200ms`, "slow", fail},
	{`ttft.p95 < 200ms`, "failed", errored},
	{`ttft.count == 0`, "failed", pass},
	{`requests.completed == 0 || ttft.p95 < 200ms`, "failed", errored},
	// reasoning phases
	{`ttfo.min >= 200ms && ttfo.min <= ttfo.median && ttfo.p50 <= ttfo.p90 && ttfo.p90 <= ttfo.p95 && ttfo.p95 <= ttfo.p99 && ttfo.p99 <= ttfo.p999 && ttfo.p999 <= ttfo.max && ttfo.max < 220ms && ttfo.std < 10ms && ttfo.mean > ttft.mean + 99ms && ttfo.count == 20`, "reasoning", pass},
	{`tpot_reasoning.min <= tpot_reasoning.median && tpot_reasoning.p50 == 10ms && tpot_reasoning.p90 <= tpot_reasoning.p95 && tpot_reasoning.p95 <= tpot_reasoning.p99 && tpot_reasoning.p999 <= tpot_reasoning.max && tpot_reasoning.std < 1ms && tpot_reasoning.mean == 10ms && tpot_reasoning.count == 20`, "reasoning", pass},
	{`tpot_answer.min <= tpot_answer.median && tpot_answer.p50 == 20ms && tpot_answer.p90 <= tpot_answer.p95 && tpot_answer.p95 <= tpot_answer.p99 && tpot_answer.p999 <= tpot_answer.max && tpot_answer.std < 1ms && tpot_answer.mean == 20ms && tpot_answer.count == 20`, "reasoning", pass},
	{`tokens.reasoning.total == 200 && tokens.reasoning.mean == 10 && tokens.answer.total == 120 && tokens.answer.mean == 6`, "reasoning", pass},
	{`tpot_answer.p95 < 15ms`, "reasoning", fail},
	{`ttfo.p95 < 200ms`, "reasoning", fail},
	{`ttfo.p95 < 1s`, "healthy", errored},
	{`tokens.reasoning.mean < 100`, "healthy", errored},
	// embeddings: 20 requests of 8 inputs, 512 tokens, over 4.79s
	{`inputs.total == 160 && inputs.mean == 8 && inputs.rate > 30 && inputs.rate < 37`, "embeddings", pass},
	{`tokens.prompt.rate > 2000 && tokens.prompt.rate < 2300 && tokens.prompt.total == 10240 && latency.p95 == 40ms`, "embeddings", pass},
	{`inputs.rate > 40`, "embeddings", fail},
	{`ttft.p95 < 1s`, "embeddings", errored},
	{`inputs.mean >= 1`, "healthy", errored},
	// tpot, itl
	{`tpot.p90 < 50ms`, "healthy", pass},
	{`tpot.count == 20 && tpot.min <= tpot.median && tpot.p50 <= tpot.p99 && tpot.p999 <= tpot.max && tpot.std < 1ms`, "healthy", pass},
	{`tpot.mean > 30ms`, "healthy", fail},
	{`tpot.p95 < 50ms`, "onetoken", errored},
	{`itl.p99 < 25ms`, "healthy", pass},
	{`itl.count == 1260 && itl.min == 15ms && itl.mean < itl.p90 && itl.median < itl.p95 && itl.p999 < 20ms && itl.std > 1ms`, "healthy", pass},
	{`itl.max < 15ms`, "healthy", fail},
	{`itl.p50 < 20ms && ttft.p50 < 1s`, "onetoken", errored},
	// latency, queue
	{`latency.p99 < 2s`, "healthy", pass},
	{`latency.count == 20 && latency.min < latency.median && latency.p90 <= latency.p95`, "healthy", pass},
	{`latency.mean > 1s && latency.std < 100ms && latency.p999 < 2s`, "healthy", pass},
	{`latency.p50 < 1s`, "healthy", fail},
	{`queue.p95 < 1ms`, "healthy", pass},
	{`queue.count == 20 && queue.mean < queue.p90 && queue.std < 1ms && queue.median == queue.p50 && queue.p99 < queue.p999 + 1ns`, "healthy", pass},
	{`queue.max < 500us`, "healthy", fail},
	{`-5ms < queue.min`, "healthy", pass},
	{`queue.p95 < 2ms`, "failed", pass},
	// requests
	{`requests.total == 20 && requests.completed == 20`, "healthy", pass},
	{`requests.errored == 0 && requests.incomplete == 0`, "healthy", pass},
	{`requests.incomplete == 0`, "slow", fail},
	{`requests.rate > 4.06`, "healthy", fail},
	{`requests.rate >= 3`, "healthy", pass},
	{`requests.rate > 1`, "empty", errored},
	{`requests.sent_rate > requests.rate`, "healthy", pass}, // offered over the send span, completed over the window
	{`requests.sent_rate > 1`, "empty", errored},
	{`requests.completed >= requests.total * 0.9`, "slow", fail},
	// errors
	{`errors.rate == 0`, "healthy", pass},
	{`errors.count < 1`, "healthy", pass},
	{`errors.rate < 0.05`, "slow", fail},
	{`errors.rate < 0.01 || requests.errored <= 2`, "slow", pass},
	{`errors.rate == 0`, "failed", fail},
	{`errors.rate == 0`, "empty", errored},
	// tokens
	{`tokens.prompt.total == 10240 && tokens.prompt.mean == 512`, "healthy", pass},
	{`tokens.output.mean >= 64`, "healthy", pass},
	{`tokens.output.total > 1000`, "healthy", pass},
	{`tokens.output.rate >= 900`, "healthy", fail},
	{`tokens.total.rate > 1000`, "healthy", pass},
	{`tokens.output.mean > 0`, "failed", errored},
	// duration, step, constants
	{`duration < 1m`, "healthy", pass},
	{`duration >= 10s`, "healthy", fail},
	{`step.index == 0 && step.rate == 4`, "healthy", pass},
	{`step.streams == 8 && step.rate == 0`, "slow", pass},
	{`4 * GiB > 3000 * MiB && KiB == 1024`, "healthy", pass},
	// durations: literals, arithmetic, strings left alone
	{`ttft.p95 < 1h30m && latency.max < 1m30s`, "healthy", pass},
	{`max(ttft.p95, tpot.p95) < 250ms`, "healthy", pass},
	{`latency.p50 > 2 * 500ms`, "healthy", pass},
	{`(ttft.p95 < 200ms)`, "healthy", pass},
	{`"200ms" == "200ms"`, "healthy", pass},
	{`'1s' + "2m" == "1s2m" && ttft.p95 < 1s`, "healthy", pass},

	// compile errors: duration vs number
	{`ttft.p95 < 200`, "", compile},
	{`ttft.p95 < 0.2`, "", compile},
	{`200 > latency.p99`, "", compile},
	{`queue.p50 + 5 < 1ms`, "", compile},
	{`ttft.p95 > requests.rate`, "", compile},
	{`ttft.p95 == "200ms"`, "", compile},
	{`ttft.p95 * ttft.p50 < 1s`, "", compile},
	{`max(ttft.p95, 5) < 1s`, "", compile},
	{`abs(ttft.p95 - ttft.p50) < 10ms`, "", compile},
	{`int(ttft.p95) < 200000000`, "", compile},
	{`ttft.p95 < duration("fast")`, "", compile},
	{`duration < 999999999999h`, "", compile},
	// unknown names and members
	{`ttft.p96 < 200ms`, "", compile},
	{`tfft.p95 < 200ms`, "", compile},
	{`TTFT.p95 < 200ms`, "", compile},
	{`requests.rat > 4`, "", compile},
	{`tokens.outputs.rate > 900`, "", compile},
	{`error.rate == 0`, "", compile},
	{`p99 < 1s`, "", compile},
	{`ttft.p75 < 1s && ttft.p9 < 1s`, "", compile},
	{`ttft.p95.foo < 1s`, "", compile},
	{`tokens.output.rate > 1 && ttft.p95 < 200ms && tfft.p50 < 1s`, "", compile},
	// syntax and shape
	{`ttft.p95 <`, "", compile},
	{`ttft.p95 < 200ms &&`, "", compile},
	{`ttft.p95 < 5min`, "", compile},
	{`ttft.p95 < 10sec && ttft.p50 < 1.5secs`, "", compile},
	{`ttft.p95 < 200 ms`, "", compile},
	{`ttft.count`, "", compile},
	{`   `, "", compile},
}

func TestAssertions(t *testing.T) {
	var out strings.Builder
	for _, c := range cases {
		a, err := Compile(c.expr)
		fmt.Fprintf(&out, "%s\n", c.expr)
		if c.want == compile {
			var ce *CompileError
			if !check.Check(t, errors.As(err, &ce), "%s: want a compile error, got %v", c.expr, err) {
				continue
			}
			check.Check(t, is.Equal(ce.Source, c.expr))
			check.Check(t, ce.Column >= 0 && ce.Column <= len(c.expr), "%s: column %d", c.expr, ce.Column)
			fmt.Fprintf(&out, "  compile error: %s\n%s\n", ce.Message, caret(ce))
			continue
		}
		if !check.Check(t, err, "%s", c.expr) {
			continue
		}
		step, ok := steps[c.step]
		check.Assert(t, ok, c.step)
		o := a.Evaluate(step)
		check.Check(t, is.Equal(o.Expr, c.expr))
		check.Check(t, is.Equal(string(o.Verdict), string(c.want)), "%s on %s: %+v", c.expr, c.step, o)
		fmt.Fprintf(&out, "  %s: %s\n  observed: %s\n", c.step, o.Verdict, o.Observed)
		if o.Message != "" {
			fmt.Fprintf(&out, "  message: %s\n", o.Message)
		}
	}
	golden.Assert(t, out.String(), "assertions.golden")
}

// caret writes the source and a caret under the error's column.
func caret(e *CompileError) string {
	pad := utf8.RuneCountInString(e.Source[:e.Column])
	return "    " + e.Source + "\n    " + strings.Repeat(" ", pad) + "^"
}

func TestCoversEveryName(t *testing.T) {
	used := map[string]bool{}
	for _, c := range cases {
		if c.want == compile {
			continue
		}
		a, err := Compile(c.expr)
		check.NilError(t, err)
		for _, p := range a.paths {
			used[p] = true
		}
	}
	for _, p := range ns.order {
		if strings.HasPrefix(p, "baseline.") {
			continue // the same names as the step's; TestBaseline covers them
		}
		if n := ns.names[p]; n.typ != nil && !isConstant(p) && !used[p] {
			t.Errorf("no valid case reads %s", p)
		}
	}
}

func TestColumnMapsThroughRewrite(t *testing.T) {
	for _, c := range []struct{ src, at string }{
		{`tokens.output.rate > 1 && ttft.p95 < 200ms && tfft.p50 < 1s`, "tfft"},
		{`ttft.p95 < 1h30m && latency.p99 < 1500us && nope > 1`, "nope"},
		{`ttft.p95 < 200ms && ttft.p50 < 100`, "100"},
		{`ttft.p95 < 200ms && ttft.p96 < 100ms`, "p96"},
		{`ttft["p96"] < 100ms`, `"p96"`},
		{`tokens.output.rat > 1`, "rat"},
		{`ttft.p95 < 200ms || 2 > latency.p50`, "2 >"},
		{`"µs: 5µs" == "" || ttft.p95 < 5µs || ttft.p96 < 1s`, "p96"},
		{`ttft.p95 < duration("nope") && ttft.p50 < 1s`, `"nope"`},
	} {
		_, err := Compile(c.src)
		var ce *CompileError
		check.Assert(t, errors.As(err, &ce), c.src)
		check.Check(t, is.Equal(ce.Column, strings.Index(c.src, c.at)), "%s: %s", c.src, ce.Message)
	}
}

func TestCompileErrorMessages(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`ttft.p95 < 200`, "cannot compare a duration with a number; write a duration such as 200ms"},
		{`ttft.p96 < 200ms`, "unknown name ttft.p96; did you mean `ttft.p95`?"},
		{`tfft.p95 < 200ms`, "unknown name tfft; did you mean `ttft`?"},
	} {
		_, err := Compile(c.src)
		var ce *CompileError
		check.Assert(t, errors.As(err, &ce))
		check.Check(t, is.Equal(ce.Message, c.want))
	}
	_, err := Compile(`ttft.p95 < 200`)
	check.Error(t, err, `cannot compare a duration with a number; write a duration such as 200ms (column 12 of "ttft.p95 < 200")`)
}

func TestDurationArithmetic(t *testing.T) {
	step := steps["healthy"]
	p50 := step.Metrics.TTFT.P50
	for _, c := range []struct {
		expr string
		want bool
	}{
		{fmt.Sprintf(`ttft.p50 * 2 == %dns`, 2*p50), true},
		{fmt.Sprintf(`2 * ttft.p50 == %dns`, 2*p50), true},
		{fmt.Sprintf(`ttft.p50 * 1.5 == %dns`, p50*3/2), true},
		{fmt.Sprintf(`ttft.p50 / 2 == %dns`, p50/2), true},
		{fmt.Sprintf(`ttft.p50 / 0.5 == %dns`, 2*p50), true},
		{`ttft.p50 / ttft.p50 == 1`, true},
		{`ttft.p50 / 10ms > 10`, true},
		{`-ttft.p50 < 0s`, true},
		{`ttft.p50 + 1s > 1s && ttft.p50 - 1s < 0s`, true},
		{`min(ttft.p50, 1ms) == 1ms`, true},
		{`sum([ttft.p50, ttft.p50]) == ttft.p50 * 2`, true},
		{`1s == 1000ms && 1m30s == 90s && 1.5h == 90m && 1000us == 1ms && 1000ns == 1us && 1µs == 1μs`, true},
		{`duration("200ms") == 200ms`, true},
		{`ttft.p50 / 0 > 1s`, false}, // a run-time error: results.Error
	} {
		a, err := Compile(c.expr)
		check.Assert(t, err, c.expr)
		o := a.Evaluate(step)
		want := results.Fail
		if c.want {
			want = results.Pass
		}
		if strings.Contains(c.expr, "/ 0 ") {
			want = results.Error
			check.Check(t, is.Contains(o.Message, "evaluation failed"))
		}
		check.Check(t, is.Equal(o.Verdict, want), "%s: %+v", c.expr, o)
	}
}

func TestNoDataIsNeverAPass(t *testing.T) {
	means := []string{"tokens.prompt.mean", "tokens.output.mean"}
	rates := []string{"requests.rate", "requests.sent_rate", "tokens.output.rate", "tokens.total.rate", "tokens.prompt.rate", "errors.rate"}
	for _, c := range []struct {
		step   string
		noData func(p string) bool
	}{
		// Every request failed: no latency figures, but the failures were
		// queued, and 0 req/s and an error rate of 1 are real.
		{"failed", func(p string) bool {
			g, m, _ := strings.Cut(p, ".")
			return distributions[g] && g != "queue" && m != "count" || contains(means, p) || g == "goodput" || g == "sessions" || g == "inputs" || phase(p) || imageFigure(p)
		}},
		// Nothing was sent: nothing but counts, the window and the step.
		{"empty", func(p string) bool {
			g, m, _ := strings.Cut(p, ".")
			return distributions[g] && m != "count" || contains(means, p) || contains(rates, p) || g == "goodput" || g == "sessions" || g == "inputs" || phase(p) || imageFigure(p)
		}},
	} {
		step := steps[c.step]
		for _, p := range ns.order {
			n := ns.names[p]
			if n.typ == nil || isConstant(p) || strings.HasPrefix(p, "baseline.") {
				continue
			}
			expr := p + " >= 0"
			if n.typ.String() == "time.Duration" {
				expr = p + " >= 0s"
			}
			a, err := Compile(expr)
			check.Assert(t, err, expr)
			o := a.Evaluate(step)
			if c.noData(p) {
				check.Check(t, is.Equal(o.Verdict, results.Error), "%s on %s: %+v", expr, c.step, o)
				check.Check(t, is.Contains(o.Message, "no data for "+p+": "), "%s on %s", expr, c.step)
				check.Check(t, is.Contains(o.Observed, p+" = no data"), "%s on %s", expr, c.step)
			} else {
				check.Check(t, is.Equal(o.Verdict, results.Pass), "%s on %s: %+v", expr, c.step, o)
			}
		}
	}
	a, err := Compile(`all([ttft, tpot], {.p95 < 1s})`)
	check.Assert(t, err)
	o := a.Evaluate(steps["failed"])
	check.Check(t, is.Equal(o.Verdict, results.Error))
	check.Check(t, is.Equal(o.Message, "no data for ttft, tpot: no successful requests in this step"))
}

// phase reports whether p is a reasoning-phase figure, which has no data
// (count included) in a step without reasoning.
func phase(p string) bool {
	g, _, _ := strings.Cut(p, ".")
	return phased[g] || strings.HasPrefix(p, "tokens.reasoning.") || strings.HasPrefix(p, "tokens.answer.")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestEvaluateWithoutStepOrProgram(t *testing.T) {
	a, err := Compile(`ttft.p95 < 200ms`)
	check.Assert(t, err)
	o := a.Evaluate(nil)
	check.Check(t, is.Equal(o.Verdict, results.Error))
	o = (&Assertion{Source: "x"}).Evaluate(steps["healthy"])
	check.Check(t, is.Equal(o.Verdict, results.Error))
}

func TestConcurrentEvaluate(t *testing.T) {
	a, err := Compile(`ttft.p95 < 200ms && errors.rate < 0.05`)
	check.Assert(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if o := a.Evaluate(steps["healthy"]); o.Verdict != results.Pass {
					t.Errorf("%+v", o)
					return
				}
				if o := a.Evaluate(steps["slow"]); o.Verdict != results.Fail {
					t.Errorf("%+v", o)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                            "0s",
		500:                          "500ns",
		850 * time.Microsecond:       "850µs",
		999600 * time.Nanosecond:     "1.0ms",
		231440 * time.Microsecond:    "231.4ms",
		999960 * time.Microsecond:    "1.000s",
		1234 * ms:                    "1.234s",
		90 * time.Second:             "1m30s",
		-5 * ms:                      "-5.0ms",
		3*time.Hour + 1500*ms:        "3h0m1.5s",
		1*time.Microsecond + 400:     "1µs",
		200*ms + 40*time.Microsecond: "200.0ms",
	} {
		check.Check(t, is.Equal(formatDuration(d), want), "%d", d)
	}
	for f, want := range map[float64]string{
		0: "0", 1: "1", 4.0612: "4.06", 950: "950", 0.0123456: "0.0123", 0.5: "0.5", 0.105263: "0.105", 1234.5678: "1234.57",
	} {
		check.Check(t, is.Equal(formatFloat(f), want), "%v", f)
	}
}

// Compile never panics, and every failure is a *CompileError whose column
// lies within the source.
func FuzzCompile(f *testing.F) {
	for _, c := range cases {
		f.Add(c.expr)
	}
	for _, s := range []string{
		`)`, `((`, `"unterminated`, `1s)`, `ttft.`, `.5s`, `ttft.p95 < 1s /* open`, "\x00", `µ`, "ttft.p95 <\n tfft",
		`let x = 1s; ttft.p95 < x`, `# < 1`, `1s..2s`, `ttft.p95 in [1s, 2s]`, `-(-1s) == 1s`, `ttft?.p95 < 1s`,
		`$env.ttft.p95 < 1s`, `$env["ttft"].p96 < 1s`, `duration("1s"`, `1s 2s`, `ttft.p95 < 1s ? true : false`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		a, err := Compile(src)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("%q: %T %v", src, err, err)
			}
			if ce.Column < 0 || ce.Column > len(src) || ce.Source != src {
				t.Fatalf("%q: %+v", src, ce)
			}
			return
		}
		for _, s := range steps {
			o := a.Evaluate(s)
			if o.Verdict != results.Pass && o.Verdict != results.Fail && o.Verdict != results.Error && o.Verdict != results.Inconclusive {
				t.Fatalf("%q: %+v", src, o)
			}
		}
	})
}

// sessionsStep is healthy's requests as 10 sessions of 4 turns (intervals
// stripped): sessions 3 and 7 failed at their third turn.
func sessionsStep() *results.Step {
	st := &results.Step{Index: 0, Load: "concurrent", Streams: 2, Metrics: pointOnly(healthyRequests(), 6*time.Second)}
	var recs []results.Session
	for k := 1; k <= 10; k++ {
		s := results.Session{ID: k, Turns: 4, Sent: 4, Done: 4, Start: time.Duration(k) * 100 * time.Millisecond, Ended: results.SessionCompleted}
		s.End = s.Start + time.Second + time.Duration(k)*50*time.Millisecond
		if k%4 == 3 {
			s.Sent, s.Done, s.Ended = 3, 2, "failed: http 500"
		}
		recs = append(recs, s)
	}
	st.Metrics.Sessions = results.ComputeSessions(recs, results.Window{}, 0.95)
	st.Metrics.Sessions.Duration.Confidence = 0 // point values, like pointOnly's
	return st
}
