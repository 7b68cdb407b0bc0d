package assert

import (
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/benchplan/benchplan/results"
)

// Three-valued evaluation (docs/metrics.md, "Verdicts"). Every figure an
// assertion reads that is an estimate (a percentile, a mean, a rate, a
// ratio) has a confidence interval. The expression is evaluated at every
// corner of the box those intervals span: true at every corner is pass,
// false at every corner is fail, anything else is inconclusive. For the
// monotone expressions gates are made of (comparisons, and, or, scaling)
// the corners are where the expression is most and least true, so this is
// exactly "pass when the whole interval passes". Figures compared with ==
// or != are facts about this run (errors.rate == 0), not estimates, and
// keep their observed value.

// maxVaried is the most figures varied over their intervals (2^maxVaried
// corners); an expression reading more is decided on the observed values
// of the rest.
const maxVaried = 8

// bootstrapResamples is the number of bootstrap replicates behind the
// interval of a change against the baseline.
const bootstrapResamples = 4000

// unboundedHi stands for the open upper side of a duration's interval:
// about 13 days, beyond any latency, small enough that scaling it by a
// gate's factor cannot overflow.
const unboundedHi = time.Duration(1 << 50)

// varied is one figure evaluated over its interval.
type varied struct {
	path   string
	lo, hi any // values of the figure's type
	// loOpen and hiOpen mark sides the sample cannot bound; open says why.
	loOpen, hiOpen bool
	open           string
	// paired is set when path is compared with its baseline: the interval
	// is the baseline's value times the interval of their ratio.
	paired *pairedChange
	// more are figures set to their own ends at the same corner (the
	// members of a distribution used whole).
	more []varied
}

// pairedChange is the interval of head/base for a figure and its baseline.
type pairedChange struct {
	base     any
	lo, hi   float64
	observed float64
}

// figureInterval returns the interval of path in step s (baseline.X reads
// base), in the figure's raw unit; ok is false for a figure that is not an
// estimate (a count, a maximum, telemetry, step.*) or has no interval.
func figureInterval(path string, s, base *results.Step) (iv results.Interval, n int, ok bool) {
	if rest, isBase := strings.CutPrefix(path, "baseline."); isBase {
		if base == nil {
			return iv, 0, false
		}
		return figureInterval(rest, base, nil)
	}
	m := &s.Metrics
	if strings.HasPrefix(path, "sessions.") {
		return sessionsInterval(path, m)
	}
	group, member, _ := strings.Cut(path, ".")
	if distributions[group] {
		d := distOf(m, group)
		if d.Confidence == 0 {
			return iv, 0, false
		}
		_, iv, ok = d.Figure(member)
		return iv, d.Count, ok
	}
	ptr := func(p *results.Interval) (results.Interval, int, bool) {
		if p == nil {
			return results.Interval{}, 0, false
		}
		return *p, 0, true
	}
	switch path {
	case "requests.rate":
		return ptr(m.Requests.RateCI)
	case "tokens.output.rate":
		return ptr(m.Tokens.OutputRateCI)
	case "tokens.total.rate":
		return ptr(m.Tokens.TotalRateCI)
	case "tokens.prompt.rate":
		return ptr(m.Tokens.PromptRateCI)
	case "inputs.rate":
		if m.Inputs != nil {
			return ptr(m.Inputs.RateCI)
		}
	case "errors.rate":
		return ptr(m.Errors.RateCI)
	case "goodput.rate":
		if m.Goodput != nil {
			return ptr(m.Goodput.RateCI)
		}
	case "goodput.ratio":
		if m.Goodput != nil {
			return ptr(m.Goodput.RatioCI)
		}
	}
	return iv, 0, false
}

func distOf(m *results.Metrics, group string) *results.Distribution {
	switch group {
	case "ttft":
		return &m.TTFT
	case "tpot":
		return &m.TPOT
	case "itl":
		return &m.ITL
	case "latency":
		return &m.Latency
	case "ttfo", "tpot_reasoning", "tpot_answer":
		p := map[string]*results.Distribution{"ttfo": m.TTFO, "tpot_reasoning": m.TPOTReasoning, "tpot_answer": m.TPOTAnswer}[group]
		if p == nil {
			return &results.Distribution{}
		}
		return p
	}
	return &m.Queue
}

// percentileOf is the percentile a distribution member stands for (mean: 0).
func percentileOf(member string) (float64, bool) {
	switch member {
	case "median", "p50":
		return 50, true
	case "p90":
		return 90, true
	case "p95":
		return 95, true
	case "p99":
		return 99, true
	case "p999":
		return 99.9, true
	case "mean":
		return 0, true
	}
	return 0, false
}

// pairedInterval tests path in s against the same figure in base by a
// two-sample method on the kept per-request samples: a block-bootstrap
// interval of the ratio of the percentiles or means (results.RatioInterval).
// ok is false when either step kept too few samples or was repeated (its
// interval is then across its runs).
func pairedInterval(path string, s, base *results.Step, confidence float64) (lo, hi float64, ok bool) {
	group, member, _ := strings.Cut(path, ".")
	if !distributions[group] || base == nil {
		return 0, 0, false
	}
	p, isFigure := percentileOf(member)
	if !isFigure {
		return 0, 0, false
	}
	if s.Repeats > 1 || base.Repeats > 1 {
		return 0, 0, false // each side's interval is across its runs: vary both
	}
	bs, hs := base.Metrics.Samples.Of(group), s.Metrics.Samples.Of(group)
	return results.RatioInterval(bs, hs, p, confidence, bootstrapResamples, seedOf(path))
}

// seedOf makes the bootstrap's seed from the figure's name, so that the
// same runs always give the same verdict.
func seedOf(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()
}

// toValue converts a raw interval end to the env type of path.
func toValue(path string, v float64, hiSide, open bool) any {
	n, _ := ns.leaf(path)
	if n.typ == durationType {
		if open {
			if hiSide {
				return unboundedHi
			}
			return time.Duration(0)
		}
		return time.Duration(math.Round(v))
	}
	if open {
		if hiSide {
			return math.Inf(1)
		}
		return 0.0
	}
	return v
}

// variedFigures lists the figures of the assertion to evaluate over their
// intervals in step s with baseline base.
func (a *Assertion) variedFigures(e *env, s, base *results.Step, confidence float64) []varied {
	var out []varied
	// A figure compared with its own baseline is tested as a pair: the
	// baseline keeps its value, wherever the expression names it.
	paired := map[string]varied{}
	for _, p := range a.paths {
		if strings.HasPrefix(p, "baseline.") || a.exact[p] || !a.readsPath("baseline."+p) {
			continue
		}
		if lo, hi, ok := pairedInterval(p, s, base, confidence); ok {
			b := ns.names["baseline."+p].value(e)
			bv := rawOf(b)
			v := varied{path: p, paired: &pairedChange{base: b, lo: lo, hi: hi}}
			if bv != 0 {
				v.paired.observed = rawOf(ns.names[p].value(e)) / bv
			}
			v.lo = toValue(p, lo*bv, false, false)
			v.hi = toValue(p, hi*bv, true, false)
			paired[p] = v
		}
	}
	for _, p := range a.paths {
		if len(out) >= maxVaried {
			break
		}
		if rest, ok := strings.CutPrefix(p, "baseline."); ok {
			if _, isPaired := paired[rest]; isPaired {
				continue
			}
		}
		if v, ok := paired[p]; ok {
			out = append(out, v)
			continue
		}
		if a.exact[p] {
			continue
		}
		if v, ok := a.intervalFigure(p, s, base, confidence); ok {
			out = append(out, v)
		}
	}
	// A distribution used whole (all([ttft, tpot], .p95 < 1s)) varies as
	// one: every member with an interval at its low end, then its high.
	for _, g := range a.wholes {
		if len(out) >= maxVaried {
			break
		}
		var group *varied
		for _, member := range ns.members(g) {
			v, ok := a.intervalFigure(g+"."+member, s, base, confidence)
			if !ok {
				continue
			}
			if group == nil {
				group = &v
				continue
			}
			group.more = append(group.more, v)
			if group.open == "" {
				group.open = v.open
			}
		}
		if group != nil {
			out = append(out, *group)
		}
	}
	return out
}

// intervalFigure is path varied over its interval; ok is false for a
// figure without one.
func (a *Assertion) intervalFigure(p string, s, base *results.Step, confidence float64) (varied, bool) {
	fs, fp, why := a.target(p, s)
	if why != "" {
		return varied{}, false
	}
	if fs != s {
		base = nil // groups have no baseline
	}
	iv, n, ok := figureInterval(fp, fs, base)
	if !ok {
		return varied{}, false
	}
	v := varied{path: p, lo: toValue(p, iv.Lo, false, iv.LoOpen), hi: toValue(p, iv.Hi, true, iv.HiOpen),
		loOpen: iv.LoOpen, hiOpen: iv.HiOpen}
	if iv.LoOpen || iv.HiOpen {
		v.open = openNote(p, n, confidence)
	}
	return v, true
}

// rawOf reads a namespace value as a float (nanoseconds for a duration).
func rawOf(v any) float64 {
	switch v := v.(type) {
	case time.Duration:
		return float64(v)
	case float64:
		return v
	case int:
		return float64(v)
	}
	return math.NaN()
}

// openNote says why a percentile's interval is open and what would close it.
func openNote(path string, n int, confidence float64) string {
	_, member, _ := strings.Cut(strings.TrimPrefix(path, "baseline."), ".")
	p, _ := percentileOf(member)
	if p == 0 {
		return fmt.Sprintf("%s rests on %d samples, too few to bound it", path, n)
	}
	return fmt.Sprintf("%s rests on %d samples, too few to bound it at %s confidence (a %s needs at least %d)",
		path, n, formatPercentage(confidence), member, results.MinSamples(p/100, confidence))
}

func formatPercentage(c float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", c*100), "0"), ".") + "%"
}

// readsPath reports whether the assertion reads path.
func (a *Assertion) readsPath(path string) bool {
	for _, p := range a.paths {
		if p == path {
			return true
		}
	}
	return false
}

// decide evaluates the program at every corner of the varied figures'
// box: Pass when true at each, Fail when false at each, else Inconclusive.
func (a *Assertion) decide(e env, vs []varied, point bool) (results.Verdict, error) {
	rv := reflect.ValueOf(&e).Elem()
	trues, falses := 0, 0
	if point {
		trues++
	} else {
		falses++
	}
	for corner := 0; corner < 1<<len(vs); corner++ {
		for i, v := range vs {
			hi := corner&(1<<i) != 0
			for _, f := range append([]varied{v}, v.more...) {
				val := f.lo
				if hi {
					val = f.hi
				}
				rv.FieldByIndex(ns.names[f.path].index).Set(reflect.ValueOf(val))
			}
		}
		out, err := expr.Run(a.program, e)
		if err != nil {
			return results.Error, err
		}
		switch out {
		case true:
			trues++
		case false:
			falses++
		default:
			return results.Error, fmt.Errorf("evaluation gave %v, not true or false", out)
		}
		if trues > 0 && falses > 0 {
			return results.Inconclusive, nil
		}
	}
	if falses == 0 {
		return results.Pass, nil
	}
	return results.Fail, nil
}

// exactPaths lists the figures compared with == or != anywhere in root:
// facts about the run, kept at their observed values.
func exactPaths(root ast.Node) map[string]bool {
	out := map[string]bool{}
	visit(root, func(n ast.Node) {
		b, ok := n.(*ast.BinaryNode)
		if !ok || (b.Operator != "==" && b.Operator != "!=") {
			return
		}
		for _, p := range metricPaths(b) {
			out[p] = true
		}
	})
	return out
}

// intervalText writes a figure's interval: "[171.0ms, 199.2ms]", with ?
// for an open side.
func (v varied) intervalText() string {
	side := func(x any, open bool) string {
		if open {
			return "?"
		}
		return formatValue(withUnit(v.path, x))
	}
	return "[" + side(v.lo, v.loOpen) + ", " + side(v.hi, v.hiOpen) + "]"
}

// changeText writes a paired figure's change against its baseline:
// "+10.2% [+6.1%, +14.0%] against the baseline".
func (p *pairedChange) changeText() string {
	pct := func(r float64) string { return fmt.Sprintf("%+.1f%%", (r-1)*100) }
	return pct(p.observed) + " [" + pct(p.lo) + ", " + pct(p.hi) + "]"
}
