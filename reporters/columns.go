package reporters

import (
	"fmt"
	"time"

	"github.com/benchplan/benchplan/results"
)

// stepColumn is one column of the step-metrics tables that the console,
// summary.md and report.html show per scenario, a row a step after the
// step's label (results.Step.Label): its headers and how a step's figure
// reads. The three renderers pick their columns from the same ones
// (consoleColumns, markdownColumns, htmlColumns), so a figure reads the same
// in each.
type stepColumn struct {
	// head is the column's header in the console ("sent/s"); title in
	// summary.md and report.html ("Sent req/s"); wide, when set, replaces
	// title in report.html, which has room for whole words.
	head, title, wide string
	// tip explains the column in report.html (the header's tooltip).
	tip string
	// value is the step's figure as text, before a format escapes it.
	value func(st *results.Step) string
}

// htmlTitle is the column's header in report.html.
func (c stepColumn) htmlTitle() string {
	if c.wide != "" {
		return c.wide
	}
	return c.title
}

// rateColumn is a per-second figure of a step's metrics ("2.37").
func rateColumn(head, title string, rate func(m *results.Metrics) float64) stepColumn {
	return stepColumn{head: head, title: title, value: func(st *results.Step) string {
		return formatRate(rate(&st.Metrics))
	}}
}

// distColumn is the p50 or p95 (pct) of one of a step's distributions,
// "-" when it has no samples; metric names it as the console does
// ("ttft"), title as the other reports do ("TTFT").
func distColumn(metric, title, pct string, dist func(m *results.Metrics) results.Distribution) stepColumn {
	at := func(d results.Distribution) time.Duration { return d.P95 }
	if pct == "p50" {
		at = func(d results.Distribution) time.Duration { return d.P50 }
	}
	return stepColumn{head: metric + " " + pct, title: title + " " + pct, value: func(st *results.Step) string {
		d := dist(&st.Metrics)
		return formatDist(d, at(d))
	}}
}

// The step-metrics columns.
var (
	requestsColumn = stepColumn{head: "requests", title: "Requests", value: func(st *results.Step) string {
		return fmt.Sprintf("%d/%d", st.Metrics.Requests.Completed, st.Metrics.Requests.Total)
	}}
	sentColumn = withTip(rateColumn("sent/s", "Sent req/s", func(m *results.Metrics) float64 { return m.Requests.SentRatePerSec }),
		"requests sent per second: the load offered to the server")
	doneColumn = withTip(rateColumn("done/s", "Completed req/s", func(m *results.Metrics) float64 { return m.Requests.RatePerSec }),
		"requests completed per second of the measured window")
	outTokensColumn = withWide(stepColumn{head: "out tok/s", title: "Out tok/s", value: func(st *results.Step) string {
		if m := &st.Metrics; m.Inputs != nil && m.Tokens.OutputTotal == 0 {
			return "-" // embeddings generate nothing: no output rate, not a rate of 0
		}
		return formatRate(st.Metrics.Tokens.OutputRatePerSec)
	}}, "Output tok/s")
	ttftP50Column    = distColumn("ttft", "TTFT", "p50", func(m *results.Metrics) results.Distribution { return m.TTFT })
	ttftP95Column    = distColumn("ttft", "TTFT", "p95", func(m *results.Metrics) results.Distribution { return m.TTFT })
	tpotP50Column    = distColumn("tpot", "TPOT", "p50", func(m *results.Metrics) results.Distribution { return m.TPOT })
	itlP95Column     = distColumn("itl", "ITL", "p95", func(m *results.Metrics) results.Distribution { return m.ITL })
	latencyP95Column = distColumn("latency", "Latency", "p95", func(m *results.Metrics) results.Distribution { return m.Latency })
	// The reasoning phase's: shown where some step had reasoning (withPhases).
	ttfoP95Column = withTip(distColumn("ttfo", "TTFO", "p95", func(m *results.Metrics) results.Distribution { return orEmpty(m.TTFO) }),
		"time to the first answer token, after the reasoning")
	tpotAnswerP50Column = withTip(distColumn("tpot ans", "TPOT answer", "p50", func(m *results.Metrics) results.Distribution { return orEmpty(m.TPOTAnswer) }),
		"time per output token within the answer")
	errorsColumn = stepColumn{head: "errors", title: "Errors", value: func(st *results.Step) string {
		return formatErrors(st.Metrics.Errors)
	}}
	inFlightColumn = stepColumn{head: "in flight", title: "In flight", value: func(st *results.Step) string {
		if c := st.Metrics.Concurrency; c.Max > 0 {
			return fmt.Sprintf("%.1f (max %d)", c.Mean, c.Max)
		}
		return "—"
	}}
	goodputColumn = stepColumn{head: "goodput", title: "Goodput", value: func(st *results.Step) string {
		if g := st.Metrics.Goodput; g != nil {
			return formatPercent(g.Ratio)
		}
		return "—"
	}}
	stopColumn = stepColumn{head: "stop", title: "Stop", value: func(st *results.Step) string { return st.StopReason }}
)

func withTip(c stepColumn, tip string) stepColumn { c.tip = tip; return c }

// orEmpty is *d, or a distribution without samples.
func orEmpty(d *results.Distribution) results.Distribution {
	if d == nil {
		return results.Distribution{}
	}
	return *d
}
func withWide(c stepColumn, wide string) stepColumn { c.wide = wide; return c }

// The columns each renderer shows. The console splits them in two tables
// (requests; latencies), each within 80 columns for the usual step labels,
// and in a narrower terminal leaves out consoleLeaveOut's first columns;
// summary.md has one table that a pull request shows whole; report.html
// adds what a wide page has room for.
var (
	consoleColumns = [][]stepColumn{
		{requestsColumn, sentColumn, doneColumn, outTokensColumn, errorsColumn},
		{ttftP50Column, ttftP95Column, tpotP50Column, itlP95Column, latencyP95Column},
	}
	// consoleLeaveOut are the console columns (their heads; telemetry's
	// too) that a table too wide for the terminal leaves out first, at
	// most two a table; report.html shows them all.
	consoleLeaveOut = []string{"out tok/s", "itl p95", "GPU power max", "GPU util mean", "requests", "ttft p50", "waiting max"}
	markdownColumns = []stepColumn{sentColumn, doneColumn, ttftP50Column, ttftP95Column, tpotP50Column,
		itlP95Column, latencyP95Column, outTokensColumn, errorsColumn}
	htmlColumns = []stepColumn{requestsColumn, sentColumn, doneColumn, ttftP50Column, ttftP95Column, tpotP50Column,
		itlP95Column, latencyP95Column, outTokensColumn, inFlightColumn, goodputColumn, errorsColumn, stopColumn}
)

// stepRows is a step-metrics table's body: a row a step, its label then
// each column's value, every cell escaped by esc (the format's escaping).
func stepRows(sts []*results.Step, cols []stepColumn, esc func(string) string) [][]string {
	rows := make([][]string, len(sts))
	for i, st := range sts {
		row := make([]string, 0, 1+len(cols))
		row = append(row, esc(st.Label()))
		for _, c := range cols {
			row = append(row, esc(c.value(st)))
		}
		rows[i] = row
	}
	return rows
}

// groupColumns are the columns of the tables of a step's groups (per
// model, turn or window) in every renderer.
var groupColumns = []stepColumn{requestsColumn, doneColumn, ttftP50Column, ttftP95Column, tpotP50Column, latencyP95Column, errorsColumn}

// consoleGroupColumns are groupColumns narrowed for a terminal.
var consoleGroupColumns = []stepColumn{requestsColumn, ttftP50Column, ttftP95Column, tpotP50Column, latencyP95Column, errorsColumn}

// withPhases returns cols with the reasoning phase's columns after TTFT
// p95 and TPOT p50 when some step of sts had reasoning; cols otherwise.
func withPhases(cols []stepColumn, sts []*results.Step) []stepColumn {
	reasoned := false
	for _, st := range sts {
		reasoned = reasoned || st.Metrics.TTFO != nil
		for _, g := range st.Metrics.Groups {
			reasoned = reasoned || g.Metrics.TTFO != nil
		}
	}
	if !reasoned {
		return cols
	}
	out := make([]stepColumn, 0, len(cols)+2)
	for _, c := range cols {
		out = append(out, c)
		switch c.head {
		case ttftP95Column.head:
			out = append(out, ttfoP95Column)
		case tpotP50Column.head:
			out = append(out, tpotAnswerP50Column)
		}
	}
	return out
}

// groupTables are the tables of the steps' groups, one per tag (model,
// turn, window) that some step has, in that order.
type groupTable struct {
	// by is the tag; title names the table ("By turn").
	by, title string
	// rows are a row a group: its label (after the step's when there are
	// several steps) then each column's value.
	rows [][]string
	// of is the step (its index in sts) of each row.
	of []int
}

// groupTables makes the group tables of a scenario's steps with cols,
// every cell escaped by esc.
func groupTables(sts []*results.Step, cols []stepColumn, esc func(string) string) []groupTable {
	var out []groupTable
	for _, by := range []string{results.ByModel, results.ByTurn, results.ByWindow} {
		t := groupTable{by: by, title: "By " + by}
		for i, st := range sts {
			for _, g := range st.Metrics.GroupsBy(by) {
				label := g.Label()
				if len(sts) > 1 {
					label = st.Label() + " " + label
				}
				gs := &results.Step{Index: st.Index, Load: st.Load, Metrics: g.Metrics}
				row := []string{esc(label)}
				for _, c := range cols {
					row = append(row, esc(c.value(gs)))
				}
				t.rows = append(t.rows, row)
				t.of = append(t.of, i)
			}
		}
		if len(t.rows) > 0 {
			out = append(out, t)
		}
	}
	return out
}
