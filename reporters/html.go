package reporters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/benchplan/benchplan/internal/textsafe"
	"github.com/benchplan/benchplan/results"
)

// CSP is the report's Content-Security-Policy: nothing may be fetched or
// run; only the inline style sheet and data: images are allowed. A browser
// that opens the file refuses (and logs) any load, so the file provably
// works offline.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// HTML writes report.html with no baseline; see HTMLWith.
func HTML(w io.Writer, run *results.Run) error { return HTMLWith(w, run, Options{}) }

// HTMLWith writes report.html: one self-contained page (inline CSS and
// SVG; no script, font, image or style sheet fetched from anywhere, as its
// Content-Security-Policy enforces) with:
//
//   - the verdict, plan, times, counts and every assertion outcome; a
//     banner for a dry run on the simulator, and a warning when the
//     baseline's setup differs;
//   - with a baseline, the metrics that changed beyond the threshold;
//   - per scenario: its steps' metrics table and warnings; for several
//     steps, TTFT, TPOT, request latency, output tokens/s and the error
//     rate against the target rate (see rateAxisFor); over time (steps end to end), requests in
//     flight, output tokens/s, sent, completed and failed requests/s, and a chart
//     per telemetry series when the steps carry any; per step, TTFT and
//     latency histograms with their p50, p95 and p99 marked, and every
//     distribution's figures;
//   - the setup: servers, benchplan, the client machine, GPUs, and the plan
//     as run (secrets redacted).
//
// Charts need Step.Series and Step.Histograms (results.ComputeSeries and
// ComputeHistograms); without them those charts are left out.
func HTMLWith(w io.Writer, run *results.Run, opts Options) error {
	if run == nil {
		return errNilRun
	}
	h := &htmlReport{run: run, opts: opts}
	h.render()
	_, err := w.Write(h.b.Bytes())
	return err
}

type htmlReport struct {
	run  *results.Run
	opts Options
	b    bytes.Buffer
	cmp  *Comparison
}

func (h *htmlReport) p(format string, args ...any) { fmt.Fprintf(&h.b, format, args...) }
func (h *htmlReport) s(text string)                { h.b.WriteString(text) }

// hx escapes text for HTML, keeping line breaks; control characters other
// than line breaks and tabs become U+FFFD (textsafe.Lines).
func hx(s string) string {
	return html.EscapeString(textsafe.Lines(strings.ReplaceAll(s, "\r\n", "\n")))
}

// h1 escapes text for HTML on one line.
func h1(s string) string { return html.EscapeString(oneLine(s)) }

func verdictClass(v results.Verdict) string {
	switch v {
	case results.Pass:
		return "pass"
	case results.Warn:
		return "warn"
	case results.Inconclusive:
		return "inconclusive"
	case results.Fail:
		return "fail"
	}
	return "error"
}

func verdictWord(v results.Verdict) string {
	switch v {
	case results.Pass:
		return "passed"
	case results.Warn:
		return "passed with warnings"
	case results.Inconclusive:
		return "was inconclusive"
	case results.Fail:
		return "failed"
	}
	return "could not be evaluated"
}

func (h *htmlReport) render() {
	run := h.run
	t := count(run)
	v := t.verdict(run)
	if h.opts.Baseline != nil {
		h.cmp = Compare(h.opts.Baseline, run, h.opts.threshold())
	}
	h.s("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	h.p("<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n", hx(CSP))
	h.s("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	h.p("<meta name=\"generator\" content=\"benchplan %s\">\n", h1(run.Environment.BenchplanVersion))
	dry := run.DryRun()
	title := verdictWord(v)
	if dry != "" {
		title += " (dry run on the simulator)"
	}
	h.p("<title>benchplan: %s %s</title>\n", h1(run.Plan), title)
	h.s("<style>\n" + htmlCSS + "</style>\n</head>\n<body>\n")

	// Header.
	h.p("<header class=\"top %s\">\n<div class=\"badge\">%s</div>\n<div>\n<h1>%s</h1>\n", verdictClass(v), strings.ToUpper(verdictClass(v)), h1(run.Plan))
	if d := planDescription(run); d != "" {
		h.p("<p class=\"desc\">%s</p>\n", h1(d))
	}
	var meta []string
	if !run.StartedAt.IsZero() {
		meta = append(meta, "started "+run.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		if run.FinishedAt.After(run.StartedAt) {
			meta = append(meta, "took "+FormatDuration(run.FinishedAt.Sub(run.StartedAt)))
		}
	}
	if run.PlanFile != "" {
		meta = append(meta, run.PlanFile)
	}
	if ver := run.Environment.BenchplanVersion; ver != "" {
		meta = append(meta, "benchplan "+ver)
	}
	h.p("<p class=\"meta\">%s</p>\n", h1(strings.Join(meta, " · ")))
	h.p("<p class=\"counts\">%s</p>\n", h1(plainCounts(t)))
	if dry != "" {
		h.p("<p class=\"dryrun\"><b>Dry run:</b> %s.</p>\n", h1(strings.TrimPrefix(dry, "dry run ")))
	}
	h.s("</div>\n</header>\n")
	if run.Error != "" {
		h.p("<div class=\"alert\"><b>Error:</b> %s</div>\n", hx(run.Error))
	}
	if setup := baselineSetup(run, h.opts); len(setup) > 0 {
		h.p("<div class=\"alert setup\"><b>%s differ in setup</b> (%s): %s.\n<ul>\n", hx(baselineWho), hx(baselineDirection), hx(baselineMeans))
		for _, d := range setup {
			h.p("<li>%s</li>\n", h1(d))
		}
		h.s("</ul></div>\n")
	}

	// Navigation.
	h.s("<nav>")
	h.s("<a href=\"#assertions\">Assertions</a>")
	if h.cmp != nil {
		h.s("<a href=\"#baseline\">Baseline</a>")
	}
	for i, sc := range scenarios(run) {
		h.p("<a href=\"#scenario-%d\">%s</a>", i, h1(sc.Name))
	}
	h.s("<a href=\"#setup\">Setup</a></nav>\n<main>\n")

	h.assertions()
	if h.cmp != nil {
		h.baseline()
	}
	for i, sc := range scenarios(run) {
		h.scenario(i, sc)
	}
	h.setup()
	h.s("</main>\n<footer>Made by benchplan")
	if ver := run.Environment.BenchplanVersion; ver != "" {
		h.p(" %s", h1(ver))
	}
	h.s(". One self-contained file: no scripts, nothing fetched. Every figure is in results.json; " +
		"definitions in docs/metrics.md.</footer>\n</body>\n</html>\n")
}

// planDescription is the plan's description from its echo, if any.
func planDescription(run *results.Run) string {
	if len(run.PlanConfig) == 0 {
		return ""
	}
	var p struct {
		Description string `json:"description"`
	}
	_ = json.Unmarshal(run.PlanConfig, &p)
	return p.Description
}

// plainCounts is the counts sentence without Markdown.
func plainCounts(t tally) string {
	return strings.ReplaceAll(mdCounts(t), "**", "")
}

func (h *htmlReport) assertions() {
	h.s("<section id=\"assertions\">\n<h2>Assertions</h2>\n")
	all := outcomes(h.run)
	var errs []*results.Scenario
	for _, sc := range scenarios(h.run) {
		if sc.Error != "" {
			errs = append(errs, sc)
		}
	}
	if len(all) == 0 && len(errs) == 0 {
		h.s("<p class=\"muted\">No assertions were checked.</p>\n</section>\n")
		return
	}
	h.s("<table class=\"outcomes\">\n<thead><tr><th></th><th>Scenario</th><th>Step</th><th>Assertion</th><th>Observed</th></tr></thead>\n<tbody>\n")
	for _, a := range all {
		o := a.o
		observed := o.Observed
		switch o.Verdict {
		case results.Pass, results.Warn, results.Inconclusive, results.Fail:
			observed = withNote(observed, outcomeNote(o))
		default:
			observed = strings.TrimSpace(observed + " (error: " + errorMessage(o) + ")")
		}
		expr := "<code>" + h1(o.Expr) + "</code>"
		if o.Name != "" {
			expr = h1(o.Name) + ": " + expr
		}
		v := o.Verdict
		if v != results.Pass && v != results.Fail && v != results.Warn && v != results.Inconclusive {
			v = results.Error
		}
		h.p("<tr class=\"%s\"><td><span class=\"pill %s\">%s</span></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			verdictClass(v), verdictClass(v), verdictClass(v), h1(a.sc.Name), h1(a.where()), expr, h1(observed))
	}
	for _, sc := range errs {
		h.p("<tr class=\"error\"><td><span class=\"pill error\">error</span></td><td>%s</td><td>—</td><td>scenario could not be carried out</td><td>%s</td></tr>\n",
			h1(sc.Name), h1(sc.Error))
	}
	h.s("</tbody>\n</table>\n</section>\n")
}

func (h *htmlReport) baseline() {
	c := h.cmp
	h.p("<section id=\"baseline\">\n<h2>Against the baseline</h2>\n<p>Baseline: %s. Threshold %s: %s.</p>\n",
		h1(c.BasePlan+mdBaselineWhen(h.opts.Baseline)), formatThreshold(c.Threshold), h1(compareSummary(c)))
	notable := append(c.Regressions(), c.Improvements()...)
	if len(notable) > 0 {
		h.deltaTable(notable)
	}
	if len(c.Deltas) > 0 {
		h.p("<details><summary>Every compared metric (%d)</summary>\n", len(c.Deltas))
		h.deltaTable(c.Deltas)
		h.s("</details>\n")
	}
	for _, u := range c.Unmatched {
		h.p("<p class=\"muted\">Not compared: %s</p>\n", h1(u))
	}
	h.s("</section>\n")
}

func (h *htmlReport) deltaTable(ds []Delta) {
	h.s("<table class=\"num\">\n<thead><tr><th></th><th>Scenario</th><th>Step</th><th>Metric</th><th>Base</th><th>Head</th><th>Change</th></tr></thead>\n<tbody>\n")
	for _, d := range ds {
		cls, word := "same", ""
		switch d.Change {
		case Regression:
			cls, word = "fail", "worse"
		case Improvement:
			cls, word = "pass", "better"
		}
		h.p("<tr><td><span class=\"pill %s\">%s</span></td><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td><td class=\"%s\">%s</td></tr>\n",
			cls, word, h1(d.Scenario), h1(d.stepText()), h1(d.Metric.Key), h1(d.Metric.format(d.Base)), h1(d.Metric.format(d.Head)), cls, h1(formatChange(d.Relative)))
	}
	h.s("</tbody>\n</table>\n")
}

func (h *htmlReport) scenario(i int, sc *results.Scenario) {
	sts := steps(sc)
	v := results.Pass
	for _, a := range scenarioOutcomes(sc) {
		v = results.Worse(v, a.o.Verdict)
	}
	if sc.Error != "" {
		v = results.Error
	}
	h.p("<section class=\"scenario\" id=\"scenario-%d\">\n<h2>%s <span class=\"pill %s\">%s</span></h2>\n", i, h1(sc.Name), verdictClass(v), verdictClass(v))
	var about []string
	if sc.Server != "" {
		s := "server " + sc.Server
		if sc.ServerURL != "" {
			s += " (" + sc.ServerURL + ")"
		}
		about = append(about, s)
	}
	for _, kv := range [][2]string{{"model", sc.Model}, {"load", sc.Load}, {"api", sc.API}} {
		if kv[1] != "" {
			about = append(about, kv[0]+" "+kv[1])
		}
	}
	if d := sc.Data; d != nil {
		s := "data " + d.Source
		if d.File != "" {
			s += " " + d.File
		}
		if d.PromptLengths != "" {
			s += ", " + d.PromptLengths + " prompt lengths"
		}
		about = append(about, s)
	}
	if len(about) > 0 {
		h.p("<p class=\"meta\">%s</p>\n", h1(strings.Join(about, " · ")))
	}
	if sc.Error != "" {
		h.p("<div class=\"alert\"><b>Could not be carried out:</b> %s</div>\n", hx(sc.Error))
	}
	var warns []string
	warns = append(warns, sc.Warnings...)
	for _, st := range sts {
		for _, w := range st.Warnings {
			if len(sts) > 1 {
				w = st.Label() + ": " + w
			}
			warns = append(warns, w)
		}
	}
	for _, st := range sts {
		if st.Metrics.Tokens.Source == "chunks" {
			warns = append(warns, "Output token counts are content-chunk counts: the server reported no usage.")
			break
		}
	}
	if len(warns) > 0 {
		h.s("<ul class=\"warnings\">\n")
		for _, w := range warns {
			h.p("<li>%s</li>\n", h1(w))
		}
		h.s("</ul>\n")
	}
	if sc.Capacity > 0 {
		h.p("<p>Capacity: <b>%s req/s sustained</b>, the highest of a step that passed every assertion (a rate step's offered rate, a closed loop's completed rate).</p>\n", formatRate(sc.Capacity))
	}
	if len(sts) == 0 {
		h.s("</section>\n")
		return
	}
	h.metricsTable(sts)

	var charts []figure
	if len(sts) > 1 {
		charts = append(charts, h.rateCharts(sc, sts)...)
	}
	charts = append(charts, timeline(sts)...)
	if len(charts) > 0 {
		h.s("<div class=\"charts\">\n")
		for _, c := range charts {
			h.figure(c)
		}
		h.s("</div>\n")
	}
	h.distributions(sts)
	h.s("</section>\n")
}

// metricsTable is a scenario's steps with htmlColumns, a row a step,
// marked with the step's verdict.
func (h *htmlReport) metricsTable(sts []*results.Step) {
	cols := withPhases(htmlColumns, sts)
	h.tableHead("Step", cols)
	for i, row := range stepRows(sts, cols, h1) {
		h.p("<tr class=\"%s\"><td>%s</td></tr>\n", verdictClass(sts[i].Verdict()), strings.Join(row, "</td><td>"))
	}
	h.s("</tbody>\n</table></div>\n")
	gcols := withPhases(groupColumns, sts)
	for _, t := range groupTables(sts, gcols, h1) {
		h.p("<h4>%s</h4>\n", h1(t.title))
		h.tableHead(strings.TrimPrefix(t.title, "By "), gcols)
		for _, row := range t.rows {
			h.p("<tr><td>%s</td></tr>\n", strings.Join(row, "</td><td>"))
		}
		h.s("</tbody>\n</table></div>\n")
	}
}

// tableHead opens a metrics table with its header row: first, then each
// column's title with its tip.
func (h *htmlReport) tableHead(first string, cols []stepColumn) {
	h.p("<div class=\"scroll\"><table class=\"num metrics\">\n<thead><tr><th>%s</th>", h1(first))
	for _, c := range cols {
		if c.tip != "" {
			h.p("<th title=\"%s\">%s</th>", hx(c.tip), h1(c.htmlTitle()))
		} else {
			h.p("<th>%s</th>", h1(c.htmlTitle()))
		}
	}
	h.s("</tr></thead>\n<tbody>\n")
}

// figure is a chart with its caption.
type figure struct {
	caption string
	chart   *chart
	wide    bool
}

func (h *htmlReport) figure(f figure) {
	cls := "fig"
	if f.wide {
		cls += " wide"
	}
	h.p("<figure class=\"%s\"><figcaption>%s</figcaption>%s</figure>\n", cls, h1(f.caption), f.chart.svg())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rateAxis is what the charts against rate put on x: the target rate
// when every step has one (a sweep), the streams when every step is a
// closed loop of streams, else the completed rate.
type rateAxis struct {
	label, short string
	of           func(*results.Step) (float64, bool)
	fmt          func(float64) string
}

func rateAxisFor(sts []*results.Step) rateAxis {
	target, streams := true, true
	for _, st := range sts {
		target = target && st.TargetRatePerSec > 0
		streams = streams && st.Load == "concurrent" && st.Streams > 0
	}
	switch {
	case target:
		return rateAxis{label: "target requests/s", short: "target rate",
			of:  func(st *results.Step) (float64, bool) { return st.TargetRatePerSec, st.TargetRatePerSec > 0 },
			fmt: func(v float64) string { return formatRate(v) + "/s target" }}
	case streams:
		return rateAxis{label: "concurrent streams", short: "streams",
			of: func(st *results.Step) (float64, bool) {
				return float64(st.Streams), st.Load == "concurrent" && st.Streams > 0
			},
			fmt: func(v float64) string { return plural(int(v), "stream") }}
	}
	return rateAxis{label: "completed requests/s", short: "completed rate",
		of:  func(st *results.Step) (float64, bool) { return st.Metrics.Requests.RatePerSec, true },
		fmt: func(v float64) string { return formatRate(v) + " completed req/s" }}
}

// rateCharts are the charts of figures against the steps' rate (see
// rateAxis), one point per step, the points in the order of x, so that a
// sweep's lines run from the lowest rate to the highest even where an
// overloaded server completed fewer requests at a higher target.
func (h *htmlReport) rateCharts(sc *results.Scenario, sts []*results.Step) []figure {
	ax := rateAxisFor(sts)
	ordered := func(sts []*results.Step) []*results.Step {
		var out []*results.Step
		for _, st := range sts {
			if _, ok := ax.of(st); ok {
				out = append(out, st)
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			a, _ := ax.of(out[i])
			b, _ := ax.of(out[j])
			return a < b
		})
		return out
	}
	sts = ordered(sts)
	series := func(name string, color int, sts []*results.Step, get func(*results.Step) (float64, bool), yfmt func(float64) string) line {
		l := line{name: name, color: color, markers: true}
		for _, st := range sts {
			y, ok := get(st)
			if !ok {
				continue
			}
			x, _ := ax.of(st)
			l.xs = append(l.xs, x)
			l.ys = append(l.ys, y)
			l.tips = append(l.tips, fmt.Sprintf("%s: %s %s (%s completed req/s)", st.Label(), name, yfmt(y), formatRate(st.Metrics.Requests.RatePerSec)))
		}
		return l
	}
	dist := func(d func(*results.Metrics) results.Distribution, p func(results.Distribution) time.Duration) func(*results.Step) (float64, bool) {
		return func(st *results.Step) (float64, bool) {
			x := d(&st.Metrics)
			return ms(p(x)), x.Count > 0
		}
	}
	ttft := func(m *results.Metrics) results.Distribution { return m.TTFT }
	tpot := func(m *results.Metrics) results.Distribution { return m.TPOT }
	lat := func(m *results.Metrics) results.Distribution { return m.Latency }
	p50 := func(d results.Distribution) time.Duration { return d.P50 }
	p95 := func(d results.Distribution) time.Duration { return d.P95 }
	p99 := func(d results.Distribution) time.Duration { return d.P99 }
	mk := func(title, ylabel string, kind axisKind, yfmt func(float64) string, ls ...line) *chart {
		return &chart{title: title, xLabel: ax.label, yLabel: ylabel, xFmt: ax.fmt, yFmt: yfmt, yKind: kind, lines: ls}
	}

	ttftChart := mk("TTFT against the "+ax.short, "TTFT", durationAxis, fmtMS,
		series("TTFT p50", 0, sts, dist(ttft, p50), fmtMS),
		series("TTFT p95", 1, sts, dist(ttft, p95), fmtMS))
	// The baseline's TTFT p95 for the same steps, dashed.
	if h.opts.Baseline != nil {
		for _, bsc := range scenarios(h.opts.Baseline) {
			if bsc.Name != sc.Name {
				continue
			}
			bl := series("TTFT p95", 1, ordered(steps(bsc)), dist(ttft, p95), fmtMS)
			bl.name, bl.dashed = "baseline TTFT p95", true
			for i := range bl.tips {
				bl.tips[i] = "baseline " + bl.tips[i]
			}
			if len(bl.xs) > 0 {
				ttftChart.lines = append(ttftChart.lines, bl)
			}
		}
	}
	// TPOT is tens of milliseconds where TTFT may be seconds: a chart of
	// its own, on its own scale.
	tpotChart := mk("TPOT against the "+ax.short, "TPOT", durationAxis, fmtMS,
		series("TPOT p50", 0, sts, dist(tpot, p50), fmtMS),
		series("TPOT p95", 1, sts, dist(tpot, p95), fmtMS))
	latChart := mk("Request latency against the "+ax.short, "latency", durationAxis, fmtMS,
		series("latency p50", 0, sts, dist(lat, p50), fmtMS),
		series("latency p95", 1, sts, dist(lat, p95), fmtMS),
		series("latency p99", 3, sts, dist(lat, p99), fmtMS))
	tokFmt := func(v float64) string { return formatRate(v) + " tokens/s" }
	tokChart := mk("Output tokens per second against the "+ax.short, "output tokens/s", plainAxis, nil,
		series("output tokens/s", 2, sts, func(st *results.Step) (float64, bool) {
			return st.Metrics.Tokens.OutputRatePerSec, true
		}, tokFmt))
	out := []figure{
		{caption: "TTFT vs " + ax.short, chart: ttftChart},
		{caption: "TPOT vs " + ax.short, chart: tpotChart},
		{caption: "Request latency vs " + ax.short, chart: latChart},
		{caption: "Output tokens/s vs " + ax.short, chart: tokChart},
	}
	errs := false
	for _, st := range sts {
		errs = errs || st.Metrics.Errors.Rate > 0
	}
	if errs {
		pct := func(v float64) string { return trimFloat(v, 2) + "%" }
		out = append(out, figure{caption: "Error rate vs " + ax.short, chart: mk("Error rate against the "+ax.short, "errors", percentAxis, pct,
			series("errors", 3, sts, func(st *results.Step) (float64, bool) {
				return 100 * st.Metrics.Errors.Rate, st.Metrics.Requests.Total > 0
			}, pct))})
	}
	return out
}

// timeline lays the steps' series end to end and draws them over time:
// in flight, output tokens/s, requests/s, then each telemetry name.
func timeline(sts []*results.Step) []figure {
	var inflight, tokens, sent, done, failed line
	inflight = line{name: "requests in flight", color: 0}
	tokens = line{name: "output tokens/s", color: 2}
	sent = line{name: "sent/s", color: 1, dashed: true}
	done = line{name: "completed/s", color: 0}
	failed = line{name: "errors/s", color: 3}
	var marks []vmark
	offset := 0.0
	hasSeries := false
	type tele struct {
		name, unit string
		lines      []line
		index      map[string]int
	}
	var teles []*tele
	teleBy := map[string]*tele{}
	for si, st := range sts {
		s := st.Series
		span := 0.0
		if s != nil && s.Len() > 0 {
			span = float64(s.Len()) * ms(time.Duration(s.Interval)) / 1000
		} else {
			span = ms(time.Duration(st.Metrics.Duration)) / 1000
		}
		if len(sts) > 1 {
			marks = append(marks, vmark{x: offset, label: st.Label(), short: fmt.Sprintf("step %d", si+1), class: "step"})
		}
		if s != nil && s.Len() > 0 {
			hasSeries = true
			iv := ms(time.Duration(s.Interval)) / 1000
			n := s.Len()
			tok := make([]float64, n)
			snt := make([]float64, n)
			comp := make([]float64, n)
			errs := make([]float64, n)
			for i := 0; i < n; i++ {
				tok[i] = at(s.OutputTokens, i) / iv
				snt[i] = float64(atInt(s.Sent, i)) / iv
				comp[i] = float64(atInt(s.Completed, i)) / iv
				errs[i] = float64(atInt(s.Errored, i)) / iv
			}
			// Per-bucket counts of a few requests jump between 0 and 2/iv:
			// rates are drawn as a moving mean over about 2% of the
			// step (at least 1s), which keeps their level readable.
			k := max(int(math.Round(max(1/iv, float64(n)/50))), 1)
			tok, snt, comp, errs = movingMean(tok, k), movingMean(snt, k), movingMean(comp, k), movingMean(errs, k)
			for i := 0; i < n; i++ {
				x := offset + (float64(i)+0.5)*iv
				inflight.xs, inflight.ys = append(inflight.xs, x), append(inflight.ys, s.InFlight[i])
				tokens.xs, tokens.ys = append(tokens.xs, x), append(tokens.ys, tok[i])
				sent.xs, sent.ys = append(sent.xs, x), append(sent.ys, snt[i])
				done.xs, done.ys = append(done.xs, x), append(done.ys, comp[i])
				failed.xs, failed.ys = append(failed.xs, x), append(failed.ys, errs[i])
			}
			// Break the lines between steps.
			for _, l := range []*line{&inflight, &tokens, &sent, &done, &failed} {
				l.xs, l.ys = append(l.xs, nan()), append(l.ys, nan())
			}
		}
		for _, tm := range st.Telemetry {
			if len(tm.At) == 0 {
				continue
			}
			t := teleBy[tm.Name]
			if t == nil {
				t = &tele{name: tm.Name, unit: tm.Unit, index: map[string]int{}}
				teleBy[tm.Name] = t
				teles = append(teles, t)
			}
			li, ok := t.index[tm.Label]
			if !ok {
				li = len(t.lines)
				t.index[tm.Label] = li
				name := tm.Label
				if name == "" {
					name = tm.Name
				}
				t.lines = append(t.lines, line{name: name, color: li})
			}
			l := &t.lines[li]
			for i, a := range tm.At {
				if i < len(tm.Values) {
					l.xs = append(l.xs, offset+ms(time.Duration(a))/1000)
					l.ys = append(l.ys, tm.Values[i])
				}
			}
			l.xs, l.ys = append(l.xs, nan()), append(l.ys, nan())
		}
		offset += span
	}
	var out []figure
	// A duration axis whose ticks name their unit ("45s", "1m30s").
	xl := "time since the scenario's first step"
	yKind := plainAxis
	mk := func(title, ylabel string, ls ...line) *chart {
		return &chart{title: title, xLabel: xl, yLabel: ylabel, xFmt: fmtSeconds, xTick: fmtSeconds, lines: ls, marks: marks, yKind: yKind,
			xFixed: true, xMin: 0, xMax: offset}
	}
	if hasSeries && offset > 0 {
		inflight.name = ""
		tokens.name = ""
		out = append(out,
			figure{caption: "Requests in flight over time", chart: mk("Requests in flight over time", "requests", splitNaN(inflight)...)},
			figure{caption: "Output tokens/s over time (moving mean)", chart: mk("Output tokens per second over time", "tokens/s", splitNaN(tokens)...)},
			figure{caption: "Sent, completed and failed requests/s over time (moving mean)", chart: mk("Sent, completed and failed requests per second over time", "requests/s", slices.Concat(splitNaN(sent), splitNaN(done), splitNaN(failed))...)},
		)
	}
	sort.SliceStable(teles, func(i, j int) bool { return teles[i].name < teles[j].name })
	for _, t := range teles {
		var ls []line
		for _, l := range t.lines {
			ls = append(ls, splitNaN(l)...)
		}
		ylabel := t.unit
		if t.unit == "bytes" {
			// Scale to the unit of the largest value, so ticks are round.
			top := 0.0
			for _, l := range ls {
				for _, y := range l.ys {
					top = math.Max(top, y)
				}
			}
			div, unit := byteUnit(top)
			for i := range ls {
				ys := make([]float64, len(ls[i].ys))
				for j, y := range ls[i].ys {
					ys[j] = y / div
				}
				ls[i].ys = ys
			}
			ylabel = unit
		}
		// Fractions (KV cache usage) and percentages (utilisation) on
		// 0–100%, however little of it they used.
		switch t.unit {
		case "fraction":
			for i := range ls {
				ys := make([]float64, len(ls[i].ys))
				for j, y := range ls[i].ys {
					ys[j] = 100 * y
				}
				ls[i].ys = ys
			}
			yKind, ylabel = percentAxis, ""
		case "%":
			yKind, ylabel = percentAxis, ""
		}
		c := mk(t.name+" over time", ylabel, ls...)
		yKind = plainAxis
		out = append(out, figure{caption: "Telemetry: " + t.name, chart: c})
	}
	return out
}

// splitNaN cuts a line at NaN points into runs; only the first run keeps
// the name, so the legend lists the series once.
func splitNaN(l line) []line {
	var out []line
	cur := line{name: l.name, color: l.color, dashed: l.dashed, markers: l.markers}
	flush := func() {
		if len(cur.xs) > 0 {
			out = append(out, cur)
		}
		cur = line{color: l.color, dashed: l.dashed, markers: l.markers}
		if len(out) == 0 {
			cur.name = l.name
		}
	}
	for i := range l.xs {
		if !finite(l.xs[i]) || !finite(l.ys[i]) {
			flush()
			continue
		}
		cur.xs, cur.ys = append(cur.xs, l.xs[i]), append(cur.ys, l.ys[i])
	}
	flush()
	return out
}

func nan() float64 { return math.NaN() }

// movingMean is the centred moving mean of v over k points (fewer at the
// ends).
func movingMean(v []float64, k int) []float64 {
	if k <= 1 {
		return v
	}
	out := make([]float64, len(v))
	for i := range v {
		lo, hi := max(i-k/2, 0), min(i+(k-1)/2, len(v)-1)
		sum := 0.0
		for j := lo; j <= hi; j++ {
			sum += v[j]
		}
		out[i] = sum / float64(hi-lo+1)
	}
	return out
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func atInt(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// byteUnit picks the binary unit for byte values up to top.
func byteUnit(top float64) (float64, string) {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	div := 1.0
	i := 0
	for top >= 1024*div && i < len(units)-1 {
		div *= 1024
		i++
	}
	return div, units[i]
}

// distributions draws each step's TTFT and latency histograms and lists
// every distribution's figures.
func (h *htmlReport) distributions(sts []*results.Step) {
	open := " open"
	if len(sts) > 3 {
		open = ""
	}
	h.p("<details%s><summary>Distributions per step</summary>\n", open)
	for _, st := range sts {
		if len(sts) > 1 {
			h.p("<h3>%s</h3>\n", h1(st.Label()))
		}
		var figs []figure
		if hs := st.Histograms; hs != nil {
			for _, x := range []struct {
				name string
				h    *results.Histogram
				d    results.Distribution
			}{{"TTFT", hs.TTFT, st.Metrics.TTFT}, {"Latency", hs.Latency, st.Metrics.Latency}} {
				if x.h == nil {
					continue
				}
				figs = append(figs, figure{caption: x.name + " distribution", chart: histChart(x.name, x.h, x.d)})
			}
		}
		if len(figs) > 0 {
			h.s("<div class=\"charts\">\n")
			for _, f := range figs {
				h.figure(f)
			}
			h.s("</div>\n")
		}
		h.s("<div class=\"scroll\"><table class=\"num\">\n<thead><tr><th>Metric</th><th>Count</th><th>Mean</th><th>Std</th><th>Min</th>" +
			"<th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>Max</th></tr></thead>\n<tbody>\n")
		for _, d := range append(distributions(&st.Metrics), namedDist{"client_lag", "Client lag", st.Metrics.ClientLag}) {
			x := d.dist
			if x.Count == 0 {
				continue
			}
			h.p("<tr><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				d.title, x.Count, FormatDuration(x.Mean), FormatDuration(x.Std), FormatDuration(x.Min), FormatDuration(x.P50),
				FormatDuration(x.P90), FormatDuration(x.P95), FormatDuration(x.P99), FormatDuration(x.P999), FormatDuration(x.Max))
		}
		h.s("</tbody>\n</table></div>\n")
	}
	h.s("</details>\n")
}

// histChart draws a histogram in milliseconds with p50, p95 and p99 marked.
func histChart(name string, hg *results.Histogram, d results.Distribution) *chart {
	hist := &histogram{
		start: ms(time.Duration(hg.Start)), width: ms(time.Duration(hg.Width)), counts: hg.Counts, overflow: hg.Overflow,
		tip: func(lo, hi float64, n int) string {
			return fmt.Sprintf("%s–%s: %s", fmtMS(lo), fmtMS(hi), plural(n, "request"))
		},
	}
	c := &chart{title: name + " distribution", xLabel: name, yLabel: "requests", xFmt: fmtMS, xKind: durationAxis, hist: hist}
	if d.Count > 0 {
		c.marks = []vmark{
			{x: ms(d.P50), label: "p50 " + FormatDuration(d.P50), class: "pct"},
			{x: ms(d.P95), label: "p95 " + FormatDuration(d.P95), class: "pct"},
			{x: ms(d.P99), label: "p99 " + FormatDuration(d.P99), class: "pct"},
		}
	}
	return c
}

func (h *htmlReport) setup() {
	run := h.run
	h.s("<section id=\"setup\">\n<h2>Setup</h2>\n")
	if srv := serverRows(run); len(srv) > 0 {
		h.s("<div class=\"scroll\"><table>\n<thead><tr><th>Server</th><th>Kind</th><th>Image</th><th>Model</th><th>Arguments</th><th>URL</th></tr></thead>\n<tbody>\n")
		for _, s := range srv {
			args := ""
			if s.args != "" {
				args = "<code>" + h1(s.args) + "</code>"
			}
			h.p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				h1(s.name), h1(s.kind), h1(s.image), h1(s.model), args, h1(s.url))
		}
		h.s("</tbody>\n</table></div>\n")
	}
	h.s("<ul>\n")
	for _, l := range environmentLines(run) {
		h.p("<li>%s</li>\n", h1(l))
	}
	h.s("</ul>\n")
	if len(run.PlanConfig) > 0 {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, run.PlanConfig, "", "  "); err != nil {
			pretty.Reset()
			pretty.Write(run.PlanConfig)
		}
		h.p("<details><summary>The plan as run (defaults applied, secrets redacted)</summary>\n<pre>%s</pre>\n</details>\n", hx(pretty.String()))
	}
	h.s("</section>\n")
}

const htmlCSS = `:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --panel: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --warn: #9a6700; --warn-bg: #fff8c5; --error: #bc4c00; --error-bg: #fff1e5;
  --inconclusive: #8250df; --inconclusive-bg: #fbefff;
  --c0: #4e79a7; --c1: #f28e2b; --c2: #59a14f; --c3: #e15759; --c4: #76b7b2;
  --c5: #edc948; --c6: #b07aa1; --c7: #ff9da7; --c8: #9c755f; --c9: #bab0ac;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --panel: #161b22;
    --pass: #3fb950; --pass-bg: #12261e; --fail: #f85149; --fail-bg: #2d1214;
    --warn: #d29922; --warn-bg: #272115; --error: #db6d28; --error-bg: #2b1a10;
    --inconclusive: #a371f7; --inconclusive-bg: #231a33;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.top { display: flex; gap: 20px; align-items: center; padding: 20px 32px; border-bottom: 1px solid var(--line);
  border-left: 8px solid var(--muted); }
header.top.pass { border-left-color: var(--pass); }
header.top.warn { border-left-color: var(--warn); }
header.top.fail { border-left-color: var(--fail); }
header.top.error { border-left-color: var(--error); }
header.top.inconclusive { border-left-color: var(--inconclusive); }
header h1 { margin: 0; font-size: 24px; }
.badge { font-weight: 700; font-size: 15px; letter-spacing: .06em; padding: 8px 14px; border-radius: 6px; color: #fff; background: var(--muted); }
.pass .badge { background: var(--pass); } .warn .badge { background: var(--warn); }
.fail .badge { background: var(--fail); } .error .badge { background: var(--error); }
.inconclusive .badge { background: var(--inconclusive); }
.dryrun { margin: 6px 0 0; padding: 4px 10px; border-left: 4px solid var(--warn); background: var(--warn-bg); border-radius: 0 4px 4px 0; }
.meta, .desc, .muted { color: var(--muted); margin: 2px 0; }
.counts { margin: 4px 0 0; font-weight: 600; }
nav { position: sticky; top: 0; z-index: 1; background: var(--bg); border-bottom: 1px solid var(--line);
  padding: 8px 32px; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav a { color: var(--c0); text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { padding: 8px 32px 24px; max-width: 1440px; }
section { margin: 20px 0 32px; }
h2 { font-size: 20px; margin: 0 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
table.num td:not(:first-child), table.num th:not(:first-child) { text-align: right; white-space: nowrap; }
table.num td:first-child { white-space: nowrap; }
table.metrics tr.fail td:first-child { box-shadow: inset 4px 0 var(--fail); }
table.metrics tr.error td:first-child { box-shadow: inset 4px 0 var(--error); }
table.metrics tr.inconclusive td:first-child { box-shadow: inset 4px 0 var(--inconclusive); }
td.fail { color: var(--fail); font-weight: 600; } td.pass { color: var(--pass); font-weight: 600; }
.scroll { overflow-x: auto; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--panel); padding: 1px 4px; border-radius: 4px; }
pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--panel);
  border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto; max-height: 480px; }
.pill { display: inline-block; font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em;
  padding: 1px 8px; border-radius: 10px; vertical-align: middle; background: var(--panel); color: var(--muted); }
.pill.pass { background: var(--pass-bg); color: var(--pass); } .pill.fail { background: var(--fail-bg); color: var(--fail); }
.pill.warn { background: var(--warn-bg); color: var(--warn); } .pill.error { background: var(--error-bg); color: var(--error); }
.pill.inconclusive { background: var(--inconclusive-bg); color: var(--inconclusive); }
tr.fail td { background: var(--fail-bg); } tr.error td { background: var(--error-bg); } tr.warn td { background: var(--warn-bg); }
tr.inconclusive td { background: var(--inconclusive-bg); }
table.metrics tr td { background: none; }
.alert { margin: 12px 32px; padding: 10px 14px; border: 1px solid var(--error); background: var(--error-bg); border-radius: 6px; white-space: pre-wrap; }
section .alert { margin: 8px 0; }
.alert.setup { border-color: var(--warn); background: var(--warn-bg); white-space: normal; }
.alert.setup ul { margin: 4px 0 0; }
ul.warnings { list-style: none; padding: 0; margin: 8px 0; }
ul.warnings li { padding: 4px 10px; margin: 4px 0; border-left: 4px solid var(--warn); background: var(--warn-bg); border-radius: 0 4px 4px 0; }
ul.warnings li::before { content: "⚠ "; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px 20px; margin: 12px 0; }
figure { margin: 0; padding: 8px 10px 4px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); }
figure.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 2px; }
details { margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; color: var(--c0); }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; fill: var(--fg); }
svg.chart .grid line { stroke: var(--line); stroke-width: 1; }
svg.chart .axis line { stroke: var(--muted); stroke-width: 1; }
svg.chart .axis text { fill: var(--muted); }
svg.chart .axis text.label { fill: var(--fg); font-weight: 600; }
svg.chart .frame { fill: none; stroke: var(--line); }
svg.chart .nodata, svg.chart .note { fill: var(--muted); font-style: italic; }
svg.chart polyline, svg.chart .legend line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .dashed { stroke-dasharray: 6 4; }
svg.chart .bars rect { fill: var(--c0); opacity: .85; }
svg.chart .bars rect:hover { opacity: 1; }
svg.chart circle { stroke: var(--bg); stroke-width: 1; }
svg.chart circle:hover { r: 5.5; }
svg.chart .vm { stroke-width: 1; stroke-dasharray: 3 3; }
svg.chart .vm.step { stroke: var(--muted); }
svg.chart .vm.pct { stroke: var(--c3); }
svg.chart .vml { fill: var(--muted); font-size: 10px; }
.s0 { stroke: var(--c0); } .s1 { stroke: var(--c1); } .s2 { stroke: var(--c2); } .s3 { stroke: var(--c3); } .s4 { stroke: var(--c4); }
.s5 { stroke: var(--c5); } .s6 { stroke: var(--c6); } .s7 { stroke: var(--c7); } .s8 { stroke: var(--c8); } .s9 { stroke: var(--c9); }
.m0 { fill: var(--c0); } .m1 { fill: var(--c1); } .m2 { fill: var(--c2); } .m3 { fill: var(--c3); } .m4 { fill: var(--c4); }
.m5 { fill: var(--c5); } .m6 { fill: var(--c6); } .m7 { fill: var(--c7); } .m8 { fill: var(--c8); } .m9 { fill: var(--c9); }
footer { color: var(--muted); padding: 16px 32px 32px; border-top: 1px solid var(--line); font-size: 12px; }
@media print { nav { position: static; } details { display: block; } }
`
