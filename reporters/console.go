package reporters

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/benchplan/benchplan/results"
)

// maxSampleRunes is how much of an error sample (results.ErrorCounts.Samples)
// the console and summary.md show; results.json keeps it whole.
const maxSampleRunes = 200

// Console writes the end-of-run summary with no baseline; see ConsoleWith.
func Console(w io.Writer, run *results.Run) error { return ConsoleWith(w, run, Options{}) }

// ConsoleWith writes the end-of-run summary for a terminal or a CI log:
// per scenario a heading, two tables with one row per step (requests and
// their rates; latencies), each within 80 columns for the usual step
// labels, and one line per assertion outcome, then a final
// PASS/INCONCLUSIVE/FAIL/ERROR line for the plan. The output is plain text
// (no color or cursor codes), so it reads the same in a pipe.
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
	for i, sc := range scenarios(run) {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		consoleScenario(bw, sc)
	}
	if len(scenarios(run)) > 0 {
		fmt.Fprintln(bw)
	}
	setup := baselineSetup(run, opts)
	if len(setup) > 0 {
		fmt.Fprint(bw, "⚠ "+setupChangeText(baselineWho, baselineDirection, setup))
		fmt.Fprintln(bw, "  so "+baselineMeans+".")
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw, consoleVerdict(run, len(setup) > 0))
	return bw.Flush()
}

// consoleScenario writes a scenario: its heading, its steps' tables
// (consoleColumns) and telemetry, its errors and notes, its assertion
// lines, and why it could not be carried out.
func consoleScenario(w io.Writer, sc *results.Scenario) {
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
	fmt.Fprintln(w, heading)

	sts := steps(sc)
	if len(sts) > 0 {
		for _, cols := range consoleColumns {
			printIndented(w, consoleStepTable(sts, cols))
		}
	} else if sc.Error == "" {
		fmt.Fprintln(w, "  (no steps)")
	}
	head, rows, notes := telemetryRows(sts)
	if len(rows) > 0 {
		printIndented(w, consoleTable(head, rows))
	}
	for _, n := range notes {
		fmt.Fprintln(w, "  telemetry: "+oneLine(n))
	}
	consoleErrors(w, sts)
	consoleNotes(w, sc, sts)
	consoleAssertions(w, sc, len(sts) > 1)
	if sc.Error != "" {
		fmt.Fprintln(w, "  ! scenario could not be carried out: "+oneLine(sc.Error))
	}
}

// consoleErrors writes each step's error counts by reason, and under them
// what the server said the first time, if anything.
func consoleErrors(w io.Writer, sts []*results.Step) {
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
		fmt.Fprintf(w, "  %s: %s\n", prefix, strings.Join(parts, ", "))
		for _, r := range reasons {
			if sample := st.Metrics.Errors.Samples[r]; sample != "" {
				fmt.Fprintf(w, "    %s: %s\n", oneLine(r), truncate(oneLine(sample), maxSampleRunes))
			}
		}
	}
}

// consoleNotes writes whether token counts are chunk counts, the
// scenario's warnings and its steps', and its capacity.
func consoleNotes(w io.Writer, sc *results.Scenario, sts []*results.Step) {
	for _, st := range sts {
		if st.Metrics.Tokens.Source == "chunks" {
			fmt.Fprintln(w, "  note: output token counts are content-chunk counts (the server reported no usage)")
			break
		}
	}
	for _, warn := range sc.Warnings {
		fmt.Fprintln(w, "  ⚠ "+oneLine(warn))
	}
	for _, st := range sts {
		prefix := ""
		if len(sts) > 1 {
			prefix = "[" + st.Label() + "] "
		}
		for _, warn := range st.Warnings {
			fmt.Fprintln(w, "  ⚠ "+prefix+oneLine(warn))
		}
	}
	if sc.Capacity > 0 {
		fmt.Fprintf(w, "  capacity: %s req/s sustained (the highest of a step that passed every assertion: offered rate of a rate step, completed rate of a closed loop)\n", formatRate(sc.Capacity))
	}
}

// consoleAssertions writes a line per assertion outcome, the expressions
// padded to one width; with several steps (named), or for an assertion
// over all steps, each starts with its step's label in brackets.
func consoleAssertions(w io.Writer, sc *results.Scenario, named bool) {
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
		s := "  " + l.mark + " " + l.left
		if l.right != "" {
			s += strings.Repeat(" ", width-text.StringWidthWithoutEscSequences(l.left)+3) + l.right
		}
		fmt.Fprintln(w, s)
	}
}

// printIndented writes a table's lines indented under a scenario heading.
func printIndented(w io.Writer, table string) {
	for _, line := range strings.Split(table, "\n") {
		fmt.Fprintln(w, "  "+line)
	}
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

// consoleStepTable renders a scenario's steps with the console's columns
// cols, a row a step.
func consoleStepTable(sts []*results.Step, cols []stepColumn) string {
	head := []string{"step"}
	for _, c := range cols {
		head = append(head, c.head)
	}
	return consoleTable(head, stepRows(sts, cols, oneLine))
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
	for _, st := range sts {
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
	}
	if len(cols) > 0 {
		head = []string{"step"}
		for _, c := range cols {
			head = append(head, c.head)
		}
	}
	return head, rows, notes
}

// offGPU is the reason of GPU telemetry that was turned off.
const offGPU = "GPU sampling is off"
