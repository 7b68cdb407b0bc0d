package reporters

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/benchplan/benchplan/results"
)

// maxSampleRunes is how much of an error sample (results.ErrorCounts.Samples)
// the console and summary.md show; results.json keeps it whole.
const maxSampleRunes = 200

// Console writes the end-of-run summary with no baseline; see ConsoleWith.
func Console(w io.Writer, run *results.Run) error { return ConsoleWith(w, run, Options{}) }

// DefaultConsoleWidth is the width of the console summary when
// Options.Width is 0: what a pipe, a file or a CI log gets, where no
// terminal says how wide it is.
const DefaultConsoleWidth = 120

// minConsoleWidth is the narrowest the console lays itself out for; below
// it lines may be longer than the width asked for.
const minConsoleWidth = 40

// ConsoleWith writes the end-of-run summary for a terminal or a CI log:
// per scenario a heading, two tables with one row per step (requests and
// their rates; latencies), telemetry, and one line per assertion outcome,
// then the notes shared by several scenarios, once, and a final
// PASS/INCONCLUSIVE/FAIL/ERROR line for the plan.
//
// No line is wider than opts.Width (DefaultConsoleWidth when 0; at least
// 80 is promised, narrower is best effort): a table that does not fit
// leaves out its least telling columns (at most two, named under it), or
// else the scenario's steps are stacked, a block per step with each
// figure as "key: value"; other lines wrap at spaces, their continuation
// indented. opts.Color colours the verdict word and the assertion lines
// that did not hold with ANSI codes, for a terminal; without it the output
// is plain text (no colour or cursor codes), so it reads the same in a
// pipe.
//
// When a scenario has several steps each assertion line starts with the
// step's label in brackets ("[constant 2.00/s]"), which matches the table's
// step column. The requests column is completed/total: total counts every
// request sent, completed only the successful ones; sent/s is the rate
// they were sent at (the offered load), done/s the rate they completed.
//
// The verdict line says when the run was a dry run on the simulator, and,
// with opts.Baseline, when the baseline's setup differs (the differences
// are listed above it).
func ConsoleWith(w io.Writer, run *results.Run, opts Options) error {
	if run == nil {
		return errNilRun
	}
	bw := bufio.NewWriter(w)
	c := &consoleOut{w: bw, width: opts.Width, color: opts.Color}
	if c.width == 0 {
		c.width = DefaultConsoleWidth
	}
	c.width = max(c.width, minConsoleWidth)
	scs := scenarios(run)
	notes := make([][]string, len(scs))
	for i, sc := range scs {
		notes[i] = scenarioNotes(sc, steps(sc))
	}
	shared, sharedBy := sharedNotes(scs, notes)
	for i, sc := range scs {
		if i > 0 {
			c.line("")
		}
		consoleScenario(c, sc, slices.DeleteFunc(notes[i], func(n string) bool { return shared[n] }))
	}
	if len(scs) > 0 {
		c.line("")
	}
	for _, g := range sharedBy {
		c.line(g.who + ":")
		for _, n := range g.notes {
			c.line("  " + n)
		}
		c.line("")
	}
	setup := baselineSetup(run, opts)
	if len(setup) > 0 {
		text := setupChangeText(baselineWho, baselineDirection, setup)
		for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if i == 0 {
				c.paint("⚠ "+l, sgrYellow, "⚠")
				continue
			}
			c.line(l)
		}
		c.line("  so " + baselineMeans + ".")
		c.line("")
	}
	line := consoleVerdict(run, len(setup) > 0)
	word, _, _ := strings.Cut(line, " ")
	c.paint(line, verdictColor[word], word)
	return bw.Flush()
}

// The ANSI colours (SGR) of Options.Color.
const (
	sgrGreen  = "\x1b[32m"
	sgrRed    = "\x1b[31m"
	sgrYellow = "\x1b[33m"
	sgrBold   = "\x1b[1m"
	sgrReset  = "\x1b[0m"
)

// verdictColor is the colour of the verdict line's first word.
var verdictColor = map[string]string{
	"PASS":         sgrBold + sgrGreen,
	"FAIL":         sgrBold + sgrRed,
	"ERROR":        sgrBold + sgrRed,
	"INCONCLUSIVE": sgrBold + sgrYellow,
}

// consoleOut writes the console's lines, each within width (wrapped at
// spaces, see wrapLine), coloured when color is set.
type consoleOut struct {
	w     io.Writer
	width int
	color bool
}

// line writes s, wrapped.
func (c *consoleOut) line(s string) { c.paint(s, "", "") }

// paint writes s, wrapped, in the colour sgr: only the first occurrence
// of part when part is set, else each of its lines after its indentation.
// Without colour (c.color false or sgr empty) it writes s as line does.
func (c *consoleOut) paint(s, sgr, part string) {
	for i, l := range wrapLine(s, c.width) {
		if c.color && sgr != "" {
			switch {
			case part == "":
				body := strings.TrimLeft(l, " ")
				l = l[:len(l)-len(body)] + sgr + body + sgrReset
			case i == 0:
				l = strings.Replace(l, part, sgr+part+sgrReset, 1)
			}
		}
		fmt.Fprintln(c.w, l)
	}
}

// lines writes each line of a rendered table, indented by two: the table
// was fitted to the width beforehand (fitTable).
func (c *consoleOut) table(lines []string) {
	for _, l := range lines {
		fmt.Fprintln(c.w, "  "+l)
	}
}

// wrapLine breaks s into lines of at most width columns (display width:
// wide runes count two), at the last space that fits, else within a word;
// the continuation lines are indented four more than s. A line that fits
// is returned as it is.
func wrapLine(s string, width int) []string {
	if text.StringWidthWithoutEscSequences(s) <= width {
		return []string{s}
	}
	body := strings.TrimLeft(s, " ")
	indent := strings.Repeat(" ", min(len(s)-len(body)+4, width/2))
	var out []string
	first := true
	for {
		lead := indent
		if first {
			lead = s[:len(s)-len(body)]
		}
		room := width - len(lead)
		if text.StringWidthWithoutEscSequences(body) <= room {
			return append(out, lead+body)
		}
		// cut is where the piece ends, brk the last space that fits.
		cut, brk, w := 0, -1, 0
		for i, r := range body {
			rw := text.RuneWidth(r)
			if w+rw > room {
				break
			}
			w += rw
			cut = i + utf8.RuneLen(r)
			if r == ' ' && i > 0 {
				brk = i
			}
		}
		piece, rest := body[:cut], body[cut:]
		if brk > 0 && !strings.HasPrefix(rest, " ") {
			piece, rest = body[:brk], body[brk:]
		}
		if cut == 0 { // a rune wider than the room: it goes alone
			_, n := utf8.DecodeRuneInString(body)
			piece, rest = body[:n], body[n:]
		}
		out = append(out, lead+strings.TrimRight(piece, " "))
		body = strings.TrimLeft(rest, " ")
		first = false
		if body == "" {
			return out
		}
	}
}

// consoleScenario writes a scenario: its heading, its steps' tables
// (consoleColumns) and telemetry, fitted to the width, or its steps
// stacked; its errors and its own notes (those not shared with other
// scenarios), its assertion lines, and why it could not be carried out.
func consoleScenario(c *consoleOut, sc *results.Scenario, notes []string) {
	var about []string
	if sc.Server != "" {
		about = append(about, "server "+oneLine(sc.Server))
	}
	if sc.Load != "" {
		about = append(about, oneLine(sc.Load))
	}
	heading := "scenario " + oneLine(sc.Name)
	if len(about) > 0 {
		heading += "  (" + strings.Join(about, ", ") + ")"
	}
	c.line(heading)

	sts := steps(sc)
	if len(sts) > 0 {
		consoleStepTables(c, sts)
		consoleGroupTables(c, sts)
	} else if sc.Error == "" {
		c.line("  (no steps)")
	}
	consoleErrors(c, sts)
	for _, n := range notes {
		c.paint("  "+n, noteColor(n), "⚠")
	}
	for _, st := range sts {
		if len(sts) > 1 {
			for _, warn := range st.Warnings {
				c.paint("  ⚠ ["+st.Label()+"] "+oneLine(warn), sgrYellow, "⚠")
			}
		}
	}
	for _, st := range sts {
		if l := sessionsLine(st); l != "" && len(sts) > 1 {
			c.line("  [" + st.Label() + "] " + l)
		} else if l != "" {
			c.line("  " + l)
		}
	}
	if sc.Capacity > 0 {
		c.line(fmt.Sprintf("  capacity: %s req/s sustained (the highest of a step that passed every assertion: offered rate of a rate step, completed rate of a closed loop)", formatRate(sc.Capacity)))
	}
	consoleAssertions(c, sc, len(sts) > 1)
	if sc.Error != "" {
		c.paint("  ! scenario could not be carried out: "+oneLine(sc.Error), sgrRed, "")
	}
}

// noteColor is the colour of a note's mark: a warning's ⚠ is yellow.
func noteColor(n string) string {
	if strings.HasPrefix(n, "⚠") {
		return sgrYellow
	}
	return ""
}

// scenarioNotes are a scenario's notes, each a line without its
// indentation: why telemetry was unavailable ("telemetry: GPU
// unavailable: ..."), whether token counts are chunk counts, and the
// scenario's warnings, with a single step's own warnings (several steps'
// warnings are written under the step's label). They are the lines that
// may read the same in several scenarios (sharedNotes).
func scenarioNotes(sc *results.Scenario, sts []*results.Step) []string {
	var notes []string
	_, _, tel := telemetryRows(sts)
	for _, n := range tel {
		notes = append(notes, "telemetry: "+oneLine(n))
	}
	for _, st := range sts {
		if st.Metrics.Tokens.Source == "chunks" {
			notes = append(notes, "note: output token counts are content-chunk counts (the server reported no usage)")
			break
		}
	}
	for _, warn := range sc.Warnings {
		notes = append(notes, "⚠ "+oneLine(warn))
	}
	if len(sts) == 1 {
		for _, warn := range sts[0].Warnings {
			notes = append(notes, "⚠ "+oneLine(warn))
		}
	}
	return notes
}

// noteGroup is notes that several scenarios share, and who shares them:
// "all scenarios" or "scenarios a, b".
type noteGroup struct {
	who   string
	notes []string
}

// sharedNotes finds the notes that more than one scenario has (a GPU that
// is unavailable is so for every scenario): they are written once, after
// the scenarios, grouped by the scenarios that share them, in the order
// they first appear.
func sharedNotes(scs []*results.Scenario, notes [][]string) (map[string]bool, []noteGroup) {
	by := map[string][]string{}
	var order []string
	for i, ns := range notes {
		for _, n := range ns {
			if by[n] == nil {
				order = append(order, n)
			}
			if names := by[n]; len(names) == 0 || names[len(names)-1] != oneLine(scs[i].Name) {
				by[n] = append(names, oneLine(scs[i].Name))
			}
		}
	}
	shared := map[string]bool{}
	var groups []noteGroup
	group := map[string]int{}
	for _, n := range order {
		names := by[n]
		if len(names) < 2 {
			continue
		}
		shared[n] = true
		who := "scenarios " + strings.Join(names, ", ")
		if len(names) == len(scs) {
			who = "all scenarios"
		}
		if i, ok := group[who]; ok {
			groups[i].notes = append(groups[i].notes, n)
			continue
		}
		group[who] = len(groups)
		groups = append(groups, noteGroup{who: who, notes: []string{n}})
	}
	return shared, groups
}

// consoleErrors writes each step's error counts by reason, and under them
// what the server said the first time, if anything.
func consoleErrors(c *consoleOut, sts []*results.Step) {
	for _, st := range sts {
		reasons := st.Metrics.Errors.ReasonKeys()
		if len(reasons) == 0 {
			continue
		}
		parts := make([]string, len(reasons))
		for i, r := range reasons {
			parts[i] = fmt.Sprintf("%s ×%d", oneLine(r), st.Metrics.Errors.Reasons[r])
		}
		prefix := "errors"
		if len(sts) > 1 {
			prefix = "errors [" + st.Label() + "]"
		}
		c.line(fmt.Sprintf("  %s: %s", prefix, strings.Join(parts, ", ")))
		for _, r := range reasons {
			if sample := st.Metrics.Errors.Samples[r]; sample != "" {
				c.line(fmt.Sprintf("    %s: %s", oneLine(r), truncate(oneLine(sample), maxSampleRunes)))
			}
		}
	}
}

// consoleAssertions writes a line per assertion outcome, the expressions
// padded to one width; with several steps (named), or for an assertion
// over all steps, each starts with its step's label in brackets. When a
// padded line would not fit the width, what was observed goes on the next
// line instead. A failed assertion's line is red, a warning's or an
// inconclusive one's yellow, a held one's mark green.
func consoleAssertions(c *consoleOut, sc *results.Scenario, named bool) {
	type line struct {
		mark, left, right string
	}
	var lines []line
	width := 0
	for _, a := range scenarioOutcomes(sc) {
		prefix := ""
		if named || a.st == nil {
			prefix = "[" + a.where() + "] "
		}
		o := a.o
		l := line{left: prefix + oneLine(exprLabel(o)), right: oneLine(o.Observed)}
		switch o.Verdict {
		case results.Pass, results.Fail, results.Warn, results.Inconclusive:
			l.mark = consoleMark(o.Verdict)
			l.right = oneLine(withNote(l.right, outcomeNote(o)))
		default:
			l.mark = consoleMark(results.Error)
			l.right = strings.TrimSpace(l.right + " (error: " + oneLine(errorMessage(o)) + ")")
		}
		width = max(width, text.StringWidthWithoutEscSequences(l.left))
		lines = append(lines, l)
	}
	for _, l := range lines {
		sgr, part := markColor[l.mark], ""
		if l.mark == "✓" {
			part = l.mark
		}
		s := "  " + l.mark + " " + l.left
		switch {
		case l.right == "":
		case 4+width+3+text.StringWidthWithoutEscSequences(l.right) <= c.width:
			s += strings.Repeat(" ", width-text.StringWidthWithoutEscSequences(l.left)+3) + l.right
		default:
			c.paint(s, sgr, part)
			s, part = "      "+l.right, ""
			if l.mark == "✓" {
				sgr = ""
			}
		}
		c.paint(s, sgr, part)
	}
}

// markColor is the colour of an assertion line by its mark.
var markColor = map[string]string{
	"✓": sgrGreen,
	"✗": sgrRed,
	"!": sgrRed,
	"⚠": sgrYellow,
	"?": sgrYellow,
}

// consoleMark is an assertion line's mark: ✓ held, ✗ failed, ⚠ a
// warn-only assertion that did not hold, ? inconclusive (the sample could
// not decide, and the plan lets that block the gate), ! not evaluable.
func consoleMark(v results.Verdict) string {
	switch v {
	case results.Pass:
		return "✓"
	case results.Fail:
		return "✗"
	case results.Warn:
		return "⚠"
	case results.Inconclusive:
		return "?"
	}
	return "!"
}

// consoleTable renders a go-pretty table, every column but the first
// aligned right.
func consoleTable(head []string, rows [][]string) string {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.Style().Format.Header = text.FormatDefault // keep headers as written
	t.AppendHeader(toRow(head))
	for _, r := range rows {
		t.AppendRow(toRow(r))
	}
	var cfg []table.ColumnConfig
	for col := 2; col <= len(head); col++ {
		cfg = append(cfg, table.ColumnConfig{Number: col, Align: text.AlignRight, AlignHeader: text.AlignRight})
	}
	t.SetColumnConfigs(cfg)
	return t.Render()
}

// consoleGrid is a table of a scenario's steps before it is rendered: its
// header and rows, and the step (its index) of each row.
type consoleGrid struct {
	head []string
	rows [][]string
	of   []int
}

// consoleStepTables writes a scenario's step tables (consoleColumns, then
// telemetry when some step has it), each fitted to the width (fitTable);
// when one cannot be, every table's figures are stacked instead
// (consoleStacked).
func consoleStepTables(c *consoleOut, sts []*results.Step) {
	var grids []consoleGrid
	all := make([]int, len(sts))
	for i := range sts {
		all[i] = i
	}
	for _, cols := range consoleColumns {
		cols = withPhases(cols, sts)
		head := []string{"step"}
		for _, col := range cols {
			head = append(head, col.head)
		}
		grids = append(grids, consoleGrid{head: head, rows: stepRows(sts, cols, oneLine), of: all})
	}
	if head, rows, of := telemetryGrid(sts); len(rows) > 0 {
		grids = append(grids, consoleGrid{head: head, rows: rows, of: of})
	}
	type fitted struct {
		lines, left []string
	}
	var tables []fitted
	for _, g := range grids {
		lines, left, ok := fitTable(g.head, g.rows, c.width-2)
		if !ok {
			consoleStacked(c, sts, grids)
			return
		}
		tables = append(tables, fitted{lines, left})
	}
	for _, t := range tables {
		c.table(t.lines)
		if len(t.left) > 0 {
			c.line(fmt.Sprintf("  (left out to fit %d columns: %s; report.html shows them)", c.width, strings.Join(t.left, ", ")))
		}
	}
}

// consoleGroupTables writes the tables of the steps' groups (per model,
// turn or window: groupColumns), each fitted to the width; one that cannot
// be is left to report.html, said in a line.
func consoleGroupTables(c *consoleOut, sts []*results.Step) {
	cols := withPhases(consoleGroupColumns, sts)
	for _, t := range groupTables(sts, cols, oneLine) {
		head := []string{strings.TrimPrefix(t.title, "By ")}
		for _, col := range cols {
			head = append(head, col.head)
		}
		lines, left, ok := fitTable(head, t.rows, c.width-2)
		if !ok {
			// Stacked, as the steps are: a group a line, wrapped.
			for _, row := range t.rows {
				parts := []string{row[0]}
				for i, cell := range row[1:] {
					parts = append(parts, head[i+1]+": "+cell)
				}
				c.line("  " + strings.Join(parts, "  "))
			}
			continue
		}
		c.table(lines)
		if len(left) > 0 {
			c.line(fmt.Sprintf("  (left out to fit %d columns: %s; report.html shows them)", c.width, strings.Join(left, ", ")))
		}
	}
}

// fitTable renders a table within width columns: whole, or leaving out up
// to two of its columns named in consoleLeaveOut, in that order (left
// names them); ok is false when it does not fit even so.
func fitTable(head []string, rows [][]string, width int) (lines, left []string, ok bool) {
	var drop []int
	for _, name := range consoleLeaveOut {
		if i := slices.Index(head, name); i > 0 {
			drop = append(drop, i)
		}
	}
	for n := 0; n <= min(len(drop), 2); n++ {
		keep := func(i int) bool { return !slices.Contains(drop[:n], i) }
		var h []string
		for i, cell := range head {
			if keep(i) {
				h = append(h, cell)
			}
		}
		rs := make([][]string, len(rows))
		for r, row := range rows {
			for i, cell := range row {
				if keep(i) {
					rs[r] = append(rs[r], cell)
				}
			}
		}
		lines = strings.Split(consoleTable(h, rs), "\n")
		if tableWidth(lines) <= width {
			for _, i := range drop[:n] {
				left = append(left, head[i])
			}
			return lines, left, true
		}
	}
	return nil, nil, false
}

// tableWidth is the widest of a rendered table's lines.
func tableWidth(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, text.StringWidthWithoutEscSequences(l))
	}
	return w
}

// consoleStacked writes a scenario's steps one under another, for a
// terminal too narrow for their tables: a step's label, then each of its
// figures as "key: value", as many to a line as fit, each table's figures
// from a new line.
func consoleStacked(c *consoleOut, sts []*results.Step, grids []consoleGrid) {
	const indent = "    "
	for i, st := range sts {
		c.line("  " + oneLine(st.Label()))
		for _, g := range grids {
			var pairs []string
			for r, si := range g.of {
				if si != i {
					continue
				}
				for k := 1; k < len(g.head); k++ {
					if v := g.rows[r][k]; v != "—" {
						pairs = append(pairs, g.head[k]+": "+v)
					}
				}
			}
			// A table's figures start a line.
			line := ""
			for _, p := range pairs {
				if line != "" && text.StringWidthWithoutEscSequences(indent+line+"  "+p) > c.width {
					c.line(indent + line)
					line = ""
				}
				if line != "" {
					line += "  "
				}
				line += p
			}
			if line != "" {
				c.line(indent + line)
			}
		}
	}
}

// consoleVerdict is the final line: PASS, INCONCLUSIVE, FAIL or ERROR for
// the plan, then, after " — ", whether it was a dry run on the simulator
// and whether the baseline's setup differs (setupChanged).
func consoleVerdict(run *results.Run, setupChanged bool) string {
	line := consoleVerdictLine(run)
	var notes []string
	if d := run.DryRun(); d != "" {
		notes = append(notes, oneLine(d))
	}
	if setupChanged {
		notes = append(notes, baselineVerdict)
	}
	if len(notes) > 0 {
		line += " — " + strings.Join(notes, "; ")
	}
	return line
}

func consoleVerdictLine(run *results.Run) string {
	t := count(run)
	plan := oneLine(run.Plan)
	switch t.verdict(run) {
	case results.Error:
		return fmt.Sprintf("ERROR plan %s: %s", plan, t.errorReason(run))
	case results.Fail:
		s := fmt.Sprintf("FAIL plan %s: %d of %s failed", plan, t.failed, plural(t.total, "assertion"))
		if t.inconclusive > 0 {
			s += fmt.Sprintf(", %d inconclusive", t.inconclusive)
		}
		return s
	case results.Inconclusive:
		if t.inconclusive == 0 {
			// The run says inconclusive, its outcomes do not show it.
			return fmt.Sprintf("INCONCLUSIVE plan %s: %s", plan, strings.Join(t.countParts(), ", "))
		}
		return fmt.Sprintf("INCONCLUSIVE plan %s: %d of %s inconclusive (the sample could not decide), %s",
			plan, t.inconclusive, plural(t.total, "assertion"), strings.Join(slices.DeleteFunc(t.countParts(), func(p string) bool {
				return strings.HasSuffix(p, " inconclusive")
			}), ", "))
	}
	if t.total == 0 {
		return fmt.Sprintf("PASS plan %s: no assertions to check", plan)
	}
	if t.passed == t.total {
		return fmt.Sprintf("PASS plan %s: %s passed", plan, plural(t.total, "assertion"))
	}
	parts := t.countParts()
	parts[0] = fmt.Sprintf("%d of %s passed", t.passed, plural(t.total, "assertion"))
	return fmt.Sprintf("PASS plan %s: %s", plan, strings.Join(parts, ", "))
}

func toRow(cells []string) table.Row {
	r := make(table.Row, len(cells))
	for i, c := range cells {
		r[i] = c
	}
	return r
}

// telemetryColumn is a column of the telemetry summary: a figure of
// results.StepTelemetry, ok false when the step has none.
type telemetryColumn struct {
	head string
	get  func(t *results.StepTelemetry) (string, bool)
}

func serverGaugeMax(key string, format func(float64) string) func(*results.StepTelemetry) (string, bool) {
	return func(t *results.StepTelemetry) (string, bool) {
		if t.Server == nil || t.Server.Unavailable != "" {
			return "", false
		}
		g, ok := t.Server.Gauges[key]
		if !ok {
			return "", false
		}
		return format(g.Max), true
	}
}

func gpuFigure(get func(*results.GPUFigures) (string, bool)) func(*results.StepTelemetry) (string, bool) {
	return func(t *results.StepTelemetry) (string, bool) {
		if t.GPU == nil || t.GPU.Unavailable != "" || t.GPU.Total == nil {
			return "", false
		}
		return get(t.GPU.Total)
	}
}

func formatCount(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
func formatShare(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
func formatGiB(v float64) string   { return fmt.Sprintf("%.1f GiB", v/(1<<30)) }

var telemetryColumns = []telemetryColumn{
	{"running max", serverGaugeMax(results.ServerRequestsRunning, formatCount)},
	{"waiting max", serverGaugeMax(results.ServerRequestsWaiting, formatCount)},
	{"KV cache max", serverGaugeMax(results.ServerKVCacheUsage, formatShare)},
	{"GPU mem max", gpuFigure(func(f *results.GPUFigures) (string, bool) {
		if f.MemoryUsed == nil {
			return "", false
		}
		s := formatGiB(f.MemoryUsed.Max)
		if f.MemoryTotal > 0 {
			s += " of " + formatGiB(f.MemoryTotal)
		}
		return s, true
	})},
	{"GPU util mean", gpuFigure(func(f *results.GPUFigures) (string, bool) {
		if f.Utilization == nil {
			return "", false
		}
		return formatShare(f.Utilization.Mean), true
	})},
	{"GPU power max", gpuFigure(func(f *results.GPUFigures) (string, bool) {
		if f.Power == nil {
			return "", false
		}
		return fmt.Sprintf("%.0f W", f.Power.Max), true
	})},
}

// telemetryRows is the telemetry summary of a scenario's steps: a header
// and one row per step, with the columns some step has a figure for, and
// notes saying why a source was unavailable (each reason once; sources
// turned off are not mentioned). All empty when no step has telemetry.
func telemetryRows(sts []*results.Step) (head []string, rows [][]string, notes []string) {
	head, rows, _, notes = telemetryTable(sts)
	return head, rows, notes
}

// telemetryGrid is telemetryRows' header and rows, with the step (its
// index) of each row.
func telemetryGrid(sts []*results.Step) (head []string, rows [][]string, of []int) {
	head, rows, of, _ = telemetryTable(sts)
	return head, rows, of
}

// telemetryTable is telemetryRows with the step (its index) of each row.
func telemetryTable(sts []*results.Step) (head []string, rows [][]string, of []int, notes []string) {
	var cols []telemetryColumn
	for _, c := range telemetryColumns {
		for _, st := range sts {
			if st.TelemetrySummary == nil {
				continue
			}
			if _, ok := c.get(st.TelemetrySummary); ok {
				cols = append(cols, c)
				break
			}
		}
	}
	seen := map[string]bool{}
	note := func(n string) {
		if !seen[n] {
			seen[n] = true
			notes = append(notes, n)
		}
	}
	for si, st := range sts {
		t := st.TelemetrySummary
		if t == nil {
			continue
		}
		if s := t.Server; s != nil && s.Unavailable != "" && s.Scrapes+s.Failures > 0 {
			note("server metrics unavailable: " + s.Unavailable)
		} else if s != nil && s.Failures > 0 {
			note(fmt.Sprintf("%s: %d of %d scrapes failed (%s)", st.Label(), s.Failures, s.Failures+s.Scrapes, s.LastError))
		}
		if g := t.GPU; g != nil && g.Unavailable != "" && g.Unavailable != offGPU {
			note("GPU unavailable: " + g.Unavailable)
		}
		if len(cols) == 0 {
			continue
		}
		row := []string{st.Label()}
		for _, c := range cols {
			v, ok := c.get(t)
			if !ok {
				v = "—"
			}
			row = append(row, v)
		}
		rows = append(rows, row)
		of = append(of, si)
	}
	if len(cols) > 0 {
		head = []string{"step"}
		for _, c := range cols {
			head = append(head, c.head)
		}
	}
	return head, rows, of, notes
}

// offGPU is the reason of GPU telemetry that was turned off.
const offGPU = "GPU sampling is off"
