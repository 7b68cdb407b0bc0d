package reporters

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/benchplan/benchplan/results"
)

// Console writes the end-of-run summary for a terminal or a CI log: per
// scenario a heading, a table with one row per step and one line per
// assertion outcome, then a final PASS/FAIL/ERROR line for the plan. The
// output is plain text (no color or cursor codes), so it reads the same in
// a pipe.
//
// When a scenario has several steps each assertion line starts with the
// step's label in brackets ("[constant 2.00/s]"), which matches the table's
// step column. The requests column is completed/total: total counts every
// request sent, completed only the successful ones.
func Console(w io.Writer, run *results.Run) error {
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
	fmt.Fprintln(bw, consoleVerdict(run))
	return bw.Flush()
}

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
		for _, line := range strings.Split(stepTable(sts), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	} else if sc.Error == "" {
		fmt.Fprintln(w, "  (no steps)")
	}

	for _, st := range sts {
		if reasons := st.Metrics.Errors.ReasonKeys(); len(reasons) > 0 {
			parts := make([]string, len(reasons))
			for i, r := range reasons {
				parts[i] = fmt.Sprintf("%s ×%d", oneLine(r), st.Metrics.Errors.Reasons[r])
			}
			prefix := "errors"
			if len(sts) > 1 {
				prefix = "errors [" + stepLabel(st) + "]"
			}
			fmt.Fprintf(w, "  %s: %s\n", prefix, strings.Join(parts, ", "))
		}
	}
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
			prefix = "[" + stepLabel(st) + "] "
		}
		for _, warn := range st.Warnings {
			fmt.Fprintln(w, "  ⚠ "+prefix+oneLine(warn))
		}
	}
	if sc.Capacity > 0 {
		fmt.Fprintf(w, "  capacity: %s req/s (the highest achieved rate of a step that passed every assertion)\n", formatRate(sc.Capacity))
	}

	// Assertion lines, the expressions padded to one width.
	type line struct {
		mark, left, right string
	}
	var lines []line
	width := 0
	for _, a := range scenarioOutcomes(sc) {
		prefix := ""
		if len(sts) > 1 || a.st == nil {
			prefix = "[" + a.where() + "] "
		}
		o := a.o
		l := line{left: prefix + oneLine(exprLabel(o)), right: oneLine(o.Observed)}
		switch o.Verdict {
		case results.Pass:
			l.mark = "✓"
			if o.Message != "" {
				l.right = strings.TrimSpace(l.right + " (" + oneLine(o.Message) + ")")
			}
		case results.Fail:
			l.mark = "✗"
		case results.Warn:
			l.mark = "⚠"
			note := "warn only"
			if o.Message != "" {
				note += ": " + oneLine(o.Message)
			}
			l.right = strings.TrimSpace(l.right + " (" + note + ")")
		default:
			l.mark = "!"
			l.right = strings.TrimSpace(l.right + " (error: " + oneLine(errorMessage(o)) + ")")
		}
		if n := text.StringWidthWithoutEscSequences(l.left); n > width {
			width = n
		}
		lines = append(lines, l)
	}
	for _, l := range lines {
		s := "  " + l.mark + " " + l.left
		if l.right != "" {
			s += strings.Repeat(" ", width-text.StringWidthWithoutEscSequences(l.left)+3) + l.right
		}
		fmt.Fprintln(w, s)
	}
	if sc.Error != "" {
		fmt.Fprintln(w, "  ! scenario could not be carried out: "+oneLine(sc.Error))
	}
}

// stepTable renders a scenario's steps as a go-pretty table.
func stepTable(sts []*results.Step) string {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.Style().Format.Header = text.FormatDefault // keep headers as written
	t.AppendHeader(table.Row{"step", "requests", "req/s", "ttft p50", "ttft p95", "tpot p50", "itl p95", "latency p95", "out tok/s", "errors"})
	for _, st := range sts {
		m := &st.Metrics
		t.AppendRow(table.Row{
			stepLabel(st),
			fmt.Sprintf("%d/%d", m.Requests.Completed, m.Requests.Total),
			formatRate(m.Requests.RatePerSec),
			formatDist(m.TTFT, m.TTFT.P50),
			formatDist(m.TTFT, m.TTFT.P95),
			formatDist(m.TPOT, m.TPOT.P50),
			formatDist(m.ITL, m.ITL.P95),
			formatDist(m.Latency, m.Latency.P95),
			formatRate(m.Tokens.OutputRatePerSec),
			formatErrors(m.Errors),
		})
	}
	var cfg []table.ColumnConfig
	for col := 2; col <= 10; col++ {
		cfg = append(cfg, table.ColumnConfig{Number: col, Align: text.AlignRight, AlignHeader: text.AlignRight})
	}
	t.SetColumnConfigs(cfg)
	return t.Render()
}

// consoleVerdict is the final line: PASS, FAIL or ERROR for the plan.
func consoleVerdict(run *results.Run) string {
	t := count(run)
	switch t.verdict(run) {
	case results.Error:
		return fmt.Sprintf("ERROR plan %s: %s", oneLine(run.Plan), t.errorReason(run))
	case results.Fail:
		return fmt.Sprintf("FAIL plan %s: %d of %s failed", oneLine(run.Plan), t.failed, plural(t.total, "assertion"))
	}
	if t.total == 0 {
		return fmt.Sprintf("PASS plan %s: no assertions to check", oneLine(run.Plan))
	}
	if t.warned > 0 {
		return fmt.Sprintf("PASS plan %s: %d of %s passed, %d warn-only did not hold", oneLine(run.Plan), t.passed, plural(t.total, "assertion"), t.warned)
	}
	return fmt.Sprintf("PASS plan %s: %s passed", oneLine(run.Plan), plural(t.total, "assertion"))
}
