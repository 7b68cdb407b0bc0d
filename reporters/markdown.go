package reporters

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/benchplan/benchplan/results"
)

// markdownLimit is the most bytes Markdown writes. GitHub refuses comments
// over 65,536 characters; bytes are never fewer than characters, so a
// byte limit with some room is safe whatever the text.
const markdownLimit = 65000

// maxCell caps one table cell (in runes) so no single message can crowd
// out the rest of a summary.
const maxCell = 300

// Markdown writes summary.md with no baseline; see MarkdownWith.
func Markdown(w io.Writer, run *results.Run) error { return MarkdownWith(w, run, Options{}) }

// MarkdownWith writes summary.md, meant as a pull-request comment:
//
//   - first line, a hidden marker "<!-- benchplan:plan=NAME -->" a bot can
//     search for to update its own comment (NAME has any "-->" written as
//     "--&gt;" and line breaks folded, so the comment cannot end early);
//   - a title: "### ✅ benchplan: NAME passed", "### ❔ … was inconclusive",
//     "### ❌ … failed" or "### ⚠️ … could not be evaluated", followed, for
//     a run where the simulator answered in a server's place, by " — dry
//     run on the simulator (profile …), not a measurement of …"; then the
//     counts, the comparison with the baseline when there is one (with a
//     warning when the baseline's setup differs), and any run error;
//   - a table of every assertion outcome (✅ pass, ❌ fail, 🟡 a warn-only
//     assertion that did not hold, ❔ inconclusive, ⚠️ not evaluable;
//     scenario, step, assertion, observed), with a ⚠️ row for each
//     scenario that could not be carried out;
//   - with a baseline, the metrics that changed beyond the threshold, with
//     direction and percent (🔴 worse, 🟢 better);
//   - per scenario, a table of its steps' key metrics and its warnings;
//   - inside <details>: every distribution per scenario and step, every
//     compared metric, and the setup (servers, benchplan, machine);
//   - a footer with the benchplan version, start time and wall time.
//
// Cell text is escaped for GitHub tables ("|" as "\|", Markdown
// punctuation backslash-escaped, expressions in code spans). The output
// stays under 65,000 bytes: when the full summary would not, the
// <details> sections go first, then passing rows, then metrics rows
// (failing and unevaluable rows are kept first), and a note says what was
// left out (results.json has it all).
func MarkdownWith(w io.Writer, run *results.Run, opts Options) error {
	if run == nil {
		return errNilRun
	}
	_, err := io.WriteString(w, renderMarkdown(run, opts, markdownLimit))
	return err
}

// renderMarkdown is summary.md within limit bytes: the head, then the
// body that fits (mdFit), then the footer.
func renderMarkdown(run *results.Run, opts Options, limit int) string {
	var cmp *Comparison
	if opts.Baseline != nil {
		cmp = Compare(opts.Baseline, run, opts.threshold())
	}
	head, foot := mdHead(run, opts, cmp), mdFoot(run)
	const noteRoom = 300
	f := mdFit{budget: limit - len(head) - len(foot) - noteRoom}
	f.assertions(mdAssertionRows(run))
	for _, b := range mdBlocks(run, cmp) {
		f.block(b)
	}
	for _, d := range mdDetails(run, cmp) {
		f.details(d)
	}
	body := f.body()
	out := head + body // head ends in a blank line
	if foot != "" {
		if body != "" {
			out += "\n"
		}
		out += foot
	}
	return out
}

// mdHead is the summary's top: the hidden marker, the title with the
// verdict (and a dry run's label), the counts, the comparison with the
// baseline and a warning when its setup differs, and the run's error. It
// ends in a blank line.
func mdHead(run *results.Run, opts Options, cmp *Comparison) string {
	t := count(run)
	var head strings.Builder
	fmt.Fprintf(&head, "<!-- benchplan:plan=%s -->\n", mdMarker(run.Plan))
	title := map[results.Verdict]string{
		results.Pass:         "✅ benchplan: %s passed",
		results.Warn:         "✅ benchplan: %s passed with warnings",
		results.Inconclusive: "❔ benchplan: %s was inconclusive",
		results.Fail:         "❌ benchplan: %s failed",
	}[t.verdict(run)]
	if title == "" {
		title = "⚠️ benchplan: %s could not be evaluated"
	}
	fmt.Fprintf(&head, "### "+title, mdText(run.Plan))
	if d := run.DryRun(); d != "" {
		head.WriteString(" — " + mdText(d))
	}
	head.WriteString("\n\n")
	head.WriteString(mdCounts(t))
	if cmp != nil {
		fmt.Fprintf(&head, " Against the baseline%s: %s.", mdBaselineWhen(opts.Baseline), mdText(compareSummary(cmp)))
	}
	head.WriteString("\n\n")
	if setup := baselineSetup(run, opts); len(setup) > 0 {
		head.WriteString(setupChangeMarkdown(baselineWho, baselineDirection, baselineMeans, setup) + "\n")
	}
	if run.Error != "" {
		fmt.Fprintf(&head, "> **Error:** %s\n\n", mdTextN(run.Error, 2000))
	}
	return head.String()
}

// mdFoot is the footer: the benchplan version, the start and the wall
// time; "" when none is known.
func mdFoot(run *results.Run) string {
	var about []string
	if ver := run.Environment.BenchplanVersion; ver != "" {
		about = append(about, "benchplan "+mdText(ver))
	}
	if !run.StartedAt.IsZero() {
		about = append(about, "started "+run.StartedAt.UTC().Format(time.RFC3339))
		if run.FinishedAt.After(run.StartedAt) {
			about = append(about, "took "+FormatDuration(run.FinishedAt.Sub(run.StartedAt)))
		}
	}
	if len(about) == 0 {
		return ""
	}
	return fmt.Sprintf("<sub>%s</sub>\n", strings.Join(about, " · "))
}

// mdRow is a row of the assertions table with its verdict, which decides
// whether it is kept when the summary is shortened.
type mdRow struct {
	verdict results.Verdict
	text    string
}

// mdAssertionRows is a row per assertion outcome, and a ⚠️ row for each
// scenario that could not be carried out.
func mdAssertionRows(run *results.Run) []mdRow {
	var rows []mdRow
	for _, sc := range scenarios(run) {
		for _, a := range scenarioOutcomes(sc) {
			o := a.o
			observed := o.Observed
			verdict := o.Verdict
			switch o.Verdict {
			case results.Pass, results.Warn, results.Inconclusive, results.Fail:
				observed = withNote(observed, outcomeNote(o))
			default:
				verdict = results.Error
				observed = strings.TrimSpace(observed + " (error: " + errorMessage(o) + ")")
			}
			expr := mdCode(o.Expr)
			if o.Name != "" {
				expr = mdText(o.Name) + ": " + expr
			}
			rows = append(rows, mdRow{verdict, mdTableRow([]string{mdMark(verdict), mdText(sc.Name), mdText(a.where()), expr, mdText(observed)})})
		}
		if sc.Error != "" {
			rows = append(rows, mdRow{results.Error, mdTableRow([]string{"⚠️", mdText(sc.Name), "—", "scenario could not be carried out", mdText(sc.Error)})})
		}
	}
	return rows
}

// mdBlock is a table that may lose rows to fit: its heading and header
// (all or nothing), its rows, and notes under it (kept with the head).
type mdBlock struct {
	head []string
	rows []string
	tail []string
}

// mdBlocks are the tables of rows, most important first: the changes
// against the baseline beyond its threshold, then per scenario its steps'
// metrics and its telemetry.
func mdBlocks(run *results.Run, cmp *Comparison) []mdBlock {
	var blocks []mdBlock
	if cmp != nil {
		var notable []string
		for _, d := range append(cmp.Regressions(), cmp.Improvements()...) {
			notable = append(notable, mdDeltaRow(d))
		}
		if len(notable) > 0 {
			blocks = append(blocks, mdBlock{
				head: []string{"", "#### Changes against the baseline beyond " + formatThreshold(cmp.Threshold), "",
					strings.TrimSuffix(mdDeltaHead, "\n")},
				rows: notable,
			})
		}
	}
	for _, sc := range scenarios(run) {
		sts := steps(sc)
		if len(sts) == 0 {
			continue
		}
		blocks = append(blocks, mdStepsBlock(sc, sts))
		if tb, ok := mdTelemetryBlock(sts); ok {
			blocks = append(blocks, tb)
		}
	}
	return blocks
}

// mdStepsBlock is a scenario's heading, its steps' metrics
// (markdownColumns) and its notes.
func mdStepsBlock(sc *results.Scenario, sts []*results.Step) mdBlock {
	var about []string
	if sc.Server != "" {
		about = append(about, "server "+mdText(sc.Server))
	}
	if sc.Model != "" {
		about = append(about, "model "+mdText(sc.Model))
	}
	if sc.Load != "" {
		about = append(about, "load "+mdText(sc.Load))
	}
	title := "#### " + mdText(sc.Name)
	if len(about) > 0 {
		title += " (" + strings.Join(about, ", ") + ")"
	}
	cols := withPhases(markdownColumns, sts)
	cells := []string{"Step"}
	for _, c := range cols {
		cells = append(cells, mdText(c.title))
	}
	b := mdBlock{head: append([]string{"", title, ""}, mdTableHead(cells)...)}
	for _, r := range stepRows(sts, cols, mdText) {
		b.rows = append(b.rows, mdTableRow(r))
	}
	b.tail = mdGroupTables(sts)
	if notes := mdStepNotes(sc, sts); len(notes) > 0 {
		b.tail = append(b.tail, "")
		b.tail = append(b.tail, notes...)
	}
	return b
}

// mdGroupTables are the tables of the steps' groups (per model, turn or
// window: groupColumns), each folded in a <details> so a pull request
// shows the steps first.
func mdGroupTables(sts []*results.Step) []string {
	cols := withPhases(groupColumns, sts)
	var out []string
	for _, t := range groupTables(sts, cols, mdText) {
		cells := []string{strings.TrimPrefix(t.title, "By ")}
		for _, c := range cols {
			cells = append(cells, mdText(c.title))
		}
		out = append(out, "", fmt.Sprintf("<details><summary>%s (%d)</summary>", t.title, len(t.rows)), "")
		out = append(out, mdTableHead(cells)...)
		for _, r := range t.rows {
			out = append(out, mdTableRow(r))
		}
		out = append(out, "", "</details>")
	}
	return out
}

// mdStepNotes are the notes under a scenario's metrics: its steps'
// warnings, what the server said of each error, the scenario's warnings,
// its capacity, and whether token counts are chunk counts.
func mdStepNotes(sc *results.Scenario, sts []*results.Step) []string {
	var notes []string
	// With several steps, a note names its step.
	prefix := func(st *results.Step, sep string) string {
		if len(sts) > 1 {
			return mdText(st.Label()) + sep
		}
		return ""
	}
	chunks := false
	for _, st := range sts {
		chunks = chunks || st.Metrics.Tokens.Source == "chunks"
		for _, w := range st.Warnings {
			notes = append(notes, "- ⚠️ "+prefix(st, ": ")+mdText(w))
		}
	}
	for _, st := range sts {
		for _, r := range st.Metrics.Errors.ReasonKeys() {
			if sample := st.Metrics.Errors.Samples[r]; sample != "" {
				notes = append(notes, fmt.Sprintf("- Errors (%s%s ×%d): %s", prefix(st, ", "), mdText(r), st.Metrics.Errors.Reasons[r], mdTextN(sample, maxSampleRunes)))
			}
		}
	}
	for _, w := range sc.Warnings {
		notes = append(notes, "- ⚠️ "+mdText(w))
	}
	if sc.Capacity > 0 {
		notes = append(notes, fmt.Sprintf("- Capacity: **%s req/s sustained**, the highest of a step that passed every assertion (a rate step's offered rate, a closed loop's completed rate).", formatRate(sc.Capacity)))
	}
	if chunks {
		notes = append(notes, "- Output token counts are content-chunk counts: the server reported no usage.")
	}
	return notes
}

// mdTelemetryBlock is the telemetry summary of a scenario's steps
// (telemetryRows); ok is false when there is none.
func mdTelemetryBlock(sts []*results.Step) (b mdBlock, ok bool) {
	head, rows, notes := telemetryRows(sts)
	if len(rows) == 0 && len(notes) == 0 {
		return b, false
	}
	b.head = []string{"", "Telemetry (the server's /metrics and nvidia-smi, over each step's measured window):"}
	if len(rows) > 0 {
		cells := make([]string, len(head))
		for i, h := range head {
			cells[i] = mdText(strings.ToUpper(h[:1]) + h[1:])
		}
		b.head = append(b.head, "")
		b.head = append(b.head, mdTableHead(cells)...)
		for _, r := range rows {
			for i := range r {
				r[i] = mdText(r[i])
			}
			b.rows = append(b.rows, mdTableRow(r))
		}
	}
	if len(notes) > 0 {
		b.tail = append(b.tail, "")
		for _, n := range notes {
			b.tail = append(b.tail, "- "+mdText(n))
		}
	}
	return b, true
}

// mdTableHead is a table's header and alignment lines: the first column
// aligned left, the others (figures) right.
func mdTableHead(cells []string) []string {
	return []string{mdTableRow(cells), "|---" + strings.Repeat("|---:", len(cells)-1) + "|"}
}

// mdTableRow is a table row of cells already escaped.
func mdTableRow(cells []string) string { return "| " + strings.Join(cells, " | ") + " |" }

// mdDetails are the <details> sections, in the order they are dropped
// last to first: every distribution per scenario, every metric against
// the baseline, the setup.
func mdDetails(run *results.Run, cmp *Comparison) []string {
	var details []string
	for _, sc := range scenarios(run) {
		if d := mdDistributions(sc); d != "" {
			details = append(details, d)
		}
	}
	if cmp != nil && len(cmp.Deltas) > 0 {
		details = append(details, mdDeltaDetails(fmt.Sprintf("Every metric against the baseline (%d)", len(cmp.Deltas)), cmp.Deltas))
	}
	return append(details, mdSetup(run))
}

// mdAssertionsHead is the assertions table's header.
const mdAssertionsHead = "| | Scenario | Step | Assertion | Observed |\n|---|---|---|---|---|\n"

// mdFit writes a summary's body within a budget of bytes, most important
// first: failing and unevaluable assertion rows, passing rows, the blocks
// (a block's rows as far as they fit, after its head and tail), the
// details sections; and counts what it left out.
type mdFit struct {
	budget int
	b      strings.Builder // empty, or ends in "\n"
	// omittedRows, omittedMetrics and omittedDetails count the assertion
	// rows, metrics rows and details sections left out.
	omittedRows, omittedMetrics, omittedDetails int
}

// assertions writes the assertions table: the rows that are not passes
// first, then the passes, as far as they fit, in their order.
func (f *mdFit) assertions(rows []mdRow) {
	if len(rows) == 0 {
		return
	}
	f.budget -= len(mdAssertionsHead) + 1
	keep := make([]bool, len(rows))
	for _, pass := range []bool{false, true} {
		for i, r := range rows {
			if (r.verdict == results.Pass) != pass {
				continue
			}
			if n := len(r.text) + 1; n <= f.budget {
				keep[i] = true
				f.budget -= n
			} else {
				f.omittedRows++
			}
		}
	}
	f.b.WriteString(mdAssertionsHead)
	for i, r := range rows {
		if keep[i] {
			f.b.WriteString(r.text + "\n")
		}
	}
}

// block writes a block whose head and tail fit, with the rows that fit.
func (f *mdFit) block(b mdBlock) {
	size := func(lines []string) int {
		n := 0
		for _, l := range lines {
			n += len(l) + 1
		}
		return n
	}
	fixed := size(b.head) + size(b.tail)
	if fixed > f.budget {
		f.omittedMetrics += len(b.rows)
		return
	}
	f.budget -= fixed
	var kept []string
	for _, r := range b.rows {
		if n := len(r) + 1; n <= f.budget {
			kept = append(kept, r)
			f.budget -= n
		} else {
			f.omittedMetrics++
		}
	}
	for i, l := range b.head {
		if i == 0 && l == "" && f.b.Len() == 0 {
			continue // the summary's head already ends in a blank line
		}
		f.b.WriteString(l + "\n")
	}
	for _, l := range append(kept, b.tail...) {
		f.b.WriteString(l + "\n")
	}
}

// details writes a details section if it fits.
func (f *mdFit) details(d string) {
	if n := len(d) + 1; n <= f.budget {
		f.b.WriteString("\n" + d)
		f.budget -= n
	} else {
		f.omittedDetails++
	}
}

// body is what was written, with a note on what was left out.
func (f *mdFit) body() string {
	if f.omittedRows+f.omittedMetrics+f.omittedDetails > 0 {
		fmt.Fprintf(&f.b, "\n_Shortened to fit a comment: %s, %s and %s left out; results.json has them all._\n",
			plural(f.omittedRows, "assertion row"), plural(f.omittedMetrics, "metrics row"), plural(f.omittedDetails, "details section"))
	}
	return f.b.String()
}

// mdBaselineWhen names the baseline run by its start, " (run of 2025-03-13)".
func mdBaselineWhen(base *results.Run) string {
	if base == nil || base.StartedAt.IsZero() {
		return ""
	}
	return " (run of " + base.StartedAt.UTC().Format("2006-01-02 15:04 UTC") + ")"
}

// mdSummary escapes text for a <summary> line, which GitHub reads as HTML.
func mdSummary(s string) string { return noMention(html.EscapeString(truncate(oneLine(s), maxCell))) }

// mdDistributions is a <details> section with every distribution of a
// scenario's steps, or "" when it has none.
func mdDistributions(sc *results.Scenario) string {
	var b strings.Builder
	n := 0
	for _, st := range steps(sc) {
		for _, d := range distributions(&st.Metrics) {
			if d.dist.Count == 0 {
				continue
			}
			if n == 0 {
				fmt.Fprintf(&b, "<details><summary>Distributions: %s</summary>\n\n", mdSummary(sc.Name))
				b.WriteString("| Step | Metric | Count | Mean | Std | Min | p50 | p90 | p95 | p99 | p99.9 | Max |\n")
				b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
			}
			n++
			x := d.dist
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				mdText(st.Label()), d.name, x.Count,
				FormatDuration(x.Mean), FormatDuration(x.Std), FormatDuration(x.Min), FormatDuration(x.P50),
				FormatDuration(x.P90), FormatDuration(x.P95), FormatDuration(x.P99), FormatDuration(x.P999), FormatDuration(x.Max))
		}
	}
	if n == 0 {
		return ""
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// namedDist is a distribution with its metric name.
type namedDist struct {
	name, title string
	dist        results.Distribution
}

// distributions lists a step's duration distributions in report order.
func distributions(m *results.Metrics) []namedDist {
	out := []namedDist{
		{"ttft", "TTFT", m.TTFT},
		{"tpot", "TPOT", m.TPOT},
		{"itl", "ITL", m.ITL},
		{"latency", "Latency", m.Latency},
		{"queue", "Queue", m.Queue},
	}
	if m.TTFO != nil {
		out = append(out, phaseDistributions(m)...)
	}
	return out
}

// phaseDistributions are the reasoning phase's distributions (without
// samples when the step had no reasoning).
func phaseDistributions(m *results.Metrics) []namedDist {
	return []namedDist{
		{"ttfo", "TTFO", orEmpty(m.TTFO)},
		{"tpot_reasoning", "TPOT reasoning", orEmpty(m.TPOTReasoning)},
		{"tpot_answer", "TPOT answer", orEmpty(m.TPOTAnswer)},
	}
}

// mdSetup is the <details> section on the servers and the machine.
func mdSetup(run *results.Run) string {
	var b strings.Builder
	b.WriteString("<details><summary>Setup</summary>\n\n")
	srv := serverRows(run)
	if len(srv) > 0 {
		b.WriteString("| Server | Kind | Image | Model | Arguments | URL |\n|---|---|---|---|---|---|\n")
		for _, s := range srv {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdText(s.name), mdText(s.kind), mdText(s.image),
				mdText(s.model), mdCode(s.args), mdText(s.url))
		}
		b.WriteString("\n")
	}
	for _, l := range environmentLines(run) {
		b.WriteString("- " + mdText(l) + "\n")
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// serverRow describes a server for the setup tables.
type serverRow struct {
	name, kind, image, model, args, url string
}

// serverRows lists the run's servers from its environment, filled in from
// the scenarios (URL, model) and, for results without an environment
// list, from the scenarios alone.
func serverRows(run *results.Run) []serverRow {
	var out []serverRow
	idx := map[string]int{}
	for _, s := range run.Environment.Servers {
		img := s.Image
		if s.Digest != "" {
			img += "@" + s.Digest
		}
		kind := s.Kind
		if s.IsSimulated() {
			kind = "sim (the simulator"
			if p := s.Profile(); p != "" {
				kind += ", profile " + p
			}
			if s.SimCalibration != "" {
				kind += "; calibration: " + s.SimCalibration
			}
			kind += ")"
			if s.Replaces != nil {
				kind += " in place of " + s.Replaces.String()
			}
		}
		idx[s.Name] = len(out)
		out = append(out, serverRow{name: s.Name, kind: kind, image: img, model: s.Model, args: strings.Join(s.Args, " ")})
	}
	for _, sc := range scenarios(run) {
		if sc.Server == "" {
			continue
		}
		i, ok := idx[sc.Server]
		if !ok {
			i = len(out)
			idx[sc.Server] = i
			out = append(out, serverRow{name: sc.Server})
		}
		if out[i].url == "" {
			out[i].url = sc.ServerURL
		}
		if out[i].model == "" {
			out[i].model = sc.Model
		}
	}
	return out
}

// environmentLines describes benchplan and the machine it ran on.
func environmentLines(run *results.Run) []string {
	e := run.Environment
	var lines []string
	bp := "benchplan " + e.BenchplanVersion
	if e.Commit != "" {
		bp += " (commit " + e.Commit + ")"
	}
	if e.GoVersion != "" {
		bp += ", " + e.GoVersion
	}
	lines = append(lines, bp)
	var m []string
	if e.OS != "" {
		m = append(m, e.OS+"/"+e.Arch)
	}
	if e.CPUs > 0 {
		m = append(m, plural(e.CPUs, "CPU"))
	}
	if e.OpenFiles > 0 {
		m = append(m, fmt.Sprintf("open-file limit %d", e.OpenFiles))
	}
	if len(m) > 0 {
		lines = append(lines, "client machine: "+strings.Join(m, ", "))
	}
	if len(e.GPUs) > 0 {
		lines = append(lines, "GPUs: "+strings.Join(e.GPUs, ", "))
	}
	if run.PlanFile != "" {
		lines = append(lines, "plan file: "+run.PlanFile)
	}
	return lines
}

// mdCounts is the sentence under the title.
func mdCounts(t tally) string {
	if t.total == 0 {
		return "No assertions were checked."
	}
	return fmt.Sprintf("**%s**: %s.", plural(t.total, "assertion"), strings.Join(t.countParts(), ", "))
}

// mdMark is an assertion row's mark: ✅ held, 🟡 a warn-only assertion
// that did not hold, ❔ inconclusive, ❌ failed, ⚠️ not evaluable.
func mdMark(v results.Verdict) string {
	switch v {
	case results.Pass:
		return "✅"
	case results.Warn:
		return "🟡"
	case results.Inconclusive:
		return "❔"
	case results.Fail:
		return "❌"
	}
	return "⚠️"
}

// mdMarker makes a plan name safe inside an HTML comment, which "-->"
// and "--!>" would end.
func mdMarker(s string) string {
	return strings.NewReplacer("-->", "--&gt;", "--!>", "--!&gt;").Replace(oneLine(s))
}

// mdText escapes text for a table cell or a heading: one line, at most
// maxCell runes, Markdown punctuation backslash-escaped, "|" as "\|",
// "<" or "&" escaped where GitHub would read a tag or an entity, and "@"
// before a name followed by an invisible word joiner, so a name in the
// plan cannot @mention (notify) people or teams.
func mdText(s string) string { return mdTextN(s, maxCell) }

func mdTextN(s string, max int) string {
	s = truncate(oneLine(s), max)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		var next rune
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case strings.ContainsRune("\\`*_[]|~", r):
			b.WriteByte('\\')
		case r == '<' && (isLetter(next) || strings.ContainsRune("/!?", next)):
			b.WriteString("&lt;")
			continue
		case r == '&' && (isLetter(next) || next == '#'):
			b.WriteString("&amp;")
			continue
		case r == '@' && mentionAt(rs, i):
			b.WriteString("@" + wordJoiner)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// wordJoiner (U+2060) is invisible; after "@" it keeps GitHub from
// reading a mention.
const wordJoiner = "\u2060"

// noMention puts a word joiner after every "@" GitHub would read as the
// start of a mention.
func noMention(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		b.WriteRune(r)
		if r == '@' && mentionAt(rs, i) {
			b.WriteString(wordJoiner)
		}
	}
	return b.String()
}

// mentionAt reports whether the "@" at rs[i] starts a mention as GitHub
// reads one: a letter or digit after it, and no word character before it
// ("image@sha256:…" and "me@example.com" are not mentions).
func mentionAt(rs []rune, i int) bool {
	word := func(r rune) bool { return isLetter(r) || r >= '0' && r <= '9' || r == '_' }
	return i+1 < len(rs) && word(rs[i+1]) && rs[i+1] != '_' && (i == 0 || !word(rs[i-1]))
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// mdCode renders s as a code span in a table cell: "|" as "\|" (GitHub
// splits cells before it parses code spans), a fence longer than any
// backtick run inside, padded when s starts or ends with a backtick.
func mdCode(s string) string {
	s = strings.ReplaceAll(truncate(oneLine(s), maxCell), "|", `\|`)
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
