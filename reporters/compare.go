package reporters

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/benchplan/benchplan/results"
)

// DefaultThreshold is the relative change beyond which Compare calls a
// significant change a regression or an improvement (5%): the effect size.
const DefaultThreshold = 0.05

// Better says which way a metric improves.
type Better int

// The directions.
const (
	Lower Better = iota
	Higher
)

// unit says how a metric's values are written.
type unit int

const (
	unitDuration unit = iota
	unitRate
	unitFraction
)

// CompareMetric is one figure Compare looks at.
type CompareMetric struct {
	// Key is the metric's name in assertions ("ttft.p95").
	Key    string
	Better Better
	unit   unit
	get    func(m *results.Metrics) (float64, bool)
	// test tests the change from base to head; ok is false when the runs
	// kept nothing to test it on.
	test func(base, head *results.Step) (tested, bool)
}

// tested is what a significance test found: for a ratio, the change on
// the log scale and its standard error (an interval at any confidence is
// exp(logRatio ± z·se)); for a fraction, the interval of the difference at
// a confidence. tooFew says samples were kept but too few to test.
type tested struct {
	logRatio, se float64
	diff         func(conf float64) (lo, hi float64)
	tooFew       bool
}

// interval is the change's interval at a confidence: of head/base - 1 for
// a ratio, of head - base for a fraction.
func (t tested) interval(conf float64) (lo, hi float64) {
	if t.diff != nil {
		return t.diff(conf)
	}
	z := zOf(conf)
	return math.Exp(t.logRatio-z*t.se) - 1, math.Exp(t.logRatio+z*t.se) - 1
}

func distMetric(key string, d func(m *results.Metrics) results.Distribution, p func(results.Distribution) time.Duration) CompareMetric {
	group, member, _ := strings.Cut(key, ".")
	pct := map[string]float64{"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p999": 99.9}[member]
	return CompareMetric{Key: key, Better: Lower, unit: unitDuration, get: func(m *results.Metrics) (float64, bool) {
		dist := d(m)
		return float64(p(dist)), dist.Count > 0
	}, test: func(base, head *results.Step) (tested, bool) {
		if base.Repeats > 1 || head.Repeats > 1 {
			// Repeated steps: their figures vary across runs, and their
			// intervals say how much.
			bd, hd := d(&base.Metrics), d(&head.Metrics)
			bv, biv, _ := bd.Figure(member)
			hv, hiv, _ := hd.Figure(member)
			return logTest(float64(bv), &biv, bd.Confidence, float64(hv), &hiv, hd.Confidence)
		}
		bs, hs := base.Metrics.Samples.Of(group), head.Metrics.Samples.Of(group)
		if len(bs) == 0 || len(hs) == 0 {
			return tested{}, false
		}
		if len(bs) < results.MinBootstrapSamples || len(hs) < results.MinBootstrapSamples {
			return tested{tooFew: true}, true
		}
		lr, se, ok := results.LogRatioSE(bs, hs, pct, compareResamples, seedOf(key))
		return tested{logRatio: lr, se: se}, ok
	}}
}

// compareResamples is the number of block-bootstrap replicates behind each
// percentile's standard error.
const compareResamples = 2000

// seedOf makes a bootstrap seed from a metric's name, so that the same two
// runs always compare the same way.
func seedOf(key string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

// logTest tests the ratio of two figures from each run's own interval, by
// the normal approximation on the log scale: each run's standard error is
// its interval's log-width over 2z, and the two add in quadrature.
func logTest(bv float64, bi *results.Interval, bconf, hv float64, hi *results.Interval, hconf float64) (tested, bool) {
	if bi == nil || hi == nil || bv <= 0 || hv <= 0 || bconf == 0 || hconf == 0 || bi.HiOpen || hi.HiOpen {
		return tested{}, false
	}
	// A lower end at or below 0 has no logarithm: use the upper half-width.
	se := func(v float64, iv *results.Interval, c float64) float64 {
		if iv.Lo > 0 && !iv.LoOpen {
			return (math.Log(iv.Hi) - math.Log(iv.Lo)) / (2 * zOf(c))
		}
		return (math.Log(iv.Hi) - math.Log(v)) / zOf(c)
	}
	return tested{logRatio: math.Log(hv / bv), se: math.Hypot(se(bv, bi, bconf), se(hv, hi, hconf))}, true
}

// rateTest tests a rate by logTest on each run's interval of it.
func rateTest(ci func(m *results.Metrics) (float64, *results.Interval)) func(base, head *results.Step) (tested, bool) {
	return func(base, head *results.Step) (tested, bool) {
		bv, bi := ci(&base.Metrics)
		hv, hi := ci(&head.Metrics)
		return logTest(bv, bi, base.Metrics.Confidence, hv, hi, head.Metrics.Confidence)
	}
}

// fractionTest tests the difference of two proportions by Newcombe's
// hybrid score interval.
func fractionTest(counts func(m *results.Metrics) (k, n int, ok bool)) func(base, head *results.Step) (tested, bool) {
	return func(base, head *results.Step) (tested, bool) {
		k1, n1, ok1 := counts(&base.Metrics)
		k2, n2, ok2 := counts(&head.Metrics)
		if !ok1 || !ok2 {
			return tested{}, false
		}
		return tested{diff: func(conf float64) (float64, float64) {
			lo, hi, _ := results.NewcombeDiff(k1, n1, k2, n2, conf)
			return lo, hi
		}}, true
	}
}

// zOf is the two-sided standard normal quantile of a confidence.
func zOf(conf float64) float64 { return results.ZQuantile(1 - (1-conf)/2) }

// CompareMetrics are the metrics Compare and the baseline deltas look at,
// in report order.
var CompareMetrics = []CompareMetric{
	distMetric("ttft.p50", func(m *results.Metrics) results.Distribution { return m.TTFT }, func(d results.Distribution) time.Duration { return d.P50 }),
	distMetric("ttft.p95", func(m *results.Metrics) results.Distribution { return m.TTFT }, func(d results.Distribution) time.Duration { return d.P95 }),
	distMetric("ttft.p99", func(m *results.Metrics) results.Distribution { return m.TTFT }, func(d results.Distribution) time.Duration { return d.P99 }),
	distMetric("tpot.p50", func(m *results.Metrics) results.Distribution { return m.TPOT }, func(d results.Distribution) time.Duration { return d.P50 }),
	distMetric("tpot.p95", func(m *results.Metrics) results.Distribution { return m.TPOT }, func(d results.Distribution) time.Duration { return d.P95 }),
	distMetric("itl.p95", func(m *results.Metrics) results.Distribution { return m.ITL }, func(d results.Distribution) time.Duration { return d.P95 }),
	distMetric("latency.p50", func(m *results.Metrics) results.Distribution { return m.Latency }, func(d results.Distribution) time.Duration { return d.P50 }),
	distMetric("latency.p95", func(m *results.Metrics) results.Distribution { return m.Latency }, func(d results.Distribution) time.Duration { return d.P95 }),
	// The reasoning phase's, where both runs' answers had reasoning.
	distMetric("ttfo.p95", func(m *results.Metrics) results.Distribution { return orEmpty(m.TTFO) }, func(d results.Distribution) time.Duration { return d.P95 }),
	distMetric("tpot_answer.p50", func(m *results.Metrics) results.Distribution { return orEmpty(m.TPOTAnswer) }, func(d results.Distribution) time.Duration { return d.P50 }),
	{Key: "requests.rate", Better: Higher, unit: unitRate, get: func(m *results.Metrics) (float64, bool) {
		return m.Requests.RatePerSec, m.Requests.Total > 0
	}, test: rateTest(func(m *results.Metrics) (float64, *results.Interval) { return m.Requests.RatePerSec, m.Requests.RateCI })},
	{Key: "tokens.output.rate", Better: Higher, unit: unitRate, get: func(m *results.Metrics) (float64, bool) {
		return m.Tokens.OutputRatePerSec, m.Requests.Total > 0
	}, test: rateTest(func(m *results.Metrics) (float64, *results.Interval) {
		return m.Tokens.OutputRatePerSec, m.Tokens.OutputRateCI
	})},
	{Key: "errors.rate", Better: Lower, unit: unitFraction, get: func(m *results.Metrics) (float64, bool) {
		return m.Errors.Rate, m.Requests.Completed+m.Requests.Errored > 0
	}, test: fractionTest(func(m *results.Metrics) (int, int, bool) {
		n := m.Requests.Completed + m.Requests.Errored
		return m.Requests.Errored, n, n > 0
	})},
	{Key: "goodput.ratio", Better: Higher, unit: unitFraction, get: func(m *results.Metrics) (float64, bool) {
		if m.Goodput == nil {
			return 0, false
		}
		return m.Goodput.Ratio, true
	}, test: fractionTest(func(m *results.Metrics) (int, int, bool) {
		n := m.Requests.Completed + m.Requests.Errored
		return m.Goodput.Count, n, m.Goodput != nil && n > 0
	})},
}

// format writes a value of the metric for people.
func (cm CompareMetric) format(v float64) string {
	switch cm.unit {
	case unitDuration:
		return FormatDuration(time.Duration(v))
	case unitFraction:
		return formatPercent(v)
	}
	return formatRate(v)
}

// formatPercent writes a fraction as a percentage: "0%", "1.5%", "0.02%".
func formatPercent(v float64) string {
	switch p := v * 100; {
	case p == 0:
		return "0%"
	case math.Abs(p) < 0.1:
		return fmt.Sprintf("%.2f%%", p)
	default:
		return fmt.Sprintf("%.1f%%", p)
	}
}

// Change classifies a delta.
type Change int

// The classes.
const (
	// Same: within the threshold.
	Same Change = iota
	// Regression: worse by more than the threshold.
	Regression
	// Improvement: better by more than the threshold.
	Improvement
)

// Delta is one metric of one step in a base run and a head run.
type Delta struct {
	Scenario string
	// Step is the head step's label, StepIndex its index.
	Step      string
	StepIndex int
	// BaseStep is the base step's label when it differs from Step.
	BaseStep   string
	Metric     CompareMetric
	Base, Head float64
	// Relative is (Head - Base) / Base: +Inf when Base is 0 and Head is
	// not, 0 when both are 0.
	Relative float64
	Change   Change
	// Tested is true when the change was tested for significance; Lo and
	// Hi are then its interval: of Head/Base - 1 (a relative change), or
	// of Head - Base for a fraction, at the comparison's per-test
	// confidence. Significant is true when the interval lies wholly on the
	// side the change went. TooFew marks a figure whose runs kept too few
	// samples to test (never significant).
	Tested      bool
	Lo, Hi      float64
	Significant bool
	TooFew      bool
}

// Comparison is what Compare found.
type Comparison struct {
	BasePlan, HeadPlan string
	BaseStarted        time.Time
	Threshold          float64
	// Confidence is the family-wise confidence of the comparison; each of
	// its Tests is made at TestConfidence = 1 - (1-Confidence)/Tests
	// (Bonferroni), so that all of them hold together at Confidence.
	Confidence     float64
	Tests          int
	TestConfidence float64
	// Untested counts the deltas that could not be tested (a run kept no
	// samples, as runs of older versions did): they are judged by the
	// threshold alone, and the comparison says so.
	Untested int
	Deltas   []Delta
	pairs    [][2]*results.Step // the steps behind each delta
	// Unmatched says what one run has and the other has not
	// ("scenario chat: only in base").
	Unmatched []string
}

// Regressions returns the deltas that got worse beyond the threshold.
func (c *Comparison) Regressions() []Delta { return c.only(Regression) }

// Improvements returns the deltas that got better beyond the threshold.
func (c *Comparison) Improvements() []Delta { return c.only(Improvement) }

func (c *Comparison) only(ch Change) []Delta {
	var out []Delta
	for _, d := range c.Deltas {
		if d.Change == ch {
			out = append(out, d)
		}
	}
	return out
}

// Compare compares head with base at DefaultConfidence; see CompareAt.
func Compare(base, head *results.Run, threshold float64) *Comparison {
	return CompareAt(base, head, threshold, results.DefaultConfidence)
}

// CompareAt compares head with base, scenario by scenario (by name) and
// step by step (by index): every metric of CompareMetrics present in both.
// A change is a regression (in the metric's worse direction) or an
// improvement only when it is both beyond threshold (a fraction: 0.05 is
// 5%) and significant: its interval, from a two-sample test on the runs'
// kept samples (docs/metrics.md, "Regressions"), excludes no change at the
// Bonferroni-corrected confidence of the whole comparison.
func CompareAt(base, head *results.Run, threshold, confidence float64) *Comparison {
	c := &Comparison{Threshold: threshold, Confidence: confidence}
	defer c.test() // once every delta is known: the correction needs their number
	if base == nil || head == nil {
		return c
	}
	c.BasePlan, c.HeadPlan, c.BaseStarted = base.Plan, head.Plan, base.StartedAt
	baseScs := map[string]*results.Scenario{}
	for _, sc := range scenarios(base) {
		baseScs[sc.Name] = sc
	}
	seen := map[string]bool{}
	for _, hsc := range scenarios(head) {
		seen[hsc.Name] = true
		bsc := baseScs[hsc.Name]
		if bsc == nil {
			c.Unmatched = append(c.Unmatched, fmt.Sprintf("scenario %s: only in head", oneLine(hsc.Name)))
			continue
		}
		baseSteps := map[int]*results.Step{}
		for _, st := range steps(bsc) {
			baseSteps[st.Index] = st
		}
		headIdx := map[int]bool{}
		for _, hst := range steps(hsc) {
			headIdx[hst.Index] = true
			bst := baseSteps[hst.Index]
			if bst == nil {
				c.Unmatched = append(c.Unmatched, fmt.Sprintf("scenario %s, step %d (%s): only in head", oneLine(hsc.Name), hst.Index, hst.Label()))
				continue
			}
			for _, cm := range CompareMetrics {
				b, okb := cm.get(&bst.Metrics)
				h, okh := cm.get(&hst.Metrics)
				if !okb || !okh {
					continue
				}
				d := Delta{Scenario: hsc.Name, Step: hst.Label(), StepIndex: hst.Index, Metric: cm, Base: b, Head: h}
				if bl := bst.Label(); bl != d.Step {
					d.BaseStep = bl
				}
				switch {
				case b == h:
				case b == 0:
					d.Relative = math.Inf(1)
					if h < 0 {
						d.Relative = math.Inf(-1)
					}
				default:
					d.Relative = (h - b) / math.Abs(b)
				}
				worse := d.Relative > 0
				if cm.Better == Higher {
					worse = d.Relative < 0
				}
				if math.Abs(d.Relative) > threshold {
					d.Change = Improvement
					if worse {
						d.Change = Regression
					}
				}
				c.Deltas = append(c.Deltas, d)
				c.pairs = append(c.pairs, [2]*results.Step{bst, hst})
			}
		}
		for _, st := range steps(bsc) {
			if !headIdx[st.Index] {
				c.Unmatched = append(c.Unmatched, fmt.Sprintf("scenario %s, step %d (%s): only in base", oneLine(hsc.Name), st.Index, st.Label()))
			}
		}
	}
	for _, sc := range scenarios(base) {
		if !seen[sc.Name] {
			c.Unmatched = append(c.Unmatched, fmt.Sprintf("scenario %s: only in base", oneLine(sc.Name)))
		}
	}
	return c
}

// formatChange writes a relative change with its direction: "▲ +25.3%",
// "▼ -4.0%", "= 0%", "▲ new" (from zero).
func formatChange(rel float64) string {
	switch {
	case math.IsInf(rel, 1):
		return "▲ from 0"
	case math.IsInf(rel, -1):
		return "▼ from 0"
	case rel > 0:
		return fmt.Sprintf("▲ +%.1f%%", rel*100)
	case rel < 0:
		return fmt.Sprintf("▼ %.1f%%", rel*100)
	}
	return "= 0%"
}

// verdictWord names a change class for the console.
func (d Delta) verdictWord() string {
	switch d.Change {
	case Regression:
		return "REGRESSION"
	case Improvement:
		return "improved"
	}
	return ""
}

// stepText is the step as the tables show it.
func (d Delta) stepText() string {
	if d.BaseStep != "" {
		return d.Step + " (base: " + d.BaseStep + ")"
	}
	return d.Step
}

// compareSummary is the one-line verdict of a comparison.
func compareSummary(c *Comparison) string {
	r, i := len(c.Regressions()), len(c.Improvements())
	th := formatThreshold(c.Threshold)
	switch {
	case len(c.Deltas) == 0:
		return "nothing to compare: the runs share no scenario step"
	case r == 0 && i == 0:
		return fmt.Sprintf("no significant change beyond %s", th)
	}
	var parts []string
	if r > 0 {
		parts = append(parts, plural(r, "regression"))
	}
	if i > 0 {
		parts = append(parts, plural(i, "improvement"))
	}
	return strings.Join(parts, " and ") + " beyond " + th + ", significant"
}

// methodLine says how changes were decided, for the reader of a comparison.
func methodLine(c *Comparison) string {
	s := fmt.Sprintf("a change counts when it is beyond %s and significant at %s confidence over all %d tests (each at %s, Bonferroni)",
		formatThreshold(c.Threshold), formatConfidence(c.Confidence), c.Tests, formatConfidence(c.TestConfidence))
	if c.Untested > 0 {
		s += fmt.Sprintf("; %d figures could not be tested (a run kept no samples: written by an older benchplan) and are judged by the threshold alone", c.Untested)
	}
	return s
}

// formatConfidence writes a confidence as a percentage ("95%", "99.86%").
func formatConfidence(c float64) string {
	s := strings.TrimRight(fmt.Sprintf("%.3f", c*100), "0")
	return strings.TrimSuffix(s, ".") + "%"
}

// formatThreshold writes a threshold as a percentage ("10%").
func formatThreshold(th float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", th*100), "0"), ".0") + "%"
}

// CompareConsole writes a comparison as plain text: per scenario a table of
// every metric (step, metric, base, head, change, verdict), then a line
// with the verdict.
func CompareConsole(w io.Writer, c *Comparison) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "compare %s (base) with %s (head)\n%s\n", oneLine(c.BasePlan), oneLine(c.HeadPlan), methodLine(c))
	var names []string
	by := map[string][]Delta{}
	for _, d := range c.Deltas {
		if _, ok := by[d.Scenario]; !ok {
			names = append(names, d.Scenario)
		}
		by[d.Scenario] = append(by[d.Scenario], d)
	}
	for _, name := range names {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "scenario "+oneLine(name))
		t := table.NewWriter()
		t.SetStyle(table.StyleLight)
		t.Style().Format.Header = text.FormatDefault
		t.AppendHeader(table.Row{"step", "metric", "base", "head", "change", "interval", ""})
		for _, d := range by[name] {
			t.AppendRow(table.Row{oneLine(d.stepText()), d.Metric.Key, d.Metric.format(d.Base), d.Metric.format(d.Head), formatChange(d.Relative), d.intervalText(), d.verdictWord()})
		}
		t.SetColumnConfigs([]table.ColumnConfig{
			{Number: 3, Align: text.AlignRight, AlignHeader: text.AlignRight},
			{Number: 4, Align: text.AlignRight, AlignHeader: text.AlignRight},
			{Number: 5, Align: text.AlignRight, AlignHeader: text.AlignRight},
			{Number: 6, Align: text.AlignRight, AlignHeader: text.AlignRight},
		})
		for _, line := range strings.Split(t.Render(), "\n") {
			fmt.Fprintln(bw, "  "+line)
		}
	}
	if len(c.Unmatched) > 0 {
		fmt.Fprintln(bw)
		for _, u := range c.Unmatched {
			fmt.Fprintln(bw, "not compared: "+u)
		}
	}
	fmt.Fprintln(bw)
	verdict := "OK"
	if len(c.Regressions()) > 0 {
		verdict = "REGRESSED"
	}
	fmt.Fprintf(bw, "%s: %s\n", verdict, compareSummary(c))
	return bw.Flush()
}

// CompareMarkdown writes a comparison as GitHub-flavoured Markdown: a
// title with the verdict, the regressions and improvements beyond the
// threshold, and every delta inside <details>.
func CompareMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	mark := "✅"
	if len(c.Regressions()) > 0 {
		mark = "🔴"
	}
	fmt.Fprintf(&b, "### %s benchplan compare: %s\n\n", mark, mdText(compareSummary(c)))
	fmt.Fprintf(&b, "Base: %s · head: %s · %s.\n\n", mdText(c.BasePlan), mdText(c.HeadPlan), mdText(methodLine(c)))
	b.WriteString(mdDeltaSections(c, markdownLimit-b.Len()-200))
	for _, u := range c.Unmatched {
		fmt.Fprintf(&b, "- not compared: %s\n", mdText(u))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdDeltaRow is a delta as a Markdown table row.
func mdDeltaRow(d Delta) string {
	return fmt.Sprintf("| %s | %s | %s | `%s` | %s | %s | %s |", mdChangeMark(d), mdText(d.Scenario), mdText(d.stepText()), d.Metric.Key,
		mdText(d.Metric.format(d.Base))+" → "+mdText(d.Metric.format(d.Head)), formatChange(d.Relative), d.intervalText())
}

// mdDeltaDetails is a <details> section, summary, with a table of ds.
func mdDeltaDetails(summary string, ds []Delta) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n", summary)
	b.WriteString(mdDeltaHead)
	for _, d := range ds {
		b.WriteString(mdDeltaRow(d) + "\n")
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

const mdDeltaHead = "| | Scenario | Step | Metric | Base → head | Change | Interval |\n|---|---|---|---|---:|---:|---:|\n"

func mdChangeMark(d Delta) string {
	switch d.Change {
	case Regression:
		return "🔴"
	case Improvement:
		return "🟢"
	}
	return "⚪"
}

// mdDeltaSections renders the notable deltas as a table and every delta in
// a <details> table, within limit bytes (the full table goes first).
func mdDeltaSections(c *Comparison, limit int) string {
	var notable []Delta
	notable = append(notable, c.Regressions()...)
	notable = append(notable, c.Improvements()...)
	var b strings.Builder
	if len(notable) > 0 {
		b.WriteString(mdDeltaHead)
		for _, d := range notable {
			row := mdDeltaRow(d) + "\n"
			if b.Len()+len(row) > limit {
				break
			}
			b.WriteString(row)
		}
		b.WriteString("\n")
	}
	if len(c.Deltas) > 0 {
		all := mdDeltaDetails(fmt.Sprintf("Every compared metric (%d)", len(c.Deltas)), c.Deltas) + "\n"
		if b.Len()+len(all) <= limit {
			b.WriteString(all)
		}
	}
	return b.String()
}

// test tests every delta at the Bonferroni-corrected confidence and keeps a
// change only where it is significant on the side it went.
func (c *Comparison) test() {
	found := make([]tested, len(c.Deltas))
	ok := make([]bool, len(c.Deltas))
	for i, d := range c.Deltas {
		if d.Metric.test != nil {
			found[i], ok[i] = d.Metric.test(c.pairs[i][0], c.pairs[i][1])
		}
		if ok[i] && !found[i].tooFew {
			c.Tests++
		}
	}
	c.TestConfidence = c.Confidence
	if c.Tests > 1 {
		c.TestConfidence = 1 - (1-c.Confidence)/float64(c.Tests)
	}
	for i := range c.Deltas {
		d := &c.Deltas[i]
		if !ok[i] {
			c.Untested++ // judged by the threshold alone, and said so
			continue
		}
		d.Tested = true
		if found[i].tooFew {
			d.TooFew, d.Change = true, Same
			continue
		}
		d.Lo, d.Hi = found[i].interval(c.TestConfidence)
		switch {
		case d.Relative > 0 || (d.Metric.unit == unitFraction && d.Head > d.Base):
			d.Significant = d.Lo > 0
		case d.Relative < 0 || (d.Metric.unit == unitFraction && d.Head < d.Base):
			d.Significant = d.Hi < 0
		}
		if !d.Significant {
			d.Change = Same
		}
	}
	c.pairs = nil
}

// intervalText writes a tested change's interval: "[+6.1%, +14.0%]", or
// in percentage points for a fraction.
func (d Delta) intervalText() string {
	if !d.Tested {
		return "untested"
	}
	if d.TooFew {
		return "too few samples"
	}
	if d.Metric.unit == unitFraction {
		return fmt.Sprintf("[%+.1f, %+.1f pp]", d.Lo*100, d.Hi*100)
	}
	return fmt.Sprintf("[%+.1f%%, %+.1f%%]", d.Lo*100, d.Hi*100)
}
