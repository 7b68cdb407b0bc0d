package assert

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/benchplan/benchplan/results"
)

// env is the namespace an assertion sees: one step's metrics and, under
// `baseline`, the same names from the baseline run's matching step.
type env struct {
	stepMetrics
	Baseline stepMetrics `expr:"baseline"`
	// G0 to G7 are the groups an assertion reads (assert/groups.go): the
	// compiler rewrites model["x"], turn[4] and window[2] into them.
	G0 stepMetrics `expr:"__g0"`
	G1 stepMetrics `expr:"__g1"`
	G2 stepMetrics `expr:"__g2"`
	G3 stepMetrics `expr:"__g3"`
	G4 stepMetrics `expr:"__g4"`
	G5 stepMetrics `expr:"__g5"`
	G6 stepMetrics `expr:"__g6"`
	G7 stepMetrics `expr:"__g7"`
}

// stepMetrics are one step's metrics. Field tags are the names users
// write; the types are unexported so that expr offers nothing but these
// fields (no methods).
type stepMetrics struct {
	TTFT    dist `expr:"ttft"`
	TPOT    dist `expr:"tpot"`
	ITL     dist `expr:"itl"`
	Latency dist `expr:"latency"`
	Queue   dist `expr:"queue"`
	// TTFO, TPOTReasoning and TPOTAnswer have data only in a step in which
	// some answer had reasoning.
	// Waiting is how long the requests still waiting for their first
	// token when the step was cut had waited (zero when none was): facts
	// about the cut, without intervals.
	Waiting       dist        `expr:"waiting"`
	TTFO          dist        `expr:"ttfo"`
	TPOTReasoning dist        `expr:"tpot_reasoning"`
	TPOTAnswer    dist        `expr:"tpot_answer"`
	Requests      requestsEnv `expr:"requests"`
	Errors        errorsEnv   `expr:"errors"`
	Tokens        tokensEnv   `expr:"tokens"`
	// Images has data only in a step whose requests carried images.
	Images imagesEnv `expr:"images"`
	// Inputs has data only in a step of embeddings requests.
	Inputs inputsEnv `expr:"inputs"`
	// Goodput has data only when the scenario has an slo.
	Goodput goodputEnv `expr:"goodput"`
	// Sessions has data only in a step of multi-turn sessions.
	Sessions    sessionsEnv    `expr:"sessions"`
	Concurrency concurrencyEnv `expr:"concurrency"`
	Duration    time.Duration  `expr:"duration"`
	Step        stepEnv        `expr:"step"`
	// Server and GPU are sampled beside the step (assert/telemetry.go).
	Server serverEnv `expr:"server"`
	GPU    gpuEnv    `expr:"gpu"`
	KiB    int       `expr:"KiB"`
	MiB    int       `expr:"MiB"`
	GiB    int       `expr:"GiB"`
}

type dist struct {
	Count  int           `expr:"count"`
	Mean   time.Duration `expr:"mean"`
	Std    time.Duration `expr:"std"`
	Min    time.Duration `expr:"min"`
	Max    time.Duration `expr:"max"`
	Median time.Duration `expr:"median"`
	P50    time.Duration `expr:"p50"`
	P90    time.Duration `expr:"p90"`
	P95    time.Duration `expr:"p95"`
	P99    time.Duration `expr:"p99"`
	P999   time.Duration `expr:"p999"`
}

type requestsEnv struct {
	Total      int     `expr:"total"`
	Completed  int     `expr:"completed"`
	Errored    int     `expr:"errored"`
	Incomplete int     `expr:"incomplete"`
	Waiting    int     `expr:"waiting"`
	Rate       float64 `expr:"rate"`
	// SentRate is the offered rate: requests sent per second of the span
	// over which they were sent.
	SentRate float64 `expr:"sent_rate"`
}

type errorsEnv struct {
	Count int     `expr:"count"`
	Rate  float64 `expr:"rate"`
}

type tokensEnv struct {
	Prompt countRate `expr:"prompt"`
	Output countRate `expr:"output"`
	Total  tokenRate `expr:"total"`
	// Reasoning and Answer split the output; they have data only in a
	// step in which some answer had reasoning.
	Reasoning tokenCounts `expr:"reasoning"`
	Answer    tokenCounts `expr:"answer"`
	// Image is the prompt tokens images took; it has data only in a step
	// whose requests carried images and whose image tokens are known.
	Image tokenCounts `expr:"image"`
}

type imagesEnv struct {
	Total int     `expr:"total"`
	Mean  float64 `expr:"mean"`
}

type tokenCounts struct {
	Total int     `expr:"total"`
	Mean  float64 `expr:"mean"`
}

type countRate struct {
	Total int     `expr:"total"`
	Mean  float64 `expr:"mean"`
	Rate  float64 `expr:"rate"`
}

// inputsEnv are the inputs of embeddings requests: total, per request, per
// second.
type inputsEnv struct {
	Total int     `expr:"total"`
	Mean  float64 `expr:"mean"`
	Rate  float64 `expr:"rate"`
}

type tokenRate struct {
	Rate float64 `expr:"rate"`
}

type goodputEnv struct {
	Rate  float64 `expr:"rate"`
	Ratio float64 `expr:"ratio"`
}

type concurrencyEnv struct {
	Mean float64 `expr:"mean"`
	Max  int     `expr:"max"`
}

type stepEnv struct {
	Index   int     `expr:"index"`
	Rate    float64 `expr:"rate"`
	Streams int     `expr:"streams"`
}

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

func newDist(d results.Distribution) dist {
	return dist{
		Count: d.Count, Mean: d.Mean, Std: d.Std, Min: d.Min, Max: d.Max,
		Median: d.P50, P50: d.P50, P90: d.P90, P95: d.P95, P99: d.P99, P999: d.P999,
	}
}

// newDistOf is newDist of a distribution a step may not have (nil: zero).
func newDistOf(d *results.Distribution) dist {
	if d == nil {
		return dist{}
	}
	return newDist(*d)
}

// phaseCounts is the reasoning (or answer) part of a step's output.
func phaseCounts(p *results.PhaseTokens, reasoning bool) tokenCounts {
	switch {
	case p == nil:
		return tokenCounts{}
	case reasoning:
		return tokenCounts{Total: p.ReasoningTotal, Mean: p.ReasoningMean}
	}
	return tokenCounts{Total: p.AnswerTotal, Mean: p.AnswerMean}
}

func newInputsEnv(c *results.InputCounts) inputsEnv {
	if c == nil {
		return inputsEnv{}
	}
	return inputsEnv{Total: c.Total, Mean: c.Mean, Rate: c.RatePerSec}
}

// newEnv builds the namespace of one step and its baseline (nil: none).
func newEnv(s, base *results.Step) env {
	e := env{stepMetrics: newMetrics(s)}
	if base != nil {
		e.Baseline = newMetrics(base)
	}
	return e
}

// newMetrics builds the names of one step.
func newMetrics(s *results.Step) stepMetrics {
	m := &s.Metrics
	var good goodputEnv
	if g := m.Goodput; g != nil {
		good = goodputEnv{Rate: g.RatePerSec, Ratio: g.Ratio}
	}
	return stepMetrics{
		Goodput:       good,
		Sessions:      newSessionsEnv(m.Sessions),
		TTFT:          newDist(m.TTFT),
		TPOT:          newDist(m.TPOT),
		ITL:           newDist(m.ITL),
		Latency:       newDist(m.Latency),
		Queue:         newDist(m.Queue),
		Waiting:       newDistOf(m.Waiting),
		TTFO:          newDistOf(m.TTFO),
		TPOTReasoning: newDistOf(m.TPOTReasoning),
		TPOTAnswer:    newDistOf(m.TPOTAnswer),
		Requests: requestsEnv{
			Total: m.Requests.Total, Completed: m.Requests.Completed, Errored: m.Requests.Errored,
			Incomplete: m.Requests.Incomplete, Waiting: m.Requests.Waiting, Rate: m.Requests.RatePerSec, SentRate: m.Requests.SentRatePerSec,
		},
		Errors: errorsEnv{Count: m.Errors.Count, Rate: m.Errors.Rate},
		Tokens: tokensEnv{
			Prompt:    countRate{Total: m.Tokens.PromptTotal, Mean: m.Tokens.PromptMean, Rate: m.Tokens.PromptRatePerSec},
			Output:    countRate{Total: m.Tokens.OutputTotal, Mean: m.Tokens.OutputMean, Rate: m.Tokens.OutputRatePerSec},
			Total:     tokenRate{Rate: m.Tokens.TotalRatePerSec},
			Reasoning: phaseCounts(m.Tokens.Phases, true),
			Answer:    phaseCounts(m.Tokens.Phases, false),
			Image:     imageTokenCounts(m.Images),
		},
		Images:      imageCountsOf(m.Images),
		Inputs:      newInputsEnv(m.Inputs),
		Concurrency: concurrencyEnv{Mean: m.Concurrency.Mean, Max: m.Concurrency.Max},
		Duration:    time.Duration(m.Duration),
		Step:        stepEnv{Index: s.Index, Rate: s.TargetRatePerSec, Streams: s.Streams},
		Server:      newServerEnv(s.TelemetrySummary),
		GPU:         newGPUEnv(s.TelemetrySummary),
		KiB:         kib,
		MiB:         mib,
		GiB:         gib,
	}
}

// name is one name of the namespace: a group (ttft, tokens.output) or a
// value (ttft.p95).
type name struct {
	path  string
	index []int        // field index in env
	typ   reflect.Type // nil for a group
}

// namespace lists every name an assertion can use, built from env's tags.
type namespace struct {
	names    map[string]*name
	order    []string            // every path, groups included, in declaration order
	children map[string][]string // group path ("" for the root) -> member names
}

var ns = buildNamespace()

func buildNamespace() *namespace {
	n := &namespace{names: map[string]*name{}, children: map[string][]string{}}
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("expr")
			if f.Anonymous && tag == "" {
				walk(f.Type, prefix, append(append([]int(nil), index...), i))
				continue
			}
			if tag == "" || tag == "-" {
				continue
			}
			path := tag
			if prefix != "" {
				path = prefix + "." + tag
			}
			idx := append(append([]int(nil), index...), i)
			n.children[prefix] = append(n.children[prefix], tag)
			n.order = append(n.order, path)
			if f.Type.Kind() == reflect.Struct {
				n.names[path] = &name{path: path, index: idx}
				walk(f.Type, path, idx)
				continue
			}
			n.names[path] = &name{path: path, index: idx, typ: f.Type}
		}
	}
	walk(reflect.TypeOf(env{}), "", nil)
	// The hidden roots of group selectors are no names to suggest.
	n.children[""] = slices.DeleteFunc(n.children[""], func(p string) bool { return strings.HasPrefix(p, slotPrefix) })
	n.order = slices.DeleteFunc(n.order, func(p string) bool { return strings.HasPrefix(p, slotPrefix) })
	return n
}

// leaf returns the value name at path, if path names a value.
func (n *namespace) leaf(path string) (*name, bool) {
	v, ok := n.names[path]
	if !ok || v.typ == nil {
		return nil, false
	}
	return v, true
}

// constant reports whether path is a unit constant rather than a metric.
func isConstant(path string) bool {
	path = strings.TrimPrefix(path, "baseline.")
	return path == "KiB" || path == "MiB" || path == "GiB"
}

// value reads path from e, for display: sizes, watts and degrees carry
// their unit.
func (v *name) value(e *env) any {
	return withUnit(v.path, reflect.ValueOf(e).Elem().FieldByIndex(v.index).Interface())
}

// leavesEnding returns the value paths whose last element is member.
func (n *namespace) leavesEnding(member string) []string {
	var out []string
	for _, p := range n.order {
		if strings.HasPrefix(p, "baseline.") {
			continue // suggest the step's own names; baseline.X mirrors them
		}
		if v := n.names[p]; v.typ != nil && (p == member || strings.HasSuffix(p, "."+member)) {
			out = append(out, p)
		}
	}
	return out
}

var distributions = map[string]bool{"ttft": true, "tpot": true, "itl": true, "latency": true, "queue": true,
	"ttfo": true, "tpot_reasoning": true, "tpot_answer": true}

// phased are the distributions of a step in which some answer had reasoning.
var phased = map[string]bool{"ttfo": true, "tpot_reasoning": true, "tpot_answer": true}

// noReasoning says why a reasoning figure has no data.
const noReasoning = "no answer in this step had reasoning (reasoning_content or reasoning deltas, or reasoning tokens in usage)"

// noInputs says why an inputs figure has no data.
const noInputs = "no successful request of this step carried embeddings inputs or rerank documents (inputs.* are figures of api: embeddings and rerank)"

// noData says why path has no value in step s ("" when it has one). A
// figure with no samples behind it must not pass a gate by reading as 0.
func noData(path string, s, base *results.Step) string {
	if rest, ok := strings.CutPrefix(path, "baseline."); ok {
		if base == nil {
			return "no baseline for this scenario and step (pass --baseline results.json from an earlier run with the same scenario and step)"
		}
		if r := noData(rest, base, nil); r != "" {
			return "in the baseline, " + r
		}
		return ""
	}
	if r, ok := telemetryNoData(path, s); ok {
		return r
	}
	if r, ok := sessionsNoData(path, s); ok {
		return r
	}
	m := &s.Metrics
	group, member, _ := strings.Cut(path, ".")
	none := func() string {
		if m.Requests.Total == 0 {
			return "no requests in this step"
		}
		return ""
	}
	noneOK := func() string {
		if r := none(); r != "" {
			return r
		}
		if m.Requests.Completed == 0 {
			return "no successful requests in this step"
		}
		return ""
	}
	if distributions[group] {
		if phased[group] && m.TTFO == nil {
			if r := noneOK(); r != "" {
				return r
			}
			return noReasoning
		}
		if member == "count" {
			return ""
		}
		var d results.Distribution
		switch group {
		case "ttfo", "tpot_reasoning", "tpot_answer":
			d = *distOf(m, group)
		case "ttft":
			d = m.TTFT
		case "tpot":
			d = m.TPOT
		case "itl":
			d = m.ITL
		case "latency":
			d = m.Latency
		case "queue":
			d = m.Queue
		}
		if d.Count > 0 {
			return ""
		}
		if group == "queue" {
			if r := none(); r != "" {
				return r
			}
			return "no finished requests in this step"
		}
		if r := noneOK(); r != "" {
			return r
		}
		if m.Inputs != nil && group != "latency" {
			return "embeddings and rerank answers are not streamed: " + group + " has no samples (gate on latency)"
		}
		switch group {
		case "ttft":
			return "no successful request streamed a content token"
		case "tpot":
			return "no successful request produced more than one output token"
		case "itl":
			return "no successful request streamed two content chunks"
		case "ttfo":
			return "no successful request streamed an answer token"
		case "tpot_reasoning":
			return "no successful request streamed more than one reasoning token"
		case "tpot_answer":
			return "no successful request streamed more than one answer token"
		}
		return "no samples in this step"
	}
	switch path {
	case "goodput.rate", "goodput.ratio":
		if m.Goodput == nil {
			return "the scenario has no slo: goodput counts the requests within its bounds (set `slo: { ttft: 200ms }`)"
		}
		if r := none(); r != "" {
			return r
		}
		if path == "goodput.ratio" && m.Requests.Completed+m.Requests.Errored == 0 {
			return "no finished requests in this step"
		}
		if path == "goodput.rate" && m.Duration <= 0 {
			return "the step has no measured window"
		}
	case "concurrency.mean", "concurrency.max":
		if m.Duration <= 0 {
			return "the step has no measured window"
		}
	case "errors.rate":
		if r := none(); r != "" {
			return r
		}
		if m.Requests.Completed+m.Requests.Errored == 0 {
			return "no finished requests in this step"
		}
	case "tokens.prompt.mean", "tokens.output.mean":
		return noneOK()
	case "tokens.reasoning.total", "tokens.reasoning.mean", "tokens.answer.total", "tokens.answer.mean":
		if r := noneOK(); r != "" {
			return r
		}
		if m.Tokens.Phases == nil {
			return noReasoning
		}
	case "images.total", "images.mean", "tokens.image.total", "tokens.image.mean":
		if r := noneOK(); r != "" {
			return r
		}
		return imagesNoData(path, m.Images)
	case "inputs.total", "inputs.mean", "inputs.rate":
		if r := noneOK(); r != "" {
			return r
		}
		if m.Inputs == nil {
			return noInputs
		}
		if path == "inputs.rate" && m.Duration <= 0 {
			return "the step has no measured window"
		}
	case "requests.rate", "requests.sent_rate", "tokens.output.rate", "tokens.total.rate", "tokens.prompt.rate":
		if r := none(); r != "" {
			return r
		}
		if m.Duration <= 0 {
			return "the step has no measured window"
		}
	}
	return ""
}

// members lists a group's members in declaration order.
func (n *namespace) members(group string) []string {
	return n.children[group]
}
