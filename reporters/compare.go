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
// change a regression or an improvement (10%).
const DefaultThreshold = 0.10

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
}

func distMetric(key string, d func(m *results.Metrics) results.Distribution, p func(results.Distribution) time.Duration) CompareMetric {
	return CompareMetric{Key: key, Better: Lower, unit: unitDuration, get: func(m *results.Metrics) (float64, bool) {
		dist := d(m)
		return float64(p(dist)), dist.Count > 0
	}}
}

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
	{Key: "requests.rate", Better: Higher, unit: unitRate, get: func(m *results.Metrics) (float64, bool) {
		return m.Requests.RatePerSec, m.Requests.Total > 0
	}},
	{Key: "tokens.output.rate", Better: Higher, unit: unitRate, get: func(m *results.Metrics) (float64, bool) {
		return m.Tokens.OutputRatePerSec, m.Requests.Total > 0
	}},
	{Key: "errors.rate", Better: Lower, unit: unitFraction, get: func(m *results.Metrics) (float64, bool) {
		return m.Errors.Rate, m.Requests.Completed+m.Requests.Errored > 0
	}},
	{Key: "goodput.ratio", Better: Higher, unit: unitFraction, get: func(m *results.Metrics) (float64, bool) {
		if m.Goodput == nil {
			return 0, false
		}
		return m.Goodput.Ratio, true
	}},
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
}

// Comparison is what Compare found.
type Comparison struct {
	BasePlan, HeadPlan string
	BaseStarted        time.Time
	Threshold          float64
	Deltas             []Delta
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

// Compare compares head with base, scenario by scenario (by name) and step
// by step (by index): every metric of CompareMetrics present in both. A
// change beyond threshold (a fraction: 0.10 is 10%) in the metric's worse
// direction is a regression, in its better direction an improvement.
func Compare(base, head *results.Run, threshold float64) *Comparison {
	c := &Comparison{Threshold: threshold}
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
				c.Unmatched = append(c.Unmatched, fmt.Sprintf("scenario %s, step %d (%s): only in head", oneLine(hsc.Name), hst.Index, stepLabel(hst)))
				continue
			}
			for _, cm := range CompareMetrics {
				b, okb := cm.get(&bst.Metrics)
				h, okh := cm.get(&hst.Metrics)
				if !okb || !okh {
					continue
				}
				d := Delta{Scenario: hsc.Name, Step: stepLabel(hst), StepIndex: hst.Index, Metric: cm, Base: b, Head: h}
				if bl := stepLabel(bst); bl != d.Step {
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
			}
		}
		for _, st := range steps(bsc) {
			if !headIdx[st.Index] {
				c.Unmatched = append(c.Unmatched, fmt.Sprintf("scenario %s, step %d (%s): only in base", oneLine(hsc.Name), st.Index, stepLabel(st)))
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
		return fmt.Sprintf("no metric changed by more than %s", th)
	}
	var parts []string
	if r > 0 {
		parts = append(parts, plural(r, "regression"))
	}
	if i > 0 {
		parts = append(parts, plural(i, "improvement"))
	}
	return strings.Join(parts, " and ") + " beyond " + th
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
	fmt.Fprintf(bw, "compare %s (base) with %s (head), threshold %s\n", oneLine(c.BasePlan), oneLine(c.HeadPlan), formatThreshold(c.Threshold))
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
		t.AppendHeader(table.Row{"step", "metric", "base", "head", "change", ""})
		for _, d := range by[name] {
			t.AppendRow(table.Row{oneLine(d.stepText()), d.Metric.Key, d.Metric.format(d.Base), d.Metric.format(d.Head), formatChange(d.Relative), d.verdictWord()})
		}
		t.SetColumnConfigs([]table.ColumnConfig{
			{Number: 3, Align: text.AlignRight, AlignHeader: text.AlignRight},
			{Number: 4, Align: text.AlignRight, AlignHeader: text.AlignRight},
			{Number: 5, Align: text.AlignRight, AlignHeader: text.AlignRight},
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
	fmt.Fprintf(&b, "Base: %s · head: %s · threshold %s.\n\n", mdText(c.BasePlan), mdText(c.HeadPlan), formatThreshold(c.Threshold))
	b.WriteString(mdDeltaSections(c, markdownLimit-b.Len()-200))
	for _, u := range c.Unmatched {
		fmt.Fprintf(&b, "- not compared: %s\n", mdText(u))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdDeltaRow is a delta as a Markdown table row.
func mdDeltaRow(d Delta) string {
	return fmt.Sprintf("| %s | %s | %s | `%s` | %s | %s |", mdChangeMark(d), mdText(d.Scenario), mdText(d.stepText()), d.Metric.Key,
		mdText(d.Metric.format(d.Base))+" → "+mdText(d.Metric.format(d.Head)), formatChange(d.Relative))
}

const mdDeltaHead = "| | Scenario | Step | Metric | Base → head | Change |\n|---|---|---|---|---:|---:|\n"

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
		var all strings.Builder
		fmt.Fprintf(&all, "<details><summary>Every compared metric (%d)</summary>\n\n", len(c.Deltas))
		all.WriteString(mdDeltaHead)
		for _, d := range c.Deltas {
			all.WriteString(mdDeltaRow(d) + "\n")
		}
		all.WriteString("\n</details>\n\n")
		if b.Len()+all.Len() <= limit {
			b.WriteString(all.String())
		}
	}
	return b.String()
}
